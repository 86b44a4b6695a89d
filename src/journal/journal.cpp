#include "caliper_sessiond/journal/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "caliper_sessiond/metrics/thread_name.hpp"
#include "journal_impl.hpp"
#include "record.hpp"

namespace caliper_sessiond::journal {
namespace {

void call(store::completion& done, store::outcome o, const store::commit_report& r) {
  if (!done) return;
  try {
    done(o, r);
  } catch (...) {
    spdlog::error("journal: a completion threw");
  }
}

/// How far ahead of its appends the flusher writes zeros into the active segment: one file
/// size change (and journal commit of the file system) per this many bytes of records instead
/// of one per group commit. At most an eighth of a segment (small segments in tests).
constexpr std::uint64_t room_chunk_max = 4ull << 20;

std::uint64_t micros_since(clock::time_point t) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t).count());
}

}  // namespace

journal::impl::~impl() {
  if (active_fd >= 0) ::close(active_fd);
  if (lock_fd >= 0) ::close(lock_fd);
}

void journal::impl::open() {
  std::error_code ec;
  std::filesystem::create_directories(opt.dir, ec);
  if (ec) throw std::runtime_error("journal: cannot create " + opt.dir + ": " + ec.message());
  const std::string lock_path = opt.dir + "/LOCK";
  lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) throw std::runtime_error("journal: cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
    throw std::runtime_error("journal: " + opt.dir + " is in use by another process");

  const auto checkpoint = read_checkpoint(opt.dir);
  load_server_identity();
  auto numbers = list_segments(opt.dir);
  for (auto n : numbers) {
    const std::string path = opt.dir + "/" + segment_file_name(n);
    // Segments wholly before the checkpoint are committed: kept for the retention window
    // (housekeeping deletes them when it has passed, at once with retain = 0).
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
      throw std::runtime_error("journal: cannot stat " + path + ": " + std::strerror(errno));
    segments[n] = segment{path, static_cast<std::uint64_t>(st.st_size), true, false,
                          std::int64_t{st.st_mtim.tv_sec} * 1'000'000 + st.st_mtim.tv_nsec / 1000};
  }
  if (!segments.empty()) {
    auto& [last_n, last] = *segments.rbegin();
    std::string error;
    auto r = recover_tail(last.path, error);
    if (!r) throw std::runtime_error("journal: " + error);
    if (r->zero_tail_bytes > 0)
      spdlog::info("journal: {}: {} bytes of room prepared after the last record were cut off", last.path,
                   r->zero_tail_bytes);
    if (r->truncated_bytes > 0)
      spdlog::warn("journal: {}: a torn last record ({} bytes) was cut off; {} records before it are kept",
                   last.path, r->truncated_bytes, r->records);
    if (r->corrupt_regions > 0)
      spdlog::error("journal: {}: {} corrupt regions between valid records; the segment will be set aside",
                    last.path, r->corrupt_regions);
    last.durable_end = r->size;
    replay_last_segment = last_n;
    // ready() needs the size of a request like the last one: after a restart, the last one
    // journaled, in an earlier segment when the last is empty (a start that was refused
    // everything, on a full journal, leaves one behind).
    std::uint64_t last_size = r->last_record_bytes;
    for (auto it = std::next(segments.rbegin()); last_size == 0 && it != segments.rend(); ++it)
      if (it->second.durable_end > 0) last_size = last_record_size(it->second.path);
    if (last_size > 0) last_record_bytes = last_size;
  }
  read_pos = segments.empty() ? position{} : position{segments.begin()->first, 0};
  if (checkpoint) {
    // From the checkpoint; from the start of the next segment when its own is gone or shorter.
    const auto it = segments.lower_bound(checkpoint->segment);
    if (it == segments.end())
      read_pos = position{checkpoint->segment, 0};
    else if (it->first == checkpoint->segment && checkpoint->offset <= it->second.durable_end)
      read_pos = *checkpoint;
    else
      read_pos = position{it->first, 0};
  }
  saved_checkpoint = read_pos;
  std::uint64_t bytes = 0, backlog = 0;
  for (const auto& [n, s] : segments) {
    bytes += s.durable_end;
    if (n >= read_pos.segment) backlog += s.durable_end - (n == read_pos.segment ? read_pos.offset : 0);
  }
  stats.bytes = bytes;
  for (auto it = segments.begin(); it != segments.end() && it->first < read_pos.segment; ++it)
    retained_bytes += it->second.durable_end;
  stats.retained_bytes = retained_bytes;
  stats.replay_total_bytes = backlog;
  stats.replay_remaining_bytes = backlog;
  if (backlog > 0)
    spdlog::info("journal: {} bytes in {} segments to replay, from segment {} offset {}", backlog,
                 segments.size(), read_pos.segment, read_pos.offset);

  // New segments are numbered after everything seen, the checkpoint included: a stale checkpoint
  // must never name a segment that holds new records.
  active = std::max(segments.empty() ? 1 : segments.rbegin()->first + 1, checkpoint ? checkpoint->segment + 1 : 1);
  if (!segments.contains(read_pos.segment)) read_pos = position{active, 0};
  // A full disk must not keep the server from starting: the first write tries again (503 until then).
  if (const int err = rotate()) spdlog::error("journal: cannot create a segment in {}: {}", opt.dir, std::strerror(err));
  if (!checkpoint || !(*checkpoint == read_pos)) {
    if (const int err = write_checkpoint(opt.dir, read_pos))
      spdlog::warn("journal: cannot write the checkpoint in {}: {}", opt.dir, std::strerror(err));
  }
  accepting = true;
}

/// Cuts the zeros prepared ahead off the active segment, durably: only the last segment may
/// end in zeros after a crash (recover_tail cuts them there), so a segment is trimmed before
/// the next one is created. 0 or an errno.
int journal::impl::trim_active() {
  if (active_fd < 0) return 0;
  std::uint64_t end = 0;
  {
    std::lock_guard lk(m);
    const auto it = segments.find(active);
    end = it == segments.end() ? 0 : it->second.durable_end;
  }
  if (prepared_end <= end) return 0;
  if (::ftruncate(active_fd, static_cast<off_t>(end)) != 0 || ::fdatasync(active_fd) != 0) return errno;
  prepared_end = end;
  return 0;
}

/// Writes zeros up to a chunk past `end` when the active segment's file does not reach `end`.
/// Best effort: when it fails (a full disk) the append goes on without the room, and reports
/// its own error if it has one. Nothing is cut off here: the file may already hold records
/// past prepared_end (appended when an earlier attempt failed), and a failed attempt's zeros
/// are harmless; prepared_end moves to the target all the same, so that the trim before the
/// next segment (or recover_tail after a crash) cuts whatever lies past the records.
void journal::impl::prepare_room(std::uint64_t end) {
  if (active_fd < 0 || end <= prepared_end) return;
  const std::uint64_t chunk = std::max<std::uint64_t>(4096, std::min(room_chunk_max, opt.segment_bytes / 8));
  const std::uint64_t target = std::max(end, std::min(end + chunk, opt.segment_bytes));
  static const std::string zeros(64 * 1024, '\0');
  // [durable end, end) gets the records; zeros go after them only.
  for (std::uint64_t at = std::max(prepared_end, end); at < target;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), target - at));
    if (write_all(active_fd, zeros.data(), n, at) != 0) break;
    at += n;
  }
  prepared_end = target;
}

int journal::impl::rotate() {
  if (const int err = trim_active()) return err;
  std::uint64_t number = 0;
  {
    std::lock_guard lk(m);
    number = segments.empty() ? active : std::max(active, segments.rbegin()->first + 1);
  }
  const std::string path = opt.dir + "/" + segment_file_name(number);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  if (const int err = fsync_dir(opt.dir)) {
    ::close(fd);
    ::unlink(path.c_str());
    return err;
  }
  if (active_fd >= 0) ::close(active_fd);
  active_fd = fd;
  prepared_end = 0;
  std::lock_guard lk(m);
  if (auto it = segments.find(active); it != segments.end()) it->second.sealed = true;
  segments[number] = segment{path, 0, false, false};
  active = number;
  rotate_requested = false;
  stats.segments = segments.size();
  drain_cv.notify_all();
  return 0;
}

void journal::impl::run_flusher() {
  std::unique_lock lk(m);
  for (;;) {
    append_cv.wait(lk, [&] { return !pending.empty() || stop_flusher; });
    if (pending.empty()) break;
    std::string bytes;
    std::vector<pending_request> done;
    std::vector<pending_batch> batches;
    bytes.swap(pending);
    done.swap(pending_done);
    batches.swap(pending_batches);
    flushing = true;
    lk.unlock();
    flush_group(std::move(bytes), std::move(done), std::move(batches));
    lk.lock();
    flushing = false;
    state_cv.notify_all();
  }
}

void journal::impl::cache_locked(std::uint64_t segment, std::uint64_t offset, std::vector<pending_batch>& batches) {
  if (cache.empty()) cache_full = false;
  for (auto& b : batches) {
    // The encoded size stands for the strings' bytes; the structs come on top, counted by the
    // room their vectors hold (a producer may have reserved more than it filled).
    const std::size_t n = b.end - b.begin + sizeof(cached_record) +
                          b.batch.events.capacity() * sizeof(caliper::session_event) +
                          b.batch.rejects.capacity() * sizeof(caliper::rejected_event);
    // Over the budget: the drainer reads from disk until it has caught up with the cache.
    if (cache_full || cache_bytes + n > opt.memory_bytes) {
      cache_full = true;
      return;
    }
    cache.push_back({{segment, offset + b.begin}, {segment, offset + b.end}, n, std::move(b.batch)});
    cache_bytes += n;
  }
}

void journal::impl::flush_group(std::string bytes, std::vector<pending_request> done, std::vector<pending_batch> batches) {
  std::uint64_t offset = 0;
  bool must_rotate = false;
  {
    std::lock_guard lk(m);
    const auto it = segments.find(active);
    offset = it == segments.end() ? 0 : it->second.durable_end;
    must_rotate = active_fd < 0 || rotate_requested || (offset > 0 && offset + bytes.size() > opt.segment_bytes);
  }
  int err = 0;
  if (must_rotate) {
    err = rotate();
    if (err == 0) offset = 0;
  }
  const auto t0 = clock::now();
  if (err == 0) prepare_room(offset + bytes.size());
  if (err == 0) err = write_all(active_fd, bytes.data(), bytes.size(), offset);
  // A full disk while committed records are retained for a failover: free them and try once more
  // (the write failed before any fsync, so this file may still be appended to).
  if ((err == ENOSPC || err == EDQUOT) && free_retained_for_room() &&
      ::ftruncate(active_fd, static_cast<off_t>(offset)) == 0) {
    prepared_end = offset;
    err = write_all(active_fd, bytes.data(), bytes.size(), offset);
  }
  if (err == 0 && ::fdatasync(active_fd) != 0) err = errno;
  const auto us = micros_since(t0);
  if (err == 0) {
    ++stats.fsyncs;
    stats.fsync_us_total += us;
    if (us > stats.fsync_us_max) stats.fsync_us_max = us;
    stats.records_appended += done.size();
    std::lock_guard lk(m);
    last_write_failed = false;
    auto& seg = segments.at(active);
    seg.durable_end = offset + bytes.size();
    seg.newest_us = wall_now_us();  // retention counts from a segment's newest record
    // Only now, after the fsync, may the drainer hand these batches to the writer.
    cache_locked(active, offset, batches);
    if (drainer_idle) drain_cv.notify_all();
  } else {
    // Nothing of this group is acknowledged. Cut it off, and never append to a file whose
    // fsync failed again (its page cache state is unknown): the next group starts a segment.
    ++stats.write_errors;
    spdlog::error("journal: cannot write {} bytes to {}: {}; answering 503 for {}ms", bytes.size(),
                  segment_file_name(active), std::strerror(err), opt.failure_backoff.count());
    if (active_fd >= 0) {
      // Cut to the records, durably, whether the write got as far as the file or the segment
      // could not be finished (its zeros prepared ahead are cut here then): only the last
      // segment may end in zeros after a restart (recover_tail sees to it), a finished one
      // would be read as corrupt.
      if (::ftruncate(active_fd, static_cast<off_t>(offset)) != 0 || ::fdatasync(active_fd) != 0)
        spdlog::warn("journal: cannot cut {} back to its records: {}", segment_file_name(active), std::strerror(errno));
      ::close(active_fd);
      active_fd = -1;
      prepared_end = 0;
    }
    std::lock_guard lk(m);
    if (auto it = segments.find(active); it != segments.end()) it->second.sealed = true;
    stats.bytes -= bytes.size();
    failed_until = clock::now() + opt.failure_backoff;
    last_write_failed = true;
  }
  const auto o = err == 0 ? store::outcome::committed : store::outcome::unavailable;
  for (auto& p : done) call(p.done, o, p.report);
}

journal::journal(journal_options options, store::event_sink& downstream)
    : impl_(std::make_shared<impl>(std::move(options), downstream)) {
  impl_->open();
  impl_->flusher = std::thread([i = impl_.get()] { i->run_flusher(); });
  metrics::name_thread(impl_->flusher, "journal-flush");
  impl_->drainer = std::thread([i = impl_.get()] { i->run_drainer(); });
  metrics::name_thread(impl_->drainer, "journal-drain");
  spdlog::info("journal: {} ready, {} segments, {} bytes", impl_->opt.dir, impl_->segments.size(),
               impl_->stats.bytes.load());
}

journal::~journal() { stop(std::chrono::milliseconds{0}); }

bool journal::submit(store::ingest_batch batch, store::completion done) {
  std::string rec;
  append_record(rec, encode_batch(batch));
  auto& s = *impl_;
  bool wake = false;
  {
    std::lock_guard lk(s.m);
    s.last_record_bytes = rec.size();
    // Retained (committed) segments do not count: the drainer drops them when the room is needed.
    if (!s.accepting || clock::now() < s.failed_until || s.stats.bytes - s.retained_bytes + rec.size() > s.opt.max_bytes) {
      ++s.stats.refused;
      return false;
    }
    wake = s.pending.empty();
    s.pending += rec;
    s.stats.bytes += rec.size();
    s.pending_done.push_back({std::move(done), store::commit_report{batch.events.size(), 0, batch.rejects.size()}});
    s.pending_batches.push_back({s.pending.size() - rec.size(), s.pending.size(), std::move(batch)});
  }
  if (wake) s.append_cv.notify_one();
  return true;
}

bool journal::ready() const noexcept {
  const auto& s = *impl_;
  std::lock_guard lk(s.m);
  // At the bound: when a request like the last one would not fit.
  // After a failed write, not ready until one succeeds (submits are tried again after the backoff).
  return s.accepting && !s.last_write_failed && s.stats.bytes - s.retained_bytes + s.last_record_bytes <= s.opt.max_bytes;
}

bool journal::drained() const {
  std::lock_guard lk(impl_->m);
  return impl_->drained_locked();
}

const journal_stats& journal::stats() const noexcept { return impl_->stats; }

void journal::stop(std::chrono::milliseconds drain, const std::function<void(std::chrono::milliseconds)>& stop_downstream) {
  auto& s = *impl_;
  const auto deadline = clock::now() + drain;
  std::unique_lock lk(s.m);
  if (s.stopped) return;
  s.stopped = true;
  s.accepting = false;
  s.stop_flusher = true;
  s.append_cv.notify_all();
  lk.unlock();
  if (s.flusher.joinable()) s.flusher.join();
  // A clean stop leaves no zeros past the last record (a crash leaves them to recover_tail).
  if (const int err = s.trim_active())
    spdlog::warn("journal: cannot cut the room prepared in {}: {}", segment_file_name(s.active), std::strerror(err));
  lk.lock();
  s.state_cv.wait_until(lk, deadline, [&] { return s.drained_locked(); });
  s.stop_drainer = true;
  s.drain_cv.notify_all();
  lk.unlock();
  if (s.drainer.joinable()) s.drainer.join();
  if (stop_downstream)
    stop_downstream(std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()),
                             std::chrono::milliseconds{0}));
  lk.lock();
  s.housekeeping(lk, true);
  const auto left = s.stats.bytes.load();
  const bool empty = s.drained_locked();
  lk.unlock();
  if (empty)
    spdlog::info("journal: stopped, everything committed");
  else
    spdlog::warn("journal: stopped; records not yet committed stay in {} ({} bytes) for the next start", s.opt.dir, left);
}

}  // namespace caliper_sessiond::journal
