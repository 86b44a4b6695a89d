// Retention and failover replay: committed segments stay for journal_options::retain so that,
// when the writer turns out to be on another database server or timeline (a promoted standby
// that may lack the old primary's last asynchronous commits), they can be sent again. The
// inserts are idempotent (ON CONFLICT DO NOTHING), so sending a stored event again costs only time.
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "caliper_sessiond/metrics/log_throttle.hpp"
#include "journal_impl.hpp"

namespace caliper_sessiond::journal {
namespace {

constexpr const char* server_file = "server";

/// One line per interval for retained data dropped to make room: it repeats under load.
metrics::log_throttle dropped_log;

}  // namespace

std::int64_t wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void journal::impl::load_server_identity() {
  auto bytes = read_from(opt.dir + "/" + server_file, 0);
  if (!bytes) return;
  while (!bytes->empty() && (bytes->back() == '\n' || bytes->back() == '\r')) bytes->pop_back();
  server = *bytes;
}

void journal::impl::drop_retained_locked(std::vector<std::pair<std::uint64_t, segment>>& done, position cp) {
  // Segments wholly before the checkpoint are committed: keep them while they are recent,
  // unless the journal needs their room (the next segment must fit under max_bytes).
  const std::int64_t cutoff = wall_now_us() - std::chrono::duration_cast<std::chrono::microseconds>(opt.retain).count();
  std::uint64_t dropped = 0;
  while (!segments.empty() && segments.begin()->first < cp.segment) {
    const auto& s = segments.begin()->second;
    const bool expired = opt.retain.count() == 0 || s.newest_us < cutoff;
    if (!expired && !room_needed && stats.bytes + opt.segment_bytes <= opt.max_bytes) break;
    if (!expired) dropped += s.durable_end;
    done.emplace_back(*segments.begin());
    stats.bytes -= s.durable_end;
    segments.erase(segments.begin());
  }
  retained_bytes = 0;
  for (auto it = segments.begin(); it != segments.end() && it->first < cp.segment; ++it)
    retained_bytes += it->second.durable_end;
  stats.retained_bytes = retained_bytes;
  if (dropped > 0) {
    stats.retained_dropped_bytes += dropped;
    if (const auto n = dropped_log.occur())
      spdlog::warn("journal: dropped retained (committed) records to make room under journal.max_bytes, {} times "
                   "since the last such line ({} bytes now): a failover now could not replay the whole "
                   "journal.retain_seconds window (caliper_journal_retained_dropped_bytes_total)",
                   *n, dropped);
  }
}

bool journal::impl::free_retained_for_room() {
  // Called by the flusher when a write found the disk full: retained (committed) records never
  // cost an event that is being acknowledged its place.
  std::vector<std::pair<std::uint64_t, segment>> done;
  {
    std::lock_guard lk(m);
    room_needed = true;
    drop_retained_locked(done, checkpoint_locked());
    room_needed = false;
    stats.segments = segments.size();
  }
  dispose_segments(done);
  return !done.empty();
}

void journal::impl::replay_retained_locked() {
  const position cp = checkpoint_locked();
  const position from = segments.empty() ? cp : std::min(cp, position{segments.begin()->first, 0});
  ++stats.failover_replays;
  if (from >= cp || opt.retain.count() == 0) {
    spdlog::warn("journal: no committed records retained (journal.retain_seconds = {}): events committed on "
                 "the previous server and not replicated are lost",
                 opt.retain.count());
    return;
  }
  // Start again from the oldest retained record, as after a failed batch: completions of what
  // is in flight now are ignored, and everything from there on goes to the new server.
  replay_until = cp;
  replay_cutoff_us = wall_now_us() - std::chrono::duration_cast<std::chrono::microseconds>(opt.retain).count();
  read_pos = from;
  tickets.clear();
  ++generation;
  inflight = 0;
  retry_at = {};
  update_oldest_locked();
  drain_cv.notify_all();
  spdlog::warn("journal: replaying the records committed in the last {}s (from segment {}) to the new server",
               opt.retain.count(), from.segment);
}

bool journal::impl::skip_replayed_locked(position start, position next, std::int64_t received_at_us) {
  if (!(start < replay_until)) return false;
  if (received_at_us >= replay_cutoff_us) return false;
  read_pos = next;  // committed before the failover and older than the window: not sent again
  return true;
}

void journal::impl::save_server_identity(const std::string& identity) const {
  // Saved so that a failover while this process was down is noticed at the next start.
  const std::string tmp = opt.dir + "/" + server_file + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err = fd < 0 ? errno : write_all(fd, identity.data(), identity.size(), 0);
  if (fd >= 0 && err == 0 && ::fdatasync(fd) != 0) err = errno;
  if (fd >= 0) ::close(fd);
  const std::string final_path = opt.dir + "/" + server_file;
  if (err == 0 && ::rename(tmp.c_str(), final_path.c_str()) != 0) err = errno;
  if (err != 0) spdlog::warn("journal: cannot save the server identity in {}: {}", final_path, std::strerror(err));
}

void journal::server_identity(const std::string& identity) {
  auto& s = *impl_;
  if (identity.empty()) return;
  std::lock_guard lk(s.m);
  // While stopping nothing is replayed: the identity stays unsaved for the next start to notice.
  if (identity == s.server || s.stopped) return;
  const std::string before = s.server;
  s.server = identity;
  if (!before.empty()) {
    spdlog::warn("journal: the database is another server or timeline than before ({} -> {})", before, identity);
    s.replay_retained_locked();
  }
  // The drainer saves it, after the checkpoint (moved back by a replay) that it depends on.
  s.server_to_save = identity;
  s.checkpoint_saved_at = {};
  s.drain_cv.notify_all();
}

}  // namespace caliper_sessiond::journal
