#pragma once
/// Waiting for a condition with a deadline: the tests' only way to wait (never a fixed sleep).

#include <chrono>
#include <functional>
#include <thread>

namespace caliper_sessiond::testing {

/// Polls `done` every 50 ms until it holds or `deadline` passes; then asks it once more.
inline bool eventually(const std::function<bool()>& done, std::chrono::seconds deadline = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a condition, with a deadline
  }
  return done();
}

}  // namespace caliper_sessiond::testing
