// Issue 14: two instances, each with its own journal, behind HAProxy (config/haproxy/caliper-sessiond.cfg,
// addresses and certificate replaced), sharing one PostgreSQL. One is killed with kill -9 while
// its journal holds acknowledged events not yet in the database, under load; HAProxy sends the
// traffic to the other; the killed one restarts and its journal drains: every acknowledged
// event is stored exactly once.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "durability_support.hpp"
#include "pg_test_env.hpp"

using namespace caliper_sessiond::testing;
using std::chrono::seconds;

namespace {

constexpr const char* appended = R"(caliper_journal_records_total{state="appended"})";

/// Replaces every `from` in `s` (the shipped config must still hold it: fails loudly otherwise).
void replace_all(std::string& s, const std::string& from, const std::string& to) {
  ASSERT_NE(s.find(from), std::string::npos) << from << " is no longer in config/haproxy/caliper-sessiond.cfg";
  s = std::regex_replace(s, std::regex(std::regex_replace(from, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)")), to);
}

/// haproxy -db running the shipped configuration in a folder of its own.
class haproxy_process {
public:
  haproxy_process(const std::string& dir, int port, int a, int b) : dir_(dir), port_(port) {
    auto cfg = read_file(source_dir() + "/config/haproxy/caliper-sessiond.cfg");
    replace_all(cfg, "10.0.0.11:8080", "127.0.0.1:" + std::to_string(a));
    replace_all(cfg, "10.0.0.12:8080", "127.0.0.1:" + std::to_string(b));
    replace_all(cfg, "bind :8443", "bind 127.0.0.1:" + std::to_string(port));
    replace_all(cfg, "/etc/haproxy/certs/caliper-sessiond.pem", dir + "/haproxy.pem");
    const auto [status, out] = run_command(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 "
        "-keyout '" + dir + "/key.pem' -out '" + cert() + "' 2>&1 && cat '" + cert() + "' '" + dir + "/key.pem' > '" +
        dir + "/haproxy.pem'");
    if (status != 0) throw std::runtime_error("openssl: " + out);
    std::ofstream(dir + "/haproxy.cfg") << cfg;
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen((dir + "/haproxy.log").c_str(), "w", stderr);
      std::freopen((dir + "/haproxy.log").c_str(), "a", stdout);
      ::execlp("haproxy", "haproxy", "-db", "-f", (dir + "/haproxy.cfg").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~haproxy_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  haproxy_process(const haproxy_process&) = delete;
  haproxy_process& operator=(const haproxy_process&) = delete;

  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/caliper"; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  /// The status of GET /readyz through HAProxy (0: no answer).
  int readyz() const {
    const auto [status, out] = run_command("curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert '" + cert() +
                                           "' https://127.0.0.1:" + std::to_string(port_) + "/readyz");
    return std::atoi(out.c_str());
  }
  std::string log() const { return read_file(dir_ + "/haproxy.log"); }

private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

bool haproxy_available() { return run_command("command -v haproxy >/dev/null").first == 0; }

}  // namespace

TEST(haproxy, kill_9_of_one_instance_loses_no_acknowledged_event) {
  const auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  if (!haproxy_available()) GTEST_SKIP() << "haproxy is not installed (scripts/bootstrap installs it)";
  const std::string url = env->create_database("ha_proxy");
  auto opts = server_opts(url);
  opts.tls = false;  // HAProxy terminates TLS
  server_process b(opts);
  // Instance a flushes to PostgreSQL only 8 s after a batch starts (the commit timeout raised above
  // that): what it acknowledges before the kill is on its disk only, and reaches the database when
  // it starts again.
  opts.database_toml = "batch_max_delay_us = 8000000\nbatch_max_events = 100000\ncommit_timeout_ms = 30000";
  server_process a(opts);
  ASSERT_TRUE(a.start()) << a.log();
  ASSERT_TRUE(b.start()) << b.log();
  haproxy_process proxy(b.dir(), free_port(), a.port(), b.port());
  ASSERT_TRUE(wait_until([&] { return proxy.readyz() == 200; }, seconds(30))) << proxy.log();

  load_run load(proxy.url(), a.key(), proxy.cert(), load_opts(8, 1000, 60, 200), b.dir() + "/load");
  ASSERT_TRUE(wait_until([&] { return metric(a, appended) >= 50; }, seconds(30))) << a.log();
  EXPECT_EQ(metric(a, R"(caliper_writer_events_total{outcome="stored"})"), 0) << "a committed before the kill";
  a.kill();
  const double b_before = metric(b, appended);
  ASSERT_TRUE(wait_until([&] { return metric(b, appended) >= b_before + 100; }, seconds(30))) << proxy.log();
  ASSERT_TRUE(a.start()) << a.log();
  ASSERT_TRUE(load.wait()) << "the load did not finish";

  const auto ids = load.acked_ids();
  EXPECT_GT(ids.size(), 5'000u) << load.summary();
  EXPECT_EQ(wait_all_stored(url, ids, seconds(60)), "") << load.summary();
  EXPECT_GT(metric(a, "caliper_journal_records_read_from_disk_total"), 0) << a.log();
}
