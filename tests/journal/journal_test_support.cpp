#include "journal_test_support.hpp"

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <thread>

namespace caliper_sessiond::journal::testing {

journal_options small_segments(const temp_dir& d) {
  journal_options o;
  o.dir = d.path();
  o.segment_bytes = 16 * 1024;
  o.max_bytes = 16 << 20;
  o.checkpoint_interval = std::chrono::milliseconds(10);
  return o;
}

store::ingest_batch make_batch(const std::string& tag, std::size_t events) {
  store::ingest_batch b;
  b.source = "learn-test";
  b.received_at_us = 1'700'000'000'000'000;
  for (std::size_t i = 0; i < events; ++i) {
    caliper::session_event e;
    e.event_id = tag + "-" + std::to_string(i);
    e.action = static_cast<caliper::session_action>(i % 3);
    e.event_time_us = 1'700'000'000'000'000 + static_cast<std::int64_t>(i);
    e.actor_id = "https://example.edu/users/" + tag;
    e.user_id = e.actor_id;
    if (i % 2 == 0) e.user_lms_id = "_1_1";
    e.session_id = "https://example.edu/sessions/" + tag;
    e.ip_address = "192.0.2.1";
    e.sensor = "sensor";
    b.events.push_back(std::move(e));
  }
  b.rejects.push_back({"bad eventTime", "{\"id\":\"" + tag + "\"}"});
  return b;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/caliper-journal-test.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool fake_sink::submit(store::ingest_batch batch, store::completion done) {
  std::unique_lock lk(m_);
  if (mode_ == mode::refuse) return false;
  for (const auto& e : batch.events) ids_.push_back(e.event_id);
  batches_.push_back(batch);
  if (mode_ == mode::hold) {
    held_.push_back(std::move(done));
    cv_.notify_all();
    return true;
  }
  cv_.notify_all();
  lk.unlock();
  done(store::outcome::committed, store::commit_report{batch.events.size(), 0, batch.rejects.size()});
  return true;
}

void fake_sink::set_mode(mode m) {
  std::lock_guard lk(m_);
  mode_ = m;
}

void fake_sink::release(store::outcome o) {
  std::vector<store::completion> held;
  {
    std::lock_guard lk(m_);
    held.swap(held_);
  }
  for (auto it = held.rbegin(); it != held.rend(); ++it) (*it)(o, store::commit_report{});
}

std::vector<std::string> fake_sink::ids() const {
  std::lock_guard lk(m_);
  return ids_;
}

std::vector<store::ingest_batch> fake_sink::batches() const {
  std::lock_guard lk(m_);
  return batches_;
}

std::size_t fake_sink::held() const {
  std::lock_guard lk(m_);
  return held_.size();
}

bool fake_sink::wait_for(const std::function<bool(const fake_sink&)>& pred, std::chrono::milliseconds deadline) const {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred(*this)) return true;
    std::unique_lock lk(m_);
    cv_.wait_for(lk, std::chrono::milliseconds(20));
  }
  return pred(*this);
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a condition, with a deadline
  }
  return pred();
}

}  // namespace caliper_sessiond::journal::testing
