// flush_job against a database in a function: what it does when rows and rejects are refused.
#include "flush_job.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "store_test_support.hpp"

namespace caliper_sessiond::store {
namespace {

constexpr std::size_t raw_limit = 2000;  // like a CHECK (octet_length(raw) <= 2000)

struct stored_reject {
  std::string reason;
  std::string raw;
};

/// What the fake database holds; reset by each test.
std::vector<stored_reject> stored;

/// Refuses (as PostgreSQL would, whole statement) an event whose user agent is "refuse", a
/// reject whose raw is over raw_limit, and a reject whose reason starts with "hopeless".
std::optional<pg::error> fake_write(const pg::connection&, std::span<const event_row> rows,
                                    std::span<const reject_row> rejects, std::vector<bool>& inserted) {
  for (const event_row& r : rows)
    if (r.event->user_agent == "refuse") return pg::error{pg::error_action::reject, "22021", "bad bytes"};
  for (const reject_row& r : rejects) {
    if (r.raw.size() > raw_limit || r.reason.starts_with("hopeless"))
      return pg::error{pg::error_action::reject, "23514", "violates check constraint"};
  }
  inserted.assign(rows.size(), true);
  for (const reject_row& r : rejects) stored.push_back({std::string(r.reason), std::string(r.raw)});
  return std::nullopt;
}

struct flushed {
  std::optional<pg::error> error;
  commit_report report;
  outcome result = outcome::unavailable;
};

/// Runs one flush of `batch` to the end and returns what its completion got.
flushed flush(ingest_batch batch, writer_stats& stats) {
  flushed f;
  std::vector<queued_item> items;
  items.push_back({std::move(batch),
                   [&f](outcome o, const commit_report& r) {
                     f.result = o;
                     f.report = r;
                   },
                   clock::now()});
  flush_job job(std::move(items), fake_write);
  f.error = job.run(pg::connection{});
  if (!f.error) job.complete_committed(stats);
  return f;
}

class flush_job_test : public ::testing::Test {
protected:
  void SetUp() override { stored.clear(); }
  writer_stats stats_;
};

TEST_F(flush_job_test, a_reject_refused_whole_is_stored_cut_short_with_its_reason) {
  ingest_batch b = testing::make_batch(1, 2);
  b.rejects = {{"no user", R"({"id":"a"})"}, {"body too large", std::string(5000, 'x')}, {"no action", "{}"}};
  const flushed f = flush(std::move(b), stats_);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(f.result, outcome::committed);
  EXPECT_EQ(f.report.inserted, 2U);
  EXPECT_EQ(f.report.rejects, 3U);
  EXPECT_EQ(stats_.rejects_dropped.load(), 0U);
  ASSERT_EQ(stored.size(), 3U);
  const auto minimal = std::find_if(stored.begin(), stored.end(),
                                    [](const stored_reject& r) { return r.reason.starts_with("body too large"); });
  ASSERT_NE(minimal, stored.end());
  EXPECT_EQ(minimal->raw, std::string(minimal_reject_bytes, 'x'));
  EXPECT_NE(minimal->reason.find("SQLSTATE 23514"), std::string::npos) << minimal->reason;
  const auto intact = std::count_if(stored.begin(), stored.end(), [](const stored_reject& r) {
    return r.reason == "no user" || r.reason == "no action";
  });
  EXPECT_EQ(intact, 2);
}

TEST_F(flush_job_test, a_reject_refused_even_cut_short_is_counted_as_dropped) {
  ingest_batch b = testing::make_batch(10, 1);
  b.rejects = {{"hopeless: the database refuses this reason", "{}"}, {"no user", "{}"}};
  const flushed f = flush(std::move(b), stats_);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(f.result, outcome::committed);
  EXPECT_EQ(f.report.inserted, 1U);
  EXPECT_EQ(f.report.rejects, 1U);
  EXPECT_EQ(stats_.rejects_stored.load(), 1U);
  EXPECT_EQ(stats_.rejects_dropped.load(), 1U);
  ASSERT_EQ(stored.size(), 1U);
  EXPECT_EQ(stored[0].reason, "no user");
}

TEST_F(flush_job_test, many_refused_events_log_at_most_one_warning) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log)));
  ingest_batch b = testing::make_batch(100, 60);
  for (std::size_t i = 0; i < b.events.size(); i += 2) b.events[i].user_agent = "refuse";
  const flushed f = flush(std::move(b), stats_);
  spdlog::set_default_logger(previous);
  ASSERT_FALSE(f.error);
  EXPECT_EQ(f.report.inserted, 30U);
  EXPECT_EQ(f.report.rejects, 30U);
  std::size_t warnings = 0;
  for (std::size_t at = log.str().find("[warning]"); at != std::string::npos;
       at = log.str().find("[warning]", at + 1))
    ++warnings;
  EXPECT_LE(warnings, 1U) << log.str();  // one per refused event would be 30
}

}  // namespace
}  // namespace caliper_sessiond::store
