// The Learn sample from the shared fixtures and the project's own sender fixtures.

#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using test::project_fixture;
using test::us;

const std::string learn_site = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/54b54b42-dd02-42f8-88ed-07bd719bfb7c";
const std::string learn_sensor = "54b54b42-dd02-42f8-88ed-07bd719bfb7c";
const std::string chrome_87 =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 "
    "Safari/537.36";

TEST(LearnSample, LoggedInGivesTheRowItsReadmeLists) {
  if (testing::shared_fixtures_dir().empty()) GTEST_SKIP() << "../shared/fixtures is absent: the Learn sample is read from there";
  const parse_result r = test::parse_body(testing::read_file(testing::shared_fixtures_dir() + "/learn/loggedin-envelope.json"), "learn-prod");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.skipped, 0U);
  const std::string user = learn_site + "/users/9e1a0a4b7e2b4c0f8a7d6c5b4a392817";
  const session_event expected{.event_id = "f8c984e2-de73-4c0b-8183-779ab4149422",
                               .action = session_action::logged_in,
                               .event_time_us = us("2020-12-24T21:38:05.645Z"),
                               .actor_id = user,
                               .user_id = user,
                               .user_lms_id = "_1_1",
                               .user_external_id = "administrator",
                               .session_id = learn_site + "/sessions/B287CEC440C99337012096F677684697",
                               .session_name = "B287CEC440C99337012096F677684697",
                               .user_agent = chrome_87,
                               .ip_address = "192.0.2.44",
                               .ed_app_id = learn_site + "/applications/learn",
                               .sensor = learn_sensor};
  EXPECT_EQ(r.events[0], expected);
}

TEST(ProjectFixtures, LearnTimedOutTakesUserAndClientFromTheSessionObject) {
  const parse_result r = test::parse_body(project_fixture("learn-v1p1-timedout.json"));
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  const session_event expected{
      .event_id = "3a1d4c2b-8e7f-4a6b-9c0d-1e2f3a4b5c6d",
      .action = session_action::timed_out,
      .event_time_us = us("2021-03-02T14:04:58.002Z"),
      .actor_id = learn_site + "/applications/learn",
      .user_id = learn_site + "/users/5c2e9d0f1a3b4c5d6e7f8091a2b3c4d5",
      .user_lms_id = "_3021_1",
      .user_external_id = "jdoe42",
      .session_id = learn_site + "/sessions/0F6C1A2B3C4D5E6F708192A3B4C5D6E7",
      .session_name = "0F6C1A2B3C4D5E6F708192A3B4C5D6E7",
      .user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:86.0) Gecko/20100101 Firefox/86.0",
      .ip_address = "2001:db8::2a",
      .ed_app_id = learn_site + "/applications/learn",
      .sensor = learn_sensor};
  EXPECT_EQ(r.events[0], expected);
}

TEST(ProjectFixtures, LearnMixedBatchKeepsSessionEventsAndSkipsLtiEventLogin) {
  const parse_result r = test::parse_body(project_fixture("learn-v1p1-mixed-batch.json"));
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.rejects.empty());
  EXPECT_EQ(r.skipped, 3U);  // the LTIEvent LoggedIn, a NavigationEvent, a Person entity
  ASSERT_EQ(r.events.size(), 2U);
  const session_event logged_out{
      .event_id = "0b7d0f3e-7b7a-4c55-9a61-0d6f2f7a1c03",
      .action = session_action::logged_out,
      .event_time_us = us("2021-03-02T14:59:30.250Z"),
      .actor_id = learn_site + "/users/5c2e9d0f1a3b4c5d6e7f8091a2b3c4d5",
      .user_id = learn_site + "/users/5c2e9d0f1a3b4c5d6e7f8091a2b3c4d5",
      .user_lms_id = "_3021_1",
      .user_external_id = "jdoe42",
      .session_id = learn_site + "/sessions/9A8B7C6D5E4F30211203F4E5D6C7B8A9",
      .session_name = "9A8B7C6D5E4F30211203F4E5D6C7B8A9",
      .user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 14_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/14.0.3 Mobile/15E148 Safari/604.1",
      .ip_address = "192.0.2.77",
      .ed_app_id = learn_site + "/applications/learn",
      .sensor = learn_sensor};
  EXPECT_EQ(r.events[0], logged_out);
  const session_event logged_in{.event_id = "0b7d0f3e-7b7a-4c55-9a61-0d6f2f7a1c05",
                                .action = session_action::logged_in,
                                .event_time_us = us("2021-03-02T14:59:59.999999Z"),
                                .actor_id = learn_site + "/users/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                                .user_id = learn_site + "/users/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                                .user_lms_id = "_4410_1",
                                .user_external_id = std::nullopt,
                                .session_id = learn_site + "/sessions/11223344556677889900AABBCCDDEEFF",
                                .session_name = std::nullopt,
                                .user_agent = "curl/7.74.0",
                                .ip_address = std::nullopt,  // "unknown": stored as NULL, not a reject
                                .ed_app_id = learn_site + "/applications/learn",
                                .sensor = learn_sensor};
  EXPECT_EQ(r.events[1], logged_in);
}

TEST(ProjectFixtures, CanvasLoggedInTakesSisIdAndTopLevelCanvasExtensions) {
  const parse_result r = test::parse_body(project_fixture("canvas-v1p1-loggedin.json"), "canvas");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  const session_event expected{
      .event_id = "7c9e6679-7425-40de-944b-e07fc1f90ae7",
      .action = session_action::logged_in,
      .event_time_us = us("2022-09-05T08:30:11.5Z"),
      .actor_id = "urn:instructure:canvas:user:21070000000000042",
      .user_id = "urn:instructure:canvas:user:21070000000000042",
      .user_lms_id = std::nullopt,
      .user_external_id = "SIS-0042",
      .session_id = "urn:instructure:canvas:session:5d41402abc4b2a76b9719d911017c592",
      .session_name = std::nullopt,
      .user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 12_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/15.6 Safari/605.1.15",
      .ip_address = "198.51.100.23",
      .ed_app_id = "https://canvas.example.edu/",
      .sensor = "https://canvas.example.edu/"};
  EXPECT_EQ(r.events[0], expected);
}

TEST(ProjectFixtures, MoodleV1p0LoggedOutWithNullsGetsDerivedId) {
  const parse_result r = test::parse_body(project_fixture("moodle-v1p0-loggedout.json"), "moodle");
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  const session_event expected{.event_id = "2e6f3789-6489-5366-951b-5abe72914e3e",  // see ids_test
                               .action = session_action::logged_out,
                               .event_time_us = us("2019-03-04T10:11:12.000Z"),
                               .actor_id = "https://moodle.example.edu/user/profile.php?id=42",
                               .user_id = "https://moodle.example.edu/user/profile.php?id=42",
                               .user_lms_id = std::nullopt,
                               .user_external_id = std::nullopt,
                               .session_id = std::nullopt,
                               .session_name = std::nullopt,
                               .user_agent = std::nullopt,
                               .ip_address = std::nullopt,
                               .ed_app_id = "https://moodle.example.edu",
                               .sensor = "https://moodle.example.edu/caliper/sensor"};
  EXPECT_EQ(r.events[0], expected);
}

}  // namespace
}  // namespace caliper_sessiond::caliper
