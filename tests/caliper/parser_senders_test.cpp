// Every sender's shapes (issue 3): one project fixture each, every row checked field by field.

#include <set>

#include "learn_batch.hpp"
#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using test::project_fixture;
using test::us;

parse_result parse_fixture(const std::string& name, std::string_view source = "test") {
  return test::parse_body(project_fixture(name), source);
}

const std::string learn_site = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/8f3c1d20-6b2e-4e0a-9d1c-2a7b5e4f6c81";
const std::string learn_user = learn_site + "/users/a1b2c3d4e5f60718293a4b5c6d7e8f90";
const std::string learn_app = learn_site + "/applications/learn";
const std::string firefox_118 = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:118.0) Gecko/20100101 Firefox/118.0";

TEST(Learn11, LoggedInTakesBbExtensionsAndTheFederatedLtiSession) {
  const parse_result r = parse_fixture("learn-v1p1-loggedin.json", "learn-prod");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 1U);
  const session_event expected{.event_id = "d3b07384-d9a0-4c1b-8e5f-6a7b8c9d0e1f",  // bare, upper case in the body
                               .action = session_action::logged_in,
                               .event_time_us = us("2023-10-09T07:45:11.873Z"),
                               .actor_id = learn_user,
                               .user_id = learn_user,
                               .user_lms_id = "_20931_1",
                               .user_external_id = "s1234567",
                               .session_id = learn_site + "/sessions/5E0A7C3B9D2F41E6A8B1C4D7E0F3A6B9",
                               .session_name = "5E0A7C3B9D2F41E6A8B1C4D7E0F3A6B9",
                               .user_agent = firefox_118,
                               .ip_address = "203.0.113.58",
                               .ed_app_id = learn_app,
                               .sensor = "8f3c1d20-6b2e-4e0a-9d1c-2a7b5e4f6c81"};
  EXPECT_EQ(r.events[0], expected);
}

TEST(Learn11, LoggedOutTakesClientFromEdAppAndNormalizesTimeAndAddress) {
  const parse_result r = parse_fixture("learn-v1p1-loggedout.json", "learn-prod");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 1U);
  const session_event expected{.event_id = "e4c1f2a3-b5d6-4e7f-8a9b-0c1d2e3f4a5b",
                               .action = session_action::logged_out,
                               .event_time_us = us("2023-10-09T09:02:39.500Z"),
                               .actor_id = learn_user,
                               .user_id = learn_user,
                               .user_lms_id = "_20931_1",
                               .user_external_id = "s1234567",
                               .session_id = learn_site + "/sessions/5E0A7C3B9D2F41E6A8B1C4D7E0F3A6B9",
                               .session_name = "5E0A7C3B9D2F41E6A8B1C4D7E0F3A6B9",
                               .user_agent = firefox_118,
                               .ip_address = "2001:db8::3a",
                               .ed_app_id = learn_app,
                               .sensor = "8f3c1d20-6b2e-4e0a-9d1c-2a7b5e4f6c81"};
  EXPECT_EQ(r.events[0], expected);
}

/// The row that entry i of ::caliper_sessiond::test::learn_batch must give (a SessionEvent template).
session_event learn_batch_row(std::size_t i) {
  const auto v = ::caliper_sessiond::test::learn_batch_entry(i);
  const std::string user = ::caliper_sessiond::test::learn_batch_user(i);
  const bool in = i % 10 == 0;
  return session_event{.event_id = "0b7d0f3e-7b7a-4c55-9a61-" + v.index,
                       .action = in ? session_action::logged_in : session_action::logged_out,
                       .event_time_us = us(v.time),
                       .actor_id = user,
                       .user_id = user,
                       .user_lms_id = "_" + v.number + "_1",
                       .user_external_id = in ? std::optional<std::string>("u" + v.number) : std::nullopt,
                       .session_id = learn_site + "/sessions/" + (in ? "A" : "B") + v.index,
                       .session_name = in ? std::optional<std::string>("A" + v.index) : std::nullopt,
                       .user_agent = "Mozilla/5.0 batch",
                       .ip_address = in ? "192.0.2." + v.number : v.number == "0" ? "2001:db8::" : "2001:db8::" + v.number,
                       .ed_app_id = learn_app,
                       .sensor = std::string(::caliper_sessiond::test::learn_batch_sensor)};
}

class LearnBatch : public ::testing::TestWithParam<std::size_t> {};

TEST_P(LearnBatch, OnlySessionEventsBecomeRowsWithExactValues) {
  const std::size_t n = GetParam();
  const parse_result r = test::parse_body(::caliper_sessiond::test::learn_batch(n), "learn-prod");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty());
  std::vector<session_event> expected;
  for (std::size_t i = 0; i < n; ++i)
    if (::caliper_sessiond::test::learn_batch_is_session_event(i)) expected.push_back(learn_batch_row(i));
  EXPECT_EQ(r.skipped, n - expected.size());
  ASSERT_EQ(r.events.size(), expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) EXPECT_EQ(r.events[k], expected[k]) << "row " << k;
}

// 1: the LoggedIn alone; 8: LTIEvent/View/Navigation/entity around both actions; 1,000: Learn's biggest.
INSTANTIATE_TEST_SUITE_P(Sizes, LearnBatch, ::testing::Values(1U, 8U, 10U, 137U, 1000U));

TEST(LearnBatchShape, ThousandEntriesGiveTwoHundredRows) {
  const parse_result r = test::parse_body(::caliper_sessiond::test::learn_batch(1000), "learn-prod");
  EXPECT_EQ(r.events.size(), 200U);
  EXPECT_EQ(r.skipped, 800U);
}

// A parser reuses what it learnt of the envelopes it read: the next envelope's rows start with
// room for as many as the last one had (at most 64), instead of growing and moving them; room
// left over past twice the rows is given back, since the rows go on into the journal's cache.
TEST(LearnBatchShape, TheNextEnvelopesRowsStartWithRoomForTheLastOnes) {
  envelope_parser parser(test::any_date_limits());
  std::string body = ::caliper_sessiond::test::learn_batch(100);
  ASSERT_EQ(parser.parse(body, "learn-prod", test::test_now_us).events.size(), 20U);
  body = ::caliper_sessiond::test::learn_batch(100);
  const parse_result again = parser.parse(body, "learn-prod", test::test_now_us);
  ASSERT_EQ(again.events.size(), 20U);
  EXPECT_EQ(again.events.capacity(), 20U);  // grown by doubling, it would be 32
  EXPECT_EQ(again.events[19], learn_batch_row(97));
  // A small envelope after a larger one keeps no more than twice its rows' room.
  body = ::caliper_sessiond::test::learn_batch(1);
  const parse_result one = parser.parse(body, "learn-prod", test::test_now_us);
  ASSERT_EQ(one.events.size(), 1U);
  EXPECT_LE(one.events.capacity(), 2U);
  EXPECT_EQ(one.events[0], learn_batch_row(0));
}

const std::string learn10 = "https://learn.example.edu";

TEST(Caliper10, LearnSessionEventsGetDerivedIdsAndSessionsFromGeneratedTargetAndObject) {
  const parse_result r = parse_fixture("learn-v1p0-session-events.json", "learn");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.skipped, 1U);  // the 1.0 NavigationEvent
  ASSERT_EQ(r.events.size(), 3U);
  const std::string user = learn10 + "/users/_118_1";
  const std::string sensor = "https://learn.example.edu/caliper/sensor";
  // Ids: UUIDv5 of the ids.hpp layout, computed independently (Python's uuid.uuid5).
  EXPECT_EQ(r.events[0], (session_event{.event_id = "4016ec22-52f0-50d9-95c3-e065cf91f867",
                                        .action = session_action::logged_in,
                                        .event_time_us = us("2018-05-14T11:59:58Z"),
                                        .actor_id = user,
                                        .user_id = user,
                                        .user_lms_id = "_118_1",
                                        .user_external_id = "mkeller",
                                        .session_id = learn10 + "/sessions/7f1e9a2b",
                                        .session_name = "7f1e9a2b",
                                        .user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_4) AppleWebKit/605.1.15 "
                                                      "(KHTML, like Gecko) Version/11.1 Safari/605.1.15",
                                        .ip_address = "198.51.100.7",
                                        .ed_app_id = learn10,
                                        .sensor = sensor}));
  EXPECT_EQ(r.events[1], (session_event{.event_id = "7d4d6d77-19f4-5511-a086-55cc19356a14",
                                        .action = session_action::logged_out,
                                        .event_time_us = us("2018-05-14T12:00:01Z"),
                                        .actor_id = user,
                                        .user_id = user,
                                        .user_lms_id = "_118_1",
                                        .user_external_id = std::nullopt,
                                        .session_id = learn10 + "/sessions/7f1e9a2b",
                                        .session_name = "7f1e9a2b",
                                        .user_agent = std::nullopt,
                                        .ip_address = std::nullopt,
                                        .ed_app_id = std::nullopt,  // "edApp": null
                                        .sensor = sensor}));
  EXPECT_EQ(r.events[2], (session_event{.event_id = "dfa5c8c8-7d8b-5ae8-86ec-fbfd8766ce23",
                                        .action = session_action::timed_out,
                                        .event_time_us = us("2018-05-14T12:00:02Z"),
                                        .actor_id = learn10,
                                        .user_id = learn10 + "/users/_7_1",
                                        .user_lms_id = "_7_1",
                                        .user_external_id = "tutor07",
                                        .session_id = learn10 + "/sessions/3c4d5e6f",
                                        .session_name = "3c4d5e6f",
                                        .user_agent = std::nullopt,
                                        .ip_address = std::nullopt,
                                        .ed_app_id = learn10,
                                        .sensor = sensor}));
}

TEST(Caliper10, MoodleLoggedInWithGeneratedSessionAndTimedOutWithIriUser) {
  const parse_result r = parse_fixture("moodle-v1p0-loggedin-timedout.json", "moodle");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 2U);
  const std::string moodle = "https://moodle.example.edu";
  const std::string sensor = moodle + "/caliper/sensor";
  EXPECT_EQ(r.events[0], (session_event{.event_id = "b6c50f17-2dca-5ab8-9140-67075c2f0635",
                                        .action = session_action::logged_in,
                                        .event_time_us = us("2019-03-04T08:00:00Z"),
                                        .actor_id = moodle + "/user/profile.php?id=42",
                                        .user_id = moodle + "/user/profile.php?id=42",
                                        .user_lms_id = std::nullopt,
                                        .user_external_id = std::nullopt,
                                        .session_id = moodle + "/session/2b7c9d",
                                        .session_name = std::nullopt,
                                        .user_agent = std::nullopt,
                                        .ip_address = std::nullopt,
                                        .ed_app_id = moodle,
                                        .sensor = sensor}));
  EXPECT_EQ(r.events[1], (session_event{.event_id = "f1491c81-5b6c-50a9-b783-2881cc934bfd",
                                        .action = session_action::timed_out,
                                        .event_time_us = us("2019-03-04T08:30:00Z"),
                                        .actor_id = moodle,
                                        .user_id = moodle + "/user/profile.php?id=7",
                                        .user_lms_id = std::nullopt,
                                        .user_external_id = std::nullopt,
                                        .session_id = moodle + "/session/91ab",
                                        .session_name = std::nullopt,
                                        .user_agent = std::nullopt,
                                        .ip_address = std::nullopt,
                                        .ed_app_id = moodle,
                                        .sensor = sensor}));
}

TEST(Caliper10, ResentEnvelopeGivesTheSameDerivedIds) {
  for (const char* name : {"learn-v1p0-session-events.json", "moodle-v1p0-loggedin-timedout.json"}) {
    const parse_result a = parse_fixture(name, "src");
    const parse_result b = parse_fixture(name, "src");
    ASSERT_FALSE(a.events.empty());
    EXPECT_EQ(a.events, b.events) << name;
    std::set<std::string> ids;
    for (const auto& e : a.events) ids.insert(e.event_id);
    EXPECT_EQ(ids.size(), a.events.size()) << name;
  }
}

TEST(Caliper12, ProfileAndSessionClientGiveAgentAndAddress) {
  const parse_result r = parse_fixture("v1p2-session-client.json");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 2U);
  const std::string lms = "https://lms.example.edu";
  EXPECT_EQ(r.events[0], (session_event{.event_id = "1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed",
                                        .action = session_action::logged_in,
                                        .event_time_us = us("2024-04-02T08:00:00.250Z"),
                                        .actor_id = lms + "/users/554433",
                                        .user_id = lms + "/users/554433",
                                        .user_lms_id = std::nullopt,
                                        .user_external_id = std::nullopt,
                                        .session_id = lms + "/sessions/c0ffee",
                                        .session_name = std::nullopt,
                                        .user_agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like "
                                                      "Gecko) Chrome/123.0 Safari/537.36",
                                        .ip_address = "2001:db8:85a3::8a2e:370:7334",
                                        .ed_app_id = lms,
                                        .sensor = lms + "/sensors/1"}));
  EXPECT_EQ(r.events[1], (session_event{.event_id = "2c8e7ace-ccfe-4c3e-8c6e-bc9efcce5cfe",
                                        .action = session_action::timed_out,
                                        .event_time_us = us("2024-04-02T08:00:00.900Z"),
                                        .actor_id = lms,
                                        .user_id = lms + "/users/112233",
                                        .user_lms_id = std::nullopt,
                                        .user_external_id = std::nullopt,
                                        .session_id = lms + "/sessions/beef",
                                        .session_name = std::nullopt,
                                        .user_agent = std::nullopt,
                                        .ip_address = "198.51.100.99",
                                        .ed_app_id = lms,
                                        .sensor = lms + "/sensors/1"}));
}

const std::string lms = "https://lms.example.edu";
const std::string lms_sensor = "https://lms.example.edu/sensor";

TEST(AnyShape, EveryEntityAsABareIriString) {
  const parse_result r = parse_fixture("events/entities-as-iris.json");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.skipped, 1U);
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0], (session_event{.event_id = "6f1c2d3e-4a5b-4c6d-8e7f-00000000a001",
                                        .action = session_action::logged_in,
                                        .event_time_us = us("2023-05-06T07:08:09Z"),
                                        .actor_id = lms + "/users/9",
                                        .user_id = lms + "/users/9",
                                        .user_lms_id = std::nullopt,
                                        .user_external_id = std::nullopt,
                                        .session_id = lms + "/sessions/federated",  // federatedSession first
                                        .session_name = std::nullopt,
                                        .user_agent = std::nullopt,
                                        .ip_address = std::nullopt,
                                        .ed_app_id = lms + "/app",
                                        .sensor = lms_sensor}));
  EXPECT_EQ(r.events[1], (session_event{.event_id = "6f1c2d3e-4a5b-4c6d-8e7f-00000000a002",
                                        .action = session_action::timed_out,
                                        .event_time_us = us("2023-05-06T08:08:09Z"),
                                        .actor_id = lms,
                                        .user_id = lms + "/users/9",
                                        .user_lms_id = std::nullopt,
                                        .user_external_id = std::nullopt,
                                        .session_id = lms + "/sessions/plain",
                                        .session_name = std::nullopt,
                                        .user_agent = std::nullopt,
                                        .ip_address = std::nullopt,
                                        .ed_app_id = lms + "/app",
                                        .sensor = lms_sensor}));
}

session_event lms_logged_in(std::string id_suffix, std::string user, std::string session, std::string name) {
  return session_event{.event_id = "6f1c2d3e-4a5b-4c6d-8e7f-" + id_suffix,
                       .action = session_action::logged_in,
                       .event_time_us = us("2023-05-06T07:08:09.123Z"),
                       .actor_id = lms + user,
                       .user_id = lms + user,
                       .user_lms_id = std::nullopt,
                       .user_external_id = std::nullopt,
                       .session_id = lms + session,
                       .session_name = std::move(name),
                       .user_agent = std::nullopt,
                       .ip_address = std::nullopt,
                       .ed_app_id = lms,
                       .sensor = lms_sensor};
}

TEST(AnyShape, ContextAsArrayOrObjectGivesExactRows) {
  const parse_result r = parse_fixture("events/context-array-and-object.json");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 2U);
  EXPECT_EQ(r.events[0], lms_logged_in("000000000001", "/users/1", "/sessions/1", "session-1"));
  EXPECT_EQ(r.events[1], lms_logged_in("000000000002", "/users/2", "/sessions/2", "session-2"));
}

TEST(AnyShape, UnknownPropertiesAndNullsGiveTheExactRow) {
  const parse_result r = parse_fixture("events/unknown-fields-and-nulls.json");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0], lms_logged_in("000000000001", "/users/1", "/sessions/1", "session-1"));
}

TEST(AnyShape, ExtensionKeysWithDotsAndColonsMatchOnlyExactly) {
  const parse_result r = parse_fixture("events/extension-keys-dots-colons.json");
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_TRUE(r.rejects.empty());
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0], (session_event{.event_id = "6f1c2d3e-4a5b-4c6d-8e7f-00000000b001",
                                        .action = session_action::logged_in,
                                        .event_time_us = us("2023-05-06T07:08:09Z"),
                                        .actor_id = lms + "/users/55",
                                        .user_id = lms + "/users/55",
                                        .user_lms_id = "_55_1",
                                        .user_external_id = std::nullopt,
                                        .session_id = std::nullopt,
                                        .session_name = std::nullopt,
                                        .user_agent = "AgentX/1.0 (dots.and:colons)",
                                        .ip_address = "192.0.2.200",
                                        .ed_app_id = std::nullopt,
                                        .sensor = lms_sensor}));
}

}  // namespace
}  // namespace caliper_sessiond::caliper
