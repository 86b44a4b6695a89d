#include "pg_test_env.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unistd.h>

namespace caliper_sessiond::testing {
namespace {

struct conn_deleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct result_deleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using conn_ptr = std::unique_ptr<PGconn, conn_deleter>;
using result_ptr = std::unique_ptr<PGresult, result_deleter>;

conn_ptr connect_or_throw(const std::string& url) {
  conn_ptr c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to " + url + ": " + PQerrorMessage(c.get()));
  return c;
}

std::string pg_cluster_command(const std::string& verb, const std::string& dir) {
  return source_dir() + "/scripts/pg-cluster " + verb + " '" + dir + "'";
}

void run_script(const std::string& verb, const std::string& dir, const std::string& env = "") {
  const std::string cmd = env + pg_cluster_command(verb, dir);
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
}

std::string make_temp_dir() {
  std::string pattern = "/tmp/caliper-private-pg.XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + pattern);
  return pattern;
}

/// Stops the cluster in `dir` (kill -9 when a fast shutdown fails) and removes the folder;
/// never throws.
void stop_and_remove(const std::string& dir) {
  if (std::system((pg_cluster_command("stop", dir) + " >/dev/null 2>&1").c_str()) != 0)
    (void)std::system((pg_cluster_command("kill", dir) + " >/dev/null 2>&1").c_str());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

std::string source_dir() { return CALIPER_SOURCE_DIR; }

std::string shared_fixtures_dir() {
  if (const char* env = std::getenv("CALIPER_SHARED_FIXTURES")) return env;
  const auto p = std::filesystem::path(CALIPER_SOURCE_DIR).parent_path() / "shared" / "fixtures";
  return std::filesystem::is_directory(p) ? p.string() : std::string{};
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<pg_test_env> pg_test_env::from_environment() {
  const char* dir = std::getenv("CALIPER_TEST_PG_DIR");
  if (dir == nullptr || *dir == '\0') return std::nullopt;
  return pg_test_env(dir);
}

std::string pg_test_env::url_for(const std::string& db) const {
  return "postgresql://postgres@/" + db + "?host=" + dir_ + "/sock&port=5432";
}

std::string pg_test_env::create_database(const std::string& prefix) const {
  static std::atomic<int> counter{0};
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  auto c = connect_or_throw(url_for("postgres"));
  result_ptr drop(PQexec(c.get(), ("DROP DATABASE IF EXISTS " + name).c_str()));
  result_ptr r(PQexec(c.get(), ("CREATE DATABASE " + name).c_str()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    throw std::runtime_error("CREATE DATABASE failed: " + std::string(PQerrorMessage(c.get())));
  return url_for(name);
}

pg_test_env::lock::~lock() { PQfinish(static_cast<PGconn*>(conn_)); }

std::unique_ptr<pg_test_env::lock> pg_test_env::exclusive(long long key) const {
  auto c = connect_or_throw(url_for("postgres"));
  result_ptr r(PQexec(c.get(), ("SELECT pg_advisory_lock(" + std::to_string(key) + ")").c_str()));
  if (PQresultStatus(r.get()) != PGRES_TUPLES_OK)
    throw std::runtime_error("pg_advisory_lock failed: " + std::string(PQerrorMessage(c.get())));
  return std::unique_ptr<lock>(new lock(c.release()));
}

void pg_test_env::stop_server() const { run_script("stop", dir_); }
void pg_test_env::start_server() const { run_script("start", dir_); }

private_pg_cluster::private_pg_cluster() : env_(make_temp_dir()) {
  try {
    run_script("init", env_.dir(), "PG_CLUSTER_FSYNC=off ");
    run_script("start", env_.dir());
  } catch (...) {
    stop_and_remove(env_.dir());
    throw;
  }
}

private_pg_cluster::~private_pg_cluster() { stop_and_remove(env_.dir()); }

std::vector<std::vector<std::string>> pg_test_env::query(const std::string& url, const std::string& sql) {
  auto c = connect_or_throw(url);
  result_ptr r(PQexec(c.get(), sql.c_str()));
  const auto st = PQresultStatus(r.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
    throw std::runtime_error("query failed: " + sql + ": " + PQerrorMessage(c.get()));
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    auto& row = rows.emplace_back();
    for (int j = 0; j < PQnfields(r.get()); ++j)
      row.emplace_back(PQgetisnull(r.get(), i, j) ? "\\N" : PQgetvalue(r.get(), i, j));
  }
  return rows;
}

std::vector<std::string> pg_test_env::plans_of(const std::string& url, const std::vector<std::string>& statements,
                                               const std::string& settings) {
  std::vector<std::string> plans;  // outlives the connection, which writes its notices into it
  auto c = connect_or_throw(url);
  PQsetNoticeProcessor(
      c.get(), [](void* out, const char* message) { static_cast<std::vector<std::string>*>(out)->push_back(message); },
      &plans);
  std::vector<std::string> all{"LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; "
                               "SET auto_explain.log_nested_statements = on; SET auto_explain.log_level = notice; "
                               "SET client_min_messages = notice; " + settings};
  all.insert(all.end(), statements.begin(), statements.end());
  for (const auto& sql : all) {
    result_ptr r(PQexec(c.get(), sql.c_str()));
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
      throw std::runtime_error("query failed: " + sql + ": " + PQerrorMessage(c.get()));
  }
  return plans;
}

std::string pg_test_env::scalar(const std::string& url, const std::string& sql) {
  const auto rows = query(url, sql);
  if (rows.size() != 1 || rows[0].size() != 1) throw std::runtime_error("not a scalar: " + sql);
  return rows[0][0];
}

bool pg_test_env::wait_until_reachable(const std::string& url, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(url.c_str()) == PQPING_OK) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition, with a deadline
  }
  return false;
}

}  // namespace caliper_sessiond::testing
