// SIGTERM under load: several hundred idle keep-alive connections (the load generator's
// --idle-connections) and busy ones, repeated. Each round the real binary must exit 0 and its
// log must hold no sanitizer report (run under the asan preset to make that check bite: a
// shutdown closer that outlives its connection is a heap-use-after-free there).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pg_test_env.hpp"
#include "server_process.hpp"

using namespace caliper_sessiond::testing;
using namespace std::chrono_literals;

namespace {

constexpr int idle_connections = 300;
constexpr int busy_connections = 24;
constexpr int rounds = 4;

/// caliper-loadgen as a child process; killed when this goes out of scope.
class loadgen {
public:
  explicit loadgen(const server_process& server, const std::string& name) {
    const std::string out = server.dir() + "/" + name + ".out", err = server.dir() + "/" + name + ".err";
    std::vector<std::string> args{CALIPER_LOADGEN,
                                  "--url", "https://127.0.0.1:" + std::to_string(server.port()) + "/caliper",
                                  "--key", server.key(), "--cacert", server.cert(),
                                  "--connections", std::to_string(busy_connections), "--events", "5",
                                  "--seconds", "120", "--reconnect", "1",
                                  "--idle-connections", std::to_string(idle_connections), "--idle-interval", "60"};
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 1);
      ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~loadgen() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  loadgen(const loadgen&) = delete;
  loadgen& operator=(const loadgen&) = delete;

private:
  pid_t pid_ = -1;
};

/// Requests answered 200 on the ingest route so far, from /metrics (-1 when unreachable).
long long ingested(const server_process& server) {
  const auto reply = server.request("GET", "/metrics");
  if (reply.status != 200) return -1;
  std::smatch m;
  static const std::regex line(R"(caliper_http_requests_total\{route="ingest",status="200"\} (\d+))");
  return std::regex_search(reply.body, m, line) ? std::stoll(m[1]) : 0;
}

/// The first line of a sanitizer report in `log`, or "".
std::string sanitizer_report(const std::string& log) {
  for (const char* marker : {"AddressSanitizer", "LeakSanitizer", "ThreadSanitizer", "runtime error:"}) {
    const auto at = log.find(marker);
    if (at != std::string::npos) return log.substr(log.rfind('\n', at) + 1, 300);
  }
  return {};
}

}  // namespace

TEST(shutdown_e2e, sigterm_with_hundreds_of_idle_and_busy_connections_exits_0_without_sanitizer_reports) {
  auto env = pg_test_env::from_environment();
  if (!env) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  server_process::options o;
  o.database_url = env->create_database("shutdown");
  // Room for every connection from 127.0.0.1; more I/O threads than cores, to interleave more.
  o.extra_toml = "max_connections_per_ip = 2000\nthreads = 4\n";
  server_process server(o);
  for (int round = 1; round <= rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ASSERT_TRUE(server.start()) << server.log();
    const long long before = ingested(server);
    loadgen load(server, "load" + std::to_string(round));
    // Every idle connection has posted once and the busy ones are at work.
    const auto until = std::chrono::steady_clock::now() + 120s;
    while (ingested(server) < before + idle_connections + 200 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(100ms);  // polling a condition, with a deadline
    ASSERT_GE(ingested(server), before + idle_connections + 200) << "the load did not start";
    EXPECT_EQ(server.stop(SIGTERM, 60s), 0) << server.log().substr(0, 4000);
    const auto report = sanitizer_report(server.log());
    ASSERT_EQ(report, "") << server.log();
  }
}
