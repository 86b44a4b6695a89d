// Event-level behaviour: selection by type, ids, actions, eventTime, rejects in a batch.

#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using ::testing::HasSubstr;
using test::project_fixture;
using test::us;

parse_result parse_fixture(const std::string& name, std::string_view source = "test") {
  return test::parse_body(project_fixture(name), source);
}

rejected_event only_reject(const std::string& name) {
  const parse_result r = parse_fixture(name);
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.rejects.size(), 1U);
  return r.rejects.empty() ? rejected_event{} : r.rejects[0];
}

TEST(Events, GenericEventWithLoggedInActionGivesNoRow) {
  const parse_result r = parse_fixture("events/generic-event-logged-in.json");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.skipped, 1U);
}

TEST(Events, BareAndUrnUuidIdsGiveTheSameCanonicalForm) {
  const parse_result learn = parse_fixture("learn-v1p1-timedout.json");   // bare, upper case
  const parse_result canvas = parse_fixture("canvas-v1p1-loggedin.json");  // urn:uuid:
  ASSERT_EQ(learn.events.size(), 1U);
  ASSERT_EQ(canvas.events.size(), 1U);
  EXPECT_EQ(learn.events[0].event_id, "3a1d4c2b-8e7f-4a6b-9c0d-1e2f3a4b5c6d");
  EXPECT_EQ(canvas.events[0].event_id, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
}

TEST(Events, IdThatIsNeitherUuidNorUrnUuidIsRejected) {
  EXPECT_EQ(only_reject("events/bad-event-id.json").reason, "event id \"event-42\" is neither a UUID nor urn:uuid:<UUID>");
}

TEST(Events, NonStringIdIsRejected) {
  EXPECT_EQ(only_reject("events/event-id-number.json").reason, "event id is not a string");
}

TEST(Events, DerivedIdIsStableAcrossResends) {
  const parse_result first = parse_fixture("moodle-v1p0-loggedout.json", "moodle");
  const parse_result again = parse_fixture("moodle-v1p0-loggedout.json", "moodle");
  ASSERT_EQ(first.events.size(), 1U);
  ASSERT_EQ(again.events.size(), 1U);
  EXPECT_EQ(first.events[0].event_id, again.events[0].event_id);
}

TEST(Events, DerivedIdIgnoresHowTheSameInstantIsWritten) {
  const parse_result utc = parse_fixture("moodle-v1p0-loggedout.json", "moodle");
  const parse_result offset = parse_fixture("events/moodle-v1p0-loggedout-offset-time.json", "moodle");
  ASSERT_EQ(utc.events.size(), 1U);
  ASSERT_EQ(offset.events.size(), 1U);
  EXPECT_EQ(utc.events[0].event_id, offset.events[0].event_id);
}

TEST(Events, DerivedIdDiffersWhenTheEventTimeDiffers) {
  const parse_result a = parse_fixture("moodle-v1p0-loggedout.json", "moodle");
  const parse_result b = parse_fixture("events/moodle-v1p0-loggedout-later.json", "moodle");
  ASSERT_EQ(a.events.size(), 1U);
  ASSERT_EQ(b.events.size(), 1U);
  EXPECT_NE(a.events[0].event_id, b.events[0].event_id);
}

TEST(Events, DerivedIdDiffersBetweenSources) {
  const parse_result a = parse_fixture("moodle-v1p0-loggedout.json", "moodle-a");
  const parse_result b = parse_fixture("moodle-v1p0-loggedout.json", "moodle-b");
  ASSERT_EQ(a.events.size(), 1U);
  ASSERT_EQ(b.events.size(), 1U);
  EXPECT_NE(a.events[0].event_id, b.events[0].event_id);
}

TEST(Events, UnknownActionOnSessionEventIsRejected) {
  EXPECT_EQ(only_reject("events/unknown-action.json").reason, "unknown action \"Viewed\" for a SessionEvent");
}

TEST(Events, ActionIriOfTheUnversionedVocabularyIsAccepted) {
  const parse_result r = parse_fixture("events/action-iri-v1p1-vocab.json");
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].action, session_action::logged_out);
}

TEST(Events, MissingEventTimeIsRejected) {
  EXPECT_EQ(only_reject("events/missing-event-time.json").reason, "missing eventTime");
}

TEST(Events, EventTimeWithOffsetAndExtraDigitsIsNormalizedToUtcMicroseconds) {
  const parse_result r = parse_fixture("events/event-time-with-offset.json");
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].event_time_us, us("2023-05-06T07:08:09.123456Z"));  // .1234565 rounds to even
}

TEST(Events, MissingActorIsRejected) { EXPECT_EQ(only_reject("events/missing-actor.json").reason, "missing actor"); }

TEST(Events, ActorGivenAsBareIriIsTheUser) {
  const parse_result r = parse_fixture("events/actor-bare-iri.json");
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].actor_id, "https://lms.example.edu/users/1");
  EXPECT_EQ(r.events[0].user_id, "https://lms.example.edu/users/1");
}

TEST(Events, TimedOutWithoutUserIsRejected) {
  EXPECT_EQ(only_reject("events/timed-out-without-user.json").reason, "TimedOut object has no user");
}

TEST(Events, TimedOutUserGivenAsBareIriIsAccepted) {
  const parse_result r = parse_fixture("events/timed-out-user-iri.json");
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].user_id, "https://lms.example.edu/users/1");
  EXPECT_EQ(r.events[0].actor_id, "https://lms.example.edu");
  EXPECT_EQ(r.events[0].session_id, "https://lms.example.edu/sessions/1");
}

TEST(Events, SessionGivenAsBareIriIsTheSessionId) {
  const parse_result r = parse_fixture("events/session-iri-string.json");
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].session_id, "https://lms.example.edu/sessions/abc");
  EXPECT_EQ(r.events[0].session_name, std::nullopt);
}

TEST(Events, ContextAsArrayOrObjectIsAccepted) {
  const parse_result r = parse_fixture("events/context-array-and-object.json");
  EXPECT_EQ(r.events.size(), 2U);
  EXPECT_TRUE(r.rejects.empty());
}

TEST(Events, UnknownFieldsAndExplicitNullsAreTolerated) {
  const parse_result r = parse_fixture("events/unknown-fields-and-nulls.json");
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].session_name, "session-1");
}

TEST(Events, MixedBatchStoresTheGoodEventsAndRejectsTheBadOne) {
  const std::string body = project_fixture("events/batch-one-bad-event-time.json");
  const parse_result r = test::parse_body(body);
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0].event_id, "6f1c2d3e-4a5b-4c6d-8e7f-000000000001");
  EXPECT_EQ(r.events[1].event_id, "6f1c2d3e-4a5b-4c6d-8e7f-000000000003");
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "eventTime \"yesterday at noon\" is not an RFC 3339 date-time");
  // raw is the second event exactly as it appears in the body.
  EXPECT_EQ(r.rejects[0].raw.front(), '{');
  EXPECT_EQ(r.rejects[0].raw.back(), '}');
  EXPECT_NE(body.find(r.rejects[0].raw), std::string::npos);
  EXPECT_THAT(r.rejects[0].raw, HasSubstr("6f1c2d3e-4a5b-4c6d-8e7f-000000000002"));
}

TEST(Events, RejectRawIsBoundedByMaxRawBytes) {
  envelope_parser parser(parse_limits{.max_raw_bytes = 40});
  std::string body = project_fixture("events/batch-one-bad-event-time.json");
  const parse_result r = parser.parse(body, "test");
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].raw.size(), 40U);
}

TEST(Events, UnparsableClientAddressIsAbsentNotARejectAndOthersAreNormalized) {
  const parse_result r = parse_fixture("events/client-ip-variants.json");
  ASSERT_EQ(r.events.size(), 4U);
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.events[0].ip_address, "203.0.113.9");
  EXPECT_EQ(r.events[1].ip_address, std::nullopt);
  EXPECT_EQ(r.events[2].ip_address, "::ffff:203.0.113.9");
  EXPECT_EQ(r.events[3].ip_address, "203.0.113.10");
}

}  // namespace
}  // namespace caliper_sessiond::caliper
