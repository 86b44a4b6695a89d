#include "caliper_sessiond/store/maintenance.hpp"

#include <fmt/format.h>

#include <array>

#include "pg_connection.hpp"

namespace caliper_sessiond::store {
namespace {

// Maintenance waits for no one: a busy table is tried again at the next run.
constexpr const char* session_settings_sql = "SET lock_timeout = '5s'";
constexpr const char* ensure_sql = "SELECT caliper.ensure_partitions($1::int)";
constexpr const char* retention_sql = "SELECT caliper.drop_old_partitions($1::int)";

std::string describe(const pg::error& e) {
  return e.sqlstate.empty() ? e.message : fmt::format("{} (SQLSTATE {})", e.message, e.sqlstate);
}

/// Runs `sql` with one int parameter and appends its one-column rows to `out.actions`.
bool run_step(const pg::connection& conn, const char* sql, int arg, maintenance_result& out) {
  const std::string value = std::to_string(arg);
  const std::array<const char*, 1> values{value.c_str()};
  const pg::result r = conn.exec_params(sql, values, {}, {}, false);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) {
    out.error = fmt::format("{}: {}", sql, describe(*err));
    return false;
  }
  for (int i = 0; i < r.rows(); ++i) out.actions.emplace_back(r.value(i, 0));
  return true;
}

}  // namespace

maintenance_result run_maintenance(const std::string& url, int months_ahead, int retention_months) {
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
  if (!run_step(conn, ensure_sql, months_ahead, res)) return res;
  if (retention_months > 0 && !run_step(conn, retention_sql, retention_months, res)) return res;
  res.ok = true;
  return res;
}

}  // namespace caliper_sessiond::store
