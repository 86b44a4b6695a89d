#pragma once
/// The journal's shared state: the appender (group commit) and the drainer work on it under
/// one mutex; file I/O happens outside the lock.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "caliper_sessiond/journal/journal.hpp"
#include "files.hpp"

namespace caliper_sessiond::journal {

using clock = std::chrono::steady_clock;

struct segment {
  std::string path;
  std::uint64_t durable_end = 0;  ///< bytes fsync'd, whole records only
  bool sealed = false;            ///< nothing more is appended (a later segment exists or will)
  bool corrupt = false;           ///< set aside instead of deleted once drained
  std::int64_t newest_us = 0;     ///< wall clock of its last append (file mtime after a restart)
};

/// A request waiting for the fsync that covers it.
struct pending_request {
  store::completion done;
  store::commit_report report;
};

/// A batch in the group being written, kept so that it need not be decoded again.
struct pending_batch {
  std::size_t begin = 0;  ///< its record's offset in the group
  std::size_t end = 0;
  store::ingest_batch batch;
};

/// A durable record not yet handed to the writer: the drainer takes it from memory instead of
/// reading it back. The segment file stays the truth; this is a cache.
struct cached_record {
  position start;
  position next;  ///< just after the record
  std::size_t bytes = 0;  ///< counted against memory_bytes
  store::ingest_batch batch;
};

/// A record handed to the writer and not yet confirmed.
struct ticket {
  position start;
  std::size_t weight = 1;  ///< events + rejects, at least 1
  std::int64_t received_at_us = 0;
  bool committed = false;
};

struct journal::impl : std::enable_shared_from_this<journal::impl> {
  impl(journal_options o, store::event_sink& sink) : opt(std::move(o)), downstream(sink) {}
  ~impl();

  journal_options opt;
  store::event_sink& downstream;
  journal_stats stats;
  int lock_fd = -1;

  mutable std::mutex m;
  std::condition_variable append_cv;  ///< the flusher waits for pending requests
  std::condition_variable drain_cv;   ///< the drainer waits for new records, commits, stop
  std::condition_variable state_cv;   ///< stop() waits for the flusher and the drain

  // Appender, guarded by m.
  std::string pending;
  std::vector<pending_request> pending_done;
  std::vector<pending_batch> pending_batches;
  bool accepting = false;
  bool flushing = false;
  bool stop_flusher = false;
  bool rotate_requested = false;
  clock::time_point failed_until{};
  bool last_write_failed = false;  ///< not ready until a write succeeds again
  /// The size of the latest request's record, for ready(): from the last record journaled after a
  /// restart, a 10-event envelope's size when the journal holds none.
  std::uint64_t last_record_bytes = 8 * 1024;
  std::map<std::uint64_t, segment> segments;
  std::uint64_t active = 0;  ///< the segment appended to
  // Owned by the flusher thread.
  int active_fd = -1;
  /// How far zeros were written (or tried: an upper bound after a failed try) past the active
  /// segment's durable end, so that a group commit overwrites allocated blocks and its
  /// fdatasync need not commit a new file size.
  std::uint64_t prepared_end = 0;

  // Durable records for the drainer, guarded by m; positions ascend, possibly with gaps
  // (records past the budget are read from disk).
  std::deque<cached_record> cache;
  std::uint64_t cache_bytes = 0;  ///< sum of the cached records' bytes
  bool cache_full = false;        ///< stop caching until the drainer has emptied the cache

  // Drainer, guarded by m.
  bool stop_drainer = false;
  /// Waiting for work with nothing handed over lately: a group commit wakes it. While records
  /// keep coming it looks again every drain_poll instead, so that group commits, hundreds a
  /// second, do not each wake it (the writer batches for tens of milliseconds anyway).
  bool drainer_idle = false;
  clock::time_point last_handover{};
  position read_pos;
  std::deque<ticket> tickets;
  std::uint64_t ticket_base = 0;  ///< the id of tickets.front()
  std::uint64_t generation = 0;   ///< bumped on a rewind; older completions are ignored
  std::size_t inflight = 0;       ///< sum of the tickets' weights
  clock::time_point retry_at{};
  std::chrono::milliseconds retry_delay{0};
  std::int64_t held_received_at_us = 0;  ///< a record the writer refused, to retry
  position saved_checkpoint;
  clock::time_point checkpoint_saved_at{};
  std::uint64_t replay_last_segment = 0;  ///< the last segment found at start (0: none)
  clock::time_point replay_logged_at{};
  // Retention and failover replay (retention.cpp), guarded by m.
  std::uint64_t retained_bytes = 0;  ///< committed segments kept; submit does not count them
  position replay_until;             ///< records before it were committed before the last failover
  std::int64_t replay_cutoff_us = 0; ///< retained records received before this are not sent again
  std::string server;                ///< the last server identity seen ("" unknown)
  std::string server_to_save;        ///< written by housekeeping, after the checkpoint it needs
  bool room_needed = false;          ///< the disk is full: drop every retained segment now

  std::thread flusher;
  std::thread drainer;
  bool stopped = false;

  // journal.cpp
  void open();
  void run_flusher();
  int rotate();
  void prepare_room(std::uint64_t end);
  int trim_active();
  void flush_group(std::string bytes, std::vector<pending_request> done, std::vector<pending_batch> batches);
  void cache_locked(std::uint64_t segment, std::uint64_t offset, std::vector<pending_batch>& batches);
  // drainer.cpp
  void run_drainer();
  bool drain_one(std::unique_lock<std::mutex>& lk);
  bool hand_over(std::unique_lock<std::mutex>& lk, position start, position next, store::ingest_batch batch);
  void on_done(std::uint64_t gen, std::uint64_t id, store::outcome o);
  position checkpoint_locked() const;
  bool drained_locked() const;
  void housekeeping(std::unique_lock<std::mutex>& lk, bool force);
  void dispose_segments(const std::vector<std::pair<std::uint64_t, segment>>& done);
  void update_oldest_locked();
  void update_replay_locked();
  // retention.cpp
  void load_server_identity();
  void save_server_identity(const std::string& identity) const;
  void drop_retained_locked(std::vector<std::pair<std::uint64_t, segment>>& done, position cp);
  bool free_retained_for_room();
  void replay_retained_locked();
  bool skip_replayed_locked(position start, position next, std::int64_t received_at_us);
};

/// Microseconds since the epoch, now (the journal's records carry the same clock).
std::int64_t wall_now_us();

}  // namespace caliper_sessiond::journal
