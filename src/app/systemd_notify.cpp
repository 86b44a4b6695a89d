#include "systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace caliper_sessiond::app {
namespace {

/// sd_notify returns > 0 when sent, 0 without $NOTIFY_SOCKET, < 0 on error; callers only
/// care whether the manager heard it, and must never fail because of it.
bool send(const std::string& state) { return sd_notify(0, state.c_str()) > 0; }

std::uint64_t monotonic_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U + static_cast<std::uint64_t>(ts.tv_nsec) / 1'000U;
}

}  // namespace

bool notify_ready() { return send("READY=1"); }

bool notify_reloading() { return send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec())); }

bool notify_stopping() { return send("STOPPING=1"); }

bool notify_status(std::string_view text) {
  std::string line(text);
  for (auto& c : line) {
    if (c == '\n') c = ' ';
  }
  return send("STATUS=" + line);
}

bool notify_extend_timeout(std::chrono::microseconds more) {
  return send("EXTEND_TIMEOUT_USEC=" + std::to_string(more.count()));
}

bool notify_watchdog() { return send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace caliper_sessiond::app
