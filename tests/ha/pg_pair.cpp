#include "pg_pair.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "pg_test_env.hpp"
#include "server_process.hpp"

namespace caliper_sessiond::testing {
namespace {

/// Runs scripts/pg-cluster; throws with its output when it fails.
void run_cluster(const std::string& env, const std::string& args) {
  const auto [status, out] = run_command(env + " " + source_dir() + "/scripts/pg-cluster " + args + " 2>&1");
  if (status != 0) throw std::runtime_error("pg-cluster " + args + " failed: " + out);
}

/// A cluster made by initdb once and copied for each pair (initdb takes seconds): kept in the
/// folder of the test cluster (CALIPER_TEST_PG_DIR), which scripts/test removes at the end, so
/// that every test process of a run shares it.
const std::string& template_dir() {
  static const std::string dir = [] {
    const std::string dir = pg_test_env::from_environment()->dir() + "/ha-template";
    if (!std::filesystem::exists(dir + "/data/PG_VERSION")) {
      // Made aside and renamed: a half-made template is never used.
      const std::string tmp = dir + ".tmp";
      std::error_code ec;
      std::filesystem::remove_all(tmp, ec);
      run_cluster("PG_CLUSTER_FSYNC=off", "init " + tmp);
      std::filesystem::remove_all(dir, ec);
      std::filesystem::rename(tmp, dir);
    }
    return dir;
  }();
  return dir;
}

/// Throwaway clusters: no fsync (a kill -9 of the postmaster does not lose what the OS holds).
void cluster(const std::string& args) {
  run_cluster("PG_CLUSTER_FSYNC=off PG_CLUSTER_TEMPLATE=" + template_dir(), args);
}

std::string url_of(const std::string& hosts) {
  return "postgresql://postgres@/caliper?host=" + hosts + "&port=5432&target_session_attrs=read-write";
}

/// Polls a one-value query until it answers `want` (errors count as not yet), for at most 30 s.
void wait_for_value(const std::string& url, const std::string& sql, const std::string& want) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    try {
      if (pg_test_env::scalar(url, sql) == want) return;
    } catch (const std::exception&) {
    }
    if (std::chrono::steady_clock::now() > until) throw std::runtime_error("timed out waiting for: " + sql);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a condition, with a deadline
  }
}

}  // namespace

pg_pair::pg_pair() {
  char p[] = "/tmp/caliper-ha-primary-XXXXXX";
  char s[] = "/tmp/caliper-ha-standby-XXXXXX";
  if (::mkdtemp(p) == nullptr || ::mkdtemp(s) == nullptr) throw std::runtime_error("mkdtemp failed");
  primary_ = p;
  standby_ = s;
  cluster("init " + primary_);
  cluster("start " + primary_);
  cluster("standby " + standby_ + " " + primary_);
  wait_for_value(primary_url(), "select count(*) from pg_stat_replication where state = 'streaming'", "1");
}

pg_pair::~pg_pair() {
  for (const auto& d : {standby_, primary_}) {
    run_command(source_dir() + "/scripts/pg-cluster stop " + d + " >/dev/null 2>&1");
    run_command(source_dir() + "/scripts/pg-cluster kill " + d + " >/dev/null 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
}

std::string pg_pair::url() const { return url_of(primary_ + "/sock," + standby_ + "/sock"); }
std::string pg_pair::primary_url() const { return url_of(primary_ + "/sock"); }
std::string pg_pair::standby_url() const {
  return "postgresql://postgres@/caliper?host=" + standby_ + "/sock&port=5432";
}

void pg_pair::disconnect_standby() const {
  pg_test_env::query(standby_url(), "alter system set primary_conninfo = ''");
  pg_test_env::query(standby_url(), "select pg_reload_conf()");
  wait_for_value(primary_url(), "select count(*) from pg_stat_replication", "0");
}

void pg_pair::make_synchronous() const {
  // Set on the primary only, after the base backup: the promoted standby must not wait for a standby of its own.
  pg_test_env::query(primary_url(), "alter system set synchronous_standby_names = '*'");
  pg_test_env::query(primary_url(), "select pg_reload_conf()");
  wait_for_value(primary_url(), "select string_agg(sync_state, ',') from pg_stat_replication", "sync");
}

void pg_pair::fail_over() const {
  cluster("kill " + primary_);
  cluster("promote " + standby_);
}

}  // namespace caliper_sessiond::testing
