#pragma once
/// A PostgreSQL primary and a streaming standby made with `pg_basebackup -R`, each in its own
/// folder under /tmp with its own unix socket (scripts/pg-cluster), for the failover tests.

#include <string>

namespace caliper_sessiond::testing {

class pg_pair {
public:
  /// Creates and starts both (throws std::runtime_error when it cannot).
  pg_pair();
  ~pg_pair();  ///< stops what runs and removes both folders
  pg_pair(const pg_pair&) = delete;
  pg_pair& operator=(const pg_pair&) = delete;

  /// Both hosts, the writable one chosen by libpq: what database.url holds in production.
  std::string url() const;
  std::string primary_url() const;
  std::string standby_url() const;

  /// The standby stops receiving WAL: commits on the primary from now on are missing on it, as
  /// the last asynchronous commits can be when a primary dies. Waits until the receiver is gone.
  void disconnect_standby() const;
  /// Every commit on the primary waits for the standby (synchronous_standby_names = '*').
  void make_synchronous() const;
  /// kill -9 of the primary's postmaster, then `pg_ctl promote` of the standby.
  void fail_over() const;

private:
  std::string primary_, standby_;
};

}  // namespace caliper_sessiond::testing
