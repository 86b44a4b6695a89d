// Canvas signed-JWT delivery end to end (issue 13): the real binary over TLS, a real PostgreSQL,
// and the JWKS served over HTTPS by `openssl s_server -WWW` from a file the tests rewrite.
// Keys are made in the test; the server trusts the JWKS server through SSL_CERT_FILE.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "jose_test_keys.hpp"
#include "pg_test_env.hpp"
#include "server_process.hpp"

using namespace caliper_sessiond::testing;

namespace {

using rows = std::vector<std::vector<std::string>>;
const std::string account = "ExampleRootAccountUuid0000000000000000000";
const std::string fixture_id = "3a4f1c2e-9b7d-4e61-8f20-6c5d4b3a2f10";

/// `openssl s_server -WWW` serving `dir`/jwks.json over HTTPS on a port of its own.
class jwks_server {
public:
  jwks_server(const std::string& dir, const std::string& cert, const std::string& key) : dir_(dir), port_(free_port()) {
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(dir.c_str()) != 0) ::_exit(127);
      std::FILE* log = std::freopen("s_server.log", "a", stdout);
      (void)log;
      const std::string accept = "127.0.0.1:" + std::to_string(port_);
      ::execlp("openssl", "openssl", "s_server", "-quiet", "-WWW", "-accept", accept.c_str(), "-cert", cert.c_str(),
               "-key", key.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~jwks_server() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  void publish(const std::string& jwks) const {
    std::ofstream(dir_ + "/jwks.json.tmp") << jwks;
    std::rename((dir_ + "/jwks.json.tmp").c_str(), (dir_ + "/jwks.json").c_str());
  }
  std::string url() const { return "https://localhost:" + std::to_string(port_) + "/jwks.json"; }
  /// Waits until it answers (deadline, polled).
  bool ready(const std::string& cert) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      if (run_command("curl -sf --cacert " + cert + " -o /dev/null " + url()).first == 0) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition, with a deadline
    }
    return false;
  }

private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

class jwt_e2e : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    env_ = pg_test_env::from_environment();
    if (!env_) return;
    url_ = env_->create_database("e2e_jwt");
    char tmpl[] = "/tmp/caliper-jwks.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    const auto [rc, out] = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost -keyout " + dir_ + "/key.pem -out " + dir_ + "/cert.pem 2>&1");
    ASSERT_EQ(rc, 0) << out;
    ::setenv("SSL_CERT_FILE", (dir_ + "/cert.pem").c_str(), 1);  // inherited by the server: it trusts s_server
    for (auto* k : {&current_, &next_, &newer_, &file_key_}) *k = make_rsa_key().release();
    jwks_ = std::make_unique<jwks_server>(dir_, dir_ + "/cert.pem", dir_ + "/key.pem");
    jwks_->publish(jwks_json(jwk_json(current_, "current") + "," + jwk_json(next_, "next")));
    std::ofstream(dir_ + "/file-jwks.json") << jwks_json(jwk_json(file_key_, "file-1"));
    ASSERT_TRUE(jwks_->ready(dir_ + "/cert.pem"));
    server_ = start_server(jwt_toml("canvas-test", jwks_->url(), account) +
                           "[[jwt_sources]]\nname = \"canvas-file\"\njwks_file = \"" + dir_ + "/file-jwks.json\"\n");
  }
  static void TearDownTestSuite() {
    server_.reset();
    jwks_.reset();
    for (auto* k : {current_, next_, newer_, file_key_}) EVP_PKEY_free(k);
    if (!dir_.empty()) run_command("rm -rf " + dir_);
  }
  void SetUp() override {
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    ASSERT_TRUE(server_ && server_->running()) << (server_ ? server_->log() : "");
  }

  static std::string jwt_toml(const std::string& name, const std::string& url, const std::string& allowed) {
    return "[[jwt_sources]]\nname = \"" + name + "\"\njwks_url = \"" + url + "\"\nallowed_accounts = [\"" + allowed +
           "\"]\n";
  }
  static std::unique_ptr<server_process> start_server(const std::string& jwt_sources) {
    server_process::options o;
    o.database_url = url_;
    o.extra_toml = jwt_sources;  // after [server]'s lines: the array tables end that section
    auto s = std::make_unique<server_process>(o);
    if (!s->start()) ADD_FAILURE() << "the server did not start:\n" << s->log();
    return s;
  }
  /// The Canvas fixture's claims, with a fresh exp and event id `id`.
  static std::string claims(const std::string& id = fixture_id, std::int64_t exp_in_seconds = 300) {
    std::string c = read_file(source_dir() + "/tests/fixtures/canvas-logged-in-claims.json");
    c.replace(c.find(fixture_id), fixture_id.size(), id);
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
    return "{\"exp\":" + std::to_string(now.count() + exp_in_seconds) + "," + c.substr(1);
  }
  static http_reply post_jwt(const server_process& s, const std::string& token,
                             const std::string& content_type = "application/jwt") {
    const std::string file = s.dir() + "/token.jwt";
    std::ofstream(file, std::ios::binary) << token;
    return s.request("POST", "/caliper", {"-H", "Content-Type: " + content_type, "--data-binary", "@" + file});
  }
  static std::string count_rows(const std::string& source) {
    return pg_test_env::scalar(url_, "select count(*) from caliper.session_events where source = '" + source + "'");
  }
  static std::string metric(const server_process& s, const std::string& line_start) {
    const auto text = s.request("GET", "/metrics").body;
    const auto at = text.find("\n" + line_start + " ");
    return at == std::string::npos ? "<absent>" : text.substr(at + line_start.size() + 2, text.find('\n', at + 1) - at - line_start.size() - 2);
  }

  static inline std::optional<pg_test_env> env_;
  static inline std::string url_, dir_;
  static inline EVP_PKEY *current_ = nullptr, *next_ = nullptr, *newer_ = nullptr, *file_key_ = nullptr;
  static inline std::unique_ptr<jwks_server> jwks_;
  static inline std::unique_ptr<server_process> server_;
};

}  // namespace

TEST_F(jwt_e2e, signed_by_the_current_key_stores_the_exact_row_with_the_jwt_source) {
  const auto reply = post_jwt(*server_, sign_rs256(current_, rs256_header("current"), claims()));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const std::string canvas = "https://canvas.example.edu/";
  EXPECT_EQ(pg_test_env::query(url_,
                               "select event_id::text, action::text, to_char(event_time at time zone 'UTC', "
                               "'YYYY-MM-DD HH24:MI:SS.US'), actor_id, user_id, user_external_id, session_id, user_agent, "
                               "host(ip_address), ed_app_id, sensor from caliper.session_events where event_id = '" +
                                   fixture_id + "' and source = 'canvas-test'"),
            (rows{{fixture_id, "LoggedIn", "2025-12-01 07:49:59.250000", "urn:instructure:canvas:user:21070000000000077",
                   "urn:instructure:canvas:user:21070000000000077", "SIS-0077",
                   "urn:instructure:canvas:session:0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                   "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "203.0.113.77", canvas,
                   canvas}}));
}

TEST_F(jwt_e2e, signed_by_the_next_key_of_the_rotation_is_stored) {
  const std::string id = "3a4f1c2e-9b7d-4e61-8f20-000000000002";
  const auto reply = post_jwt(*server_, sign_rs256(next_, rs256_header("next"), claims(id)), "text/plain");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(pg_test_env::scalar(url_, "select source from caliper.session_events where event_id = '" + id + "'"),
            "canvas-test");
}

TEST_F(jwt_e2e, alg_none_is_401) {
  const auto token = base64url(R"({"alg":"none","kid":"current"})") + "." + base64url(claims()) + ".AA";
  const auto reply = post_jwt(*server_, token, "application/json");
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("wrong alg"), std::string::npos) << reply.body;
}

TEST_F(jwt_e2e, hs256_signed_with_the_public_key_as_secret_is_401) {
  const auto token = sign_hs256(public_pem(current_), R"({"alg":"HS256","kid":"current"})", claims());
  const auto reply = post_jwt(*server_, token);
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("wrong alg"), std::string::npos) << reply.body;
}

TEST_F(jwt_e2e, tampered_payload_is_401) {
  const auto token = sign_rs256(current_, rs256_header("current"), claims());
  const auto first = token.find('.'), second = token.find('.', first + 1);
  const std::string forged = token.substr(0, first + 1) + base64url(claims("3a4f1c2e-9b7d-4e61-8f20-000000000666")) +
                             token.substr(second);
  const auto reply = post_jwt(*server_, forged);
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("bad signature"), std::string::npos) << reply.body;
  EXPECT_EQ(pg_test_env::scalar(url_, "select count(*) from caliper.session_events where event_id = "
                                      "'3a4f1c2e-9b7d-4e61-8f20-000000000666'"),
            "0");
}

TEST_F(jwt_e2e, expired_is_401) {
  const auto reply = post_jwt(*server_, sign_rs256(current_, rs256_header("current"), claims(fixture_id, -120)));
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.body.find("expired"), std::string::npos) << reply.body;
}

TEST_F(jwt_e2e, body_without_authorization_that_is_not_a_jwt_is_401) {
  const auto reply = post_jwt(*server_, claims(), "application/json");
  EXPECT_EQ(reply.status, 401);
}

TEST_F(jwt_e2e, account_not_allowed_is_403_and_nothing_is_stored) {
  std::string c = claims("3a4f1c2e-9b7d-4e61-8f20-000000000403");
  c.replace(c.find("\"root_account_uuid\": \"" + account), 22 + account.size(), "\"root_account_uuid\": \"SomeoneElse");
  const auto reply = post_jwt(*server_, sign_rs256(current_, rs256_header("current"), c));
  EXPECT_EQ(reply.status, 403) << reply.body;
  EXPECT_NE(reply.body.find("SomeoneElse"), std::string::npos) << reply.body;
  EXPECT_EQ(pg_test_env::scalar(url_, "select count(*) from caliper.session_events where event_id = "
                                      "'3a4f1c2e-9b7d-4e61-8f20-000000000403'"),
            "0");
}

TEST_F(jwt_e2e, claims_that_are_not_an_envelope_are_400_and_recorded_with_the_source) {
  const std::string not_envelope = R"({"iss":"canvas","data":"not an array","sensor":"s","sendTime":"t"})";
  const auto reply = post_jwt(*server_, sign_rs256(file_key_, rs256_header("file-1"), not_envelope));
  EXPECT_EQ(reply.status, 400) << reply.body;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string raw;
  while (raw.empty() && std::chrono::steady_clock::now() < deadline)
    raw = pg_test_env::scalar(url_, "select coalesce(max(raw), '') from caliper.rejected_events where source = 'canvas-file'");
  EXPECT_EQ(raw, not_envelope);
}

TEST_F(jwt_e2e, jwks_file_is_reread_on_sighup) {
  auto rotated = make_rsa_key();
  std::ofstream(dir_ + "/file-jwks.json") << jwks_json(jwk_json(file_key_, "file-1") + "," + jwk_json(rotated.get(), "file-2"));
  server_->signal(SIGHUP);
  const auto token = sign_rs256(rotated.get(), rs256_header("file-2"), claims("3a4f1c2e-9b7d-4e61-8f20-000000000f02"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) status = post_jwt(*server_, token).status;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(count_rows("canvas-file"), "1");
}

// Each of these has a server and a JWKS of its own: the unknown-kid refetch of a source is
// rate-limited (once a minute), so they must not share one.
TEST_F(jwt_e2e, unknown_kid_is_accepted_once_the_served_jwks_gains_it) {
  const std::string sub = dir_ + "/gains";
  ::mkdir(sub.c_str(), 0700);
  jwks_server jwks(sub, dir_ + "/cert.pem", dir_ + "/key.pem");
  jwks.publish(jwks_json(jwk_json(current_, "current")));
  ASSERT_TRUE(jwks.ready(dir_ + "/cert.pem"));
  auto server = start_server(jwt_toml("canvas-gains", jwks.url(), account));
  const auto before = claims("3a4f1c2e-9b7d-4e61-8f20-0000000000a1");
  ASSERT_EQ(post_jwt(*server, sign_rs256(current_, rs256_header("current"), before)).status, 200);
  jwks.publish(jwks_json(jwk_json(current_, "current") + "," + jwk_json(newer_, "newer")));
  const auto reply = post_jwt(*server, sign_rs256(newer_, rs256_header("newer"), claims("3a4f1c2e-9b7d-4e61-8f20-0000000000a2")));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(count_rows("canvas-gains"), "2");
}

TEST_F(jwt_e2e, failed_fetch_keeps_the_last_good_keys_and_shows_in_the_metrics) {
  const std::string sub = dir_ + "/fails";
  ::mkdir(sub.c_str(), 0700);
  jwks_server jwks(sub, dir_ + "/cert.pem", dir_ + "/key.pem");
  jwks.publish(jwks_json(jwk_json(current_, "current")));
  ASSERT_TRUE(jwks.ready(dir_ + "/cert.pem"));
  auto server = start_server(jwt_toml("canvas-fails", jwks.url(), account));
  const std::string label = "{source=\"canvas-fails\"}";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (metric(*server, "caliper_jwks_keys" + label) != "1" && std::chrono::steady_clock::now() < deadline) {
  }
  const auto first_success = metric(*server, "caliper_jwks_last_success_timestamp_seconds" + label);
  EXPECT_GT(std::atof(first_success.c_str()), 1e9) << first_success;
  EXPECT_EQ(metric(*server, "caliper_jwks_refresh_errors_total" + label), "0");
  jwks.publish("<html>maintenance</html>");
  // An unknown kid makes the server refetch: the fetch fails, the kid stays unknown.
  const auto unknown = post_jwt(*server, sign_rs256(newer_, rs256_header("newer"), claims()));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_NE(unknown.body.find("unknown kid"), std::string::npos) << unknown.body;
  EXPECT_EQ(metric(*server, "caliper_jwks_refresh_errors_total" + label), "1");
  EXPECT_EQ(metric(*server, "caliper_jwks_last_success_timestamp_seconds" + label), first_success);
  EXPECT_EQ(post_jwt(*server, sign_rs256(current_, rs256_header("current"), claims("3a4f1c2e-9b7d-4e61-8f20-0000000000f1"))).status,
            200);
  EXPECT_NE(server->log().find("keeping the last good keys"), std::string::npos);
}

TEST_F(jwt_e2e, jwks_server_with_an_untrusted_certificate_is_refused) {
  const std::string sub = dir_ + "/untrusted";
  ::mkdir(sub.c_str(), 0700);
  const auto [rc, out] = run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout " + sub + "/key.pem -out " + sub + "/cert.pem 2>&1");
  ASSERT_EQ(rc, 0) << out;
  jwks_server jwks(sub, sub + "/cert.pem", sub + "/key.pem");  // not in SSL_CERT_FILE
  jwks.publish(jwks_json(jwk_json(current_, "current")));
  ASSERT_TRUE(jwks.ready(sub + "/cert.pem"));
  auto server = start_server(jwt_toml("canvas-untrusted", jwks.url(), account));
  const std::string label = "{source=\"canvas-untrusted\"}";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (metric(*server, "caliper_jwks_refresh_errors_total" + label) == "0" && std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_EQ(metric(*server, "caliper_jwks_refresh_errors_total" + label), "1");
  EXPECT_EQ(metric(*server, "caliper_jwks_keys" + label), "0");
  EXPECT_NE(server->log().find("certificate verify failed"), std::string::npos) << server->log();
}
