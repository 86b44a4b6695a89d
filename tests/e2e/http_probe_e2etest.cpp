// Attack probes against the real binary over raw sockets (plain HTTP): request smuggling
// framings, malformed heads, stalls, oversized heads and bodies. Each answer must reach the
// client, and a refused request must close the connection with nothing parsed after it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "pg_test_env.hpp"
#include "raw_client.hpp"
#include "server_process.hpp"

using namespace caliper_sessiond::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

class probe_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  }

  /// A plain-HTTP server with these [server] lines, and the http_fuzzer's key and limits so
  /// that the fuzz regression inputs mean the same here.
  void start(const std::string& extra_toml = "") {
    server_process::options o;
    o.database_url = env_->create_database("probe");
    o.tls = false;
    o.extra_toml = "header_limit = 4096\nbody_limit = 65536\n" + extra_toml;
    o.api_keys = {{"fuzz", "fuzz-key-0123456789abcdef"}};
    server_ = std::make_unique<server_process>(o);
    ASSERT_TRUE(server_->start()) << server_->log();
  }

  std::optional<pg_test_env> env_;
  std::unique_ptr<server_process> server_;
};

const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";

}  // namespace

// tests/fuzz/regressions/http_fuzzer/<case>.<status>.http: byte 0 is the fuzz target's mode,
// the rest the client's bytes; <status> is the first answer's.
TEST_F(probe_e2e, regression_inputs_get_their_named_status_then_the_connection_closes) {
  start();
  const fs::path dir = fs::path(source_dir()) / "tests/fuzz/regressions/http_fuzzer";
  const std::regex name(R"(^(.+)\.([0-9]{3}|none)\.http$)");
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (!std::regex_match(file, m, name)) continue;
    SCOPED_TRACE(file);
    const std::string bytes = read_file(entry.path().string()).substr(1);
    raw_client c(server_->port());
    ASSERT_TRUE(c.connected());
    c.send(bytes);  // may fail part-way when the server refuses early: the answer still counts
    c.finish_sending();
    const auto reply = c.read_response();
    if (m[2] == "none") {
      EXPECT_FALSE(reply);
      continue;
    }
    ASSERT_TRUE(reply) << server_->log();
    EXPECT_EQ(reply->status, std::stoi(m[2]));
    if (reply->status >= 400) {
      EXPECT_EQ(reply->header("connection"), "close");
      std::string after;
      EXPECT_TRUE(c.wait_closed(5s, &after));
      EXPECT_EQ(after, "") << "bytes after the refused request were answered";
    }
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST_F(probe_e2e, smuggled_request_behind_a_non_chunked_transfer_encoding_is_never_answered) {
  start();
  raw_client c(server_->port());
  ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n" + healthz));
  const auto reply = c.read_response();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(reply->header("connection"), "close");
  std::string after;
  EXPECT_TRUE(c.wait_closed(5s, &after));
  EXPECT_EQ(after, "");
}

TEST_F(probe_e2e, head_over_the_limit_gets_431_and_the_rest_is_read_before_closing) {
  start();
  // A client still sending its head when the 431 comes: the server keeps reading (a bounded
  // amount) after answering, so the client's sending does not fail with a reset before it
  // gets to read the answer (as curl would, reporting the reset rather than the 431).
  raw_client c(server_->port(), 4096);
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: h\r\nX-Pad: " + std::string(8 * 1024, 'a')));
  const auto reply = c.read_response();
  ASSERT_TRUE(reply) << "no 431";
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(reply->header("connection"), "close");
  const std::string rest(4096, 'a');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.send(rest, 5s)) << "reset after " << i * rest.size() << " more bytes";
}

TEST_F(probe_e2e, malformed_head_gets_400_and_unsupported_version_505) {
  start();
  for (const auto& [request, status] : std::vector<std::pair<std::string, int>>{
           {"GET /healthz HTTP/1.1\r\nHost h\r\n\r\n", 400},
           {"GET /he lthz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
           {"GET /healthz HTTP/3.0\r\nHost: h\r\n\r\n", 505}}) {
    SCOPED_TRACE(request);
    raw_client c(server_->port());
    ASSERT_TRUE(c.send(request));
    const auto reply = c.read_response();
    ASSERT_TRUE(reply) << "closed without an answer";
    EXPECT_EQ(reply->status, status);
    EXPECT_EQ(reply->header("content-type"), "application/problem+json");
    EXPECT_EQ(reply->header("connection"), "close");
  }
}

TEST_F(probe_e2e, head_stalled_part_way_gets_408) {
  start("read_timeout_seconds = 1\nhandshake_timeout_ms = 1000\n");
  raw_client c(server_->port());
  ASSERT_TRUE(c.send(healthz));  // the first head is on the handshake deadline, later ones on read_timeout
  ASSERT_TRUE(c.read_response());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHo"));
  const auto reply = c.read_response(10s);
  ASSERT_TRUE(reply) << server_->log();
  EXPECT_EQ(reply->status, 408);
  EXPECT_EQ(reply->header("connection"), "close");
}

TEST_F(probe_e2e, first_head_stalled_part_way_gets_408) {
  start("handshake_timeout_ms = 1000\n");
  raw_client c(server_->port());
  ASSERT_TRUE(c.send("GET /healthz HT"));
  const auto reply = c.read_response(10s);
  ASSERT_TRUE(reply) << server_->log();
  EXPECT_EQ(reply->status, 408);
}

TEST_F(probe_e2e, body_stalled_part_way_gets_408) {
  start("read_timeout_seconds = 1\n");
  raw_client c(server_->port());
  ASSERT_TRUE(c.send("POST /caliper HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer fuzz-key-0123456789abcdef\r\n"
                     "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sensor\":"));
  const auto reply = c.read_response(10s);
  ASSERT_TRUE(reply) << server_->log();
  EXPECT_EQ(reply->status, 408);
  EXPECT_EQ(reply->header("connection"), "close");
}

TEST_F(probe_e2e, idle_keepalive_connection_closes_without_an_answer) {
  start("read_timeout_seconds = 1\n");
  raw_client c(server_->port());
  ASSERT_TRUE(c.send(healthz));
  ASSERT_TRUE(c.read_response());
  std::string after;
  EXPECT_TRUE(c.wait_closed(10s, &after));
  EXPECT_EQ(after, "");
}

TEST_F(probe_e2e, unauthenticated_body_is_drained_only_64_kib) {
  start();
  raw_client c(server_->port(), 64 * 1024);
  constexpr std::size_t body = 48u << 20;
  ASSERT_TRUE(c.send("POST /caliper HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body) + "\r\n\r\n" + std::string(1024, 'x')));
  const auto reply = c.read_response();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 401);
  EXPECT_EQ(reply->header("connection"), "close");
  // Keep sending: the server must stop reading soon (a reset or a stall ends the sending).
  const std::string chunk(64 * 1024, 'x');
  std::size_t sent = 1024;
  while (sent < body && c.send(chunk, 3s)) sent += chunk.size();
  EXPECT_LT(sent, 16u << 20) << "the server went on reading an unauthenticated body";
}

TEST_F(probe_e2e, answers_say_nosniff_and_carry_random_request_ids) {
  start();
  raw_client c(server_->port());
  std::set<std::string> ids;
  for (const char* path : {"/healthz", "/nowhere", "/healthz"}) {
    ASSERT_TRUE(c.send(std::string("GET ") + path + " HTTP/1.1\r\nHost: h\r\n\r\n"));
    const auto reply = c.read_response();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->header("x-content-type-options"), "nosniff") << path;
    const auto id = reply->header("x-request-id");
    EXPECT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{16}"))) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 3u);
}
