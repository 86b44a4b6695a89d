// The journal cannot take more: its size bound, or its filesystem is full. The answer is 503
// (never a crash, never a 200 that is lost); once space returns, everything arrives.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "durability_support.hpp"
#include "pg_test_env.hpp"

using namespace caliper_sessiond::testing;
namespace fs = std::filesystem;
using std::chrono::seconds;

namespace {

class durability_bound : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    url_ = env_->create_database("durability");
    dir_ = fs::temp_directory_path() / ("caliper-bound-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  /// Fills the journal with the database unreachable until requests get 503, then restarts on a
  /// reachable database: every acknowledged event arrives exactly once and load succeeds again.
  /// `cause` names the metric that must show why (refusals at the bound, write errors).
  void fill_then_recover(const std::string& journal_toml, const std::string& cause) {
    std::vector<std::string> ids;
    {
      // It starts although its migrations cannot run: the journal takes the requests.
      server_process down(server_opts(unreachable_database, journal_toml, dir_, "drain_timeout_ms = 500"));
      ASSERT_TRUE(down.start()) << down.log();
      load_run load(down, load_opts(4, 0, 60, 0, false));
      ASSERT_TRUE(wait_until([&] { return metric(down, "caliper_journal_refused_total") >= 50; }, seconds(60)))
          << down.log();
      EXPECT_GT(metric(down, cause), 0) << cause;
      EXPECT_EQ(down.request("GET", "/readyz").status, 503);
      EXPECT_EQ(down.request("GET", "/healthz").status, 200);
      EXPECT_EQ(down.stop(SIGTERM), 0) << down.log();  // SIGTERM ends the load's connections too
      ASSERT_TRUE(load.wait());
      EXPECT_GT(load.count("503"), 0) << load.summary();
      EXPECT_GT(load.count("200"), 0) << load.summary();
      ids = load.acked_ids();
    }
    server_process up(server_opts(url_, journal_toml, dir_));
    ASSERT_TRUE(up.start()) << up.log();
    EXPECT_EQ(wait_all_stored(url_, ids, seconds(90)), "");
    EXPECT_EQ(metric(up, "caliper_journal_corrupt_records_total"), 0);
    EXPECT_FALSE(fs::exists(dir_ + "/corrupt"));
    // /readyz says 200 only once a request like the last one journaled fits again.
    ASSERT_TRUE(wait_until([&] { return up.request("GET", "/readyz").status == 200; }, seconds(30)));
    load_run more(up, load_opts(2, 50, 60, 0, false), "more");
    ASSERT_TRUE(more.wait());
    EXPECT_EQ(more.count("requests_ok"), 50) << more.summary() << up.log();
    EXPECT_EQ(wait_all_stored(url_, more.acked_ids(), seconds(30)), "");
    EXPECT_EQ(up.stop(SIGTERM), 0);
  }

  std::optional<pg_test_env> env_;
  std::string url_, dir_;
  bool mounted_ = false;
};

}  // namespace

TEST_F(durability_bound, journal_size_bound_answers_503_and_recovers) {
  fill_then_recover("max_bytes = 1048576\nsegment_bytes = 65536", "caliper_journal_refused_total");
}

TEST_F(durability_bound, full_filesystem_answers_503_and_recovers) {
  if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=2m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "): needs root or CAP_SYS_ADMIN";
  mounted_ = true;
  fill_then_recover("max_bytes = 67108864\nsegment_bytes = 262144", "caliper_journal_write_errors_total");
}
