// The official Caliper fixtures: every SessionEvent gives its exact row; nothing else gives one.

#include <filesystem>
#include <set>

#include "caliper_sessiond/caliper/text.hpp"
#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using test::spec_fixture;
using test::us;
using test::wrap_in_envelope;

/// Parses a single-event spec fixture wrapped in an envelope; expects one row, returns it.
session_event only_row(const std::string& fixture, std::string_view source = "test") {
  const parse_result r = test::parse_body(wrap_in_envelope(spec_fixture(fixture)), source);
  EXPECT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty()) << (r.rejects.empty() ? "" : r.rejects[0].reason);
  EXPECT_EQ(r.skipped, 0U);
  EXPECT_EQ(r.events.size(), 1U);
  return r.events.empty() ? session_event{} : r.events[0];
}

const std::string ex_user = "https://example.edu/users/554433";
const std::string ex_session = "https://example.edu/sessions/1f6442a482de72ea6ad134943812bff564a76259";
const std::string ex_timed_out_session = "https://example.edu/sessions/7d6b88adf746f0692e2e873308b78c60fb13a864";
const std::string v1p0_user = "https://example.edu/user/554433";
const std::string v1p0_session = "https://example.com/viewer/session-123456789";
const std::string mac_chrome_53 =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/53.0.2785.143 Safari/537.36";

TEST(SpecFixtures, V1p0LoginGivesRowWithDerivedIdAndGeneratedSession) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const session_event expected{
      .event_id = "1286ba96-33c3-563b-a5ad-1a1ce5fbae97",  // UUIDv5: test, LoggedIn, user, time, viewer
      .action = session_action::logged_in,
      .event_time_us = us("2015-09-15T10:15:00.000Z"),
      .actor_id = v1p0_user,
      .user_id = v1p0_user,
      .user_lms_id = std::nullopt,
      .user_external_id = std::nullopt,
      .session_id = v1p0_session,
      .session_name = "session-123456789",
      .user_agent = std::nullopt,
      .ip_address = std::nullopt,
      .ed_app_id = "https://example.com/viewer",
      .sensor = std::string(test::wrapper_sensor)};
  EXPECT_EQ(only_row("v1p0/caliperSessionLoginEvent.json"), expected);
}

TEST(SpecFixtures, V1p0LogoutGivesRowWithTargetSession) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const session_event expected{.event_id = "a8cae063-f620-5f6a-badf-a094a3900efc",
                               .action = session_action::logged_out,
                               .event_time_us = us("2015-09-15T10:15:00.000Z"),
                               .actor_id = v1p0_user,
                               .user_id = v1p0_user,
                               .user_lms_id = std::nullopt,
                               .user_external_id = std::nullopt,
                               .session_id = v1p0_session,
                               .session_name = "session-123456789",
                               .user_agent = std::nullopt,
                               .ip_address = std::nullopt,
                               .ed_app_id = "https://example.com/viewer",
                               .sensor = std::string(test::wrapper_sensor)};
  EXPECT_EQ(only_row("v1p0/caliperSessionLogoutEvent.json"), expected);
}

TEST(SpecFixtures, V1p0TimeoutTakesUserFromObjectActor) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const session_event expected{.event_id = "2eac89e0-a66c-5758-8216-b2a18d30dee2",
                               .action = session_action::timed_out,
                               .event_time_us = us("2015-09-15T10:15:00.000Z"),
                               .actor_id = "https://example.com/viewer",
                               .user_id = v1p0_user,
                               .user_lms_id = std::nullopt,
                               .user_external_id = std::nullopt,
                               .session_id = v1p0_session,
                               .session_name = "session-123456789",
                               .user_agent = std::nullopt,
                               .ip_address = std::nullopt,
                               .ed_app_id = "https://example.com/viewer",
                               .sensor = std::string(test::wrapper_sensor)};
  EXPECT_EQ(only_row("v1p0/caliperSessionTimeoutEvent.json"), expected);
}

session_event v1px_logged_in(std::string id, std::string time) {
  return session_event{.event_id = std::move(id),
                       .action = session_action::logged_in,
                       .event_time_us = us(time),
                       .actor_id = ex_user,
                       .user_id = ex_user,
                       .user_lms_id = std::nullopt,
                       .user_external_id = std::nullopt,
                       .session_id = ex_session,
                       .session_name = std::nullopt,
                       .user_agent = std::nullopt,
                       .ip_address = std::nullopt,
                       .ed_app_id = "https://example.edu",
                       .sensor = std::string(test::wrapper_sensor)};
}

session_event v1px_logged_out() {
  session_event e = v1px_logged_in("a438f8ac-1da3-4d48-8c86-94a1b387e0f6", "2016-11-15T11:05:00.000Z");
  e.action = session_action::logged_out;
  return e;
}

session_event v1px_timed_out() {
  return session_event{.event_id = "4e61cf6c-ffbe-45bc-893f-afe7ad4079dc",
                       .action = session_action::timed_out,
                       .event_time_us = us("2016-11-15T11:15:00.000Z"),
                       .actor_id = "https://example.edu",
                       .user_id = "https://example.edu/users/112233",
                       .user_lms_id = std::nullopt,
                       .user_external_id = std::nullopt,
                       .session_id = ex_timed_out_session,
                       .session_name = std::nullopt,
                       .user_agent = std::nullopt,
                       .ip_address = std::nullopt,
                       .ed_app_id = "https://example.edu",
                       .sensor = std::string(test::wrapper_sensor)};
}

TEST(SpecFixtures, V1p1LoggedInGivesRow) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p1/caliperEventSessionLoggedIn.json"),
            v1px_logged_in("fcd495d0-3740-4298-9bec-1154571dc211", "2016-11-15T10:15:00.000Z"));
}

TEST(SpecFixtures, V1p1LoggedInExtendedGivesRowIgnoringFreeFormExtensions) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p1/caliperEventSessionLoggedInExtended.json"),
            v1px_logged_in("4ec2c31e-3ec0-4fe1-a017-b81561b075d7", "2016-11-15T20:11:15.000Z"));
}

TEST(SpecFixtures, V1p1LoggedOutGivesRow) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p1/caliperEventSessionLoggedOut.json"), v1px_logged_out());
}

TEST(SpecFixtures, V1p1TimedOutTakesUserFromObjectUser) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p1/caliperEventSessionTimedOut.json"), v1px_timed_out());
}

TEST(SpecFixtures, V1p2LoggedInGivesRow) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p2/caliperEventSessionLoggedIn.json"),
            v1px_logged_in("fcd495d0-3740-4298-9bec-1154571dc211", "2016-11-15T10:15:00.000Z"));
}

TEST(SpecFixtures, V1p2LoggedInExtendedTakesClientAgentAndAddress) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  session_event expected = v1px_logged_in("4ec2c31e-3ec0-4fe1-a017-b81561b075d7", "2016-11-15T20:11:15.000Z");
  expected.user_agent = mac_chrome_53;
  expected.ip_address = "2001:db8:85a3::8a2e:370:7334";
  EXPECT_EQ(only_row("v1p2/caliperEventSessionLoggedInExtended.json"), expected);
}

TEST(SpecFixtures, V1p2LoggedOutGivesRow) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p2/caliperEventSessionLoggedOut.json"), v1px_logged_out());
}

TEST(SpecFixtures, V1p2TimedOutTakesUserFromObjectUser) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_EQ(only_row("v1p2/caliperEventSessionTimedOut.json"), v1px_timed_out());
}

TEST(SpecFixtures, V1p0DerivedIdsDependOnTheSource) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  EXPECT_NE(only_row("v1p0/caliperSessionLoginEvent.json", "learn-a").event_id,
            only_row("v1p0/caliperSessionLoginEvent.json", "learn-b").event_id);
}

const std::set<std::string> session_event_fixtures{
    "caliperSessionLoginEvent.json",       "caliperSessionLogoutEvent.json",
    "caliperSessionTimeoutEvent.json",     "caliperEventSessionLoggedIn.json",
    "caliperEventSessionLoggedInExtended.json", "caliperEventSessionLoggedOut.json",
    "caliperEventSessionTimedOut.json"};

TEST(SpecFixtures, EveryOtherEventEntityAndEnvelopeGivesNoRow) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  std::size_t checked = 0;
  for (const char* version : {"v1p0", "v1p1", "v1p2"}) {
    for (const auto& entry : std::filesystem::directory_iterator(test::spec_dir() + "/" + version)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_regular_file() || entry.path().extension() != ".json" || session_event_fixtures.contains(name))
        continue;
      const std::string json = testing::read_file(entry.path().string());
      const parse_result r = test::parse_body(test::is_envelope(json) ? json : wrap_in_envelope(json));
      SCOPED_TRACE(std::string(version) + "/" + name);
      ASSERT_FALSE(r.error) << r.error->detail;
      EXPECT_TRUE(r.events.empty());
      EXPECT_TRUE(r.rejects.empty());
      EXPECT_GE(r.skipped, 1U);
      ++checked;
    }
  }
  EXPECT_GE(checked, 38U);  // 4 + 12 + 22 files besides the SessionEvents
}

TEST(SpecFixtures, TermActionEnvelopeOfGenericEventsGivesNoRow) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const parse_result r = test::parse_body(spec_fixture("v1p2/caliperEnvelopeTermAction.json"));
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.skipped, 80U);
}

TEST(SpecFixtures, V1p0EnvelopesWithoutDataVersionAreAccepted) {
  SKIP_WITHOUT_SPEC_FIXTURES();
  const parse_result r = test::parse_body(spec_fixture("v1p0/eventStorePayload.json"));
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.skipped, 1U);
}

}  // namespace
}  // namespace caliper_sessiond::caliper
