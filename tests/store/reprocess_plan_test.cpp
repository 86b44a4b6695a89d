// What reprocess-rejects does with one reject, without the database.
#include <gtest/gtest.h>

#include "caliper_sessiond/caliper/parser.hpp"
#include "caliper_sessiond/caliper/time.hpp"
#include "pg_test_env.hpp"
#include "reprocess_plan.hpp"

namespace caliper_sessiond::store {
namespace {

std::string fixture(const std::string& name) {
  return testing::read_file(testing::source_dir() + "/tests/fixtures/operators/" + name);
}

caliper::parse_result reparse(raw_kind kind, const std::string& raw) {
  const std::int64_t received = *caliper::parse_rfc3339_us("2024-03-01T12:00:00Z");
  std::string body = reprocess_body(kind, raw, received);
  caliper::envelope_parser parser;
  return parser.parse(body, "learn-test", received);
}

TEST(KindOfReject, BodyRefusalsStartWithTheirStatus) {
  EXPECT_EQ(kind_of_reject("400 Body is not JSON: the body is not a valid JSON document"), raw_kind::envelope);
  EXPECT_EQ(kind_of_reject("422 Unsupported Caliper version: dataVersion"), raw_kind::envelope);
}

TEST(KindOfReject, EventReasonsAreEvents) {
  EXPECT_EQ(kind_of_reject("missing eventTime"), raw_kind::event);
  EXPECT_EQ(kind_of_reject("event JSON: Body is not JSON: cut"), raw_kind::event);
  EXPECT_EQ(kind_of_reject("4000 things"), raw_kind::event);
}

TEST(KindOfReject, DatabaseRefusalsAreLeftAlone) {
  EXPECT_EQ(kind_of_reject("database refused the event: value too long (SQLSTATE 22001)"), raw_kind::row);
}

TEST(ReprocessBody, WrapsALoneEventWithTheMarkerSensorAndReceiptTime) {
  EXPECT_EQ(reprocess_body(raw_kind::event, "{}", *caliper::parse_rfc3339_us("2024-03-01T12:00:00Z")),
            R"({"sensor":"urn:caliper-sessiond:reprocess-rejects","sendTime":"2024-03-01T12:00:00Z","data":[{}]})");
}

TEST(JudgeReparse, LoneEventThatNowParsesIsParsed) {
  const std::string raw = fixture("reject-event-now-parses.json");
  auto r = reparse(raw_kind::event, raw);
  EXPECT_EQ(judge_reparse(raw_kind::event, raw, r).verdict, reprocess_verdict::parsed);
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].sensor, reprocess_sensor);
}

TEST(JudgeReparse, LoneEventStillRefusedGetsTheNewReason) {
  const std::string raw = fixture("reject-event-still-bad.json");
  auto r = reparse(raw_kind::event, raw);
  const auto d = judge_reparse(raw_kind::event, raw, r);
  EXPECT_EQ(d.verdict, reprocess_verdict::rejected);
  EXPECT_EQ(d.reason, "eventTime \"yesterday\" is not an RFC 3339 date-time");
}

TEST(JudgeReparse, LoneEventCutShortIsNotReadAsAnEnvelopeNextTime) {
  const std::string raw = R"({"type": "SessionEvent", "actor": )";
  auto r = reparse(raw_kind::event, raw);
  const auto d = judge_reparse(raw_kind::event, raw, r);
  EXPECT_EQ(d.verdict, reprocess_verdict::rejected);
  EXPECT_EQ(kind_of_reject(d.reason), raw_kind::event) << d.reason;
  EXPECT_EQ(d.raw, raw);
}

TEST(JudgeReparse, BodyThatNowParsesIsParsedWithItsEventsAndRejects) {
  const std::string raw = fixture("reject-body-now-parses.json");
  auto r = reparse(raw_kind::envelope, raw);
  EXPECT_EQ(judge_reparse(raw_kind::envelope, raw, r).verdict, reprocess_verdict::parsed);
  EXPECT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.rejects.size(), 1u);
}

TEST(JudgeReparse, BodyStillRefusedIsWordedAsTheServerWordsIt) {
  const std::string raw = R"({"data": []})";
  auto r = reparse(raw_kind::envelope, raw);
  const auto d = judge_reparse(raw_kind::envelope, raw, r);
  EXPECT_EQ(d.verdict, reprocess_verdict::rejected);
  EXPECT_EQ(d.reason, "400 Invalid envelope: the envelope has no sensor");
}

TEST(JudgeReparse, NoLongerASessionEventIsLeftAlone) {
  const std::string raw = R"({"type": "NavigationEvent", "action": "NavigatedTo"})";
  auto r = reparse(raw_kind::event, raw);
  EXPECT_EQ(judge_reparse(raw_kind::event, raw, r).verdict, reprocess_verdict::unchanged);
}

}  // namespace
}  // namespace caliper_sessiond::store
