// Connection limits with the real binary: per-address cap, the one deadline for the TLS
// handshake plus the first head, keep-alive bounds, and the separate /metrics listener.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_env.hpp"
#include "raw_client.hpp"
#include "server_process.hpp"
#include "eventually.hpp"

using namespace caliper_sessiond::testing;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

using caliper_sessiond::testing::eventually;

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::string healthz = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";

class limits_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  }
  void start(const std::string& extra_toml, bool tls = false) {
    server_process::options o;
    o.database_url = env_->create_database("limits");
    o.tls = tls;
    o.extra_toml = extra_toml;
    server_ = std::make_unique<server_process>(o);
    ASSERT_TRUE(server_->start()) << server_->log();
  }
  std::optional<pg_test_env> env_;
  std::unique_ptr<server_process> server_;
};

}  // namespace

TEST_F(limits_e2e, connection_over_the_per_address_limit_is_closed_at_once_and_counted) {
  start("max_connections_per_ip = 4\n");
  std::vector<std::unique_ptr<raw_client>> held;
  for (int i = 0; i < 4; ++i) {  // each answered, so each is counted by the server
    held.push_back(std::make_unique<raw_client>(server_->port()));
    ASSERT_TRUE(held.back()->send(healthz));
    ASSERT_TRUE(held.back()->read_response()) << i;
  }
  for (int i = 0; i < 20; ++i) {
    raw_client extra(server_->port());
    ASSERT_TRUE(extra.connected());  // the kernel accepts; the server closes
    std::string got;
    EXPECT_TRUE(extra.wait_closed(5s, &got)) << i;
    EXPECT_EQ(got, "");
  }
  held.clear();
  http_reply metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = server_->request("GET", "/metrics");
    return metrics.status == 200;
  })) << "the closed connections were not released";
  EXPECT_NE(metrics.body.find(R"(caliper_http_connections_refused_total{reason="max_connections_per_ip"} 20)"),
            std::string::npos)
      << metrics.body;
  // One warning line for the burst, not twenty.
  EXPECT_EQ(count_of(server_->log(), "server.max_connections_per_ip"), 1u) << server_->log();
}

TEST_F(limits_e2e, silent_connection_is_closed_at_the_handshake_deadline) {
  start("handshake_timeout_ms = 1000\nread_timeout_seconds = 30\n", true);
  raw_client c(server_->port());
  const auto started = clock_type::now();
  EXPECT_TRUE(c.wait_closed(10s));
  EXPECT_LT(clock_type::now() - started, 5s);
}

TEST_F(limits_e2e, handshake_and_first_head_share_one_deadline) {
  start("handshake_timeout_ms = 2000\nread_timeout_seconds = 30\n", true);
  // A client that completes the handshake and then sends nothing: s_client (-ign_eof) stays
  // until the server closes.
  const auto started = clock_type::now();
  const auto [rc, out] = run_command("timeout 20 openssl s_client -connect 127.0.0.1:" +
                                     std::to_string(server_->port()) + " -ign_eof </dev/null 2>&1");
  const auto elapsed = clock_type::now() - started;
  EXPECT_NE(out.find("Cipher is"), std::string::npos) << out;  // the handshake was done
  EXPECT_NE(rc, 124) << "still open after 20 s";
  EXPECT_LT(elapsed, 6s);
}

TEST_F(limits_e2e, tls_head_stalled_part_way_gets_408) {
  start("handshake_timeout_ms = 2000\n", true);
  const auto [rc, out] = run_command("printf 'GET /healthz HT' | timeout 20 openssl s_client -connect 127.0.0.1:" +
                                     std::to_string(server_->port()) + " -quiet -ign_eof 2>/dev/null");
  EXPECT_NE(rc, 124) << "still open after 20 s";
  EXPECT_NE(out.find("HTTP/1.1 408 Request Timeout"), std::string::npos) << out;
}

TEST_F(limits_e2e, connection_closes_after_keepalive_max_requests) {
  start("keepalive_max_requests = 3\n");
  raw_client c(server_->port());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.send(healthz));
    const auto reply = c.read_response();
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply->header("connection") == "close", i == 3) << i;
  }
  EXPECT_TRUE(c.wait_closed(5s));
}

TEST_F(limits_e2e, connection_closes_after_keepalive_max_seconds) {
  start("keepalive_max_seconds = 1\n");
  raw_client c(server_->port());
  const auto opened = clock_type::now();
  int answered = 0;
  bool closed = false;
  while (!closed && clock_type::now() - opened < 10s) {
    ASSERT_TRUE(c.send(healthz));
    const auto reply = c.read_response();
    ASSERT_TRUE(reply) << answered;
    ++answered;
    closed = reply->header("connection") == "close";
    std::this_thread::sleep_for(100ms);  // pacing the client, not synchronisation
  }
  EXPECT_TRUE(closed);
  EXPECT_GE(clock_type::now() - opened, 1s);
  EXPECT_GE(answered, 5);
}

TEST_F(limits_e2e, metrics_listener_serves_metrics_and_the_main_port_does_not) {
  const int metrics_port = free_port();
  start("metrics_listen = \"127.0.0.1:" + std::to_string(metrics_port) + "\"\n", true);
  const auto metrics = [&](const std::string& path) {
    raw_client c(metrics_port);
    c.send("GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n");
    return c.read_response();
  };
  const auto scraped = metrics("/metrics");
  ASSERT_TRUE(scraped) << server_->log();
  EXPECT_EQ(scraped->status, 200);
  EXPECT_NE(scraped->body.find("caliper_build_info"), std::string::npos);
  EXPECT_EQ(metrics("/healthz")->status, 200);
  EXPECT_EQ(metrics("/caliper")->status, 404);
  EXPECT_EQ(server_->request("GET", "/metrics").status, 404);
  EXPECT_EQ(server_->request("GET", "/healthz").status, 200);
}

TEST_F(limits_e2e, metrics_stay_on_the_main_port_without_metrics_listen) {
  start("");
  const auto reply = server_->request("GET", "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("caliper_build_info"), std::string::npos);
}
