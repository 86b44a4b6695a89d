#pragma once
/// State shared by the listener and every connection.

#include <boost/asio/ssl/context.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>

#include "caliper_sessiond/config/config.hpp"
#include "caliper_sessiond/http/responses.hpp"
#include "caliper_sessiond/metrics/log_throttle.hpp"
#include "caliper_sessiond/metrics/registry.hpp"
#include "caliper_sessiond/store/event_sink.hpp"
#include "completion_relay.hpp"
#include "connection_limits.hpp"
#include "jwks_refresher.hpp"

namespace caliper_sessiond::http {

/// What SIGHUP may replace; connections take a snapshot when they start.
struct reloadable {
  key_ring keys;
  std::shared_ptr<boost::asio::ssl::context> tls;  ///< null when serving plain HTTP
};

/// Open connections, so that shutdown can close the idle ones.
class connection_registry {
public:
  using closer = std::function<void()>;
  using handle = std::list<closer>::iterator;

  handle add(closer close_if_idle);
  void remove(handle h);
  std::size_t size() const;
  /// Asks every connection to close once it is idle.
  void close_idle();

private:
  mutable std::mutex mutex_;
  std::list<closer> items_;
};

struct server_state {
  config::config cfg;
  store::event_sink& sink;  /// the journal or the writer
  metrics::registry& metrics;
  std::atomic<bool> draining{false};
  connection_registry connections;
  connection_limits limits;
  /// Connections closed at accept, [0] server.max_connections, [1] server.max_connections_per_ip.
  std::array<metrics::counter*, 2> refused{};
  metrics::log_throttle refused_log;

  metrics::counter_family& requests;
  metrics::counter_family& events;
  /// The counters every ingest touches, looked up once (a family lookup takes a lock and
  /// builds a label string): [action][0 accepted, 1 refused], indexed by caliper::session_action.
  std::array<std::array<metrics::counter*, 2>, 3> events_by_action{};
  metrics::counter& events_skipped;
  metrics::counter& events_rejected;
  metrics::counter& ingest_ok;
  /// The keys of [[jwt_sources]] (issue 13); null when none is configured.
  std::unique_ptr<jwks_refresher> jwks;
  /// Brings the sink's completions back to the I/O threads. Set by whoever runs the io_context
  /// (the server; the tests and the HTTP fuzzer set their own).
  std::shared_ptr<completion_relay> relay;

  std::shared_ptr<const reloadable> current() const {
    std::lock_guard lock(reload_mutex_);
    return reloadable_;
  }
  void replace(std::shared_ptr<const reloadable> r) {
    std::lock_guard lock(reload_mutex_);
    reloadable_ = std::move(r);
  }

  server_state(const config::config& c, store::event_sink& w, metrics::registry& m);

private:
  mutable std::mutex reload_mutex_;
  std::shared_ptr<const reloadable> reloadable_;
};

/// A TLS server context from PEM files: TLS 1.2 or newer, the TLS 1.2 suites of `ciphers`
/// (server.tls_ciphers) in the server's order of preference, no renegotiation. Null, with
/// `error`, on failure.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file, const std::string& key_file,
                                                            const std::string& ciphers, std::string& error);

}  // namespace caliper_sessiond::http
