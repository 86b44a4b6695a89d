#pragma once
/// Service-manager notifications (sd_notify(3)) for Type=notify units. Every function is a
/// no-op returning false when the process was not started by systemd (no $NOTIFY_SOCKET),
/// so `serve` behaves the same in a terminal, in tests and in containers.

#include <chrono>
#include <optional>
#include <string_view>

namespace caliper_sessiond::app {

/// READY=1: the server listens and serves. Also ends a reload started by notify_reloading().
bool notify_ready();

/// RELOADING=1 with MONOTONIC_USEC (systemd 253+ matches it to the reload job; older
/// versions ignore the field). Send notify_ready() when the reload is done, failed or not.
bool notify_reloading();

/// STOPPING=1: shutdown has begun (draining connections, flushing the writer).
bool notify_stopping();

/// STATUS=<text>: one line shown by `systemctl status`. Newlines are replaced by spaces.
bool notify_status(std::string_view text);

/// EXTEND_TIMEOUT_USEC: asks for more time before the current start/stop timeout fires,
/// e.g. while long migrations run before READY.
bool notify_extend_timeout(std::chrono::microseconds more);

/// WATCHDOG=1: the service is alive. Send it at least every watchdog_interval().
bool notify_watchdog();

/// The interval at which to send notify_watchdog(): half of WatchdogSec= as systemd(1)
/// recommends, or nullopt when the watchdog is not enabled for this process.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace caliper_sessiond::app
