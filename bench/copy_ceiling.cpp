// caliper-copy-ceiling: the database ceiling of bench/run. COPYs rows shaped like the ones
// caliper-sessiond stores for caliper-loadgen's envelopes (same IRIs, user spread, actions,
// NULLs for TimedOut) straight into caliper.event_rows (the rows behind the view
// caliper.session_events), with their texts in place, so the partitioned table, its
// indexes and the caliper.sessions trigger all do their work, but no conflict handling, no
// RETURNING and no HTTP. One COPY per batch, one transaction per COPY (autocommit).
//
//   caliper-copy-ceiling --url DATABASE_URL [--connections 2] [--seconds 10] [--batch 1000]
//                        [--events 10] [--rows N] [--table caliper.event_rows]
//                        [--session-events K]
// Prints one JSON line shaped like caliper-loadgen's: requests are COPY statements (and their
// latency), events are rows; --events is only echoed as events_per_envelope. --rows N stops
// after N rows (the COPY ceiling for bench/import.sh's N events) instead of after --seconds.
// --session-events K: every session has K events (a LoggedIn first, a LoggedOut or TimedOut
// last) that arrive thousands of rows apart, as a campus delivers them, instead of loadgen's one
// session per user that every event updates (0, the default); bench/sessions_cost.sh compares both.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "events.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string url;
  int connections = 2;
  double seconds = 10;
  int batch = 1000;
  int events = 10;
  std::string table = "caliper.event_rows";  ///< --table: the raw ceiling uses a plain copy
  long long rows = 0;  ///< stop after this many rows (0: run for `seconds`)
  int session_events = 0;  ///< rows per new session (0: one session per user, as loadgen)
};

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--url") o.url = v;
    else if (a == "--connections") o.connections = std::stoi(v);
    else if (a == "--seconds") o.seconds = std::stod(v);
    else if (a == "--batch") o.batch = std::stoi(v);
    else if (a == "--events") o.events = std::stoi(v);
    else if (a == "--table") o.table = v;
    else if (a == "--rows") o.rows = std::stoll(v);
    else if (a == "--session-events") o.session_events = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.url.empty()) {
    std::fprintf(stderr, "--url is required\n");
    std::exit(2);
  }
  return o;
}

constexpr const char* copy_columns =
    " (event_id, source, action, event_time, actor_id, user_id, user_lms_id, "
    "user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id, sensor, received_at) "
    "FROM STDIN";

/// Who and what one row is: loadgen's shape (any user, session S<user>, any action) or, with
/// --session-events K, the `n`th row of a stream whose every K rows are one session.
struct row_shape {
  std::string user;
  std::string session;
  const char* action;
};

row_shape next_shape(std::mt19937_64& rng, int session_events, int stream, std::uint64_t n) {
  static const char* actions[] = {"LoggedIn", "LoggedOut", "TimedOut"};
  if (session_events <= 0) {
    auto user = std::to_string(rng() % 20000);
    return {user, "S" + user, actions[rng() % 3]};
  }
  // Row n is event `step` of session `base - step * lag`: a session's events lie `lag` sessions
  // (lag * K rows, 5 batches of 1,000 and more) apart, so they reach the trigger in different
  // batches, as a login and its logout hours apart do. The first sessions' ends come without
  // their logins (as lost logins do).
  constexpr std::int64_t lag = 2500;
  const auto k = static_cast<std::uint64_t>(session_events);
  const auto step = n % k;
  const auto session = static_cast<std::int64_t>(n / k) - static_cast<std::int64_t>(step) * lag;
  const char* action = step == 0 ? "LoggedIn" : step + 1 == k ? actions[1 + rng() % 2] : actions[rng() % 3];
  const auto user = ((session * 7919 + stream) % 20000 + 20000) % 20000;
  return {std::to_string(user), "S" + std::to_string(stream) + "-" + std::to_string(session), action};
}

/// One COPY text row with the values caliper-sessiond stores for a loadgen SessionEvent.
void append_row(std::string& out, std::mt19937_64& rng, const std::string& received_at, const row_shape& r) {
  const std::string& site = caliper_bench::learn_site;
  const std::string& user = r.user;
  const auto ms = std::to_string(rng() % 1000);
  const char* action = r.action;
  const bool timed_out = action[0] == 'T';
  const std::string user_iri = site + "/users/u" + user;
  out += caliper_bench::uuid4(rng);
  out += "\tbench\t";
  out += action;
  out += "\t2026-11-27 09:00:00." + std::string(3 - ms.size(), '0') + ms + "+00\t";
  out += timed_out ? site + "/applications/learn" : user_iri;
  out += '\t' + user_iri + '\t';
  out += timed_out ? "\\N\t\\N\t" : "_" + user + "_1\ts" + user + '\t';
  out += site + "/sessions/" + r.session + "\t" + r.session + '\t';
  out += timed_out ? "\\N\t\\N\t"
                   : "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0\t198.51.100." + std::to_string(rng() % 250) + '\t';
  out += site + "/applications/learn\t0f3a6c2e-5b1d-4e8a-9c7f-2d4b6a8e1c35\t" + received_at + '\n';
}

std::string now_timestamptz() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S+00", &tm);
  return buf;
}

/// Runs one COPY of `data`; returns the error message, empty on success.
std::string copy_batch(PGconn* conn, const std::string& sql, const std::string& data) {
  PGresult* r = PQexec(conn, sql.c_str());
  const bool in = PQresultStatus(r) == PGRES_COPY_IN;
  PQclear(r);
  if (!in) return PQerrorMessage(conn);
  if (PQputCopyData(conn, data.data(), static_cast<int>(data.size())) != 1 || PQputCopyEnd(conn, nullptr) != 1)
    return PQerrorMessage(conn);
  std::string error;
  while ((r = PQgetResult(conn)) != nullptr) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  return error;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse_args(argc, argv);
  std::vector<PGconn*> conns;
  for (int i = 0; i < o.connections; ++i) {
    PGconn* c = PQconnectdb(o.url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::fprintf(stderr, "connect: %s", PQerrorMessage(c));
      return 1;
    }
    conns.push_back(c);
  }
  const std::string sql = "COPY " + o.table + copy_columns;
  std::mutex mutex;
  std::vector<double> latencies;
  std::uint64_t rows = 0, ok = 0, failed = 0;
  std::atomic<bool> stop{false};
  std::atomic<long long> rows_claimed{0};  // --rows: batches claim their rows before copying
  const auto start = clock_type::now();
  const auto end = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(0xc0b1 + i * 104729 + std::random_device{}());
      std::vector<double> lat;
      std::uint64_t my_rows = 0, my_ok = 0, my_failed = 0, n = 0;
      std::string data;
      while (!stop.load() && (o.rows > 0 || clock_type::now() < end)) {
        int batch = o.batch;
        if (o.rows > 0) {
          const long long first = rows_claimed.fetch_add(o.batch);
          if (first >= o.rows) break;
          batch = static_cast<int>(std::min<long long>(o.batch, o.rows - first));
        }
        data.clear();
        const auto received_at = now_timestamptz();
        for (int k = 0; k < batch; ++k) append_row(data, rng, received_at, next_shape(rng, o.session_events, i, n++));
        const auto t0 = clock_type::now();
        const auto error = copy_batch(conns[static_cast<std::size_t>(i)], sql, data);
        lat.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        if (!error.empty()) {
          std::fprintf(stderr, "copy: %s", error.c_str());
          ++my_failed;
          stop = true;
          break;
        }
        ++my_ok;
        my_rows += static_cast<std::uint64_t>(batch);
      }
      std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), lat.begin(), lat.end());
      rows += my_rows;
      ok += my_ok;
      failed += my_failed;
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  for (PGconn* c : conns) PQfinish(c);
  std::printf("{\"connections\":%d,\"events_per_envelope\":%d,\"batch_rows\":%d,\"seconds\":%.2f,\"requests_ok\":%llu,"
              "\"requests_failed\":%llu,\"connection_errors\":0,\"requests_per_s\":%.1f,\"events_per_s\":%.1f,"
              "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"statuses\":{}}\n",
              o.connections, o.events, o.batch, secs, static_cast<unsigned long long>(ok),
              static_cast<unsigned long long>(failed), static_cast<double>(ok) / secs,
              static_cast<double>(rows) / secs, percentile(latencies, 0.5), percentile(latencies, 0.99),
              percentile(latencies, 0.999));
  return failed == 0 && ok > 0 ? 0 : 1;
}
