// Envelope-level answers: 400 and 422 with a detail naming the problem, and the limits.

#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using ::testing::HasSubstr;
using test::project_fixture;

parse_result parse_envelope_fixture(const std::string& name, parse_limits limits = {}) {
  envelope_parser parser(limits);
  std::string body = project_fixture("envelopes/" + name);
  return parser.parse(body, "test", test::test_now_us);
}

void expect_error(const parse_result& r, int status, const std::string& detail_part) {
  ASSERT_TRUE(r.error.has_value());
  EXPECT_EQ(r.error->status, status);
  EXPECT_FALSE(r.error->title.empty());
  EXPECT_THAT(r.error->detail, HasSubstr(detail_part));
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.rejects.empty());
}

TEST(Envelope, NotJsonIs400) { expect_error(parse_envelope_fixture("not-json.txt"), 400, "not a valid JSON document"); }

TEST(Envelope, EmptyBodyIs400) { expect_error(parse_envelope_fixture("empty-body.txt"), 400, "not a valid JSON document"); }

TEST(Envelope, TruncatedJsonIs400) { expect_error(parse_envelope_fixture("truncated.json"), 400, "not a valid JSON document"); }

TEST(Envelope, TrailingContentIs400) {
  expect_error(parse_envelope_fixture("trailing-garbage.json"), 400, "not a valid JSON document");
}

TEST(Envelope, JsonThatIsNotAnObjectIs400) { expect_error(parse_envelope_fixture("root-array.json"), 400, "not an object"); }

TEST(Envelope, MissingDataIs400) { expect_error(parse_envelope_fixture("no-data.json"), 400, "no data array"); }

TEST(Envelope, DataThatIsNotAnArrayIs400) {
  expect_error(parse_envelope_fixture("data-not-array.json"), 400, "data is not an array");
}

TEST(Envelope, MissingSensorIs400) { expect_error(parse_envelope_fixture("no-sensor.json"), 400, "no sensor"); }

TEST(Envelope, NullSensorIs400) { expect_error(parse_envelope_fixture("sensor-null.json"), 400, "no sensor"); }

TEST(Envelope, MissingSendTimeIs400) { expect_error(parse_envelope_fixture("no-send-time.json"), 400, "no sendTime"); }

TEST(Envelope, UnknownDataVersionIs422) {
  expect_error(parse_envelope_fixture("data-version-unknown.json"), 422,
               "dataVersion \"http://purl.imsglobal.org/ctx/caliper/v2p0\" is not a supported Caliper context");
}

TEST(Envelope, Caliper10ContextAsDataVersionIs422) {
  expect_error(parse_envelope_fixture("data-version-v1p0-context.json"), 422, "is not a supported Caliper context");
}

TEST(Envelope, NonStringDataVersionIs422) {
  expect_error(parse_envelope_fixture("data-version-number.json"), 422, "dataVersion is not a string");
}

TEST(Envelope, NullDataVersionIsTreatedAsAbsent) {
  const parse_result r = parse_envelope_fixture("data-version-null.json");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.events.size(), 1U);
}

TEST(Envelope, EmptyDataIsAValidEnvelope) {
  const parse_result r = parse_envelope_fixture("empty-data.json");
  ASSERT_FALSE(r.error);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(r.skipped, 0U);
}

TEST(Envelope, BareIrisAndOtherValuesInDataAreSkipped) {
  const parse_result r = parse_envelope_fixture("data-with-iri-entities.json");
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.skipped, 3U);
}

std::string nested_envelope(std::size_t depth) {
  // Depth counts the envelope object and the data array: `depth - 2` more arrays inside data.
  return "{\"sensor\":\"s\",\"sendTime\":\"t\",\"data\":[" + std::string(depth - 2, '[') + std::string(depth - 2, ']') + "]}";
}

TEST(Envelope, NestingAtMaxDepthIsAccepted) {
  envelope_parser parser(parse_limits{.max_depth = 16});
  std::string body = nested_envelope(16);
  const parse_result r = parser.parse(body, "test", test::test_now_us);
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_EQ(r.skipped, 1U);
}

TEST(Envelope, NestingBeyondMaxDepthIs400NamingTheLimit) {
  envelope_parser parser(parse_limits{.max_depth = 16});
  std::string body = nested_envelope(17);
  expect_error(parser.parse(body, "test", test::test_now_us), 400, "max_depth (16)");
}

TEST(Envelope, HugeNestingDoesNotOverflowTheStack) {
  envelope_parser parser;
  std::string body = "{\"data\":" + std::string(1'000'000, '[');
  expect_error(parser.parse(body, "test", test::test_now_us), 400, "max_depth (64)");
}

TEST(Envelope, BracketsInsideStringsDoNotCountAsNesting) {
  envelope_parser parser(parse_limits{.max_depth = 3});
  std::string body = "{\"sensor\":\"[[[[\\\"{{{{\",\"sendTime\":\"t\",\"data\":[]}";
  EXPECT_FALSE(parser.parse(body, "test", test::test_now_us).error);
}

TEST(Envelope, EscapedQuotesAndBackslashesInLongStringsDoNotCountAsNesting) {
  envelope_parser parser(parse_limits{.max_depth = 3});
  std::string sensor;
  for (int i = 0; i < 40; ++i) sensor += i % 2 == 0 ? "\\\"[[{{ " : "\\\\";  // \" then [[{{, or \\ (escaped backslash)
  std::string body = "{\"sensor\":\"" + sensor + "\",\"sendTime\":\"t\",\"data\":[[]]}";
  const parse_result r = parser.parse(body, "test", test::test_now_us);
  ASSERT_FALSE(r.error) << r.error->detail;
  EXPECT_EQ(r.skipped, 1U);
}

TEST(Envelope, StringEndingInAnEscapedBackslashClosesBeforeTheBrackets) {
  envelope_parser parser(parse_limits{.max_depth = 3});
  std::string body = "{\"sensor\":\"abcdefghijklmnop\\\\\",\"sendTime\":\"t\",\"data\":[[[]]]}";
  EXPECT_EQ(parser.parse(body, "test", test::test_now_us).error.value_or(envelope_error{}).detail,
            "the body nests arrays and objects deeper than max_depth (3)");
}

std::string envelope_of_entities(std::size_t n) {
  std::string body = "{\"sensor\":\"s\",\"sendTime\":\"t\",\"data\":[";
  for (std::size_t i = 0; i < n; ++i) body += i == 0 ? "\"urn:x:1\"" : ",\"urn:x:1\"";
  return body + "]}";
}

TEST(Envelope, MaxEventsEntriesAreAccepted) {
  envelope_parser parser(parse_limits{.max_events = 5});
  std::string body = envelope_of_entities(5);
  const parse_result r = parser.parse(body, "test", test::test_now_us);
  ASSERT_FALSE(r.error);
  EXPECT_EQ(r.skipped, 5U);
}

TEST(Envelope, MoreThanMaxEventsEntriesIs400NamingTheLimit) {
  envelope_parser parser(parse_limits{.max_events = 5});
  std::string body = envelope_of_entities(6);
  expect_error(parser.parse(body, "test", test::test_now_us), 400, "max_events (5)");
}

TEST(Envelope, ParsingKeepsTheBodyContents) {
  envelope_parser parser;
  std::string body = project_fixture("canvas-v1p1-loggedin.json");
  const std::string copy = body;
  parser.parse(body, "test", test::test_now_us);
  EXPECT_EQ(body, copy);
}

TEST(Envelope, OneParserServesManyEnvelopes) {
  envelope_parser parser;
  for (int i = 0; i < 3; ++i) {
    for (const char* name : {"canvas-v1p1-loggedin.json", "learn-v1p1-mixed-batch.json", "envelopes/not-json.txt"}) {
      std::string body = project_fixture(name);
      const parse_result r = parser.parse(body, "test", test::test_now_us);
      EXPECT_EQ(r.error.has_value(), std::string(name).ends_with(".txt")) << name;
    }
  }
}

}  // namespace
}  // namespace caliper_sessiond::caliper
