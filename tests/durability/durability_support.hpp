#pragma once
/// What the fault tests share: the load generator as a child process whose list of ids
/// answered 200 is the truth, and the check of that list against caliper.session_events.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "server_process.hpp"

namespace caliper_sessiond::testing {

/// caliper-loadgen running against a server; its ids file lists every event answered 200.
class load_run {
public:
  struct options {
    int connections = 8;
    int events = 10;
    int max_requests = 0;  ///< 0: until `seconds`
    double seconds = 60;   ///< the deadline of the run
    double rate = 0;       ///< requests/s in all; 0 = as fast as possible
    bool reconnect = true;
  };
  load_run(const server_process& server, const options& o, const std::string& name = "load");
  /// Against any URL (e.g. a proxy); its files go to `base` + .out/.err/.ids.
  load_run(const std::string& url, const std::string& key, const std::string& cacert, const options& o,
           const std::string& base);
  ~load_run();  ///< kills it if still running
  load_run(const load_run&) = delete;
  load_run& operator=(const load_run&) = delete;

  /// Waits for the run to end (false when it does not within `deadline`).
  bool wait(std::chrono::seconds deadline = std::chrono::seconds(120));
  /// The ids answered 200 (after wait()).
  std::vector<std::string> acked_ids() const;
  /// The summary line, e.g. {"requests_ok":…,"statuses":{"200":…}} (after wait()).
  std::string summary() const;
  /// A number from the summary: "requests_ok", "connection_errors", or a status like "503".
  long long count(const std::string& what) const;
  int exit_status() const { return status_; }

private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string out_, err_, ids_;
};

/// Server options, durability "journal": database URL, more lines for [journal], the journal folder ("" = in the server's
/// folder), lines for [database].
server_process::options server_opts(const std::string& url, const std::string& journal_toml = "",
                                    const std::string& journal_dir = "", const std::string& database_toml = "");

/// Load options.
load_run::options load_opts(int connections, int max_requests, double seconds, double rate = 0, bool reconnect = true);

/// One metric's value from /metrics (labels included in `name`), or -1 when absent.
double metric(const server_process& server, const std::string& name);

/// Polls `pred` until it holds or `deadline` passes.
bool wait_until(const std::function<bool()>& pred, std::chrono::seconds deadline);

/// For each id, how many rows of caliper.session_events have it.
std::map<std::string, int> stored_counts(const std::string& url);

/// Checks that every id is stored exactly once and no row is stored twice; "" when so,
/// otherwise what is wrong (the first few offenders).
std::string check_exactly_once(const std::string& url, const std::vector<std::string>& ids);

/// Waits until every id is stored (at most `deadline`), then check_exactly_once.
std::string wait_all_stored(const std::string& url, const std::vector<std::string>& ids, std::chrono::seconds deadline);

/// A libpq URL that cannot connect: the database is "down" for the server that uses it.
inline constexpr const char* unreachable_database = "postgresql://postgres@/caliper?host=/nonexistent-caliper-test&port=5432";

}  // namespace caliper_sessiond::testing
