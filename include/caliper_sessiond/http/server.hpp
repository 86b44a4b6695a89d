#pragma once
/// The HTTPS listener and its connections (DESIGN sections 2 and 6).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "caliper_sessiond/config/config.hpp"
#include "caliper_sessiond/metrics/registry.hpp"
#include "caliper_sessiond/store/event_sink.hpp"

namespace caliper_sessiond::http {

/// What the server needs from the rest of the process.
struct server_hooks {
  /// SIGHUP: re-reads the configuration; nullopt (after logging why) keeps the old one.
  std::function<std::optional<config::config>()> reload;
  /// After the last connection has finished during shutdown: flush and stop the writer.
  std::function<void()> drained;
  /// When a reload starts, and when it has ended (applied or not): for sd_notify.
  std::function<void()> reloading;
  std::function<void()> reloaded;
  /// When SIGTERM/SIGINT starts the shutdown.
  std::function<void()> stopping;
  /// Called every `watchdog_every` on an I/O thread while the server runs (0: never).
  std::function<void()> watchdog;
  std::chrono::microseconds watchdog_every{0};
};

class server {
public:
  server(const config::config& cfg, store::event_sink& sink, metrics::registry& metrics);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Loads TLS and binds the listener. False, with `error` set, when it cannot.
  bool open(std::string& error);

  /// The bound port (useful with port 0).
  std::uint16_t port() const;

  /// The I/O threads run() serves on (server.threads, or its default for this machine).
  unsigned threads() const;

  /// Serves on server.threads I/O threads until SIGTERM/SIGINT has drained every connection.
  /// SIGHUP reloads the TLS certificate and the API keys through `hooks.reload`.
  void run(server_hooks hooks);

  /// Starts a graceful shutdown, as SIGTERM does. Thread-safe.
  void shutdown();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::http
