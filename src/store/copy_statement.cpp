// The COPY variant of the batch statement (see batch_statement.hpp), kept for
// bench/batch_statement and as the writer's alternative. It stores each row with its texts in
// place (the form of the rows before migration 009), which caliper.session_events reads too.
#include <string>

#include "batch_statement.hpp"
#include "caliper_sessiond/caliper/time.hpp"
#include "encode.hpp"

namespace caliper_sessiond::store {
namespace {

// ON COMMIT DELETE ROWS empties it at every commit, so a batch never sees another's rows.
constexpr const char* create_staging_sql = R"sql(
CREATE TEMP TABLE IF NOT EXISTS caliper_batch_staging (
  ord int, event_id uuid, source text, action caliper.session_action, event_time timestamptz,
  actor_id text, user_id text, user_lms_id text, user_external_id text, session_id text,
  session_name text, user_agent text, ip_address inet, ed_app_id text, sensor text,
  received_at timestamptz
) ON COMMIT DELETE ROWS
)sql";

constexpr const char* copy_staging_sql =
    "COPY caliper_batch_staging (ord, event_id, source, action, event_time, actor_id, user_id, "
    "user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id, "
    "sensor, received_at) FROM STDIN";

constexpr const char* insert_from_staging_sql = R"sql(
INSERT INTO caliper.event_rows (event_id, source, action, event_time, actor_id, user_id,
  user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id,
  sensor, received_at)
SELECT event_id, source, action, event_time, actor_id, user_id, user_lms_id, user_external_id,
  session_id, session_name, user_agent, ip_address, ed_app_id, sensor, received_at
FROM caliper_batch_staging ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING event_id, event_time
)sql";

constexpr const char* copy_rejects_sql =
    "COPY caliper.rejected_events (received_at, source, reason, raw) FROM STDIN";

std::string event_copy_rows(std::span<const event_row> rows) {
  std::string out;
  out.reserve(rows.size() * 400);
  int ord = 0;
  for (const event_row& r : rows) {
    const caliper::session_event& e = *r.event;
    const auto field = [&out](std::string_view v) {
      encode::append_copy_field(out, v);
      out += '\t';
    };
    const auto nullable = [&out](const std::optional<std::string>& v) {
      encode::append_copy_nullable(out, v);
      out += '\t';
    };
    out += std::to_string(ord++);
    out += '\t';
    field(e.event_id);
    field(r.source);
    field(caliper::to_string(e.action));
    field(caliper::format_timestamp_us(e.event_time_us));
    field(e.actor_id);
    field(e.user_id);
    nullable(e.user_lms_id);
    nullable(e.user_external_id);
    nullable(e.session_id);
    nullable(e.session_name);
    nullable(e.user_agent);
    nullable(e.ip_address);
    nullable(e.ed_app_id);
    field(e.sensor);
    encode::append_copy_field(out, caliper::format_timestamp_us(r.received_at_us));
    out += '\n';
  }
  return out;
}

std::string reject_copy_rows(std::span<const reject_row> rejects) {
  std::string out;
  for (const reject_row& r : rejects) {
    encode::append_copy_field(out, caliper::format_timestamp_us(r.received_at_us));
    out += '\t';
    encode::append_copy_field(out, r.source);
    out += '\t';
    encode::append_copy_field(out, r.reason);
    out += '\t';
    encode::append_copy_field(out, r.raw);
    out += '\n';
  }
  return out;
}

std::optional<pg::error> copy_in(const pg::connection& conn, const char* sql,
                                 const std::string& data) {
  if (auto err = conn.check(conn.exec(sql), PGRES_COPY_IN)) return err;
  if (!conn.put_copy_data(data) || !conn.put_copy_end()) return conn.check(pg::result{}, PGRES_COMMAND_OK);
  std::optional<pg::error> err = conn.check(conn.get_result(), PGRES_COMMAND_OK);
  while (pg::result extra = conn.get_result()) {
  }
  return err;
}

std::optional<pg::error> copy_transaction(const pg::connection& conn,
                                          std::span<const event_row> rows,
                                          std::span<const reject_row> rejects,
                                          std::vector<bool>& inserted) {
  if (auto err = conn.check(conn.exec("BEGIN"), PGRES_COMMAND_OK)) return err;
  if (!rows.empty()) {
    if (auto err = copy_in(conn, copy_staging_sql, event_copy_rows(rows))) return err;
    const auto r = conn.exec_params(insert_from_staging_sql, {}, {}, {}, /*binary_results=*/true);
    if (auto err = conn.check(r, PGRES_TUPLES_OK)) return err;
    attribute_returned(r, rows, inserted);
  }
  if (!rejects.empty()) {
    if (auto err = copy_in(conn, copy_rejects_sql, reject_copy_rows(rejects))) return err;
  }
  return conn.check(conn.exec("COMMIT"), PGRES_COMMAND_OK);
}

}  // namespace

std::optional<pg::error> prepare_copy_statement(const pg::connection& conn) {
  return conn.check(conn.exec(create_staging_sql), PGRES_COMMAND_OK);
}

std::optional<pg::error> write_with_copy(const pg::connection& conn,
                                         std::span<const event_row> rows,
                                         std::span<const reject_row> rejects,
                                         std::vector<bool>& inserted) {
  inserted.assign(rows.size(), false);
  auto err = copy_transaction(conn, rows, rejects, inserted);
  if (err && conn.ok()) conn.exec("ROLLBACK");  // ends the failed transaction; harmless if none
  return err;
}

}  // namespace caliper_sessiond::store
