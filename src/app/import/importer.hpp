#pragma once
/// Turns archive records into batches for the writer, with the same parser, limits and
/// reject recording as `serve`. Bare events (no envelope) are wrapped into envelopes whose
/// sensor is the source name and whose sendTime is the time of the import.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "caliper_sessiond/config/config.hpp"
#include "caliper_sessiond/store/event_sink.hpp"

namespace caliper_sessiond::app {

/// What an import did, as its last line says.
struct import_counts {
  std::uint64_t stored = 0;      ///< SessionEvents inserted
  std::uint64_t duplicates = 0;  ///< SessionEvents already there (same event id)
  std::uint64_t rejected = 0;    ///< rejects recorded in caliper.rejected_events
  std::uint64_t skipped = 0;     ///< non-session entries ignored, records over the size limit
};

class importer {
public:
  /// `now_us`: the time of the import (received_at, centre of the eventTime window, sendTime
  /// of wrapped events).
  importer(const config::config& cfg, store::event_sink& sink, std::string source, std::int64_t now_us);
  ~importer();
  importer(const importer&) = delete;
  importer& operator=(const importer&) = delete;

  /// One record: an envelope, a bare event, or anything else (judged by the parser like a
  /// request body). May wait for the writer. False when the import must stop (failure()).
  bool add(std::string& record);
  /// Counts a record dropped for its size.
  void skip_record();
  /// Submits what is pending (unless stopped) and waits until every batch has committed or
  /// failed. False when anything failed.
  bool finish();

  /// Committed so far (plus skipped).
  import_counts counts() const;
  /// Events and rejects parsed so far (for the rate).
  std::uint64_t events_read() const noexcept { return events_read_; }
  /// Why add() or finish() returned false.
  std::string failure() const;

private:
  enum class kind : std::uint8_t { envelope, event, unknown };
  kind classify(std::string& record);
  bool add_event(std::string_view record);
  bool flush_wrapped();
  bool parse_envelope(std::string& body);
  bool submit_pending();
  void fail(std::string why);

  struct impl;
  std::unique_ptr<impl> impl_;
  std::uint64_t events_read_ = 0;
};

}  // namespace caliper_sessiond::app
