// [privacy] with the real binary (issue 15 item 4): addresses truncated or dropped and user
// agents dropped before anything is journaled or stored.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>

#include "pg_test_env.hpp"
#include "server_process.hpp"
#include "eventually.hpp"

using namespace caliper_sessiond::testing;
namespace fs = std::filesystem;

namespace {

using caliper_sessiond::testing::eventually;

class privacy_e2e : public ::testing::Test {
protected:
  void start(const std::string& ip_mode, const std::string& agent_mode) {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    server_process::options o;
    o.database_url = env_->create_database("privacy");
    o.durability = "journal";  // 200 once fsync'd: the journal is written before the database
    o.extra_toml = "[privacy]\nip_address = \"" + ip_mode + "\"\nuser_agent = \"" + agent_mode + "\"\n";
    url_ = o.database_url;
    server_ = std::make_unique<server_process>(o);
    ASSERT_TRUE(server_->start()) << server_->log();
    const auto reply = server_->post_file(source_dir() + "/tests/fixtures/events/privacy-address-and-agent.json");
    ASSERT_EQ(reply.status, 200) << reply.body;
    ASSERT_TRUE(eventually([this] {
      return pg_test_env::scalar(url_, "SELECT (SELECT count(*) FROM caliper.session_events) + "
                                       "(SELECT count(*) FROM caliper.rejected_events)") == "3";
    })) << server_->log();
  }

  std::string column(const std::string& sql) const { return pg_test_env::scalar(url_, sql); }

  /// Every byte the journal holds.
  std::string journal_bytes() const {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(server_->journal_dir()))
      if (entry.is_regular_file()) all += read_file(entry.path().string());
    return all;
  }

  std::optional<pg_test_env> env_;
  std::string url_;
  std::unique_ptr<server_process> server_;
};

TEST_F(privacy_e2e, truncate_stores_the_networks) {
  start("truncate", "full");
  if (IsSkipped()) return;
  EXPECT_EQ(column("SELECT string_agg(ip_address::text, ',' ORDER BY event_id) FROM caliper.session_events"),
            "198.51.100.0/24,2001:db8:85a3::/48");
  EXPECT_EQ(column("SELECT count(user_agent) FROM caliper.session_events"), "2");
  EXPECT_EQ(column("SELECT raw LIKE '%\"198.51.100.0/24\"%' AND raw NOT LIKE '%198.51.100.77%' FROM caliper.rejected_events"), "t");
}

TEST_F(privacy_e2e, truncate_keeps_full_addresses_out_of_the_journal) {
  start("truncate", "full");
  if (IsSkipped()) return;
  const std::string journal = journal_bytes();
  ASSERT_NE(journal.find("198.51.100.0/24"), std::string::npos);  // the journal holds the batch...
  EXPECT_EQ(journal.find("198.51.100.23"), std::string::npos);    // ...never the full addresses
  EXPECT_EQ(journal.find("198.51.100.77"), std::string::npos);
  EXPECT_EQ(journal.find("8a2e:370:7334"), std::string::npos);
}

TEST_F(privacy_e2e, drop_stores_neither_address_nor_agent) {
  start("drop", "drop");
  if (IsSkipped()) return;
  EXPECT_EQ(column("SELECT count(ip_address) + count(user_agent) FROM caliper.session_events"), "0");
  EXPECT_EQ(column("SELECT raw NOT LIKE '%198.51.100%' AND raw NOT LIKE '%Chrome%' FROM caliper.rejected_events"), "t");
  const std::string journal = journal_bytes();
  EXPECT_EQ(journal.find("198.51.100"), std::string::npos);
  EXPECT_EQ(journal.find("Firefox"), std::string::npos);
}

TEST_F(privacy_e2e, refused_body_is_kept_scrubbed) {
  start("truncate", "drop");
  if (IsSkipped()) return;
  const auto reply = server_->post_file(source_dir() + "/tests/fixtures/events/privacy-refused-body.json");
  ASSERT_EQ(reply.status, 400) << reply.body;  // no sendTime: the whole body is a reject
  ASSERT_TRUE(eventually([this] { return column("SELECT count(*) FROM caliper.rejected_events") == "2"; }));
  const std::string raw = column("SELECT raw FROM caliper.rejected_events WHERE reason LIKE '400 %'");
  EXPECT_NE(raw.find(R"("userAgent": null, "ipAddress": "203.0.113.0/24")"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("203.0.113.99"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("Opera"), std::string::npos) << raw;
  EXPECT_EQ(journal_bytes().find("203.0.113.99"), std::string::npos);
}

}  // namespace
