// caliper-sessiond forget --user ID against a real PostgreSQL (issue 15 item 3).
#include <tuple>

#include "operator_support.hpp"

using namespace caliper_sessiond::testing;

namespace {

class forget_e2e : public operator_fixture {
protected:
  void SetUp() override {
    operator_fixture::SetUp();
    if (IsSkipped()) return;
    exec(read_file(source_dir() + "/tests/fixtures/operators/forget-events.sql"));
  }

  std::string person_rows() const {
    return scalar("SELECT (SELECT count(*) FROM caliper.session_events WHERE user_id = 'https://lms.example.edu/users/1') || '/' || "
                  "(SELECT count(*) FROM caliper.sessions WHERE user_id = 'https://lms.example.edu/users/1') || '/' || "
                  "(SELECT count(*) FROM caliper.rejected_events WHERE raw LIKE '%users/1\"%' OR raw LIKE '%users\\\\/1\"%')");
  }
  std::string other_rows() const {
    return scalar("SELECT (SELECT count(*) FROM caliper.session_events WHERE user_id <> 'https://lms.example.edu/users/1') || '/' || "
                  "(SELECT count(*) FROM caliper.sessions WHERE user_id <> 'https://lms.example.edu/users/1') || '/' || "
                  "(SELECT count(*) FROM caliper.rejected_events WHERE raw LIKE '%users/10%')");
  }
};

TEST_F(forget_e2e, fixture_has_both_people_in_both_partitions) {
  EXPECT_EQ(person_rows(), "3/2/2");
  EXPECT_EQ(other_rows(), "3/2/2");
  EXPECT_EQ(scalar("SELECT count(DISTINCT tableoid) FROM caliper.event_rows WHERE user_id = 'https://lms.example.edu/users/1'"), "2");
}

TEST_F(forget_e2e, external_id_erases_the_persons_events_sessions_and_rejects) {
  const auto [rc, out] = tool("forget --user S1");
  ASSERT_EQ(rc, 0) << out << tool_log();
  EXPECT_EQ(out, "erased 3 events, 2 sessions, 2 rejects (1 user IRIs matched); recorded in caliper.erasures\n");
  EXPECT_EQ(person_rows(), "0/0/0");
}

TEST_F(forget_e2e, other_people_are_untouched_even_with_ids_that_start_alike) {
  ASSERT_EQ(tool("forget --user https://lms.example.edu/users/1").first, 0) << tool_log();
  EXPECT_EQ(person_rows(), "0/0/0");
  EXPECT_EQ(other_rows(), "3/2/2");
}

TEST_F(forget_e2e, lms_id_finds_the_same_person) {
  const auto [rc, out] = tool("forget --user _1_1");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "erased 3 events, 2 sessions, 2 rejects (1 user IRIs matched); recorded in caliper.erasures\n");
}

// The person acting for another user (users/10's event, actor users/1): the event stays, its
// actor is masked, and the output and the record say how many (sql/012).
TEST_F(forget_e2e, the_person_as_another_users_actor_is_masked) {
  exec("INSERT INTO caliper.session_events (event_id, source, action, event_time, actor_id, user_id, session_id, "
       "sensor, received_at) VALUES ('7c000000-0000-4000-8000-000000000020', 'learn-test', 'LoggedOut', "
       "date_trunc('month', now()) + interval '4 hours', 'https://lms.example.edu/users/1', "
       "'https://lms.example.edu/users/10', 'https://lms.example.edu/sessions/c', 's', now())");
  auto [rc, out] = tool("forget --user S1 --dry-run");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "dry run, nothing changed: would erase 3 events, 2 sessions, 2 rejects (1 user IRIs matched), would "
                 "mask the person as the actor of 1 events of other users\n");
  std::tie(rc, out) = tool("forget --user S1");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "erased 3 events, 2 sessions, 2 rejects (1 user IRIs matched), masked the person as the actor of 1 "
                 "events of other users; recorded in caliper.erasures\n");
  EXPECT_EQ(scalar("SELECT user_id || ' ' || actor_id FROM caliper.session_events "
                   "WHERE event_id = '7c000000-0000-4000-8000-000000000020'"),
            "https://lms.example.edu/users/10 urn:caliper-sessiond:erased");
  EXPECT_EQ(scalar("SELECT actors_masked FROM caliper.erasures"), "1");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.session_events WHERE actor_id = 'https://lms.example.edu'"), "1")
      << "the LMS as the actor of a TimedOut is no person's";
}

TEST_F(forget_e2e, erasure_is_recorded_with_a_salted_hash_and_never_the_id) {
  ASSERT_EQ(tool("forget --user S1").first, 0) << tool_log();
  EXPECT_EQ(scalar("SELECT users || '/' || events || '/' || sessions || '/' || rejects FROM caliper.erasures"), "1/3/2/2");
  EXPECT_EQ(scalar("SELECT user_hash = caliper.erasure_hash('S1') AND user_hash <> sha256(convert_to('S1', 'UTF8')) "
                   "FROM caliper.erasures"),
            "t");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.erasures AS e WHERE e::text LIKE '%S1%' OR e::text LIKE '%lms.example%'"), "0");
}

TEST_F(forget_e2e, analysts_see_counts_but_neither_hash_nor_salt) {
  ASSERT_EQ(tool("forget --user S1").first, 0) << tool_log();
  EXPECT_EQ(scalar("SELECT has_column_privilege('caliper_analyst', 'caliper.erasures', 'events', 'SELECT')::text || "
                   "has_column_privilege('caliper_analyst', 'caliper.erasures', 'user_hash', 'SELECT')::text || "
                   "has_table_privilege('caliper_analyst', 'caliper.erasure_salt', 'SELECT')::text"),
            "truefalsefalse");
}

TEST_F(forget_e2e, dry_run_counts_and_changes_nothing) {
  const auto [rc, out] = tool("forget --user S1 --dry-run");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "dry run, nothing changed: would erase 3 events, 2 sessions, 2 rejects (1 user IRIs matched)\n");
  EXPECT_EQ(person_rows(), "3/2/2");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.erasures"), "0");
}

TEST_F(forget_e2e, the_id_is_not_logged) {
  ASSERT_EQ(tool("forget --user S1").first, 0);
  EXPECT_EQ(tool_log().find("S1"), std::string::npos) << tool_log();
}

TEST_F(forget_e2e, the_lms_iri_as_actor_of_timeouts_erases_nobody) {
  const auto [rc, out] = tool("forget --user https://lms.example.edu");
  ASSERT_EQ(rc, 0) << tool_log();
  EXPECT_EQ(out, "erased 0 events, 0 sessions, 0 rejects (0 user IRIs matched); recorded in caliper.erasures\n");
  EXPECT_EQ(other_rows(), "3/2/2");
}

TEST_F(forget_e2e, missing_user_is_a_usage_error) { EXPECT_EQ(tool("forget --dry-run").first, 2); }

}  // namespace
