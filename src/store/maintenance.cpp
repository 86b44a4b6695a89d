#include "caliper_sessiond/store/maintenance.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <initializer_list>
#include <string_view>
#include <vector>

#include "pg_connection.hpp"

namespace caliper_sessiond::store {
namespace {

// Maintenance waits for no one: a busy table is tried again at the next run.
constexpr const char* session_settings_sql = "SET lock_timeout = '5s'";
constexpr const char* ensure_sql = "SELECT caliper.ensure_partitions($1::int, max_new_partitions => $2::int)";
constexpr const char* retention_sql = "SELECT caliper.drop_old_partitions($1::int)";
// After retention dropped a month: the texts only its events used (sql/010, 011). Reads every
// row of caliper.event_rows, so only when owed (about once a month), not at every run; owed
// until it succeeds, so a failed prune is done by the next run.
constexpr const char* prune_owed_sql = "INSERT INTO caliper.texts_prune_due DEFAULT VALUES ON CONFLICT DO NOTHING";
constexpr const char* prune_texts_sql =
    "SELECT format('pruned %s texts that no event uses', caliper.prune_texts()) FROM caliper.texts_prune_due";
// The texts of people forget erased that a writer might still have held then (sql/012): deleted
// once idle; cheap while none is (it reads the event rows only when one is).
constexpr const char* forget_texts_sql =
    "SELECT format('deleted %s texts of erased people', n) FROM (SELECT caliper.forget_texts() AS n "
    "FROM (SELECT FROM caliper.texts_forget_due LIMIT 1) AS owed) AS f WHERE n > 0";

/// The line ensure_partitions ends with when it reached its cap (sql/006_partition_cap.sql).
constexpr std::string_view capped_prefix = "capped at ";

std::string describe(const pg::error& e) {
  return e.sqlstate.empty() ? e.message : fmt::format("{} (SQLSTATE {})", e.message, e.sqlstate);
}

/// Runs `sql` with int parameters and appends its one-column rows to `out.actions`.
bool run_step(const pg::connection& conn, const char* sql, std::initializer_list<int> args, maintenance_result& out) {
  std::vector<std::string> text;
  for (const int a : args) text.push_back(std::to_string(a));
  std::vector<const char*> values;
  for (const auto& t : text) values.push_back(t.c_str());
  const pg::result r = conn.exec_params(sql, values, {}, {}, false);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) {
    out.error = fmt::format("{}: {}", sql, describe(*err));
    return false;
  }
  for (int i = 0; i < r.rows(); ++i) out.actions.emplace_back(r.value(i, 0));
  return true;
}

/// Fills `created` and `deferred_months` from the lines of caliper.ensure_partitions.
void count_actions(maintenance_result& r) {
  r.created = 0;
  r.deferred_months = 0;
  for (const std::string_view a : r.actions) {
    if (a.starts_with("created ")) ++r.created;
    if (!a.starts_with(capped_prefix)) continue;
    // "capped at <cap> new partitions: <n> more months wait for the next run"
    const auto colon = a.find(": ");
    if (colon == std::string_view::npos) continue;
    const std::string_view n = a.substr(colon + 2);
    std::from_chars(n.data(), n.data() + n.size(), r.deferred_months);
  }
}

}  // namespace

maintenance_result run_maintenance(const std::string& url, const maintenance_options& options) {
  maintenance_result res;
  const pg::connection conn = pg::connection::connect(url);
  if (!conn.ok()) {
    res.error = fmt::format("cannot connect to {}: {}", pg::redact_conninfo(url), conn.error_message());
    return res;
  }
  if (auto err = conn.check(conn.exec(session_settings_sql), PGRES_COMMAND_OK)) {
    res.error = describe(*err);
    return res;
  }
  const bool ensured = run_step(conn, ensure_sql, {options.months_ahead, options.max_new_partitions}, res);
  count_actions(res);
  if (!ensured) return res;
  if (options.retention_months > 0) {
    const std::size_t before = res.actions.size();
    if (!run_step(conn, retention_sql, {options.retention_months}, res)) return res;
    const bool dropped = std::any_of(res.actions.begin() + static_cast<std::ptrdiff_t>(before), res.actions.end(),
                                     [](const std::string& a) { return a.starts_with("dropped "); });
    if (dropped) {
      if (auto err = conn.check(conn.exec(prune_owed_sql), PGRES_COMMAND_OK)) {
        res.error = fmt::format("{}: {}", prune_owed_sql, describe(*err));
        return res;
      }
    }
  }
  if (!run_step(conn, prune_texts_sql, {}, res)) return res;
  if (!run_step(conn, forget_texts_sql, {}, res)) return res;
  res.ok = true;
  return res;
}

}  // namespace caliper_sessiond::store
