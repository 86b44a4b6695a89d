// v1p2/commonErrorFixtures: each is refused with a reason.
//
// The SessionEvent ones are parsed as they are. The others are not SessionEvents, so on
// their own they give no row (a ViewEvent is skipped, a bare Session entity is skipped); their
// error is judged where it matters to us: the malformed `session` value of the ViewEvents, and
// the malformed Session entities, placed into the official v1p2 SessionEvents (as `session`,
// `federatedSession`, or the object of a TimedOut) make that SessionEvent a reject.

#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using ::testing::HasSubstr;
using test::spec_fixture;
using test::wrap_in_envelope;

const std::string errors = "v1p2/commonErrorFixtures/";

/// Parses one event; expects exactly one reject and returns it.
rejected_event only_reject(const std::string& event) {
  const parse_result r = test::parse_body(wrap_in_envelope(event));
  EXPECT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.rejects.size(), 1U);
  return r.rejects.empty() ? rejected_event{} : r.rejects[0];
}

std::string logged_in_with(std::string_view member, const std::string& value) {
  return test::replace_member(spec_fixture("v1p2/caliperEventSessionLoggedIn.json"), member, value);
}

std::string timed_out_with_object(const std::string& value) {
  return test::replace_member(spec_fixture("v1p2/caliperEventSessionTimedOut.json"), "object", value);
}

TEST(CommonErrorFixtures, WrongActionIsRejectedAsUnknownAction) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const std::string event = spec_fixture(errors + "caliperEventSession-WrongAction.json");
  const rejected_event r = only_reject(event);
  EXPECT_THAT(r.reason, HasSubstr("unknown action \"Deleted\""));
  EXPECT_EQ(r.raw, test::trim_right(event));
}

TEST(CommonErrorFixtures, LoggedInWithPersonObjectIsRejected) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const rejected_event r =
      only_reject(spec_fixture(errors + "caliperEventSessionLoggedIn-MalformedObjectWrongEntityType.json"));
  EXPECT_EQ(r.reason, "object has the wrong entity type \"Person\" (expected SoftwareApplication)");
}

TEST(CommonErrorFixtures, LoggedInWithPersonReferrerIsRejected) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const rejected_event r =
      only_reject(spec_fixture(errors + "caliperEventSessionLoggedIn-MalformedReferrerWrongEntityType.json"));
  EXPECT_EQ(r.reason, "referrer has the wrong entity type \"Person\" (expected a resource)");
}

TEST(CommonErrorFixtures, LoggedInWithPersonTargetIsRejected) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const rejected_event r =
      only_reject(spec_fixture(errors + "caliperEventSessionLoggedIn-MalformedTargetWrongEntityType.json"));
  EXPECT_EQ(r.reason, "target has the wrong entity type \"Person\" (expected a resource)");
}

TEST(CommonErrorFixtures, TimedOutWithPersonObjectIsRejected) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const rejected_event r =
      only_reject(spec_fixture(errors + "caliperEventSessionTimedOut-MalformedObjectWrongEntityType.json"));
  EXPECT_EQ(r.reason, "object has the wrong entity type \"Person\" (expected Session)");
}

TEST(CommonErrorFixtures, ViewEventsWithMalformedSessionAreSkippedNotStored) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  for (const char* name : {"caliperEvent-MalformedSessionNotAString.json", "caliperEvent-MalformedSessionWrongEntityType.json"}) {
    const parse_result r = test::parse_body(wrap_in_envelope(spec_fixture(errors + name)));
    ASSERT_FALSE(r.error) << name;
    EXPECT_TRUE(r.events.empty()) << name;
    EXPECT_EQ(r.skipped, 1U) << name;
  }
}

TEST(CommonErrorFixtures, SessionThatIsNeitherIriNorObjectRejectsTheSessionEvent) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const std::string session = test::member_raw(spec_fixture(errors + "caliperEvent-MalformedSessionNotAString.json"), "session");
  const rejected_event r = only_reject(logged_in_with("session", session));
  EXPECT_EQ(r.reason, "session \"This is not an object or an IRI\" is neither an IRI nor an object");
}

TEST(CommonErrorFixtures, SessionOfWrongEntityTypeRejectsTheSessionEvent) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const std::string session =
      test::member_raw(spec_fixture(errors + "caliperEvent-MalformedSessionWrongEntityType.json"), "session");
  const rejected_event r = only_reject(logged_in_with("session", session));
  EXPECT_EQ(r.reason, "session has the wrong entity type \"Person\" (expected Session)");
}

TEST(CommonErrorFixtures, MalformedSessionEntitiesAloneAreSkippedEntities) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  for (const char* name : {"caliperEntitySession-MalformedClientWrongEntityType.json",
                           "caliperEntitySession-MalformedDurationNotValidDuration.json",
                           "caliperEntitySession-MalformedEndedAtTimeNotValidDateTime.json",
                           "caliperEntitySession-MalformedStartedAtTimeNotADateTime.json",
                           "caliperEntitySession-MalformedUserWrongEntityType.json"}) {
    const parse_result r = test::parse_body(wrap_in_envelope(spec_fixture(errors + name)));
    ASSERT_FALSE(r.error) << name;
    EXPECT_TRUE(r.events.empty()) << name;
    EXPECT_EQ(r.skipped, 1U) << name;
  }
}

struct malformed_session {
  const char* fixture;
  const char* problem;  ///< the reason after the role name
};

class MalformedSessionEntity : public ::testing::TestWithParam<malformed_session> {};

TEST_P(MalformedSessionEntity, AsSessionRejectsLoggedIn) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const rejected_event r = only_reject(logged_in_with("session", spec_fixture(errors + GetParam().fixture)));
  EXPECT_EQ(r.reason, std::string("session ") + GetParam().problem);
}

TEST_P(MalformedSessionEntity, AsFederatedSessionRejectsLoggedIn) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  // The v1p2 LoggedIn has no federatedSession: put the Session there and keep the good session.
  const std::string good = spec_fixture("v1p2/caliperEventSessionLoggedIn.json");
  const std::string event = test::replace_member(good, "edApp", "\"https://example.edu\", \"federatedSession\": " +
                                                                    spec_fixture(errors + GetParam().fixture));
  const rejected_event r = only_reject(event);
  EXPECT_EQ(r.reason, std::string("federatedSession ") + GetParam().problem);
}

TEST_P(MalformedSessionEntity, AsObjectRejectsTimedOut) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const rejected_event r = only_reject(timed_out_with_object(spec_fixture(errors + GetParam().fixture)));
  EXPECT_EQ(r.reason, std::string("object ") + GetParam().problem);
}

INSTANTIATE_TEST_SUITE_P(
    CommonErrorFixtures, MalformedSessionEntity,
    ::testing::Values(
        malformed_session{"caliperEntitySession-MalformedClientWrongEntityType.json",
                          "client has the wrong entity type \"Person\" (expected SoftwareApplication)"},
        malformed_session{"caliperEntitySession-MalformedDurationNotValidDuration.json",
                          "duration is not an ISO 8601 duration"},
        malformed_session{"caliperEntitySession-MalformedEndedAtTimeNotValidDateTime.json",
                          "endedAtTime is not an RFC 3339 date-time"},
        malformed_session{"caliperEntitySession-MalformedStartedAtTimeNotADateTime.json",
                          "startedAtTime is not an RFC 3339 date-time"},
        malformed_session{"caliperEntitySession-MalformedUserWrongEntityType.json",
                          "user has the wrong entity type \"SoftwareApplication\" (expected Person)"}),
    [](const auto& info) {
      std::string name = info.param.fixture;
      name = name.substr(name.find('-') + 1);
      return name.substr(0, name.find('.'));
    });

TEST(CommonErrorFixtures, WellFormedSessionEntityInTheSameRolesIsAccepted) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const std::string session = spec_fixture("v1p2/caliperEntitySessionClient.json");
  const parse_result as_session = test::parse_body(wrap_in_envelope(logged_in_with("session", session)));
  ASSERT_EQ(as_session.events.size(), 1U);
  EXPECT_EQ(as_session.events[0].ip_address, "2001:db8:85a3::8a2e:370:7334");
  const parse_result as_object = test::parse_body(wrap_in_envelope(timed_out_with_object(session)));
  ASSERT_EQ(as_object.events.size(), 1U);
  EXPECT_EQ(as_object.events[0].user_id, "https://example.edu/users/554433");
  EXPECT_EQ(as_object.events[0].session_id, "https://example.edu/sessions/1f6442a482de72ea6ad134943812bff564a76259");
}

}  // namespace
}  // namespace caliper_sessiond::caliper
