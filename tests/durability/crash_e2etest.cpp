// kill -9, SIGTERM and a torn journal record, each under load: every event answered 200 is
// in caliper.session_events exactly once afterwards.
#include <gtest/gtest.h>

#include <signal.h>

#include <filesystem>
#include <fstream>

#include "durability_support.hpp"
#include "files.hpp"
#include "pg_test_env.hpp"
#include "record.hpp"

using namespace caliper_sessiond::testing;
namespace j = caliper_sessiond::journal;
namespace fs = std::filesystem;
using std::chrono::seconds;

namespace {

class durability_crash : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    url_ = env_->create_database("durability");
  }
  std::optional<pg_test_env> env_;
  std::string url_;
};

/// The segment files holding records, oldest first.
std::vector<std::string> segments_with_data(const std::string& dir) {
  std::vector<std::string> out;
  for (auto n : j::list_segments(dir)) {
    const auto p = dir + "/" + j::segment_file_name(n);
    if (fs::file_size(p) > 0) out.push_back(p);
  }
  return out;
}

}  // namespace

TEST_F(durability_crash, kill_9_during_load_loses_no_acknowledged_event) {
  server_process server(server_opts(url_));
  ASSERT_TRUE(server.start()) << server.log();
  load_run load(server, load_opts(8, 1600, 90));
  ASSERT_TRUE(wait_until([&] { return metric(server, R"(caliper_journal_records_total{state="appended"})") >= 600; },
                         seconds(60)));
  server.kill();
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(load.wait()) << "the load did not finish";
  const auto ids = load.acked_ids();
  EXPECT_GT(ids.size(), 10'000u) << load.summary();
  EXPECT_GE(load.count("connection_errors"), 1) << "the kill did not interrupt the load: " << load.summary();
  EXPECT_EQ(wait_all_stored(url_, ids, seconds(60)), "");
}

TEST_F(durability_crash, sigterm_during_load_exits_0_and_loses_nothing) {
  // Three I/O threads (three event loops) whatever the machine: their completions each come
  // back to their own thread, and a shutdown stops them all.
  auto opts = server_opts(url_);
  opts.extra_toml = "threads = 3\n";
  server_process server(opts);
  ASSERT_TRUE(server.start()) << server.log();
  load_run load(server, load_opts(8, 1600, 90));
  ASSERT_TRUE(wait_until([&] { return metric(server, R"(caliper_journal_records_total{state="appended"})") >= 600; },
                         seconds(60)));
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
  EXPECT_NE(server.log().find("writer stopped"), std::string::npos);
  ASSERT_TRUE(server.start()) << server.log();
  ASSERT_TRUE(load.wait()) << "the load did not finish";
  EXPECT_EQ(wait_all_stored(url_, load.acked_ids(), seconds(60)), "");
}

TEST_F(durability_crash, torn_last_record_is_cut_off_and_earlier_records_arrive) {
  // First run: the database is unreachable, so everything stays in the journal.
  const std::string journal = fs::temp_directory_path() / ("caliper-torn-" + std::to_string(::getpid()));
  fs::remove_all(journal);
  std::vector<std::string> ids;
  {
    server_process down(server_opts(unreachable_database, "", journal, "migrate_on_start = false\ndrain_timeout_ms = 500"));
    ASSERT_TRUE(down.start()) << down.log();
    load_run load(down, load_opts(1, 20, 60, 0, false));
    ASSERT_TRUE(load.wait());
    ids = load.acked_ids();
    ASSERT_EQ(ids.size(), 200u) << load.summary();
    down.kill();
  }
  // The killed server left zeros after its last record: the room its flusher prepares ahead.
  const auto files = segments_with_data(journal);
  ASSERT_FALSE(files.empty());
  const auto bytes = *j::read_from(files.back(), 0);
  std::size_t last = 0, end = 0;
  while (end < bytes.size()) {
    const auto r = j::parse_record(std::string_view(bytes).substr(end));
    if (r.status != j::parse_status::ok) break;
    last = end;
    end += r.size;
  }
  ASSERT_LT(end, bytes.size()) << "no room prepared after the last record";
  EXPECT_EQ(bytes.find_first_not_of('\0', end), std::string::npos) << "not zeros after the last record";
  // Zero the second half of the last record, as a crash in the middle of its write would leave
  // it in blocks prepared with zeros.
  {
    std::fstream f(files.back(), std::ios::in | std::ios::out | std::ios::binary);
    const std::size_t half = last + (end - last) / 2;
    f.seekp(static_cast<std::streamoff>(half));
    const std::string zeros(end - half, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    ASSERT_TRUE(f.good());
  }

  server_process up(server_opts(url_, "", journal));
  ASSERT_TRUE(up.start()) << up.log();
  const std::vector<std::string> kept(ids.begin(), ids.end() - 10);  // the last request's 10 events were cut
  EXPECT_EQ(wait_all_stored(url_, kept, seconds(60)), "");
  const auto counts = stored_counts(url_);
  for (auto it = ids.end() - 10; it != ids.end(); ++it) EXPECT_FALSE(counts.contains(*it)) << *it;
  EXPECT_NE(up.log().find("torn last record"), std::string::npos) << up.log();
  EXPECT_NE(up.log().find("of room prepared after the last record were cut off"), std::string::npos) << up.log();
  EXPECT_EQ(metric(up, "caliper_journal_corrupt_records_total"), 0);
  const auto replayed = metric(up, "caliper_journal_records_read_from_disk_total");
  EXPECT_GE(replayed, 19);  // the 19 whole records, read back from disk (more if the writer refused one)
  load_run more(up, load_opts(2, 20, 60, 0, false), "more");
  ASSERT_TRUE(more.wait());
  EXPECT_EQ(more.count("requests_ok"), 20) << more.summary();
  // New requests reach the writer from memory: nothing more is read back.
  EXPECT_EQ(wait_all_stored(url_, more.acked_ids(), seconds(60)), "");
  EXPECT_EQ(metric(up, "caliper_journal_records_read_from_disk_total"), replayed);
  up.stop(SIGTERM);
  fs::remove_all(journal);
}
