#pragma once
/// Helpers for the journal's unit tests: batches, a temporary directory, a fake writer.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "caliper_sessiond/journal/journal.hpp"
#include "caliper_sessiond/store/event_sink.hpp"

namespace caliper_sessiond::journal::testing {

/// A batch of `events` events whose ids start with `tag`.
store::ingest_batch make_batch(const std::string& tag, std::size_t events = 2);

/// A fresh directory under /tmp, removed at destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// Options for a journal in `d` with 16 KiB segments (several per test, so rotation is
/// exercised), 16 MiB in all and a checkpoint every 10 ms.
journal_options small_segments(const temp_dir& d);

/// Stands in for the batch writer: records what it is given; commits at once, on demand, or
/// refuses, as the test says.
class fake_sink final : public store::event_sink {
public:
  enum class mode { commit, hold, refuse };
  explicit fake_sink(mode m = mode::commit) : mode_(m) {}

  bool submit(store::ingest_batch batch, store::completion done) override;
  bool ready() const noexcept override { return true; }

  void set_mode(mode m);
  /// Completes every held batch, in reverse order (the writer's connections finish out of order).
  void release(store::outcome o = store::outcome::committed);
  /// Event ids received, in submit order (with repeats).
  std::vector<std::string> ids() const;
  /// Batches received, in submit order (with repeats).
  std::vector<store::ingest_batch> batches() const;
  std::size_t held() const;
  /// Waits until `pred` holds for this sink, for at most `deadline`.
  bool wait_for(const std::function<bool(const fake_sink&)>& pred,
                std::chrono::milliseconds deadline = std::chrono::milliseconds(10'000)) const;

private:
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  mode mode_;
  std::vector<std::string> ids_;
  std::vector<store::ingest_batch> batches_;
  std::vector<store::completion> held_;
};

/// Waits for `pred` with a deadline, polling (for state that has no notification).
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds deadline = std::chrono::milliseconds(10'000));

}  // namespace caliper_sessiond::journal::testing
