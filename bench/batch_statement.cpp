// Measures the two ways the writer can send a batch, and a plain COPY as the ceiling:
//   copy_temp  COPY into a TEMP table (ON COMMIT DELETE ROWS), INSERT ... SELECT ... ON
//              CONFLICT DO NOTHING RETURNING, COMMIT (write_with_copy)
//   arrays     one INSERT ... SELECT FROM unnest($1::uuid[], ...) ON CONFLICT DO NOTHING
//              RETURNING, text-format array parameters, rejects in a CTE (write_with_arrays)
//   arrays_bin the same with binary uuid[], timestamptz[] and text[] parameters
//   copy_plain COPY straight into caliper.session_events: no conflict handling, no RETURNING
// Usage: batch_statement_bench DATABASE_URL [RUNS] [EVENTS_PER_RUN]
// Prints events/s per batch size (10, 100, 1000), the median of RUNS runs (default 5).
// Each run starts from an empty caliper.session_events (TRUNCATE) of a migrated database.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "batch_statement.hpp"
#include "caliper_sessiond/caliper/time.hpp"
#include "caliper_sessiond/store/migrations.hpp"
#include "encode.hpp"
#include "pg_connection.hpp"

namespace {

using namespace caliper_sessiond;
using store::event_row;
using store::reject_row;

constexpr const char* truncate_sql = "TRUNCATE caliper.event_rows";
constexpr const char* copy_plain_sql =
    "COPY caliper.event_rows (event_id, source, action, event_time, actor_id, user_id, "
    "user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id, "
    "sensor, received_at) FROM STDIN";

/// An event shaped like Learn's: IRIs of realistic length, a browser string, an address.
caliper::session_event make_event(std::uint64_t n) {
  caliper::session_event e;
  e.event_id = fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", n * 2654435761U % 0xffffffffU,
                           n % 0xffff, n % 0xfff, (n >> 12) % 0xfff, n);
  e.action = static_cast<caliper::session_action>(n % 3);
  e.event_time_us = 1'709'622'489'000'000 + static_cast<std::int64_t>(n) * 1000;
  const std::string site = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/0b8c3d2e-5f1a-4c7b-9d3e-2a1f0e9b8c7d";
  e.actor_id = fmt::format("{}/users/{:032x}", site, n % 5000);
  e.user_id = e.actor_id;
  e.user_lms_id = fmt::format("_{}_1", n % 5000);
  e.user_external_id = fmt::format("student{:06}", n % 5000);
  e.session_id = fmt::format("{}/sessions/{:032x}", site, n / 3);
  e.session_name = fmt::format("{:032x}", n / 3);
  e.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                 "Chrome/120.0.0.0 Safari/537.36";
  e.ip_address = fmt::format("10.{}.{}.{}", n % 256, (n / 256) % 256, (n / 65536) % 256);
  e.ed_app_id = site;
  e.sensor = "0b8c3d2e-5f1a-4c7b-9d3e-2a1f0e9b8c7d";
  return e;
}

std::optional<store::pg::error> write_copy_plain(const store::pg::connection& conn,
                                                 std::span<const event_row> rows,
                                                 std::span<const reject_row>, std::vector<bool>&) {
  std::string data;
  data.reserve(rows.size() * 600);
  for (const event_row& r : rows) {
    const caliper::session_event& e = *r.event;
    using store::encode::append_copy_field;
    using store::encode::append_copy_nullable;
    const auto tab = [&data] { data += '\t'; };
    append_copy_field(data, e.event_id), tab();
    append_copy_field(data, r.source), tab();
    append_copy_field(data, caliper::to_string(e.action)), tab();
    append_copy_field(data, caliper::format_timestamp_us(e.event_time_us)), tab();
    append_copy_field(data, e.actor_id), tab();
    append_copy_field(data, e.user_id), tab();
    append_copy_nullable(data, e.user_lms_id), tab();
    append_copy_nullable(data, e.user_external_id), tab();
    append_copy_nullable(data, e.session_id), tab();
    append_copy_nullable(data, e.session_name), tab();
    append_copy_nullable(data, e.user_agent), tab();
    append_copy_nullable(data, e.ip_address), tab();
    append_copy_nullable(data, e.ed_app_id), tab();
    append_copy_field(data, e.sensor), tab();
    append_copy_field(data, caliper::format_timestamp_us(r.received_at_us));
    data += '\n';
  }
  // Outside a transaction block the COPY is its own transaction: one commit per batch.
  if (auto err = conn.check(conn.exec(copy_plain_sql), PGRES_COPY_IN)) return err;
  if (!conn.put_copy_data(data) || !conn.put_copy_end())
    return conn.check(store::pg::result{}, PGRES_COMMAND_OK);
  auto err = conn.check(conn.get_result(), PGRES_COMMAND_OK);
  while (store::pg::result extra = conn.get_result()) {
  }
  return err;
}

struct method {
  const char* name;
  store::batch_write_fn write;
  std::optional<store::pg::error> (*prepare)(const store::pg::connection&);
};

double run_once(const store::pg::connection& conn, const method& m,
                const std::vector<caliper::session_event>& events, std::size_t batch) {
  if (auto err = conn.check(conn.exec(truncate_sql), PGRES_COMMAND_OK)) {
    fmt::print(stderr, "TRUNCATE failed: {}\n", err->message);
    std::exit(1);
  }
  std::vector<event_row> rows;
  std::vector<bool> inserted;
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < events.size(); i += batch) {
    rows.clear();
    for (std::size_t j = i; j < std::min(events.size(), i + batch); ++j)
      rows.push_back({&events[j], "learn-prod", 1'709'622'500'000'000});
    if (auto err = m.write(conn, rows, {}, inserted)) {
      fmt::print(stderr, "{} failed: {} {}\n", m.name, err->sqlstate, err->message);
      std::exit(1);
    }
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  return static_cast<double>(events.size()) / took.count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: {} DATABASE_URL [RUNS] [EVENTS_PER_RUN]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const int runs = std::max(3, argc > 2 ? std::atoi(argv[2]) : 5);
  const std::size_t per_run = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 20'000;

  if (const auto m = store::migrate(url); !m.ok) {
    fmt::print(stderr, "migrate failed: {}\n", m.error);
    return 1;
  }
  const auto conn = store::pg::connection::connect(url);
  if (!conn.ok()) {
    fmt::print(stderr, "cannot connect to {}: {}\n", store::pg::redact_conninfo(url), conn.error_message());
    return 1;
  }
  const std::vector<method> methods{
      {"copy_temp", store::write_with_copy, store::prepare_copy_statement},
      {"arrays", store::write_with_arrays, store::prepare_array_statement},
      {"arrays_bin", store::write_with_binary_arrays, nullptr},
      {"copy_plain", write_copy_plain, nullptr},
  };
  for (const method& m : methods) {
    if (m.prepare == nullptr) continue;
    if (auto err = m.prepare(conn)) {
      fmt::print(stderr, "prepare {} failed: {}\n", m.name, err->message);
      return 1;
    }
  }
  std::vector<caliper::session_event> events;
  events.reserve(per_run);
  for (std::size_t i = 0; i < per_run; ++i) events.push_back(make_event(i));

  fmt::print("{} events per run, median of {} runs, events/s\n", per_run, runs);
  fmt::print("{:>6}", "batch");
  for (const method& m : methods) fmt::print(" {:>12}", m.name);
  fmt::print("\n");
  for (const std::size_t batch : {10U, 100U, 1000U}) {
    std::vector<std::vector<double>> rates(methods.size());
    for (int r = 0; r < runs; ++r)  // interleaved, so drift hits every method alike
      for (std::size_t k = 0; k < methods.size(); ++k)
        rates[k].push_back(run_once(conn, methods[k], events, batch));
    fmt::print("{:>6}", batch);
    for (auto& v : rates) {
      std::sort(v.begin(), v.end());
      fmt::print(" {:>12.0f}", v[v.size() / 2]);
    }
    fmt::print("\n");
  }
  return 0;
}
