// The drainer: hands records after the checkpoint to the writer (from memory when the flusher
// has just fsync'd them, else read back from the segment files: start-up replay, a rewind, past
// the memory budget), advances the checkpoint past records the writer has committed, and
// deletes segments that are wholly committed.
#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "journal_impl.hpp"
#include "record.hpp"

namespace caliper_sessiond::journal {
namespace {

constexpr std::chrono::milliseconds retry_min{50};
constexpr std::chrono::milliseconds retry_max{1000};
constexpr std::chrono::seconds replay_log_interval{5};
/// While records keep coming (one handed over within busy_window), the drainer looks for more
/// every drain_poll rather than being woken by each group commit.
constexpr std::chrono::milliseconds busy_window{50};
constexpr std::chrono::milliseconds drain_poll{10};

/// A read-only descriptor on the segment being drained, with a read-ahead buffer: one pread
/// brings in many records instead of two preads (header, payload) per record. Bytes below a
/// segment's durable end never change, so buffered bytes stay valid until the segment does.
struct reader {
  static constexpr std::size_t read_ahead = 256 * 1024;
  std::uint64_t segment = 0;
  int fd = -1;
  std::string buf;           ///< bytes of the segment from buf_at on
  std::uint64_t buf_at = 0;
  ~reader() { reset(); }
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
    buf.clear();
    buf_at = 0;
  }
  bool open(std::uint64_t n, const std::string& path) {
    if (fd >= 0 && segment == n) return true;
    reset();
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    segment = n;
    return fd >= 0;
  }
  /// The n bytes at `at` (at + n <= end, the durable end), valid until the next call;
  /// nullopt on an I/O error (errno set).
  std::optional<std::string_view> bytes(std::uint64_t at, std::size_t n, std::uint64_t end) {
    if (at >= buf_at && at + n <= buf_at + buf.size()) return std::string_view(buf).substr(at - buf_at, n);
    const auto want = static_cast<std::size_t>(std::max<std::uint64_t>(n, std::min<std::uint64_t>(read_ahead, end - at)));
    buf.resize(want);
    if (const int err = read_exact(fd, buf.data(), want, at); err != 0) {
      buf.clear();
      errno = err;
      return std::nullopt;
    }
    buf_at = at;
    return std::string_view(buf).substr(0, n);
  }
};

/// One record read at a position: its payload, or where the next valid record is.
struct read_result {
  enum { ok, bad, io_error } status = io_error;
  std::string payload;
  std::uint64_t next = 0;  ///< after the record (ok), or the resync point (bad)
};

read_result read_at(reader& r, const std::string& path, std::uint64_t at, std::uint64_t end) {
  read_result out;
  if (end - at >= record_header_bytes) {
    const auto head = r.bytes(at, record_header_bytes, end);
    if (!head) return out;
    char header[record_header_bytes];
    std::memcpy(header, head->data(), sizeof header);
    const auto n = header_length(std::string_view(header, sizeof header));
    if (n && end - at - record_header_bytes >= *n) {
      const auto payload = r.bytes(at + record_header_bytes, *n, end);
      if (!payload) return out;
      if (record_valid(std::string_view(header, sizeof header), *payload)) {
        out.payload.assign(*payload);
        out.status = read_result::ok;
        out.next = at + record_header_bytes + *n;
        return out;
      }
    }
  }
  // Corrupt: find the next valid record before `end` (rare, so read the rest whole).
  auto rest = read_from(path, at);
  if (!rest) return out;
  if (rest->size() > end - at) rest->resize(end - at);
  const auto next = find_next_record(*rest, 1);
  out.status = read_result::bad;
  out.next = at + (next ? *next : rest->size());
  return out;
}

}  // namespace

position journal::impl::checkpoint_locked() const { return tickets.empty() ? read_pos : tickets.front().start; }

bool journal::impl::drained_locked() const {
  if (!pending.empty() || flushing || !tickets.empty()) return false;
  if (segments.empty()) return true;
  const auto& [last_n, last] = *segments.rbegin();
  return read_pos.segment == last_n && read_pos.offset >= last.durable_end;
}

void journal::impl::update_oldest_locked() {
  stats.oldest_uncommitted_us = tickets.empty() ? held_received_at_us : tickets.front().received_at_us;
}

void journal::impl::update_replay_locked() {
  if (stats.replay_remaining_bytes == 0) return;
  const auto cp = checkpoint_locked();
  std::uint64_t left = 0;
  for (const auto& [n, s] : segments) {
    if (n > replay_last_segment) break;
    if (n >= cp.segment) left += s.durable_end - (n == cp.segment ? std::min(cp.offset, s.durable_end) : 0);
  }
  stats.replay_remaining_bytes = left;
  const auto now = clock::now();
  if (left == 0) {
    spdlog::info("journal: replay complete ({} bytes)", stats.replay_total_bytes.load());
  } else if (now - replay_logged_at >= replay_log_interval) {
    replay_logged_at = now;
    const auto total = stats.replay_total_bytes.load();
    spdlog::info("journal: replay {}% ({} of {} bytes left)", total ? 100 * (total - left) / total : 100, left, total);
  }
}

void journal::impl::on_done(std::uint64_t gen, std::uint64_t id, store::outcome o) {
  std::lock_guard lk(m);
  if (gen != generation || id < ticket_base || id - ticket_base >= tickets.size()) return;
  auto& t = tickets[id - ticket_base];
  if (o != store::outcome::committed) {
    // Not committed in time: start again from the first uncommitted record. The writer may
    // still commit some of the others; sending them again is harmless (ON CONFLICT).
    read_pos = checkpoint_locked();
    tickets.clear();
    ++generation;
    inflight = 0;
    retry_at = clock::now() + retry_min;
    update_oldest_locked();
    drain_cv.notify_all();
    return;
  }
  t.committed = true;
  inflight -= t.weight;
  bool advanced = false;
  while (!tickets.empty() && tickets.front().committed) {
    tickets.pop_front();
    ++ticket_base;
    ++stats.records_committed;
    advanced = true;
  }
  if (advanced) {
    update_oldest_locked();
    drain_cv.notify_all();
    state_cv.notify_all();
  }
}

void journal::impl::housekeeping(std::unique_lock<std::mutex>& lk, bool force) {
  update_replay_locked();
  const auto cp = checkpoint_locked();
  // Segments wholly before the checkpoint are committed: delete them (or set them aside) once
  // past the retention window.
  std::vector<std::pair<std::uint64_t, segment>> done;
  drop_retained_locked(done, cp);
  stats.segments = segments.size();
  const auto now = clock::now();
  const bool save = cp != saved_checkpoint && (force || now - checkpoint_saved_at >= opt.checkpoint_interval);
  std::string server_file;
  server_file.swap(server_to_save);
  if (done.empty() && !save && server_file.empty()) return;
  if (save) {
    saved_checkpoint = cp;
    checkpoint_saved_at = now;
  }
  lk.unlock();
  dispose_segments(done);
  if (save) {
    if (const int err = write_checkpoint(opt.dir, cp))
      spdlog::warn("journal: cannot save the checkpoint: {}", std::strerror(err));
  }
  // After the checkpoint a failover replay moved back: a crash now replays that window again.
  if (!server_file.empty()) save_server_identity(server_file);
  lk.lock();
}

/// Deletes committed segments (or sets aside those that held corrupt records). Not under m.
void journal::impl::dispose_segments(const std::vector<std::pair<std::uint64_t, segment>>& done) {
  for (const auto& [n, s] : done) {
    std::error_code ec;
    if (s.corrupt) {
      const std::string aside = opt.dir + "/corrupt";
      std::filesystem::create_directories(aside, ec);
      const std::string to = aside + "/" + segment_file_name(n);
      std::filesystem::rename(s.path, to, ec);
      fsync_dir(aside);
      spdlog::error("journal: segment {} held corrupt records; its valid records are committed and it was moved to {}",
                    segment_file_name(n), to);
    } else {
      std::filesystem::remove(s.path, ec);
    }
    if (ec) spdlog::warn("journal: cannot remove {}: {}", s.path, ec.message());
  }
  if (!done.empty()) fsync_dir(opt.dir);
}

void journal::impl::run_drainer() {
  std::unique_lock lk(m);
  while (!stop_drainer) {
    housekeeping(lk, false);
    if (stop_drainer) break;
    if (drain_one(lk)) continue;
    if (clock::now() - last_handover < busy_window) {
      drain_cv.wait_for(lk, drain_poll);
    } else {
      drainer_idle = true;
      drain_cv.wait_for(lk, opt.checkpoint_interval);
      drainer_idle = false;
    }
  }
}

/// Hands the next record to the writer. False when there is nothing to do now (the caller waits).
bool journal::impl::drain_one(std::unique_lock<std::mutex>& lk) {
  const auto now = clock::now();
  if (now < retry_at) {
    drain_cv.wait_until(lk, retry_at);
    return true;
  }
  if (inflight >= opt.drain_inflight_events) return false;
  auto it = segments.find(read_pos.segment);
  if (it == segments.end()) {
    // Not created yet (the next segment), or gone: go on with the next one that exists.
    const auto next = segments.lower_bound(read_pos.segment);
    if (next == segments.end()) return false;
    read_pos = {next->first, 0};
    return true;
  }
  if (read_pos.offset >= it->second.durable_end) {
    if (!it->second.sealed || std::next(it) == segments.end()) return false;
    read_pos = {std::next(it)->first, 0};
    return true;
  }
  while (!cache.empty() && cache.front().start < read_pos) {  // passed by a disk read
    cache_bytes -= cache.front().bytes;
    cache.pop_front();
  }
  if (!cache.empty() && cache.front().start == read_pos) {
    cached_record rec = std::move(cache.front());
    cache.pop_front();
    cache_bytes -= rec.bytes;
    return hand_over(lk, rec.start, rec.next, std::move(rec.batch));
  }
  const position start = read_pos;
  const auto end = it->second.durable_end;
  const std::string path = it->second.path;
  const auto gen = generation;
  lk.unlock();
  static thread_local reader rd;
  read_result r;
  if (rd.open(start.segment, path)) r = read_at(rd, path, start.offset, end);
  std::optional<store::ingest_batch> batch;
  if (r.status == read_result::ok) batch = decode_batch(r.payload);
  lk.lock();
  if (gen != generation || read_pos != start) return true;  // rewound meanwhile
  if (r.status == read_result::io_error) {
    spdlog::error("journal: cannot read {} at offset {}: {}", path, start.offset, std::strerror(errno));
    retry_at = clock::now() + retry_max;
    return true;
  }
  if (!batch) {
    auto& seg = segments[start.segment];
    ++stats.corrupt_records;
    spdlog::error("journal: CORRUPT record in {} at offset {}: skipping {} bytes; the segment will be set aside in {}/corrupt",
                  path, start.offset, r.next - start.offset, opt.dir);
    seg.corrupt = true;
    if (start.segment == active) rotate_requested = true;
    read_pos.offset = r.status == read_result::ok ? r.next : std::max(r.next, start.offset + 1);
    return true;
  }
  ++stats.records_read_from_disk;
  if (skip_replayed_locked(start, {start.segment, r.next}, batch->received_at_us)) return true;
  return hand_over(lk, start, {start.segment, r.next}, std::move(*batch));
}

/// Hands the record at read_pos (== start) to the writer; takes it back when the writer refuses.
bool journal::impl::hand_over(std::unique_lock<std::mutex>& lk, position start, position next, store::ingest_batch batch) {
  const std::size_t weight = std::max<std::size_t>(1, batch.events.size() + batch.rejects.size());
  // A failover replay sends committed records again: they are not backlog (see the age metric).
  const bool replayed = start < replay_until;
  const auto received = replayed ? 0 : batch.received_at_us;
  const auto gen = generation;
  const auto id = ticket_base + tickets.size();
  tickets.push_back({start, weight, received, false});
  inflight += weight;
  read_pos = next;
  update_oldest_locked();
  lk.unlock();
  std::weak_ptr<impl> self = weak_from_this();
  const bool taken = downstream.submit(std::move(batch), [self, gen, id](store::outcome o, const store::commit_report&) {
    if (auto s = self.lock()) s->on_done(gen, id, o);
  });
  lk.lock();
  if (taken) {
    last_handover = clock::now();
    if (replayed) ++stats.records_replayed;
    retry_delay = std::chrono::milliseconds{0};
    held_received_at_us = 0;
    return true;
  }
  // The writer cannot take it now (database down, queue full): take it back and retry later
  // (from disk: the batch was moved into submit).
  if (gen == generation && !tickets.empty() && ticket_base + tickets.size() - 1 == id) {
    tickets.pop_back();
    inflight -= weight;
    read_pos = start;
  }
  held_received_at_us = received;
  update_oldest_locked();
  retry_delay = std::min(retry_max, std::max(retry_min, retry_delay * 2));
  retry_at = clock::now() + retry_delay;
  return true;
}

}  // namespace caliper_sessiond::journal
