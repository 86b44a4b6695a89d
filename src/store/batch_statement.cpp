#include "batch_statement.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <tuple>

#include "caliper_sessiond/caliper/time.hpp"
#include "encode.hpp"
#include "text_key_cache.hpp"

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

// The writer's statements (sql/010). The keys of texts it does not know yet:
constexpr const char* keys_statement_name = "caliper_text_keys";
constexpr const char* keys_statement_sql = "SELECT id, value FROM caliper.text_keys($1::text[])";
// A batch as keys: one plain INSERT, the rejects in the same statement (same transaction and
// round trip). $1-$11 the row's own columns (a session IRI as its tail in session_tail, or in
// place in session_id when it ends with '/': sql/011), $12-$17 the keys of the actor (NULL:
// the user), user (sql/012), user agent, edApp, sensor and session IRI prefix, $18 whether the
// session's name is the tail, $19-$22 the rejects.
constexpr const char* rows_statement_name = "caliper_write_rows";
constexpr const char* rows_statement_sql = R"sql(
WITH rejects AS (
  INSERT INTO caliper.rejected_events (received_at, source, reason, raw)
  SELECT * FROM unnest($19::timestamptz[], $20::text[], $21::text[], $22::text[]))
INSERT INTO caliper.event_rows (event_id, source, action, event_time, user_lms_id,
  user_external_id, session_id, session_tail, session_name, ip_address, received_at,
  actor_ref, user_ref, user_agent_ref, ed_app_ref, sensor_ref, session_prefix_ref, session_name_is_tail)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::caliper.session_action[], $4::timestamptz[],
  $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::inet[], $11::timestamptz[],
  $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[],
  $18::boolean[])
ON CONFLICT DO NOTHING
RETURNING event_id, event_time
)sql";
constexpr int rows_statement_params = 22;
// The same without ON CONFLICT: the writer's first try. An arbiter index makes PostgreSQL look
// each row's key up before its insert and then descend the primary key again to insert it; a
// plain INSERT checks uniqueness in that one descent (bench/README.md, "A plain INSERT first":
// 22% less of PostgreSQL's CPU for the events alone). A resent event makes it fail (23505), and
// the batch is written again with ON CONFLICT DO NOTHING.
constexpr const char* new_rows_statement_name = "caliper_write_new_rows";
const std::string& new_rows_statement_sql() {
  static const std::string sql = [] {
    std::string s = rows_statement_sql;
    constexpr std::string_view clause = "ON CONFLICT DO NOTHING\n";
    s.erase(s.find(clause), clause.size());
    return s;
  }();
  return sql;
}

using row_key = std::pair<std::array<std::uint8_t, 16>, std::int64_t>;

std::int64_t read_be64(std::string_view v) noexcept {
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < 8 && i < v.size(); ++i) x = (x << 8) | static_cast<std::uint8_t>(v[i]);
  return static_cast<std::int64_t>(x);
}

}  // namespace

std::optional<pg::error> prepare_array_statement(const pg::connection& conn) {
  for (const auto& [name, sql, params] : {std::tuple{array_statement_name, array_statement_sql, array_statement_params},
                                          std::tuple{keys_statement_name, keys_statement_sql, 1},
                                          std::tuple{rows_statement_name, rows_statement_sql, rows_statement_params},
                                          std::tuple{new_rows_statement_name, new_rows_statement_sql().c_str(),
                                                     rows_statement_params}})
    if (auto err = conn.check(conn.prepare(name, sql, params), PGRES_COMMAND_OK)) return err;
  return std::nullopt;
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

namespace {

// The texts of an event that are stored as keys, in the order of the rows statement's key
// columns ($12-$17): the actor (only when it is not the user), the user, the user agent, the
// edApp, the sensor and the session IRI's prefix (when it is cut in two).
constexpr std::size_t key_columns = 6;

/// The event's session IRI cut in two, or nullopt: no session, or an IRI kept whole.
std::optional<encode::iri_parts> session_parts(const caliper::session_event& e) {
  if (!e.session_id) return std::nullopt;
  return encode::split_iri(*e.session_id);
}
std::array<std::optional<std::string_view>, key_columns> keyed_texts(const caliper::session_event& e) {
  const auto opt = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
    if (!s) return std::nullopt;
    return std::string_view(*s);
  };
  const auto session = session_parts(e);
  return {e.actor_id != e.user_id ? std::optional<std::string_view>(e.actor_id) : std::nullopt,
          std::optional<std::string_view>(e.user_id), opt(e.user_agent), opt(e.ed_app_id),
          std::optional<std::string_view>(e.sensor),
          session ? session->prefix : std::nullopt};
}

/// The writer thread's keys, for the connection they were asked on: a new connection starts
/// with none (it may reach another database, or one restored from a backup).
struct thread_keys {
  std::uint64_t connection = 0;
  text_key_cache cache;
};
thread_local writer_thread_settings thread_settings;
/// When the writer thread last met a resent event: its batches use ON CONFLICT DO NOTHING
/// for thread_settings.on_conflict_after_duplicate after it (a sender that resends tends to
/// resend more, and each plain INSERT that fails costs the batch's inserts once more).
thread_local std::optional<std::chrono::steady_clock::time_point> thread_last_duplicate;

/// Fills `keys` (one array per row, in keyed_texts' order; -1 where the text is absent) from
/// the cache, asking caliper.text_keys for the texts it lacks in one round trip.
std::optional<pg::error> resolve_keys(const pg::connection& conn, std::span<const event_row> rows,
                                      std::vector<std::array<std::int64_t, key_columns>>& keys) {
  thread_local thread_keys mine;
  if (mine.connection != conn.serial()) {
    mine.cache = text_key_cache(text_key_cache::default_ttl, thread_settings.max_bytes);
    mine.connection = conn.serial();
  }
  struct miss {
    std::string_view text;
    std::size_t row, column;
  };
  const auto asked_at = text_key_cache::clock::now();
  std::vector<miss> misses;
  keys.resize(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto texts = keyed_texts(*rows[i].event);
    for (std::size_t c = 0; c < key_columns; ++c) {
      keys[i][c] = -1;
      if (!texts[c]) continue;
      if (const auto k = mine.cache.find(*texts[c], asked_at))
        keys[i][c] = *k;
      else
        misses.push_back({*texts[c], i, c});
    }
  }
  if (misses.empty()) return std::nullopt;
  // Each missing text once, sorted: the answer's (text, key) pairs are looked up in the same order.
  std::vector<std::string_view> wanted;
  for (const miss& m : misses) wanted.push_back(m.text);
  std::sort(wanted.begin(), wanted.end());
  wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
  encode::binary_array texts(encode::text_oid);
  for (const std::string_view t : wanted) texts.add(t);
  const std::string_view param = texts.view();
  const std::array<const char*, 1> values{param.data()};
  const std::array<int, 1> lengths{static_cast<int>(param.size())}, formats{1};
  const auto r = conn.exec_prepared(keys_statement_name, values, lengths, formats, /*binary_results=*/true);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) return err;
  std::vector<std::pair<std::string_view, std::int64_t>> found;
  found.reserve(static_cast<std::size_t>(r.rows()));
  const std::uint64_t resets = mine.cache.resets();
  for (int i = 0; i < r.rows(); ++i) {
    found.emplace_back(r.value(i, 1), read_be64(r.value(i, 0)));
    mine.cache.put(found.back().first, found.back().second, asked_at);
  }
  if (thread_settings.asked) thread_settings.asked->fetch_add(wanted.size(), std::memory_order_relaxed);
  if (thread_settings.resets) thread_settings.resets->fetch_add(mine.cache.resets() - resets, std::memory_order_relaxed);
  std::sort(found.begin(), found.end());
  for (const miss& m : misses) {
    const auto it = std::lower_bound(found.begin(), found.end(), m.text,
                                     [](const auto& f, std::string_view t) { return f.first < t; });
    if (it == found.end() || it->first != m.text)
      return pg::error{pg::error_action::reconnect, "", "caliper.text_keys returned no key for a text it was given"};
    keys[m.row][m.column] = it->second;
  }
  return std::nullopt;
}

}  // namespace

void set_writer_thread_settings(const writer_thread_settings& settings) noexcept { thread_settings = settings; }

std::optional<pg::error> write_with_binary_arrays(const pg::connection& conn,
                                                  std::span<const event_row> rows,
                                                  std::span<const reject_row> rejects,
                                                  std::vector<bool>& inserted) {
  using encode::binary_array;
  std::vector<std::array<std::int64_t, key_columns>> keys;
  if (auto err = resolve_keys(conn, rows, keys)) return err;
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
    std::array<binary_array, 9> texts{
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid),
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid),
        binary_array(encode::text_oid), binary_array(encode::text_oid), binary_array(encode::text_oid)};
    std::array<binary_array, key_columns> refs{binary_array(encode::int8_oid), binary_array(encode::int8_oid),
                                               binary_array(encode::int8_oid), binary_array(encode::int8_oid),
                                               binary_array(encode::int8_oid), binary_array(encode::int8_oid)};
    binary_array name_is_tails{encode::bool_oid};
    void clear() {
      for (auto* a : {&ids, &event_times, &received, &reject_received, &name_is_tails}) a->clear();
      for (auto& a : texts) a.clear();
      for (auto& a : refs) a.clear();
    }
  };
  thread_local builders b;
  // Cleared on the way out (an exception included), so each call starts empty and an idle
  // writer keeps at most the bound.
  struct clear_on_exit {
    builders& b;
    ~clear_on_exit() { b.clear(); }
  } const clear_after{b};
  auto& [ids, event_times, received, reject_received, texts, refs, name_is_tails] = b;
  bool ids_binary = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const event_row& r = rows[i];
    const caliper::session_event& e = *r.event;
    if (const auto id = encode::uuid_bytes(e.event_id); id && ids_binary)
      ids.add(std::string_view(reinterpret_cast<const char*>(id->data()), id->size()));
    else
      ids_binary = false;
    texts[0].add(r.source);
    actions.add(caliper::to_string(e.action));
    event_times.add_int64(e.event_time_us - encode::pg_epoch_offset_us);
    texts[1].add_nullable(e.user_lms_id);
    texts[2].add_nullable(e.user_external_id);
    // The session IRI as its tail, its name only when it is not the tail; or the IRI whole.
    if (const auto parts = session_parts(e)) {
      texts[3].add_null();
      texts[4].add(parts->tail);
      const bool name_is_tail = e.session_name && *e.session_name == parts->tail;
      if (name_is_tail || !e.session_name)
        texts[5].add_null();
      else
        texts[5].add(*e.session_name);
      name_is_tails.add(name_is_tail ? std::string_view("\1", 1) : std::string_view("\0", 1));
    } else {
      texts[3].add_nullable(e.session_id);
      texts[4].add_null();
      texts[5].add_nullable(e.session_name);
      name_is_tails.add_null();
    }
    addresses.add_nullable(e.ip_address);
    received.add_int64(r.received_at_us - encode::pg_epoch_offset_us);
    for (std::size_t c = 0; c < key_columns; ++c) {
      if (keys[i][c] < 0)
        refs[c].add_null();
      else
        refs[c].add_int64(keys[i][c]);
    }
  }
  for (const reject_row& r : rejects) {
    reject_received.add_int64(r.received_at_us - encode::pg_epoch_offset_us);
    texts[6].add(r.source);
    texts[7].add(r.reason);
    texts[8].add(r.raw);
  }
  // Parameter order as in rows_statement_sql; 0 = text format, 1 = binary.
  // The ids as a text literal only when one of them is not a UUID (rare: a refused batch).
  std::string id_literal;
  if (!ids_binary) {
    encode::array_literal id_text;
    for (const event_row& r : rows) id_text.add(r.event->event_id);
    id_literal = id_text.finish();
  }
  const std::string action_literal = actions.finish(), address_literal = addresses.finish();
  const std::array<std::string_view, rows_statement_params> data{
      ids_binary ? ids.view() : std::string_view(id_literal), texts[0].view(), action_literal,
      event_times.view(), texts[1].view(), texts[2].view(), texts[3].view(), texts[4].view(),
      texts[5].view(), address_literal, received.view(), refs[0].view(), refs[1].view(), refs[2].view(),
      refs[3].view(), refs[4].view(), refs[5].view(), name_is_tails.view(),
      reject_received.view(), texts[6].view(), texts[7].view(), texts[8].view()};
  std::array<int, rows_statement_params> formats{};
  formats.fill(1);
  formats[0] = ids_binary ? 1 : 0;
  formats[2] = 0;
  formats[9] = 0;
  std::array<const char*, rows_statement_params> values{};
  std::array<int, rows_statement_params> lengths{};
  for (std::size_t i = 0; i < data.size(); ++i) {
    values[i] = data[i].data();
    lengths[i] = static_cast<int>(data[i].size());
  }
  const auto now = std::chrono::steady_clock::now();
  if (!thread_last_duplicate || now - *thread_last_duplicate >= thread_settings.on_conflict_after_duplicate) {
    const auto r = conn.exec_prepared(new_rows_statement_name, values, lengths, formats, /*binary_results=*/true);
    auto err = conn.check(r, PGRES_TUPLES_OK);
    if (!err) {
      attribute_returned(r, rows, inserted);
      return std::nullopt;
    }
    // unique_violation: only caliper.event_rows' primary key is unique among the tables this
    // statement inserts into without ON CONFLICT. Its implicit transaction is gone; nothing is
    // stored, the trigger did not run.
    if (err->sqlstate != "23505") return err;
    thread_last_duplicate = now;
    if (thread_settings.duplicate_retries) thread_settings.duplicate_retries->fetch_add(1, std::memory_order_relaxed);
  }
  const auto r = conn.exec_prepared(rows_statement_name, values, lengths, formats,
                                    /*binary_results=*/true);
  if (auto err = conn.check(r, PGRES_TUPLES_OK)) return err;
  if (static_cast<std::size_t>(r.rows()) < rows.size()) thread_last_duplicate = now;
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
