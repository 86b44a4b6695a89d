// The real binary, over TLS, with a real PostgreSQL, driven by curl.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <memory>

#include "pg_test_env.hpp"
#include "server_process.hpp"

using namespace caliper_sessiond::testing;

namespace {

class ingest_e2e : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    env_ = pg_test_env::from_environment();
    if (!env_) return;
    url_ = env_->create_database("e2e");
    server_process::options o;
    o.database_url = url_;
    o.extra_toml = "body_limit = 65536\n";
    server_ = std::make_unique<server_process>(o);
    started_ = server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    ASSERT_TRUE(started_) << "the server did not start:\n" << server_->log();
  }

  static std::string count(const std::string& where = "true") {
    return pg_test_env::scalar(url_, "select count(*) from caliper.session_events where " + where);
  }
  /// A file in the test's folder holding `content`.
  static std::string temp_file(const std::string& name, const std::string& content) {
    const std::string path = server_->dir() + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  static std::string learn_sample() {
    const auto dir = shared_fixtures_dir();
    return dir.empty() ? std::string{} : dir + "/learn/loggedin-envelope.json";
  }

  static inline std::optional<pg_test_env> env_;
  static inline std::string url_;
  static inline std::unique_ptr<server_process> server_;
  static inline bool started_ = false;
};

constexpr const char* learn_event_id = "f8c984e2-de73-4c0b-8183-779ab4149422";

}  // namespace

TEST_F(ingest_e2e, learn_sample_is_stored_with_expected_values) {
  if (learn_sample().empty()) GTEST_SKIP() << "../shared/fixtures is absent";
  auto reply = server_->post_file(learn_sample());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, "");
  const auto rows = pg_test_env::query(
      url_, std::string("select action, user_lms_id, user_external_id, session_name, ") +
                "to_char(event_time at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS'), host(ip_address), "
                "user_agent like '%Chrome/87.0.4280.88%', source from caliper.session_events where event_id = '" +
                learn_event_id + "'");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"LoggedIn", "_1_1", "administrator", "B287CEC440C99337012096F677684697",
                                               "2020-12-24 21:38:05.645", "192.0.2.44", "t", "learn-test"}));
}

TEST_F(ingest_e2e, resend_leaves_one_row) {
  if (learn_sample().empty()) GTEST_SKIP() << "../shared/fixtures is absent";
  ASSERT_EQ(server_->post_file(learn_sample()).status, 200);
  ASSERT_EQ(server_->post_file(learn_sample()).status, 200);
  EXPECT_EQ(count(std::string("event_id = '") + learn_event_id + "'"), "1");
}

TEST_F(ingest_e2e, charset_parameter_is_accepted) {
  const auto file = source_dir() + "/tests/fixtures/quickstart-loggedin.json";
  auto reply = server_->post_file(file, "application/json; charset=utf-8");
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(count("event_id = '3b9e2f4a-7c1d-4f6e-8a2b-5d0c9e7f1a43'"), "1");
}

TEST_F(ingest_e2e, bare_key_without_bearer_is_accepted) {
  const auto file = source_dir() + "/tests/fixtures/quickstart-loggedin.json";
  auto reply = server_->request(
      "POST", "/caliper",
      {"-H", "Authorization: " + server_->key(), "-H", "Content-Type: application/json", "--data-binary", "@" + file});
  EXPECT_EQ(reply.status, 200) << reply.body;
}

TEST_F(ingest_e2e, wrong_key_gets_401_with_challenge) {
  const auto file = source_dir() + "/tests/fixtures/quickstart-loggedin.json";
  auto reply = server_->request(
      "POST", "/caliper",
      {"-H", "Authorization: Bearer not-the-key", "-H", "Content-Type: application/json", "--data-binary", "@" + file});
  EXPECT_EQ(reply.status, 401);
  EXPECT_TRUE(reply.headers["www-authenticate"].starts_with("Bearer")) << reply.headers["www-authenticate"];
  EXPECT_EQ(reply.headers["content-type"], "application/problem+json");
}

TEST_F(ingest_e2e, missing_key_gets_401) {
  auto reply = server_->request("POST", "/caliper", {"-H", "Content-Type: application/json", "--data", "{}"});
  EXPECT_EQ(reply.status, 401);
}

TEST_F(ingest_e2e, text_plain_gets_415) {
  const auto file = source_dir() + "/tests/fixtures/quickstart-loggedin.json";
  auto reply = server_->post_file(file, "text/plain");
  EXPECT_EQ(reply.status, 415);
  EXPECT_NE(reply.body.find("application/json"), std::string::npos) << reply.body;
}

TEST_F(ingest_e2e, broken_json_gets_400_and_is_recorded) {
  const auto file = temp_file("broken.json", R"({"sensor": "s", "sendTime": "2020-01-01T00:00:00Z", "data": [ {)");
  auto reply = server_->post_file(file);
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.headers["content-type"], "application/problem+json");
  EXPECT_NE(reply.body.find("\"status\":400"), std::string::npos) << reply.body;
  // The refusal reaches the rejects table (asynchronously: wait for it with a deadline).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string n = "0";
  while (n == "0" && std::chrono::steady_clock::now() < deadline) {
    n = pg_test_env::scalar(url_, "select count(*) from caliper.rejected_events where reason like '400%' and raw like "
                                  "'{\"sensor\": \"s\"%' and source = 'learn-test'");
  }
  EXPECT_EQ(n, "1");
}

TEST_F(ingest_e2e, unknown_data_version_gets_422) {
  const auto file = temp_file(
      "v9.json",
      R"({"sensor":"s","sendTime":"2020-01-01T00:00:00Z","dataVersion":"http://purl.imsglobal.org/ctx/caliper/v9p9","data":[]})");
  auto reply = server_->post_file(file);
  EXPECT_EQ(reply.status, 422) << reply.body;
}

TEST_F(ingest_e2e, oversize_body_gets_413) {
  const auto file = temp_file("big.json", std::string(70'000, ' ') + "{}");
  auto reply = server_->post_file(file);
  EXPECT_EQ(reply.status, 413) << reply.body;
}

TEST_F(ingest_e2e, get_ingest_path_returns_endpoint_configuration) {
  auto reply = server_->request("GET", "/caliper", {"-H", "Authorization: Bearer " + server_->key()});
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("caliper_supported_versions"), std::string::npos) << reply.body;
}

TEST_F(ingest_e2e, health_readiness_and_metrics_answer) {
  EXPECT_EQ(server_->request("GET", "/healthz").status, 200);
  EXPECT_EQ(server_->request("GET", "/readyz").status, 200);
  const auto metrics = server_->request("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("caliper_http_requests_total"), std::string::npos);
}

TEST_F(ingest_e2e, unknown_path_is_404_and_wrong_method_is_405_with_allow) {
  EXPECT_EQ(server_->request("GET", "/nope").status, 404);
  auto reply = server_->request("DELETE", "/caliper");
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers["allow"], "GET, POST");
}

TEST(ingest_e2e_lifecycle, sigterm_exits_zero) {
  auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  server_process::options o;
  o.database_url = env->create_database("e2e_term");
  server_process server(o);
  ASSERT_TRUE(server.start()) << server.log();
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}
