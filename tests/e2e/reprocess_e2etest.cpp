// caliper-sessiond reprocess-rejects against a real PostgreSQL (issue 15 item 2). The rejects
// are made as the server stores them, with old reasons standing for a parser gap since closed.
#include "operator_support.hpp"

using namespace caliper_sessiond::testing;

namespace {

constexpr const char* received = "2024-03-01T12:00:00Z";

class reprocess_e2e : public operator_fixture {
protected:
  void SetUp() override {
    operator_fixture::SetUp();
    if (IsSkipped()) return;
    insert_reject(received, "unknown action \"LoggedIn\" for a SessionEvent (old parser)", "reject-event-now-parses.json");
    insert_reject(received, "old reason", "reject-event-still-bad.json");
    insert_reject(received, "400 Invalid envelope: the envelope has no sendTime (old parser)", "reject-body-now-parses.json");
    insert_reject(received, "database refused the event: value too long (SQLSTATE 22001)", "reject-database-refused.json");
  }

  std::string rejects() const { return scalar("SELECT count(*) FROM caliper.rejected_events"); }
};

TEST_F(reprocess_e2e, stores_what_now_parses_and_removes_it_from_the_rejects) {
  const auto [rc, out] = tool("reprocess-rejects");
  ASSERT_EQ(rc, 0) << out << tool_log();
  EXPECT_EQ(out, "2 reprocessed, 2 stored, 0 duplicates, 2 still rejected, 1 left as they were (not re-readable)\n");
  EXPECT_EQ(scalar("SELECT string_agg(event_id::text, ',' ORDER BY event_id) FROM caliper.session_events"),
            "7d000000-0000-4000-8000-000000000001,7d000000-0000-4000-8000-000000000003");
  // Stored as the server would: received_at and source of the reject, address normalized.
  EXPECT_EQ(scalar("SELECT received_at = '2024-03-01T12:00:00Z' AND source = 'learn-test' AND ip_address = '198.51.100.23' "
                   "FROM caliper.session_events WHERE event_id = '7d000000-0000-4000-8000-000000000001'"),
            "t");
  EXPECT_EQ(scalar("SELECT session_id FROM caliper.sessions"), "https://lms.example.edu/sessions/1");  // the trigger ran
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.rejected_events WHERE raw LIKE '%000000000001%' OR raw LIKE '%\"sendTime\"%'"), "0");
}

TEST_F(reprocess_e2e, one_reject_per_batch_gives_the_same_result) {
  const auto [rc, out] = tool("reprocess-rejects", "CALIPER_DATABASE_BATCH_MAX_EVENTS=1");
  ASSERT_EQ(rc, 0) << out << tool_log();
  EXPECT_EQ(out, "2 reprocessed, 2 stored, 0 duplicates, 2 still rejected, 1 left as they were (not re-readable)\n");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.session_events"), "2");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.rejected_events"), "3");
}

TEST_F(reprocess_e2e, rejects_that_still_fail_keep_their_new_reason) {
  ASSERT_EQ(tool("reprocess-rejects").first, 0) << tool_log();
  EXPECT_EQ(scalar("SELECT reason FROM caliper.rejected_events WHERE raw LIKE '%000000000002%'"),
            "eventTime \"yesterday\" is not an RFC 3339 date-time");
  // The bad event of the body that now parses becomes a reject of its own.
  EXPECT_EQ(scalar("SELECT reason FROM caliper.rejected_events WHERE raw LIKE '%000000000004%'"),
            "unknown action \"Jumped\" for a SessionEvent");
  EXPECT_EQ(scalar("SELECT reason LIKE 'database refused the event: value too long%' FROM caliper.rejected_events "
                   "WHERE raw LIKE '%000000000005%'"),
            "t");
}

TEST_F(reprocess_e2e, second_run_finds_the_events_already_stored) {
  ASSERT_EQ(tool("reprocess-rejects").first, 0);
  insert_reject(received, "old reason", "reject-event-now-parses.json");
  const auto [rc, out] = tool("reprocess-rejects");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "1 reprocessed, 0 stored, 1 duplicates, 2 still rejected, 1 left as they were (not re-readable)\n");
  EXPECT_EQ(rejects(), "3");
}

TEST_F(reprocess_e2e, dry_run_counts_and_changes_nothing) {
  const std::string before = scalar("SELECT string_agg(id || reason, '|' ORDER BY id) FROM caliper.rejected_events");
  const auto [rc, out] = tool("reprocess-rejects --dry-run");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "dry run, nothing changed: would be 2 reprocessed, 2 stored, 0 duplicates, 2 still rejected, "
                 "1 left as they were (not re-readable)\n");
  EXPECT_EQ(scalar("SELECT string_agg(id || reason, '|' ORDER BY id) FROM caliper.rejected_events"), before);
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.session_events"), "0");
}

TEST_F(reprocess_e2e, since_leaves_older_rejects_alone) {
  insert_reject("2024-01-15T00:00:00Z", "old reason", "reject-event-now-parses.json");
  exec("UPDATE caliper.rejected_events SET received_at = '2024-01-15T00:00:00Z' WHERE reason LIKE 'unknown action%'");
  const auto [rc, out] = tool("reprocess-rejects --since 2024-02-01T00:00:00Z");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "1 reprocessed, 1 stored, 0 duplicates, 2 still rejected, 1 left as they were (not re-readable)\n");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.rejected_events WHERE received_at < '2024-02-01'"), "2");
}

TEST_F(reprocess_e2e, event_the_database_refuses_stays_a_reject_and_the_rest_of_the_batch_goes_on) {
  // Stands for a row the parser lets through and PostgreSQL refuses (SQLSTATE 23514).
  exec("ALTER TABLE caliper.event_rows ADD CONSTRAINT refuse_user_1 CHECK (user_id <> 'https://lms.example.edu/users/1')");
  const auto [rc, out] = tool("reprocess-rejects");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "1 reprocessed, 1 stored, 0 duplicates, 3 still rejected, 1 left as they were (not re-readable)\n");
  EXPECT_EQ(scalar("SELECT reason LIKE 'database refused the event when reprocessed: %(SQLSTATE 23514)' "
                   "FROM caliper.rejected_events WHERE raw LIKE '%000000000001%'"),
            "t");
  EXPECT_EQ(scalar("SELECT string_agg(event_id::text, ',') FROM caliper.session_events"), "7d000000-0000-4000-8000-000000000003");
}

TEST_F(reprocess_e2e, bad_since_is_a_usage_error) {
  EXPECT_EQ(tool("reprocess-rejects --since yesterday").first, 2);
  EXPECT_EQ(rejects(), "4");
}

}  // namespace
