#include "caliper_sessiond/store/reprocess.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <span>
#include <vector>

#include "batch_statement.hpp"
#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/caliper/time.hpp"
#include "encode.hpp"
#include "pg_connection.hpp"
#include "reprocess_plan.hpp"

namespace caliper_sessiond::store {
namespace {

// The rejects present at the start: later ones (new refusals, and the rejects this run splits
// from bodies) are not taken again. $1: last id done; $2: highest id at the start.
constexpr const char* bounds_sql = R"sql(
SELECT coalesce(max(id), 0), count(*) FROM caliper.rejected_events
WHERE $1::timestamptz IS NULL OR received_at >= $1::timestamptz
)sql";
constexpr const char* fetch_sql = R"sql(
SELECT id, (extract(epoch FROM received_at) * 1000000)::bigint, source, reason, raw
FROM caliper.rejected_events
WHERE id > $1::bigint AND id <= $2::bigint
  AND ($3::timestamptz IS NULL OR received_at >= $3::timestamptz)
ORDER BY id LIMIT $4::int
FOR UPDATE SKIP LOCKED
)sql";
constexpr const char* lock_one_sql = "SELECT id FROM caliper.rejected_events WHERE id = $1::bigint FOR UPDATE SKIP LOCKED";
constexpr const char* delete_sql = "DELETE FROM caliper.rejected_events WHERE id = ANY($1::bigint[])";
constexpr const char* update_sql = R"sql(
UPDATE caliper.rejected_events AS r SET reason = u.reason, raw = u.raw
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, reason, raw)
WHERE r.id = u.id
)sql";

/// One stored reject and what the parser made of it now.
struct reject_item {
  std::int64_t id = 0;
  std::int64_t received_at_us = 0;
  std::string source;
  std::string raw;  ///< as stored
  reprocess_decision decision;
  caliper::parse_result result;
};

std::string describe(const pg::error& e) {
  return e.sqlstate.empty() ? e.message : fmt::format("{} (SQLSTATE {})", e.message, e.sqlstate);
}

template <typename T>
T as_number(std::string_view v) {
  T n{};
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

class run {
public:
  run(const pg::connection& conn, const reprocess_options& o) : conn_(conn), o_(o) {
    if (o.since_us) since_ = caliper::format_timestamp_us(*o.since_us);
  }

  std::optional<pg::error> bounds(std::int64_t& max_id, std::uint64_t& total) const {
    const std::array<const char*, 1> values{since_ ? since_->c_str() : nullptr};
    const pg::result r = conn_.exec_params(bounds_sql, values, {}, {}, false);
    if (auto err = conn_.check(r, PGRES_TUPLES_OK)) return err;
    max_id = as_number<std::int64_t>(r.value(0, 0));
    total = as_number<std::uint64_t>(r.value(0, 1));
    return std::nullopt;
  }

  /// Locks and parses the next batch after `after`; empty when none is left.
  std::optional<pg::error> fetch(caliper::envelope_parser& parser, std::int64_t after, std::int64_t max_id,
                                 std::vector<reject_item>& items) const {
    const std::string a = std::to_string(after), m = std::to_string(max_id), n = std::to_string(o_.batch_rows);
    const std::array<const char*, 4> values{a.c_str(), m.c_str(), since_ ? since_->c_str() : nullptr, n.c_str()};
    const pg::result r = conn_.exec_params(fetch_sql, values, {}, {}, false);
    if (auto err = conn_.check(r, PGRES_TUPLES_OK)) return err;
    items.clear();
    for (int i = 0; i < r.rows(); ++i) {
      reject_item it;
      it.id = as_number<std::int64_t>(r.value(i, 0));
      it.received_at_us = as_number<std::int64_t>(r.value(i, 1));
      it.source = std::string(r.value(i, 2));
      const raw_kind kind = r.is_null(i, 4) ? raw_kind::row : kind_of_reject(r.value(i, 3));
      it.raw = std::string(r.value(i, 4));
      const std::string_view raw = it.raw;
      if (kind != raw_kind::row) {
        std::string body = reprocess_body(kind, raw, it.received_at_us);
        it.result = parser.parse(body, it.source, it.received_at_us);
      }
      it.decision = judge_reparse(kind, raw, it.result);
      // A whole body kept again: the current [privacy] holds for it as for new refusals.
      if (kind == raw_kind::envelope && it.decision.verdict == reprocess_verdict::rejected && o_.privacy.scrubs())
        it.decision.raw = caliper::sanitize_text(caliper::scrub_raw(it.decision.raw, o_.privacy));
      items.push_back(std::move(it));
    }
    return std::nullopt;
  }

  /// Writes what `items` became, in the transaction the caller opened; adds to `c`.
  std::optional<pg::error> apply(std::span<const reject_item> items, reprocess_counts& c) const {
    std::vector<event_row> rows;
    std::vector<reject_row> new_rejects;
    encode::array_literal deleted, updated_ids, updated_reasons, updated_raws;
    for (const reject_item& it : items) {
      ++c.examined;
      switch (it.decision.verdict) {
        case reprocess_verdict::parsed:
          ++c.reprocessed;
          deleted.add(std::to_string(it.id));
          for (const auto& e : it.result.events) rows.push_back({&e, it.source, it.received_at_us});
          for (const auto& j : it.result.rejects) new_rejects.push_back({it.source, it.received_at_us, j.reason, j.raw});
          c.still_rejected += it.result.rejects.size();
          break;
        case reprocess_verdict::rejected:
          ++c.still_rejected;
          updated_ids.add(std::to_string(it.id));
          updated_reasons.add(it.decision.reason);
          updated_raws.add(it.decision.raw);
          break;
        case reprocess_verdict::unchanged:
        case reprocess_verdict::retry: ++c.unchanged; break;
      }
    }
    if (!rows.empty() || !new_rejects.empty()) {
      std::vector<bool> inserted;
      if (auto err = write_with_arrays(conn_, rows, new_rejects, inserted)) return err;
      for (std::size_t i = 0; i < rows.size(); ++i) ++(inserted[i] ? c.stored : c.duplicates);
    }
    const std::string d = deleted.finish();
    const std::array<const char*, 1> del{d.c_str()};
    if (auto err = conn_.check(conn_.exec_params(delete_sql, del, {}, {}, false), PGRES_COMMAND_OK)) return err;
    const std::array<std::string, 3> u{updated_ids.finish(), updated_reasons.finish(), updated_raws.finish()};
    const std::array<const char*, 3> upd{u[0].c_str(), u[1].c_str(), u[2].c_str()};
    return conn_.check(conn_.exec_params(update_sql, upd, {}, {}, false), PGRES_COMMAND_OK);
  }

  /// Ends the transaction that fetched `items`: apply(), then COMMIT (ROLLBACK in a dry run).
  /// Adds to `c` only when it ended well; rolled back otherwise.
  std::optional<pg::error> finish(std::span<const reject_item> items, reprocess_counts& c) const {
    reprocess_counts batch;
    auto err = apply(items, batch);
    if (!err) err = conn_.check(conn_.exec(o_.dry_run ? "ROLLBACK" : "COMMIT"), PGRES_COMMAND_OK);
    if (err) {
      conn_.exec("ROLLBACK");
      return err;
    }
    add(c, batch);
    return std::nullopt;
  }

  /// One reject in a transaction of its own, locked again (skipped when another run has it).
  std::optional<pg::error> alone(const reject_item& it, reprocess_counts& c) const {
    if (auto err = conn_.check(conn_.exec("BEGIN"), PGRES_COMMAND_OK)) return err;
    const std::string id = std::to_string(it.id);
    const std::array<const char*, 1> values{id.c_str()};
    const pg::result locked = conn_.exec_params(lock_one_sql, values, {}, {}, false);
    if (auto err = conn_.check(locked, PGRES_TUPLES_OK)) {
      conn_.exec("ROLLBACK");
      return err;
    }
    if (locked.rows() == 0) return conn_.check(conn_.exec("ROLLBACK"), PGRES_COMMAND_OK);
    return finish(std::span(&it, 1), c);
  }

  /// After a batch the database refused: one reject per transaction; a reject whose event the
  /// database refuses keeps that refusal as its reason.
  std::optional<pg::error> one_by_one(std::span<const reject_item> items, reprocess_counts& c) const {
    for (const reject_item& it : items) {
      auto err = alone(it, c);
      if (!err || err->action != pg::error_action::reject) {
        if (err) return err;
        continue;
      }
      reject_item kept;
      kept.id = it.id;
      kept.decision.verdict = reprocess_verdict::rejected;
      kept.decision.reason = caliper::sanitize_text(
          fmt::format("database refused the event when reprocessed: {} (SQLSTATE {})", err->message, err->sqlstate));
      kept.decision.raw = it.decision.verdict == reprocess_verdict::rejected ? it.decision.raw : it.raw;
      if (auto e = alone(kept, c)) return e;
    }
    return std::nullopt;
  }

  static void add(reprocess_counts& to, const reprocess_counts& from) {
    to.examined += from.examined;
    to.reprocessed += from.reprocessed;
    to.stored += from.stored;
    to.duplicates += from.duplicates;
    to.still_rejected += from.still_rejected;
    to.unchanged += from.unchanged;
  }

private:
  const pg::connection& conn_;
  const reprocess_options& o_;
  std::optional<std::string> since_;
};

}  // namespace

reprocess_result reprocess_rejects(const std::string& url, caliper::envelope_parser& parser,
                                   const reprocess_options& options, const reprocess_progress& progress) {
  reprocess_result res;
  const pg::connection conn = pg::connection::connect(url);
  if (!conn.ok()) {
    res.error = fmt::format("cannot connect to {}: {}", pg::redact_conninfo(url), conn.error_message());
    return res;
  }
  const auto fail = [&res](const pg::error& e) {
    res.error = describe(e);
    return res;
  };
  if (auto err = prepare_array_statement(conn)) return fail(*err);
  const run r(conn, options);
  std::int64_t max_id = 0;
  std::uint64_t total = 0;
  if (auto err = r.bounds(max_id, total)) return fail(*err);
  std::int64_t after = 0;
  std::vector<reject_item> items;
  for (;;) {
    // The batch's rows stay locked from the fetch to the commit: a second run skips them.
    if (auto err = conn.check(conn.exec("BEGIN"), PGRES_COMMAND_OK)) return fail(*err);
    auto err = r.fetch(parser, after, max_id, items);
    const bool stop = err || items.empty() ||
                      std::any_of(items.begin(), items.end(), [](const reject_item& it) {
                        return it.decision.verdict == reprocess_verdict::retry;
                      });
    if (stop) {
      conn.exec("ROLLBACK");
      if (err) return fail(*err);
      if (items.empty()) break;
      res.error = "the parser cannot derive event ids now (SHA-1 failing in OpenSSL?): this batch is left as it was";
      return res;
    }
    after = items.back().id;
    err = r.finish(items, res.counts);
    if (err && err->action == pg::error_action::reject) err = r.one_by_one(items, res.counts);
    if (err) return fail(*err);
    if (progress) progress(res.counts, total);
  }
  res.ok = true;
  return res;
}

}  // namespace caliper_sessiond::store
