#pragma once
/// Helpers shared by the store tests: events built in code, completions as futures, waits
/// on conditions with deadlines.

#include <chrono>
#include <cstdio>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "caliper_sessiond/store/batch_writer.hpp"

namespace caliper_sessiond::store::testing {

/// A well-formed event whose id is derived from `n` (same n, same event).
inline caliper::session_event make_event(unsigned n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012x", n);
  caliper::session_event e;
  e.event_id = id;
  e.action = caliper::session_action::logged_in;
  e.event_time_us = 1'709'622'489'000'000 + static_cast<std::int64_t>(n);
  e.actor_id = "https://lms.example.edu/users/" + std::to_string(n % 97);
  e.user_id = e.actor_id;
  e.session_id = "https://lms.example.edu/sessions/" + std::to_string(n);
  e.sensor = "https://lms.example.edu/sensor";
  return e;
}

inline ingest_batch make_batch(unsigned first, unsigned count, std::string source = "learn-test") {
  ingest_batch b;
  b.source = std::move(source);
  b.received_at_us = 1'709'622'500'123'456;
  for (unsigned i = 0; i < count; ++i) b.events.push_back(make_event(first + i));
  return b;
}

struct done_result {
  outcome result;
  commit_report report;
};

/// A completion and the future it fulfils.
inline std::pair<completion, std::future<done_result>> make_completion() {
  auto p = std::make_shared<std::promise<done_result>>();
  auto f = p->get_future();
  return {[p](outcome o, const commit_report& r) { p->set_value({o, r}); }, std::move(f)};
}

/// Polls `condition` until it holds or `timeout` passes; true when it held.
inline bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling, bounded by the deadline
  }
  return true;
}

/// Waits for a completion; nullopt-like failure is reported by gtest at the call site.
inline bool wait_done(std::future<done_result>& f, std::chrono::milliseconds timeout) {
  return f.wait_for(timeout) == std::future_status::ready;
}

/// Options for a writer on `url` that flushes quickly and gives up quickly.
inline writer_options test_options(const std::string& url) {
  writer_options o;
  o.database_url = url;
  o.connections = 1;
  o.batch_max_events = 100;
  o.batch_max_delay = std::chrono::milliseconds(5);
  o.commit_timeout = std::chrono::milliseconds(5000);
  o.reconnect_min = std::chrono::milliseconds(20);
  o.reconnect_max = std::chrono::milliseconds(500);
  return o;
}

}  // namespace caliper_sessiond::store::testing
