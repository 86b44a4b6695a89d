// Event-level behaviour: selection by type, ids, actions, eventTime and its window, rejects in a
// batch, and envelopes whose event ids cannot be derived.

#include <optional>

#include "caliper_sessiond/caliper/ids.hpp"
#include "openssl_guard.hpp"
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
  const parse_result r = parser.parse(body, "test", test::test_now_us);
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

// eventTime window (issue 11): [now - event_time_past_days, now + event_time_future_seconds].

/// events/event-time-window.json with its two eventTimes, parsed with the default limits.
parse_result parse_window(const std::string& first, const std::string& second, parse_limits limits = {}) {
  std::string body = project_fixture("events/event-time-window.json");
  body.replace(body.find("<first>"), 7, first);
  body.replace(body.find("<second>"), 8, second);
  envelope_parser parser(limits);
  return parser.parse(body, "test", test::test_now_us);
}

TEST(EventTimeWindow, BothEdgesAreStored) {
  // test_now_us is 2026-12-01T00:00:00Z; 3650 days before it is 2016-12-03 (two leap days).
  const parse_result r = parse_window("2016-12-03T00:00:00Z", "2026-12-02T00:00:00Z");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0].event_time_us, test::test_now_us - 3650LL * 86'400'000'000);
  EXPECT_EQ(r.events[1].event_time_us, test::test_now_us + 86'400'000'000);
}

TEST(EventTimeWindow, OneMicrosecondOutsideIsARejectNamingTheWindowAndTheRestIsStored) {
  const std::string window = "is outside the accepted window [2016-12-03 00:00:00+00, 2026-12-02 00:00:00+00]: "
                             "ingest.event_time_past_days (3650) before and ingest.event_time_future_seconds (86400) "
                             "after the time of receipt";
  parse_result r = parse_window("2016-12-02T23:59:59.999999Z", "2026-11-30T12:00:00Z");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].event_id, "5f0e1d2c-3b4a-4958-8766-000000000012");
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "eventTime \"2016-12-02T23:59:59.999999Z\" " + window);
  EXPECT_THAT(r.rejects[0].raw, HasSubstr("5f0e1d2c-3b4a-4958-8766-000000000011"));

  r = parse_window("2026-11-30T12:00:00Z", "2026-12-02T00:00:00.000001Z");
  ASSERT_EQ(r.events.size(), 1U);
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "eventTime \"2026-12-02T00:00:00.000001Z\" " + window);
}

TEST(EventTimeWindow, YearsOneAndNineThousandNineHundredNinetyNineAreRejects) {
  const parse_result r = parse_window("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.rejects.size(), 2U);
  EXPECT_THAT(r.rejects[0].reason, HasSubstr("\"0001-01-01T00:00:00Z\" is outside the accepted window"));
  EXPECT_THAT(r.rejects[1].reason, HasSubstr("\"9999-12-31T23:59:59Z\" is outside the accepted window"));
}

TEST(EventTimeWindow, FollowsTheConfiguredLimits) {
  const parse_limits narrow{.event_time_past_days = 1, .event_time_future_seconds = 0};
  const parse_result r = parse_window("2026-11-30T00:00:00Z", "2026-12-01T00:00:00.000001Z", narrow);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].event_time_us, test::test_now_us - 86'400'000'000);
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_THAT(r.rejects[0].reason, HasSubstr("window [2026-11-30 00:00:00+00, 2026-12-01 00:00:00+00]: "
                                             "ingest.event_time_past_days (1) before and "
                                             "ingest.event_time_future_seconds (0) after"));
}

TEST(EventTimeWindow, IsCentredOnTheTimeOfReceiptGiven) {
  envelope_parser parser;
  std::string body = project_fixture("events/event-time-window.json");
  body.replace(body.find("<first>"), 7, "2016-12-03T00:00:00Z");
  body.replace(body.find("<second>"), 8, "2016-12-03T00:00:00Z");
  EXPECT_EQ(parser.parse(body, "test", test::test_now_us).events.size(), 2U);
  EXPECT_EQ(parser.parse(body, "test", test::test_now_us + 1).rejects.size(), 2U);
}

// Event ids that cannot be derived (issue 11): the whole envelope is a 503, never a made-up id.

using sha1_unavailable = caliper_sessiond::testing::fips_only_openssl;

TEST(DerivedIdFailure, EnvelopeNeedingADerivedIdIs503AndYieldsNothing) {
  const sha1_unavailable guard;
  const parse_result r = parse_fixture("moodle-v1p0-loggedin-timedout.json", "moodle");  // 1.0: no ids
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 503);
  EXPECT_EQ(r.error->detail, "cannot derive event ids now; retry later");
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.rejects.empty());
}

TEST(DerivedIdFailure, EnvelopeWhoseEventsCarryIdsIsParsedAsUsual) {
  const sha1_unavailable guard;
  const parse_result r = parse_fixture("learn-v1p1-mixed-batch.json");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_FALSE(r.events.empty());
}

TEST(DerivedIdFailure, IdsAreDerivedAgainOnceSha1Works) {
  std::optional<parse_result> failed;
  {
    const sha1_unavailable guard;
    failed = parse_fixture("moodle-v1p0-loggedout.json", "moodle");
  }
  ASSERT_TRUE(failed->error);
  const parse_result r = parse_fixture("moodle-v1p0-loggedout.json", "moodle");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(canonical_event_uuid(r.events[0].event_id), r.events[0].event_id);
}

}  // namespace
}  // namespace caliper_sessiond::caliper
