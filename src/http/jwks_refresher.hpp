#pragma once
/// The JWKS of every [[jwt_sources]] entry (issue 13): jwks_file read at start and on SIGHUP,
/// jwks_url fetched over HTTPS at start, every jwks_refresh_minutes, and again (at most once
/// per min_refetch) when a token names a kid no source has. All fetching and file reading
/// runs on the refresher's own thread, never on an I/O thread. A failed fetch or read keeps
/// the last good keys; it is logged (throttled) and counted.

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "caliper_sessiond/config/config.hpp"
#include "caliper_sessiond/jose/jws.hpp"
#include "caliper_sessiond/metrics/log_throttle.hpp"
#include "caliper_sessiond/metrics/registry.hpp"

namespace caliper_sessiond::http {

/// The parts of an https:// URL a fetch needs; nullopt when `url` is not one.
struct https_url {
  std::string host;  ///< without brackets for IPv6
  std::string port = "443";
  std::string target = "/";
};
std::optional<https_url> parse_https_url(std::string_view url);

class jwks_refresher {
public:
  struct options {
    std::chrono::milliseconds fetch_timeout{5000};  ///< a whole fetch: resolve, connect, TLS, response
    std::chrono::seconds min_refetch{60};           ///< between two unknown-kid refetches of a source
    std::size_t max_bytes = 1 << 20;                ///< a JWKS larger than this is refused
  };

  jwks_refresher(const std::vector<config::jwt_source>& sources, metrics::registry& metrics, options o);
  ~jwks_refresher();  ///< stops the thread; pending refetch callbacks are dropped
  jwks_refresher(const jwks_refresher&) = delete;
  jwks_refresher& operator=(const jwks_refresher&) = delete;

  /// Reads the jwks_file sources (false, with `error`, when one has no usable key), then
  /// starts the thread, which fetches the jwks_url sources at once.
  bool start(std::string& error);

  /// The source whose current keys hold `kid` (the first in configuration order).
  struct match {
    std::string name;
    const std::vector<std::string>* allowed_accounts;  ///< lives as long as the refresher
    std::shared_ptr<const jose::key_set> keys;
  };
  std::optional<match> find(std::string_view kid) const;

  /// Refetches every jwks_url source not refetched within min_refetch (joining a fetch in
  /// flight), then calls `done` on the refresher's thread. Each fetch is bounded by
  /// fetch_timeout, so `done` comes within about that long.
  void refetch(std::function<void()> done);

  /// Re-reads the jwks_file sources on the refresher's thread (SIGHUP).
  void reload_files();

private:
  struct source;
  void load_file(source& s);
  void store(source& s, std::shared_ptr<const jose::key_set> keys);
  void failed(source& s, const std::string& why);

  options options_;
  boost::asio::io_context ioc_;  ///< before sources_: their timers must go first
  std::vector<std::unique_ptr<source>> sources_;
  std::thread thread_;
};

}  // namespace caliper_sessiond::http
