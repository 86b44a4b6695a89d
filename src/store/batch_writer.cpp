#include "caliper_sessiond/store/batch_writer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "caliper_sessiond/metrics/thread_name.hpp"
#include "backoff.hpp"
#include "batch_queue.hpp"
#include "flush_job.hpp"
#include "pg_connection.hpp"

namespace caliper_sessiond::store {
namespace {

/// How often an idle writer looks at its connection, so readiness notices a server that left.
constexpr std::chrono::seconds idle_check_interval{1};
/// Immediate retries of a serialization failure or deadlock before backing off.
constexpr int max_quick_retries = 3;

/// libpq's messages span lines ("\n\tIs the server running..."): one log line each.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\t') c = ' ';
  return s;
}

void fail_items(std::vector<queued_item>& items) {
  for (queued_item& it : items) {
    if (!it.done) continue;
    try {
      it.done(outcome::unavailable, commit_report{});
    } catch (...) {
      spdlog::error("store: a completion threw");
    }
  }
  items.clear();
}

/// The server's identity: the system identifier (the same on a primary and its standbys) and the
/// current timeline (a promotion starts a new one at once, unlike pg_control_checkpoint's, which
/// waits for the next checkpoint). Every function here is executable by any role in PostgreSQL 15.
constexpr const char* identity_sql =
    "SELECT system_identifier::text, pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN '' "
    "ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END FROM pg_control_system()";

/// The identity ("" when unreadable), or an error when the server is a standby: a read-only
/// connection (no target_session_attrs=read-write) must not be used for writing.
std::optional<pg::error> read_identity(const pg::connection& conn, std::string& identity) {
  identity.clear();
  const pg::result r = conn.exec(identity_sql);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) {
    if (err->action == pg::error_action::reconnect) return err;
    spdlog::warn("store: cannot read the server identity ({} {}): a failover will not be noticed", err->sqlstate,
                 err->message);
    return std::nullopt;
  }
  if (r.rows() != 1) return std::nullopt;
  if (r.value(0, 1) == "t")
    return pg::error{pg::error_action::reconnect, "25006",
                     "the server is a standby in recovery (add target_session_attrs=read-write to database.url)"};
  const std::string_view tli = r.value(0, 2);
  std::uint64_t timeline = 0;
  std::from_chars(tli.data(), tli.data() + tli.size(), timeline, 16);
  identity = std::string(r.value(0, 0)) + "/" + std::to_string(timeline);
  return std::nullopt;
}

}  // namespace

struct batch_writer::impl {
  explicit impl(writer_options o)
      : opt(std::move(o)),
        queue(opt.queue_max_events, std::max<std::size_t>(opt.batch_max_events, 1), opt.batch_max_delay),
        display_url(pg::redact_conninfo(opt.database_url)) {}

  writer_options opt;
  writer_stats stats;
  batch_write_fn write = write_with_binary_arrays;  // fastest in bench/batch_statement

  mutable std::mutex m;
  std::condition_variable work_cv;  ///< connected writers wait here for a due batch
  std::condition_variable stop_cv;  ///< backoff waits, interrupted by stop()
  batch_queue queue;                ///< guarded by m
  bool started = false;             ///< guarded by m
  bool stopping = false;            ///< guarded by m
  clock::time_point drain_deadline; ///< guarded by m, set with stopping
  std::atomic<std::size_t> connected_threads{0};
  std::atomic<bool> accepting{false};  ///< started and not stopping, for ready()
  std::vector<std::thread> threads;
  std::string display_url;
  std::string server;  ///< guarded by m: the last identity any writer saw

  void run(std::size_t index);
  bool connect(pg::connection& conn, std::size_t index, int& connect_failures);
  std::optional<std::vector<queued_item>> next_batch(const pg::connection& conn);
  bool wait_backoff(std::chrono::milliseconds delay, std::optional<flush_job>& job);
  void set_connected(bool& mine, bool up);
  void note_server(std::size_t index, const std::string& identity);
  void publish_queue_size() { stats.queued_events = queue.rows(); }
  std::vector<queued_item> take_expired_locked(clock::time_point now);
};

namespace {

// A writer's statement that uses a key of caliper.texts ends within 30 minutes (the database's
// own statement_timeout when lower): caliper.forget_texts (sql/012) deletes a text 8 hours after
// it was last asked for, and the writer uses a key for 6 hours after asking, so a statement
// stuck longer than the hour between them could store a key whose text is gone. A timed-out
// batch is tried again (57014) with its keys checked anew.
constexpr const char* statement_timeout_sql =
    "SELECT set_config('statement_timeout', '1800000', false) FROM pg_settings "
    "WHERE name = 'statement_timeout' AND (setting::bigint = 0 OR setting::bigint > 1800000)";

}  // namespace

bool batch_writer::impl::connect(pg::connection& conn, std::size_t index, int& connect_failures) {
  conn = pg::connection::connect(opt.database_url);
  std::optional<pg::error> err;
  if (!conn.ok())
    err = pg::error{pg::error_action::reconnect, "", std::string(conn.error_message())};
  std::string identity;
  if (!err) err = read_identity(conn, identity);
  if (!err) err = write == write_with_copy ? prepare_copy_statement(conn) : prepare_array_statement(conn);
  if (!err) err = conn.check(conn.exec(statement_timeout_sql), PGRES_TUPLES_OK);
  if (!err) {
    spdlog::info("store: writer {} connected to {} (server {})", index, display_url, identity.empty() ? "?" : identity);
    connect_failures = 0;
    note_server(index, identity);
    return true;
  }
  if (err->sqlstate == "25006") ++stats.standby_refusals;
  ++stats.db_errors;
  // The first failure of a streak is a warning; the retries every backoff are debug noise.
  spdlog::log(++connect_failures == 1 ? spdlog::level::warn : spdlog::level::debug,
              "store: writer {} cannot use {}: {}{}", index, display_url,
              err->sqlstate.empty() ? "" : err->sqlstate + " ", one_line(err->message));
  conn = pg::connection{};
  return false;
}

void batch_writer::impl::note_server(std::size_t index, const std::string& identity) {
  if (identity.empty()) return;
  {
    std::lock_guard lk(m);
    if (!server.empty() && server != identity) {
      ++stats.server_changes;
      spdlog::warn("store: writer {} found another database server or timeline ({} -> {}): a failover; commits "
                   "not replicated before it are lost unless the journal replays them",
                   index, server, identity);
    }
    server = identity;
  }
  // Before this writer takes a batch: the journal's replay must not trail new records by much.
  if (opt.on_server) opt.on_server(identity);
}

void batch_writer::impl::set_connected(bool& mine, bool up) {
  if (mine == up) return;
  mine = up;
  // Under the lock: two writers changing state at once must not leave a stale flag behind.
  std::lock_guard lk(m);
  const std::size_t n = up ? ++connected_threads : --connected_threads;
  stats.connected = n > 0;
}

std::vector<queued_item> batch_writer::impl::take_expired_locked(clock::time_point now) {
  auto expired = queue.take_older_than(now - opt.commit_timeout);
  if (!expired.empty()) {
    publish_queue_size();
    spdlog::warn("store: {} queued requests waited past the commit timeout", expired.size());
  }
  return expired;
}

std::optional<std::vector<queued_item>> batch_writer::impl::next_batch(const pg::connection& conn) {
  std::unique_lock lk(m);
  for (;;) {
    const auto now = clock::now();
    if (auto expired = take_expired_locked(now); !expired.empty()) {
      lk.unlock();
      fail_items(expired);
      lk.lock();
      continue;
    }
    if (stopping) {
      if (queue.empty() || now >= drain_deadline) return std::nullopt;
    } else if (queue.empty() || *queue.due_at() > now) {
      auto wake = now + idle_check_interval;
      if (!queue.empty()) wake = std::min(*queue.due_at(), *queue.oldest() + opt.commit_timeout);
      if (work_cv.wait_until(lk, wake) == std::cv_status::timeout && queue.empty()) {
        lk.unlock();
        if (!conn.still_alive()) return std::vector<queued_item>{};
        lk.lock();
      }
      continue;
    }
    auto batch = queue.take_batch();
    publish_queue_size();
    return batch;
  }
}

bool batch_writer::impl::wait_backoff(std::chrono::milliseconds delay, std::optional<flush_job>& job) {
  const auto until = clock::now() + delay;
  std::unique_lock lk(m);
  for (;;) {
    const auto now = clock::now();
    auto expired = take_expired_locked(now);
    const bool drained = stopping && now >= drain_deadline;
    const bool job_expired = job && *job->oldest() + opt.commit_timeout <= now;
    if (!expired.empty() || (job && (drained || job_expired))) {
      lk.unlock();
      fail_items(expired);
      if (job) {
        if (drained)
          job->fail_all();
        else
          job->fail_older_than(now - opt.commit_timeout);
        if (job->done()) job.reset();
      }
      lk.lock();
      continue;
    }
    if (stopping && (drained || (queue.empty() && !job))) return false;
    if (now >= until) return true;
    auto wake = until;
    if (auto t = queue.oldest()) wake = std::min(wake, *t + opt.commit_timeout);
    if (job) wake = std::min(wake, *job->oldest() + opt.commit_timeout);
    if (stopping) wake = std::min(wake, drain_deadline);
    stop_cv.wait_until(lk, wake);
  }
}

void batch_writer::impl::run(std::size_t index) {
  set_writer_thread_settings({.max_bytes = opt.text_key_cache_bytes,
                              .asked = &stats.text_keys_asked,
                              .resets = &stats.text_key_cache_resets,
                              .duplicate_retries = &stats.duplicate_retries});
  pg::connection conn;
  bool counted = false;
  backoff delays(opt.reconnect_min, opt.reconnect_max, std::random_device{}());
  std::optional<flush_job> job;
  int quick_retries = 0;
  int connect_failures = 0;
  for (;;) {
    if (!conn.ok()) {
      set_connected(counted, false);
      if (!connect(conn, index, connect_failures)) {
        if (!wait_backoff(delays.next(), job)) break;
        continue;
      }
      delays.reset();
      set_connected(counted, true);
    }
    if (!job) {
      auto items = next_batch(conn);
      if (!items) break;
      if (items->empty()) continue;  // the idle check found the connection gone
      job.emplace(std::move(*items), write);
    }
    const auto started = clock::now();
    auto err = job->run(conn);
    if (!err) {
      if (opt.on_flush) opt.on_flush(job->row_count(), clock::now() - started);
      job->complete_committed(stats);
      job.reset();
      quick_retries = 0;
      continue;
    }
    ++stats.db_errors;
    spdlog::warn("store: writer {} batch failed ({}): {}{}", index, pg::to_string(err->action),
                 err->sqlstate.empty() ? "" : err->sqlstate + " ", one_line(err->message));
    if (err->action == pg::error_action::retry && ++quick_retries <= max_quick_retries) continue;
    quick_retries = 0;
    if (err->action != pg::error_action::retry) conn = pg::connection{};
    if (!wait_backoff(delays.next(), job)) break;
  }
  if (job) job->fail_all();
  set_connected(counted, false);
  spdlog::info("store: writer {} stopped", index);
}

batch_writer::batch_writer(writer_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

batch_writer::~batch_writer() { stop(std::chrono::milliseconds{0}); }

void batch_writer::start() {
  std::lock_guard lk(impl_->m);
  if (impl_->started || impl_->stopping) return;
  impl_->started = true;
  impl_->accepting = true;
  const std::size_t n = std::max<std::size_t>(impl_->opt.connections, 1);
  spdlog::info("store: starting {} writers for {}", n, impl_->display_url);
  for (std::size_t i = 0; i < n; ++i) {
    impl_->threads.emplace_back([this, i] { impl_->run(i); });
    metrics::name_thread(impl_->threads.back(), "pg-writer-" + std::to_string(i));
  }
}

void batch_writer::stop(std::chrono::milliseconds drain) {
  {
    std::lock_guard lk(impl_->m);
    if (!impl_->stopping) {
      impl_->stopping = true;
      impl_->accepting = false;
      impl_->drain_deadline = clock::now() + drain;
    }
  }
  impl_->work_cv.notify_all();
  impl_->stop_cv.notify_all();
  for (std::thread& t : impl_->threads)
    if (t.joinable()) t.join();
  impl_->threads.clear();
  std::vector<queued_item> rest;
  {
    std::lock_guard lk(impl_->m);
    rest = impl_->queue.take_all();
    impl_->publish_queue_size();
  }
  fail_items(rest);
}

bool batch_writer::submit(ingest_batch batch, completion done) {
  bool wake = false;
  {
    std::lock_guard lk(impl_->m);
    if (!impl_->started || impl_->stopping || impl_->connected_threads.load() == 0) return false;
    queued_item item{std::move(batch), std::move(done), clock::now()};
    if (!impl_->queue.try_push(std::move(item))) return false;
    impl_->publish_queue_size();
    // A new oldest item sets a new deadline; a full batch is due now. Otherwise the waiting
    // writer already wakes at the right time.
    wake = impl_->queue.items() == 1 || impl_->queue.rows() >= impl_->opt.batch_max_events;
  }
  if (wake) impl_->work_cv.notify_one();
  return true;
}

bool batch_writer::ready() const noexcept {
  return impl_->accepting.load() && impl_->stats.connected.load() &&
         impl_->stats.queued_events.load() < impl_->opt.queue_max_events;
}

const writer_stats& batch_writer::stats() const noexcept { return impl_->stats; }

}  // namespace caliper_sessiond::store
