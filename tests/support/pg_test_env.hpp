#pragma once
/// The throwaway PostgreSQL that scripts/test starts for `pg` and `e2e` tests.
/// Its folder comes in CALIPER_TEST_PG_DIR; tests skip with a message when it is unset.

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace caliper_sessiond::testing {

class pg_test_env {
public:
  /// The cluster scripts/test started, or nullopt when CALIPER_TEST_PG_DIR is unset.
  static std::optional<pg_test_env> from_environment();

  /// Creates a fresh, empty database and returns its libpq URL.
  std::string create_database(const std::string& prefix) const;

  /// Stops / starts the whole cluster (fast shutdown; start waits until it accepts).
  void stop_server() const;
  void start_server() const;

  /// Runs one statement and returns the rows, each field as text ("" for NULL shown as "\N").
  static std::vector<std::vector<std::string>> query(const std::string& url, const std::string& sql);

  /// The single value of a one-row, one-column query.
  static std::string scalar(const std::string& url, const std::string& sql);

  /// Runs `statements` in turn on one connection with auto_explain logging every plan, nested
  /// ones too, as notices (`settings` first: e.g. forcing JIT on); returns the plans' texts.
  /// Throws std::runtime_error when a statement fails.
  static std::vector<std::string> plans_of(const std::string& url, const std::vector<std::string>& statements,
                                           const std::string& settings = "");

  /// Waits until `url` accepts a connection, for at most `seconds`.
  static bool wait_until_reachable(const std::string& url, int seconds);

  const std::string& dir() const { return dir_; }

  /// A cluster-wide advisory lock, held until the returned object is destroyed: work that
  /// several test processes could start at once (ctest -j) is done by one, the others wait.
  class lock {
  public:
    lock(const lock&) = delete;
    lock& operator=(const lock&) = delete;
    ~lock();

  private:
    friend class pg_test_env;
    explicit lock(void* conn) : conn_(conn) {}
    void* conn_;  // PGconn*, kept out of this header
  };
  [[nodiscard]] std::unique_ptr<lock> exclusive(long long key) const;

private:
  friend class private_pg_cluster;
  explicit pg_test_env(std::string dir) : dir_(std::move(dir)) {}
  std::string url_for(const std::string& db) const;
  std::string dir_;
};

/// A cluster of the test's own: scripts/pg-cluster init and start in a fresh folder under /tmp
/// (no fsync, as the shared one), stopped and removed with this object. For a test that stops
/// PostgreSQL: on the shared cluster it would have to run alone (RUN_SERIAL). Throws
/// std::runtime_error when the cluster cannot be made or started.
class private_pg_cluster {
public:
  private_pg_cluster();
  ~private_pg_cluster();
  private_pg_cluster(const private_pg_cluster&) = delete;
  private_pg_cluster& operator=(const private_pg_cluster&) = delete;

  const pg_test_env& env() const { return env_; }

private:
  pg_test_env env_;
};

/// Root of the source tree (for scripts and fixtures).
std::string source_dir();

/// `../shared/fixtures` beside the checkout, or "" when absent.
std::string shared_fixtures_dir();

/// Reads a whole file; throws std::runtime_error when it cannot.
std::string read_file(const std::string& path);

}  // namespace caliper_sessiond::testing
