#include "caliper_sessiond/store/migrations.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <set>

#include "caliper_sessiond/caliper/text.hpp"
#include "pg_connection.hpp"

namespace caliper_sessiond::store {
namespace {

// Any constant works as long as nothing else in the database uses it: "calipmig".
constexpr const char* lock_sql = "SELECT pg_advisory_lock(7161081438072056167)";
constexpr const char* unlock_sql = "SELECT pg_advisory_unlock(7161081438072056167)";

constexpr const char* version_table_sql = R"sql(
CREATE SCHEMA IF NOT EXISTS caliper;
CREATE TABLE IF NOT EXISTS caliper.schema_migrations (
  version    int PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
)sql";

constexpr const char* applied_sql = "SELECT version FROM caliper.schema_migrations";

// A migration that would wait on a lock gives up instead of queueing traffic behind it.
constexpr const char* begin_sql = "BEGIN; SET LOCAL lock_timeout = '5s'";
constexpr const char* record_sql =
    "INSERT INTO caliper.schema_migrations (version, name) VALUES ($1::int, $2::text)";

std::string describe(const pg::error& e) {
  return e.sqlstate.empty() ? e.message : fmt::format("{} (SQLSTATE {})", e.message, e.sqlstate);
}

std::optional<std::string> apply(const pg::connection& conn, const migration& m) {
  if (auto err = conn.check(conn.exec(begin_sql), PGRES_COMMAND_OK)) return describe(*err);
  std::optional<pg::error> err = conn.check(conn.exec(std::string(m.sql).c_str()), PGRES_COMMAND_OK);
  if (!err) {
    // Multi-statement SQL answers with its last result, which may carry tuples.
    const std::string version = std::to_string(m.version);
    const std::string name(m.name);
    const std::array<const char*, 2> values{version.c_str(), name.c_str()};
    err = conn.check(conn.exec_params(record_sql, values, {}, {}, false), PGRES_COMMAND_OK);
  }
  if (!err) err = conn.check(conn.exec("COMMIT"), PGRES_COMMAND_OK);
  if (!err) return std::nullopt;
  conn.exec("ROLLBACK");
  return fmt::format("migration {} failed: {}", m.name, describe(*err));
}

std::optional<std::string> applied_versions(const pg::connection& conn, std::set<int>& out) {
  const pg::result r = conn.exec(applied_sql);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) return describe(*err);
  for (int i = 0; i < r.rows(); ++i) {
    const std::string_view v = r.value(i, 0);
    const auto version = parse_migration_version(v);
    // Never guess (a 0 would re-apply every migration): ask for a look at the table instead.
    if (!version)
      return fmt::format("caliper.schema_migrations holds a version that is not a number: \"{}\"",
                         caliper::sanitize_text(v, 40));
    out.insert(*version);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int> parse_migration_version(std::string_view text) noexcept {
  int version = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return version;
}

migrate_result migrate(const std::string& database_url) {
  migrate_result res;
  const pg::connection conn = pg::connection::connect(database_url);
  if (!conn.ok()) {
    res.error = fmt::format("cannot connect to {}: {}", pg::redact_conninfo(database_url),
                            conn.error_message());
    return res;
  }
  // Session-level lock: held across the per-migration transactions, released on disconnect.
  if (auto err = conn.check(conn.exec(lock_sql), PGRES_TUPLES_OK)) {
    res.error = describe(*err);
    return res;
  }
  std::set<int> done;
  if (auto err = conn.check(conn.exec(version_table_sql), PGRES_COMMAND_OK)) {
    res.error = describe(*err);
  } else if (auto e = applied_versions(conn, done)) {
    res.error = *e;
  } else {
    res.ok = true;
    if (!done.empty() && !migrations().empty() && *done.rbegin() > migrations().back().version)
      spdlog::warn("migrate: the database has migration {}, newer than this binary knows ({})",
                   *done.rbegin(), migrations().back().version);
    for (const migration& m : migrations()) {
      if (done.contains(m.version)) continue;
      if (auto e = apply(conn, m)) {
        res.ok = false;
        res.error = *e;
        break;
      }
      spdlog::debug("migrate: applied {}", m.name);  // the caller reports `applied`
      res.applied.push_back(m.version);
    }
  }
  conn.exec(unlock_sql);
  return res;
}

}  // namespace caliper_sessiond::store
