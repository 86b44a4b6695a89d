#include "batch_statement.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "caliper_sessiond/caliper/time.hpp"
#include "encode.hpp"

namespace caliper_sessiond::store {
namespace {

constexpr const char* array_statement_name = "caliper_write_batch";

// $1-$15: one array per column of caliper.session_events; $16-$19: the rejects.
// caliper.write_events (sql/009) stores both in one call: the same implicit transaction and
// round trip, and the long texts as keys into caliper.texts.
constexpr const char* array_statement_sql = R"sql(
SELECT * FROM caliper.write_events($1::uuid[], $2::text[], $3::caliper.session_action[],
  $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
  $11::text[], $12::inet[], $13::text[], $14::text[], $15::timestamptz[],
  $16::timestamptz[], $17::text[], $18::text[], $19::text[])
)sql";
constexpr int array_statement_params = 19;

using row_key = std::pair<std::array<std::uint8_t, 16>, std::int64_t>;

std::int64_t read_be64(std::string_view v) noexcept {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < 8 && i < v.size(); ++i) x = (x << 8) | static_cast<std::uint8_t>(v[i]);
  return static_cast<std::int64_t>(x);
}

}  // namespace

std::optional<pg::error> prepare_array_statement(const pg::connection& conn) {
  const auto r = conn.prepare(array_statement_name, array_statement_sql, array_statement_params);
  return conn.check(r, PGRES_COMMAND_OK);
}

std::optional<pg::error> write_with_arrays(const pg::connection& conn,
                                           std::span<const event_row> rows,
                                           std::span<const reject_row> rejects,
                                           std::vector<bool>& inserted) {
  std::array<encode::array_literal, array_statement_params> cols;
  for (const event_row& r : rows) {
    const caliper::session_event& e = *r.event;
    cols[0].add(e.event_id);
    cols[1].add(r.source);
    cols[2].add(caliper::to_string(e.action));
    cols[3].add(caliper::format_timestamp_us(e.event_time_us));
    cols[4].add(e.actor_id);
    cols[5].add(e.user_id);
    cols[6].add_nullable(e.user_lms_id);
    cols[7].add_nullable(e.user_external_id);
    cols[8].add_nullable(e.session_id);
    cols[9].add_nullable(e.session_name);
    cols[10].add_nullable(e.user_agent);
    cols[11].add_nullable(e.ip_address);
    cols[12].add_nullable(e.ed_app_id);
    cols[13].add(e.sensor);
    cols[14].add(caliper::format_timestamp_us(r.received_at_us));
  }
  for (const reject_row& r : rejects) {
    cols[15].add(caliper::format_timestamp_us(r.received_at_us));
    cols[16].add(r.source);
    cols[17].add(r.reason);
    cols[18].add(r.raw);
  }
  std::array<std::string, array_statement_params> text;
  std::array<const char*, array_statement_params> values{};
  for (std::size_t i = 0; i < cols.size(); ++i) {
    text[i] = cols[i].finish();
    values[i] = text[i].c_str();
  }
  const auto r = conn.exec_prepared(array_statement_name, values, {}, {}, /*binary_results=*/true);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) return err;
  attribute_returned(r, rows, inserted);
  return std::nullopt;
}

std::optional<pg::error> write_with_binary_arrays(const pg::connection& conn,
                                                  std::span<const event_row> rows,
                                                  std::span<const reject_row> rejects,
                                                  std::vector<bool>& inserted) {
  using encode::binary_array;
  // The enum and inet columns stay text literals: their binary forms are not worth owning.
  // So does the id column when some id is not a UUID here: the server then refuses that row
  // with the same error the text statement would get, and bisection finds it.
  encode::array_literal actions, addresses;
  // The binary arrays are built in place and kept by the writer's thread from one batch to the
  // next: a batch of 1,000 events is ~1 MB of them, which grown and copied again for each batch
  // (and mapped and unmapped by malloc: it is over its mmap threshold) cost the writer more
  // than the rest of its encoding.
  struct builders {
    binary_array ids{encode::uuid_oid}, event_times{encode::timestamptz_oid}, received{encode::timestamptz_oid},
        reject_received{encode::timestamptz_oid};
    std::array<binary_array, 13> texts{
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid),
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid),
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid),
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid),
        binary_array(encode::text_oid)};
    void clear() {
      for (auto* a : {&ids, &event_times, &received, &reject_received}) a->clear();
      for (auto& a : texts) a.clear();
    }
  };
  thread_local builders b;
  // Cleared on the way out (an exception included), so each call starts empty and an idle
  // writer keeps at most the bound.
  struct clear_on_exit {
    builders& b;
    ~clear_on_exit() { b.clear(); }
  } const clear_after{b};
  auto& [ids, event_times, received, reject_received, texts] = b;
  bool ids_binary = true;
  for (const event_row& r : rows) {
    const caliper::session_event& e = *r.event;
    if (const auto id = encode::uuid_bytes(e.event_id); id && ids_binary)
      ids.add(std::string_view(reinterpret_cast<const char*>(id->data()), id->size()));
    else
      ids_binary = false;
    texts[0].add(r.source);
    actions.add(caliper::to_string(e.action));
    event_times.add_int64(e.event_time_us - encode::pg_epoch_offset_us);
    texts[1].add(e.actor_id);
    texts[2].add(e.user_id);
    texts[3].add_nullable(e.user_lms_id);
    texts[4].add_nullable(e.user_external_id);
    texts[5].add_nullable(e.session_id);
    texts[6].add_nullable(e.session_name);
    texts[7].add_nullable(e.user_agent);
    addresses.add_nullable(e.ip_address);
    texts[8].add_nullable(e.ed_app_id);
    texts[9].add(e.sensor);
    received.add_int64(r.received_at_us - encode::pg_epoch_offset_us);
  }
  for (const reject_row& r : rejects) {
    reject_received.add_int64(r.received_at_us - encode::pg_epoch_offset_us);
    texts[10].add(r.source);
    texts[11].add(r.reason);
    texts[12].add(r.raw);
  }
  // Parameter order as in array_statement_sql; 0 = text format, 1 = binary.
  // The ids as a text literal only when one of them is not a UUID (rare: a refused batch).
  std::string id_literal;
  if (!ids_binary) {
    encode::array_literal id_text;
    for (const event_row& r : rows) id_text.add(r.event->event_id);
    id_literal = id_text.finish();
  }
  const std::string action_literal = actions.finish(), address_literal = addresses.finish();
  const std::array<std::string_view, array_statement_params> data{
      ids_binary ? ids.view() : std::string_view(id_literal), texts[0].view(), action_literal,
      event_times.view(), texts[1].view(), texts[2].view(), texts[3].view(),
      texts[4].view(), texts[5].view(), texts[6].view(), texts[7].view(),
      address_literal, texts[8].view(), texts[9].view(), received.view(),
      reject_received.view(), texts[10].view(), texts[11].view(), texts[12].view()};
  std::array<int, array_statement_params> formats{};
  formats.fill(1);
  formats[0] = ids_binary ? 1 : 0;
  formats[2] = 0;
  formats[11] = 0;
  std::array<const char*, array_statement_params> values{};
  std::array<int, array_statement_params> lengths{};
  for (std::size_t i = 0; i < data.size(); ++i) {
    values[i] = data[i].data();
    lengths[i] = static_cast<int>(data[i].size());
  }
  const auto r = conn.exec_prepared(array_statement_name, values, lengths, formats,
                                    /*binary_results=*/true);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) return err;
  attribute_returned(r, rows, inserted);
  return std::nullopt;
}

void attribute_returned(const pg::result& returned, std::span<const event_row> rows,
                        std::vector<bool>& inserted) {
  const auto n = static_cast<std::size_t>(returned.rows());
  inserted.assign(rows.size(), n == rows.size());
  if (n == 0 || n == rows.size()) return;
  // Each key comes back at most once (it is the primary key); the first row of the batch
  // that carries it is the one counted as inserted, the others as duplicates.
  std::vector<row_key> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view id = returned.value(static_cast<int>(i), 0);
    std::memcpy(keys[i].first.data(), id.data(), std::min<std::size_t>(id.size(), 16));
    keys[i].second = read_be64(returned.value(static_cast<int>(i), 1));
  }
  std::sort(keys.begin(), keys.end());
  std::vector<bool> used(n, false);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto id = encode::uuid_bytes(rows[i].event->event_id);
    if (!id) continue;
    const row_key key{*id, rows[i].event->event_time_us - encode::pg_epoch_offset_us};
    const auto it = std::lower_bound(keys.begin(), keys.end(), key);
    if (it == keys.end() || *it != key) continue;
    const auto k = static_cast<std::size_t>(it - keys.begin());
    if (used[k]) continue;
    used[k] = true;
    inserted[i] = true;
  }
}

}  // namespace caliper_sessiond::store
