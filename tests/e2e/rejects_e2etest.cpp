// Bad input end to end (issue 3): the real binary over TLS and a real PostgreSQL. Every test
// checks both what was stored in caliper.session_events and what caliper.rejected_events holds.
// Each test sends with its own API key, so its rows are those with that `source`.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../caliper/learn_batch.hpp"
#include "pg_test_env.hpp"
#include "server_process.hpp"

using namespace caliper_sessiond::testing;
namespace batch = caliper_sessiond::test;

namespace {

using rows = std::vector<std::vector<std::string>>;

constexpr std::size_t reject_raw_bytes = 4096;
const std::vector<std::string> sources{"mixed",  "text", "refused", "limits", "batch",
                                       "resend", "long", "window",  "fields"};
std::string secret(const std::string& source) { return source + "-secret-0123456789abcdef"; }

const std::string lms = "https://lms.example.edu";
const std::string lms_sensor = "https://lms.example.edu/sensor";
const std::string fffd = "\xEF\xBF\xBD";

class rejects_e2e : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    env_ = pg_test_env::from_environment();
    if (!env_) return;
    url_ = env_->create_database("e2e_rejects");
    server_process::options o;
    o.database_url = url_;
    o.extra_toml = "body_limit = 4194304\n[ingest]\nmax_events = 1000\nmax_depth = 32\nreject_raw_bytes = " +
                   std::to_string(reject_raw_bytes) + "\n";
    o.api_keys.clear();
    for (const auto& s : sources) o.api_keys.emplace_back(s, secret(s));
    server_ = std::make_unique<server_process>(o);
    started_ = server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    ASSERT_TRUE(started_) << "the server did not start:\n" << server_->log();
  }

  static http_reply post(const std::string& source, const std::string& file) {
    return server_->request("POST", "/caliper",
                            {"-H", "Authorization: Bearer " + secret(source), "-H", "Content-Type: application/json",
                             "--data-binary", "@" + file});
  }
  static std::string fixture(const std::string& name) { return source_dir() + "/tests/fixtures/" + name; }
  static std::string temp_file(const std::string& name, const std::string& content) {
    const std::string path = server_->dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  /// The stored rows of `source`, every column as text ("\N" for NULL), in event_time order.
  static rows stored(const std::string& source) {
    return pg_test_env::query(
        url_, "select event_id::text, action::text, to_char(event_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), "
              "actor_id, user_id, user_lms_id, user_external_id, session_id, session_name, user_agent, "
              "host(ip_address), ed_app_id, sensor from caliper.session_events where source = '" +
                  source + "' order by event_time, event_id");
  }
  static std::string count_rows(const std::string& source) {
    return pg_test_env::scalar(url_, "select count(*) from caliper.session_events where source = '" + source + "'");
  }
  /// (reason, raw) of the rejects of `source`, in arrival order.
  static rows rejects(const std::string& source) {
    return pg_test_env::query(url_, "select reason, coalesce(raw, '<null>') from caliper.rejected_events where source = '" +
                                        source + "' order by id");
  }
  /// Waits (deadline, no sleep) until `source` has `n` rejects: refused requests are recorded
  /// asynchronously, after the answer.
  static rows wait_for_rejects(const std::string& source, std::size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    rows r = rejects(source);
    while (r.size() < n && std::chrono::steady_clock::now() < deadline) r = rejects(source);
    return r;
  }

  static inline std::optional<pg_test_env> env_;
  static inline std::string url_;
  static inline std::unique_ptr<server_process> server_;
  static inline bool started_ = false;
};

/// The line of `file` holding `needle`, without its trailing comma: one event's raw JSON.
std::string event_line(const std::string& file, const std::string& needle) {
  std::ifstream in(file, std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) == std::string::npos) continue;
    while (!line.empty() && (line.back() == ',' || line.back() == '\r')) line.pop_back();
    return line;
  }
  return "<no line with " + needle + ">";
}

}  // namespace

TEST_F(rejects_e2e, good_events_are_stored_and_each_bad_one_is_rejected_with_reason_and_raw_json) {
  const std::string file = fixture("events/e2e-good-and-bad.json");
  const auto reply = post("mixed", file);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, "");
  const std::string id = "7e000000-0000-4000-8000-00000000000";
  EXPECT_EQ(stored("mixed"),
            (rows{{id + "1", "LoggedIn", "2024-03-01 09:00:00.000000", lms + "/users/1", lms + "/users/1", "\\N", "\\N",
                   lms + "/sessions/1", "s1", "UA/1", "192.0.2.1", lms, lms_sensor},
                  {id + "8", "LoggedOut", "2024-03-01 09:00:00.500000", lms + "/users/1", lms + "/users/1", "\\N", "\\N",
                   lms + "/sessions/1", "\\N", "\\N", "\\N", lms, lms_sensor},
                  // no id: UUIDv5 of mixed, TimedOut, the user, the time and the object (ids.hpp)
                  {"1d6e1e40-4ceb-5e9a-a459-bd138025b495", "TimedOut", "2024-03-01 11:00:00.000000", lms,
                   lms + "/users/2", "\\N", "\\N", lms + "/sessions/9", "\\N", "\\N", "\\N", lms, lms_sensor}}));
  EXPECT_EQ(rejects("mixed"),
            (rows{{"missing eventTime", event_line(file, id + "2")},
                  {"eventTime \"2024-03-01 09:00:00\" is not an RFC 3339 date-time", event_line(file, id + "3")},
                  {"TimedOut object has no user", event_line(file, id + "4")},
                  {"missing actor", event_line(file, id + "5")},
                  {"unknown action \"Viewed\" for a SessionEvent", event_line(file, id + "6")},
                  {"event id \"event-42\" is neither a UUID nor urn:uuid:<UUID>", event_line(file, "\"event-42\"")}}));
}

TEST_F(rejects_e2e, nul_lone_surrogates_and_bad_utf8_never_poison_the_batch) {
  const std::string file = fixture("events/e2e-text-rule.json");
  const auto reply = post("text", file);
  ASSERT_EQ(reply.status, 200) << reply.body;
  // text.hpp: each NUL, lone surrogate escape and ill-formed UTF-8 sequence becomes U+FFFD.
  EXPECT_EQ(pg_test_env::query(url_, "select session_name, user_agent from caliper.session_events where source = "
                                     "'text' order by event_time"),
            (rows{{"nul" + fffd + "here", fffd},
                  {"hi" + fffd + "lo", "lo" + fffd + "ne \xF0\x9F\x98\x80 " + fffd + fffd},
                  {"bad" + fffd + "(byte", "over" + fffd + fffd + "long"}}));
  // The reject keeps its escapes as received; the ill-formed byte is U+FFFD there too.
  std::string raw = event_line(file, "000000000104");
  raw.replace(raw.find('\xff'), 1, fffd);
  raw.replace(raw.find('\xff'), 1, fffd);
  EXPECT_EQ(rejects("text"), (rows{{"unknown action \"Bogus" + fffd + fffd + "\" for a SessionEvent", raw}}));
}

TEST_F(rejects_e2e, refused_requests_are_recorded_with_a_bounded_body) {
  // 400: not JSON, longer than the bound.
  const std::string broken = R"({"sensor": "s", "sendTime": "2020-01-01T00:00:00Z", "data": [)" + std::string(10'000, ' ') + "{";
  auto reply = post("refused", temp_file("broken.json", broken));
  EXPECT_EQ(reply.status, 400) << reply.body;
  auto r = wait_for_rejects("refused", 1);
  ASSERT_EQ(r.size(), 1U);
  EXPECT_TRUE(r[0][0].starts_with("400 Body is not JSON: ")) << r[0][0];
  EXPECT_EQ(r[0][1], broken.substr(0, reject_raw_bytes));

  // 422: an unsupported dataVersion; the whole (short) body is kept.
  const std::string v9 =
      R"({"sensor":"s","sendTime":"2020-01-01T00:00:00Z","dataVersion":"http://purl.imsglobal.org/ctx/caliper/v9p9","data":[]})";
  reply = post("refused", temp_file("v9.json", v9));
  EXPECT_EQ(reply.status, 422) << reply.body;
  r = wait_for_rejects("refused", 2);
  ASSERT_EQ(r.size(), 2U);
  EXPECT_EQ(r[1][0], "422 Unsupported Caliper version: dataVersion \"http://purl.imsglobal.org/ctx/caliper/v9p9\" is not "
                     "a supported Caliper context (v1p1, v1p2)");
  EXPECT_EQ(r[1][1], v9);

  // 413: refused on its Content-Length, before the body is read, so nothing of it is kept.
  reply = post("refused", temp_file("big.json", std::string(5 * 1024 * 1024, ' ') + "{}"));
  EXPECT_EQ(reply.status, 413) << reply.body;
  r = wait_for_rejects("refused", 3);
  ASSERT_EQ(r.size(), 3U);
  EXPECT_EQ(r[2][0], "413 Content Too Large: the body of 5242882 bytes is over the limit of 4194304 bytes");
  EXPECT_EQ(r[2][1], "");
  EXPECT_EQ(count_rows("refused"), "0");
}

TEST_F(rejects_e2e, nesting_past_the_limit_is_400_naming_it_and_the_server_lives_on) {
  const std::string prefix = R"({"sensor": "s", "sendTime": "2020-01-01T00:00:00Z", "data": )";
  const std::string deep = prefix + std::string(40, '[') + std::string(40, ']') + "}";
  auto reply = post("limits", temp_file("deep.json", deep));
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.body.find("max_depth (32)"), std::string::npos) << reply.body;
  // A million levels, unbalanced: no stack overflow, the same answer.
  reply = post("limits", temp_file("abyss.json", prefix + std::string(1'000'000, '[')));
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.body.find("max_depth (32)"), std::string::npos) << reply.body;
  EXPECT_EQ(server_->request("GET", "/healthz").status, 200);
  const auto r = wait_for_rejects("limits", 2);
  ASSERT_EQ(r.size(), 2U);
  for (const auto& row : r) EXPECT_TRUE(row[0].starts_with("400 JSON nested too deeply: ")) << row[0];
  EXPECT_EQ(r[0][1], deep);
  EXPECT_EQ(r[1][1].size(), reject_raw_bytes);
  EXPECT_EQ(count_rows("limits"), "0");
}

TEST_F(rejects_e2e, more_events_than_the_limit_is_400_naming_it_and_stores_nothing) {
  const auto reply = post("limits", temp_file("1001.json", batch::learn_batch(1001)));
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_NE(reply.body.find("max_events (1000)"), std::string::npos) << reply.body;
  const auto r = wait_for_rejects("limits", 1);
  ASSERT_GE(r.size(), 1U);
  EXPECT_EQ(r.back()[0], "400 Too many events: data holds more than max_events (1000) entries");
  EXPECT_EQ(r.back()[1].size(), reject_raw_bytes);
  EXPECT_EQ(count_rows("limits"), "0");
}

TEST_F(rejects_e2e, learn_batch_of_a_thousand_entries_stores_exactly_its_session_events) {
  const auto reply = post("batch", temp_file("1000.json", batch::learn_batch(1000)));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string site(batch::learn_batch_site);
  rows expected;
  for (std::size_t i = 0; i < 1000; ++i) {
    if (!batch::learn_batch_is_session_event(i)) continue;
    const auto v = batch::learn_batch_entry(i);
    const bool in = i % 10 == 0;
    const std::string user = batch::learn_batch_user(i);
    expected.push_back({"0b7d0f3e-7b7a-4c55-9a61-" + v.index, in ? "LoggedIn" : "LoggedOut",
                        v.time.substr(0, 10) + " " + v.time.substr(11, 8) + ".000000", user, user,
                        "_" + v.number + "_1", in ? "u" + v.number : "\\N",
                        site + "/sessions/" + (in ? "A" : "B") + v.index, in ? "A" + v.index : "\\N", "Mozilla/5.0 batch",
                        in ? "192.0.2." + v.number : (v.number == "0" ? "2001:db8::" : "2001:db8::" + v.number),
                        site + "/applications/learn", std::string(batch::learn_batch_sensor)});
  }
  ASSERT_EQ(expected.size(), 200U);
  EXPECT_EQ(stored("batch"), expected);
  EXPECT_TRUE(rejects("batch").empty());
}

TEST_F(rejects_e2e, resent_caliper_1_0_envelopes_add_no_rows) {
  for (const char* name : {"learn-v1p0-session-events.json", "moodle-v1p0-loggedin-timedout.json"})
    ASSERT_EQ(post("resend", fixture(name)).status, 200) << name;
  const rows first = stored("resend");
  ASSERT_EQ(first.size(), 5U);
  for (const char* name : {"learn-v1p0-session-events.json", "moodle-v1p0-loggedin-timedout.json"})
    ASSERT_EQ(post("resend", fixture(name)).status, 200) << name;
  EXPECT_EQ(stored("resend"), first);
  EXPECT_TRUE(rejects("resend").empty());
}

TEST_F(rejects_e2e, one_megabyte_user_agent_is_a_reject_naming_its_limit) {
  std::string body = read_file(fixture("learn-v1p1-loggedin.json"));
  const std::string firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:118.0) Gecko/20100101 Firefox/118.0";
  const std::string agent = "Mozilla/5.0 " + std::string(1024 * 1024 - 12, 'x');
  for (auto p = body.find(firefox); p != std::string::npos; p = body.find(firefox, p + agent.size()))
    body.replace(p, firefox.size(), agent);
  const auto reply = post("long", temp_file("long-agent.json", body));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(count_rows("long"), "0");
  const auto r = rejects("long");
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0][0], "user_agent is 1048576 bytes, over the limit of 1024 (ingest.max_user_agent_bytes)");
  EXPECT_EQ(r[0][1].size(), reject_raw_bytes);
}

/// Lines the writer logs when PostgreSQL refuses rows (a batch bisected, a row refused).
std::string store_warnings(const std::string& log) {
  std::string out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);)
    if (line.find("warning store:") != std::string::npos || line.find("error store:") != std::string::npos)
      out += line + "\n";
  return out;
}

TEST_F(rejects_e2e, three_kilobyte_session_id_is_a_parse_reject_not_a_database_refusal) {
  std::string body = read_file(fixture("events/stored-fields-logged-in.json"));
  // Incompressible, as a real id would be: PostgreSQL compresses a repetitive one into the index.
  std::mt19937 random(11);
  std::string id = lms + "/sessions/";
  while (id.size() < 3072) id += "0123456789abcdefghijklmnopqrstuvwxyz"[random() % 36];
  body.replace(body.find("\"<session_id>\""), 14, "\"" + id + "\"");
  const auto reply = post("fields", temp_file("long-session.json", body));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(count_rows("fields"), "0");
  const auto r = rejects("fields");
  ASSERT_EQ(r.size(), 1U);
  EXPECT_EQ(r[0][0], "session_id is 3072 bytes, over the limit of 2048 (ingest.max_id_bytes)");
  EXPECT_EQ(store_warnings(server_->log()), "");
}

/// `us` microseconds from now as RFC 3339 UTC with microseconds.
std::string rfc3339_from_now(std::int64_t us) {
  const auto t = std::chrono::system_clock::now() + std::chrono::microseconds(us);
  const auto since = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(since / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n) + "." + std::to_string(1'000'000 + since % 1'000'000).substr(1) + "Z";
}

TEST_F(rejects_e2e, event_times_outside_the_window_are_rejects_and_the_rest_is_stored) {
  std::string body = read_file(fixture("events/event-time-window.json"));
  body.replace(body.find("<first>"), 7, "0001-01-01T00:00:00Z");
  body.replace(body.find("<second>"), 8, rfc3339_from_now(-3'600'000'000));
  auto reply = post("window", temp_file("window.json", body));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(pg_test_env::query(url_, "select event_id::text from caliper.session_events where source = 'window'"),
            (rows{{"5f0e1d2c-3b4a-4958-8766-000000000012"}}));
  // Two days ahead: past ingest.event_time_future_seconds (a day) by the server's clock.
  body = read_file(fixture("events/event-time-window.json"));
  body.replace(body.find("<first>"), 7, rfc3339_from_now(2 * 86'400'000'000LL));
  body.replace(body.find("<second>"), 8, "9999-12-31T23:59:59Z");
  reply = post("window", temp_file("window-future.json", body));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(count_rows("window"), "1");
  const auto r = rejects("window");
  ASSERT_EQ(r.size(), 3U);
  for (const auto& row : r) EXPECT_NE(row[0].find(" is outside the accepted window ["), std::string::npos) << row[0];
  EXPECT_TRUE(r[0][0].starts_with("eventTime \"0001-01-01T00:00:00Z\"")) << r[0][0];
  EXPECT_TRUE(r[2][0].starts_with("eventTime \"9999-12-31T23:59:59Z\"")) << r[2][0];
}

