// Operations with real tools: SIGHUP reload checked with openssl s_client, /metrics checked
// with promtool, the access log line.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>

#include "pg_test_env.hpp"
#include "server_process.hpp"
#include "eventually.hpp"

using namespace caliper_sessiond::testing;

namespace {

constexpr const char* second_key = "second-secret-0123456789abcdef";

using caliper_sessiond::testing::eventually;

/// SHA-256 fingerprint of the certificate the server presents to a new connection.
std::string served_fingerprint(int port) {
  return run_command("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                     " -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null")
      .second;
}

std::string file_fingerprint(const std::string& cert) {
  return run_command("openssl x509 -noout -fingerprint -sha256 -in '" + cert + "'").second;
}

class ops_e2e : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    server_process::options o;
    o.database_url = env_->create_database("ops");
    o.api_keys.emplace_back("second", second_key);
    server_ = std::make_unique<server_process>(o);
    ASSERT_TRUE(server_->start()) << server_->log();
    config_ = read_file(server_->config_path());
  }

  http_reply post_with(const std::string& key) {
    return server_->request("POST", "/caliper",
                            {"-H", "Authorization: Bearer " + key, "-H", "Content-Type: application/json",
                             "--data-binary", std::string("@").append(source_dir()).append("/tests/fixtures/quickstart-loggedin.json")});
  }

  void rewrite_config(const std::string& text) { std::ofstream(server_->config_path(), std::ios::trunc) << text; }

  std::optional<pg_test_env> env_;
  std::unique_ptr<server_process> server_;
  std::string config_;
};

}  // namespace

TEST_F(ops_e2e, replaced_certificate_is_served_to_new_connections_after_sighup) {
  const auto before = served_fingerprint(server_->port());
  ASSERT_EQ(before, file_fingerprint(server_->cert()));
  const auto [rc, out] = run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
      server_->dir() + "/key.pem' -out '" + server_->cert() + "' 2>&1");
  ASSERT_EQ(rc, 0) << out;
  const auto expected = file_fingerprint(server_->cert());
  ASSERT_NE(expected, before);
  server_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return served_fingerprint(server_->port()) == expected; })) << server_->log();
  EXPECT_EQ(post_with(server_->key()).status, 200);
}

TEST_F(ops_e2e, removed_key_is_refused_after_sighup) {
  ASSERT_EQ(post_with(second_key).status, 200);
  const auto cut = config_.find("[[api_keys]]\nname = \"second\"");
  ASSERT_NE(cut, std::string::npos) << config_;
  rewrite_config(config_.substr(0, cut));
  server_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return post_with(second_key).status == 401; })) << server_->log();
  EXPECT_EQ(post_with(server_->key()).status, 200);
}

TEST_F(ops_e2e, broken_config_keeps_the_running_one_and_says_why) {
  rewrite_config(config_ + "\n[server]\nlisten = \"twice\"\n");
  server_->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] { return server_->log().find("keeping the running configuration") != std::string::npos; }))
      << server_->log();
  EXPECT_NE(server_->log().find("reload:"), std::string::npos);
  EXPECT_EQ(post_with(second_key).status, 200);
  EXPECT_EQ(server_->request("GET", "/healthz").status, 200);
}

TEST_F(ops_e2e, metrics_pass_promtool_and_count_requests) {
  ASSERT_EQ(post_with(server_->key()).status, 200);
  const auto metrics = server_->request("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(R"(caliper_http_requests_total{route="ingest",status="200"} 1)"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find(R"(caliper_events_total{action="LoggedIn",outcome="accepted"} 1)"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("caliper_writer_flush_seconds_bucket"), std::string::npos);
  EXPECT_NE(metrics.body.find("caliper_build_info{version="), std::string::npos);
  const std::string file = server_->dir() + "/metrics.txt";
  std::ofstream(file) << metrics.body;
  if (run_command("command -v promtool").first != 0) GTEST_SKIP() << "promtool is not installed (scripts/bootstrap)";
  const auto [rc, out] = run_command("promtool check metrics < '" + file + "' 2>&1");
  EXPECT_EQ(rc, 0) << out << "\n" << metrics.body;
}

TEST_F(ops_e2e, access_log_has_one_line_per_request_and_no_secret) {
  ASSERT_EQ(post_with(server_->key()).status, 200);
  ASSERT_EQ(post_with("wrong-key-0123456789").status, 401);
  const std::regex line(R"(request id=[0-9a-f]{16} client=127\.0\.0\.1 route=ingest source=learn-test status=200 stored=\d+ )");
  EXPECT_TRUE(eventually([&] { return std::regex_search(server_->log(), line); })) << server_->log();
  // The log is flushed once a second: the 401's line may come in a later flush than the 200's.
  EXPECT_TRUE(eventually([&] { return server_->log().find("source=- status=401") != std::string::npos; }))
      << server_->log();
  EXPECT_EQ(server_->log().find(server_->key()), std::string::npos);
  EXPECT_EQ(server_->log().find(second_key), std::string::npos);
  EXPECT_EQ(server_->log().find("wrong-key-0123456789"), std::string::npos);
}

TEST(ops_partitions_e2e, a_maintenance_run_that_hits_the_cap_warns_and_shows_it_in_metrics) {
  const auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  server_process::options o;
  o.database_url = env->create_database("ops_cap");
  o.database_toml = "partitions_max_per_run = 5\n";
  server_process server(o);
  ASSERT_TRUE(server.start()) << server.log();  // migrates: this month and three ahead
  ASSERT_EQ(server.stop(SIGTERM), 0) << server.log();
  // Rows in the 30 months before this one, waiting in the default partition.
  pg_test_env::query(o.database_url,
                     "INSERT INTO caliper.session_events (event_id, source, action, event_time, actor_id, user_id, "
                     "sensor, received_at) SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(m), 12, '0'))::uuid, "
                     "'learn-test', 'LoggedIn', (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval("
                     "months => m) + interval '3 days') AT TIME ZONE 'UTC', 'u', 'u', 's', now() "
                     "FROM generate_series(1, 30) AS m");
  ASSERT_TRUE(server.start()) << server.log();  // maintenance runs at start
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = server.request("GET", "/metrics").body;
    return metrics.find("\ncaliper_partitions_deferred_months 25\n") != std::string::npos;
  })) << metrics;
  EXPECT_NE(metrics.find("\ncaliper_partitions_cap_hits_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncaliper_partitions_created_total 5\n"), std::string::npos) << metrics;
  EXPECT_NE(server.log().find("warning maintenance: created the most partitions one run may "
                              "(database.partitions_max_per_run = 5); 25 more months wait"),
            std::string::npos)
      << server.log();
  EXPECT_EQ(pg_test_env::scalar(o.database_url, "SELECT count(DISTINCT date_trunc('month', event_time)) "
                                                "FROM caliper.session_events_default"),
            "25");
}

TEST(ops_watchdog_e2e, every_event_loop_keeps_the_systemd_watchdog_fed) {
  // Under systemd (WatchdogSec=) the server pings from its I/O threads while each of their event
  // loops answers: with three of them, the pings must keep coming.
  const auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  const std::string path = "/tmp/caliper-notify-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{0, 200'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // The child inherits these (fork + exec): a ping every 100 ms.
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);
  server_process::options o;
  o.database_url = env->create_database("ops_watchdog");
  o.extra_toml = "threads = 3\n";
  server_process server(o);
  const bool started = server.start();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(started) << server.log();
  int pings = 0;
  bool ready = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pings < 10 && std::chrono::steady_clock::now() < deadline) {
    char buf[512];
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) continue;
    const std::string msg(buf, static_cast<std::size_t>(n));
    if (msg.find("READY=1") != std::string::npos) ready = true;
    if (msg.find("WATCHDOG=1") != std::string::npos) ++pings;
  }
  ::close(fd);
  ::unlink(path.c_str());
  EXPECT_TRUE(ready);
  EXPECT_EQ(pings, 10) << "the watchdog was not fed every 100 ms by a server with three event loops";
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}

TEST(ops_threads_e2e, threads_carry_names_that_say_what_they_do) {
  // `top -H` and `ps -L` show these; the main thread keeps the process's name for pgrep.
  const auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  server_process::options o;
  o.database_url = env->create_database("ops_threads");
  o.durability = "journal";
  o.extra_toml = "threads = 2\nmemory_trim_interval_ms = 1000\n";
  server_process server(o);
  ASSERT_TRUE(server.start()) << server.log();
  const std::string task_dir = "/proc/" + std::to_string(server.pid()) + "/task";
  std::set<std::string> names;
  for (const auto& t : std::filesystem::directory_iterator(task_dir)) {
    std::string name = read_file(t.path().string() + "/comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    names.insert(name);
  }
  for (const char* want : {"caliper-session", "io-1", "journal-flush", "journal-drain", "pg-writer-0", "memory-trim",
                           "maintenance"})
    EXPECT_TRUE(names.count(want)) << "no thread named " << want;
  // The memory trimmer runs at its interval (server.memory_trim_interval_ms) and says so.
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = server.request("GET", "/metrics").body;
    const auto at = metrics.find("\ncaliper_memory_trims_total ");
    return at != std::string::npos && metrics.compare(at, 30, "\ncaliper_memory_trims_total 0\n") != 0;
  })) << metrics;
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
}
