#include "flush_job.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/metrics/log_throttle.hpp"
#include "encode.hpp"

namespace caliper_sessiond::store {
namespace {

/// One aggregated line per interval for refused events: a hostile request can hold thousands.
metrics::log_throttle refused_events_log;

}  // namespace

caliper::rejected_event minimal_reject(const caliper::rejected_event& r, const pg::error& refusal) {
  return {caliper::sanitize_text(r.reason, minimal_reject_bytes) +
              fmt::format(" (kept cut short: the database refused the full reject, SQLSTATE {})",
                          caliper::sanitize_text(refusal.sqlstate, 5)),
          caliper::sanitize_text(r.raw, minimal_reject_bytes)};
}

flush_job::flush_job(std::vector<queued_item> items, batch_write_fn write) : write_(write) {
  items_.reserve(items.size());
  for (queued_item& it : items) {
    item_state s;
    s.rows.assign(it.batch.events.size(), row_state::pending);
    s.rejects = std::move(it.batch.rejects);
    s.reject_states.assign(s.rejects.size(), reject_state::pending);
    s.item = std::move(it);
    items_.push_back(std::move(s));
  }
}

template <typename State>
std::vector<flush_job::ref> flush_job::pending(std::vector<State> item_state::*states) const {
  std::vector<ref> refs;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].finished) continue;
    const std::vector<State>& s = items_[i].*states;
    for (std::size_t k = 0; k < s.size(); ++k)
      if (s[k] == State::pending) refs.push_back({i, k});
  }
  return refs;
}

std::vector<flush_job::ref> flush_job::pending_rows() const { return pending(&item_state::rows); }

std::vector<flush_job::ref> flush_job::pending_rejects() const { return pending(&item_state::reject_states); }

void flush_job::add_reject(item_state& s, caliper::rejected_event r) {
  s.rejects.push_back(std::move(r));
  s.reject_states.push_back(reject_state::pending);
}

std::optional<pg::error> flush_job::run(const pg::connection& conn) {
  const std::vector<ref> rows = pending_rows();
  auto err = write(conn, rows, pending_rejects());
  if (!err || err->action != pg::error_action::reject) return err;
  spdlog::debug("store: the database refused a batch of {} events ({} {}); looking for the bad rows",
                rows.size(), err->sqlstate, err->message);
  if (auto e = bisect(conn, rows)) return e;
  return store_rejects(conn);
}

std::optional<pg::error> flush_job::write(const pg::connection& conn, std::span<const ref> rows,
                                          std::span<const ref> rejects) {
  if (rows.empty() && rejects.empty()) return std::nullopt;
  std::vector<event_row> event_rows;
  event_rows.reserve(rows.size());
  for (const ref& r : rows) {
    const ingest_batch& b = items_[r.item].item.batch;
    event_rows.push_back({&b.events[r.index], b.source, b.received_at_us});
  }
  std::vector<reject_row> reject_rows;
  reject_rows.reserve(rejects.size());
  for (const ref& r : rejects) {
    const item_state& s = items_[r.item];
    const caliper::rejected_event& j = s.rejects[r.index];
    reject_rows.push_back({s.item.batch.source, s.item.batch.received_at_us, j.reason, j.raw});
  }
  std::vector<bool> inserted;
  if (auto err = write_(conn, event_rows, reject_rows, inserted)) return err;
  for (std::size_t i = 0; i < rows.size(); ++i)
    items_[rows[i].item].rows[rows[i].index] = inserted[i] ? row_state::inserted : row_state::duplicate;
  for (const ref& r : rejects) items_[r.item].reject_states[r.index] = reject_state::stored;
  return std::nullopt;
}

std::optional<pg::error> flush_job::bisect(const pg::connection& conn, std::span<const ref> rows) {
  if (rows.empty()) return std::nullopt;
  auto err = write(conn, rows, {});
  if (!err || err->action != pg::error_action::reject) return err;
  if (rows.size() > 1) {
    const std::size_t half = rows.size() / 2;
    if (auto e = bisect(conn, rows.first(half))) return e;
    return bisect(conn, rows.subspan(half));
  }
  item_state& s = items_[rows[0].item];
  s.rows[rows[0].index] = row_state::refused;
  const caliper::session_event& e = s.item.batch.events[rows[0].index];
  if (const auto n = refused_events_log.occur())
    spdlog::warn("store: the database refused {} events since the last such line (stored as rejects); "
                 "the last, {}: {} {}",
                 *n, e.event_id, err->sqlstate, err->message);
  add_reject(s, {fmt::format("database refused the event: {} (SQLSTATE {})", err->message, err->sqlstate),
                 encode::row_json(e)});
  return std::nullopt;
}

std::optional<pg::error> flush_job::store_rejects(const pg::connection& conn) {
  const std::vector<ref> rejects = pending_rejects();
  auto err = write(conn, {}, rejects);
  if (!err || err->action != pg::error_action::reject) return err;
  // A reject the database refuses (e.g. a body cut inside a UTF-8 sequence): store it mended.
  for (const ref& r : rejects) {
    caliper::rejected_event& j = items_[r.item].rejects[r.index];
    j.reason = caliper::sanitize_text(j.reason);
    j.raw = caliper::sanitize_text(j.raw);
  }
  err = write(conn, {}, rejects);
  if (!err || err->action != pg::error_action::reject) return err;
  // Still refused (a constraint, a size limit): find which, and keep what can be kept of them.
  std::size_t dropped = 0;
  pg::error last = *err;
  if (auto e = bisect_rejects(conn, rejects, dropped, last)) return e;
  if (dropped > 0)
    spdlog::error("store: dropped {} rejects the database refuses even cut to {} bytes "
                  "(caliper_writer_rejects_dropped_total); the last: {} {}",
                  dropped, minimal_reject_bytes, last.sqlstate, last.message);
  return std::nullopt;
}

std::optional<pg::error> flush_job::bisect_rejects(const pg::connection& conn, std::span<const ref> rejects,
                                                   std::size_t& dropped, pg::error& last) {
  // `rejects` were refused together: split them, or store a lone one in its minimal form.
  if (rejects.size() > 1) {
    const std::size_t half = rejects.size() / 2;
    for (const auto part : {rejects.first(half), rejects.subspan(half)}) {
      auto err = write(conn, {}, part);
      if (!err) continue;
      if (err->action != pg::error_action::reject) return err;
      last = *err;
      if (auto e = bisect_rejects(conn, part, dropped, last)) return e;
    }
    return std::nullopt;
  }
  item_state& s = items_[rejects[0].item];
  caliper::rejected_event& j = s.rejects[rejects[0].index];
  j = minimal_reject(j, last);
  auto err = write(conn, {}, rejects);
  if (!err || err->action != pg::error_action::reject) return err;
  s.reject_states[rejects[0].index] = reject_state::dropped;
  ++dropped;
  last = *err;
  return std::nullopt;
}

void flush_job::finish(item_state& s, outcome o, writer_stats* stats) {
  commit_report report;
  for (const row_state r : s.rows) {
    if (r == row_state::inserted) ++report.inserted;
    if (r == row_state::duplicate) ++report.duplicates;
  }
  std::size_t dropped = 0;
  for (const reject_state r : s.reject_states) {
    if (r == reject_state::stored) ++report.rejects;
    if (r == reject_state::dropped) ++dropped;
  }
  if (stats != nullptr) {
    stats->events_inserted += report.inserted;
    stats->events_duplicate += report.duplicates;
    stats->rejects_stored += report.rejects;
    stats->rejects_dropped += dropped;
  }
  s.finished = true;
  if (!s.item.done) return;
  try {
    s.item.done(o, report);
  } catch (const std::exception& ex) {
    spdlog::error("store: a completion threw: {}", ex.what());
  } catch (...) {
    spdlog::error("store: a completion threw");
  }
}

std::size_t flush_job::row_count() const noexcept {
  std::size_t n = 0;
  for (const item_state& s : items_) n += s.item.batch.events.size();
  return n;
}

void flush_job::complete_committed(writer_stats& stats) {
  ++stats.batches;
  for (item_state& s : items_)
    if (!s.finished) finish(s, outcome::committed, &stats);
}

void flush_job::fail_older_than(clock::time_point cutoff) {
  for (item_state& s : items_)
    if (!s.finished && s.item.enqueued < cutoff) finish(s, outcome::unavailable, nullptr);
}

std::optional<clock::time_point> flush_job::oldest() const noexcept {
  std::optional<clock::time_point> t;
  for (const item_state& s : items_)
    if (!s.finished && (!t || s.item.enqueued < *t)) t = s.item.enqueued;
  return t;
}

}  // namespace caliper_sessiond::store
