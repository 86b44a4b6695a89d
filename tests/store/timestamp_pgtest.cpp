// The batch statements send timestamps as caliper::format_timestamp_us text: PostgreSQL must
// read back exactly the instant meant, and write it (in UTC) exactly as we do.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "caliper_sessiond/caliper/time.hpp"
#include "pg_test_env.hpp"

namespace caliper_sessiond::store {
namespace {

using caliper_sessiond::testing::pg_test_env;

class timestamp_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = env_->create_database("timestamp");
  }

  /// PostgreSQL's UTC output for our text, and the microseconds since 1970 it read from it.
  std::vector<std::string> read_back(const std::string& text) {
    const auto rows = pg_test_env::query(
        url_, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; "
              "SELECT t::text, (extract(epoch FROM t) * 1000000)::bigint::text "
              "FROM (SELECT '" + text + "'::timestamptz AS t) s");
    return rows.empty() ? std::vector<std::string>{} : rows[0];
  }

  std::optional<pg_test_env> env_;
  std::string url_;
};

TEST_F(timestamp_pgtest, postgres_reads_back_the_instant_and_writes_it_as_we_do) {
  const std::int64_t instants[] = {
      0,
      -1,
      1'709'622'489'012'345,       // 2024-03-05 07:08:09.012345
      951'782'400'000'010,         // 2000-02-29, a trimmed fraction
      -62'135'596'800'000'000,     // 0001-01-01 00:00:00
      -62'135'596'800'000'001,     // the last microsecond of 1 BC
      *caliper::parse_rfc3339_us("0001-01-01T00:00:00.5+23:59"),       // the earliest eventTime
      *caliper::parse_rfc3339_us("9999-12-31T23:59:59.999999-23:59"),  // the latest: year 10000
  };
  for (const std::int64_t us : instants) {
    const std::string text = caliper::format_timestamp_us(us);
    EXPECT_EQ(read_back(text), (std::vector<std::string>{text, std::to_string(us)})) << text;
  }
}

}  // namespace
}  // namespace caliper_sessiond::store
