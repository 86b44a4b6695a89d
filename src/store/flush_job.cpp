#include "flush_job.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "caliper_sessiond/caliper/text.hpp"
#include "encode.hpp"

namespace caliper_sessiond::store {

flush_job::flush_job(std::vector<queued_item> items, batch_write_fn write) : write_(write) {
  items_.reserve(items.size());
  for (queued_item& it : items) {
    item_state s;
    s.rows.assign(it.batch.events.size(), row_state::pending);
    s.pending_rejects = std::move(it.batch.rejects);
    s.item = std::move(it);
    items_.push_back(std::move(s));
  }
}

std::vector<flush_job::row_ref> flush_job::pending_rows() const {
  std::vector<row_ref> refs;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (items_[i].finished) continue;
    for (std::size_t e = 0; e < items_[i].rows.size(); ++e)
      if (items_[i].rows[e] == row_state::pending) refs.push_back({i, e});
  }
  return refs;
}

std::optional<pg::error> flush_job::run(const pg::connection& conn) {
  const std::vector<row_ref> refs = pending_rows();
  auto err = write(conn, refs, /*with_rejects=*/true);
  if (!err || err->action != pg::error_action::reject) return err;
  spdlog::warn("store: the database refused a batch of {} events ({} {}); looking for the bad rows",
               refs.size(), err->sqlstate, err->message);
  if (auto e = bisect(conn, refs)) return e;
  return store_rejects(conn);
}

std::optional<pg::error> flush_job::write(const pg::connection& conn, std::span<const row_ref> refs,
                                          bool with_rejects) {
  std::vector<event_row> rows;
  rows.reserve(refs.size());
  for (const row_ref& r : refs) {
    const ingest_batch& b = items_[r.item].item.batch;
    rows.push_back({&b.events[r.event], b.source, b.received_at_us});
  }
  std::vector<reject_row> rejects;
  if (with_rejects) {
    for (const item_state& s : items_) {
      if (s.finished) continue;
      for (const caliper::rejected_event& r : s.pending_rejects)
        rejects.push_back({s.item.batch.source, s.item.batch.received_at_us, r.reason, r.raw});
    }
  }
  if (rows.empty() && rejects.empty()) return std::nullopt;
  std::vector<bool> inserted;
  if (auto err = write_(conn, rows, rejects, inserted)) return err;
  for (std::size_t i = 0; i < refs.size(); ++i)
    items_[refs[i].item].rows[refs[i].event] = inserted[i] ? row_state::inserted : row_state::duplicate;
  if (with_rejects) mark_rejects_stored();
  return std::nullopt;
}

std::optional<pg::error> flush_job::bisect(const pg::connection& conn, std::span<const row_ref> refs) {
  if (refs.empty()) return std::nullopt;
  auto err = write(conn, refs, /*with_rejects=*/false);
  if (!err || err->action != pg::error_action::reject) return err;
  if (refs.size() > 1) {
    const std::size_t half = refs.size() / 2;
    if (auto e = bisect(conn, refs.first(half))) return e;
    return bisect(conn, refs.subspan(half));
  }
  item_state& s = items_[refs[0].item];
  s.rows[refs[0].event] = row_state::refused;
  const caliper::session_event& e = s.item.batch.events[refs[0].event];
  spdlog::warn("store: event {} refused by the database: {} {}", e.event_id, err->sqlstate, err->message);
  s.pending_rejects.push_back(
      {fmt::format("database refused the event: {} (SQLSTATE {})", err->message, err->sqlstate),
       encode::row_json(e)});
  return std::nullopt;
}

std::optional<pg::error> flush_job::store_rejects(const pg::connection& conn) {
  auto err = write(conn, {}, /*with_rejects=*/true);
  if (!err || err->action != pg::error_action::reject) return err;
  // A reject the database refuses (e.g. a body cut inside a UTF-8 sequence): store it mended.
  for (item_state& s : items_) {
    for (caliper::rejected_event& r : s.pending_rejects) {
      r.reason = caliper::sanitize_text(r.reason);
      r.raw = caliper::sanitize_text(r.raw);
    }
  }
  err = write(conn, {}, /*with_rejects=*/true);
  if (!err || err->action != pg::error_action::reject) return err;
  spdlog::error("store: dropping {} rejects the database refuses even mended: {} {}",
                [this] {
                  std::size_t n = 0;
                  for (const item_state& s : items_) n += s.pending_rejects.size();
                  return n;
                }(),
                err->sqlstate, err->message);
  for (item_state& s : items_) s.pending_rejects.clear();
  return std::nullopt;
}

void flush_job::mark_rejects_stored() {
  for (item_state& s : items_) {
    if (s.finished) continue;
    s.rejects_stored += s.pending_rejects.size();
    s.pending_rejects.clear();
  }
}

void flush_job::finish(item_state& s, outcome o, writer_stats* stats) {
  commit_report report;
  for (const row_state r : s.rows) {
    if (r == row_state::inserted) ++report.inserted;
    if (r == row_state::duplicate) ++report.duplicates;
  }
  report.rejects = s.rejects_stored;
  if (stats != nullptr) {
    stats->events_inserted += report.inserted;
    stats->events_duplicate += report.duplicates;
    stats->rejects_stored += report.rejects;
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
