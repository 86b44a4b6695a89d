#pragma once
/// Hands the writer's database server identity to the journal (issue 14: failover replay). The
/// writer starts, and may connect, before the journal exists, and outlives it: the last identity
/// is kept and given to the journal when it attaches; detached, identities are only kept.

#include <mutex>
#include <string>

#include "caliper_sessiond/journal/journal.hpp"

namespace caliper_sessiond::app {

class server_watch {
public:
  /// Detaches the journal when it goes out of scope (declare it after the journal).
  class attachment {
  public:
    explicit attachment(server_watch& w) : w_(w) {}
    ~attachment() { w_.attach(nullptr); }
    attachment(const attachment&) = delete;
    attachment& operator=(const attachment&) = delete;

  private:
    server_watch& w_;
  };

  /// From a writer thread, after each connection.
  void seen(const std::string& identity) {
    std::lock_guard lk(m_);
    last_ = identity;
    if (journal_ != nullptr) journal_->server_identity(identity);
  }

  /// Attaches the journal (nullptr detaches); it hears the identity seen so far at once.
  void attach(journal::journal* j) {
    std::lock_guard lk(m_);
    journal_ = j;
    if (journal_ != nullptr && !last_.empty()) journal_->server_identity(last_);
  }

private:
  std::mutex m_;
  std::string last_;
  journal::journal* journal_ = nullptr;
};

}  // namespace caliper_sessiond::app
