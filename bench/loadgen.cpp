// caliper-loadgen: posts realistic Caliper envelopes over TLS keep-alive connections and
// reports throughput and latency. Every event id answered 200 can be written to a file, so
// that a run can check afterwards that each one is in the table exactly once.
//
//   caliper-loadgen --url https://127.0.0.1:8443/caliper --key KEY [--cacert FILE]
//                   [--connections 8] [--seconds 10] [--events 10] [--other-share 0.3]
//                   [--rate 0] [--ids-out FILE] [--max-requests 0] [--reconnect 0|1]
//                   [--idle-connections 0] [--idle-interval 10] [--latencies-out FILE]
//                   [--nagle 0|1]
// --events: SessionEvents per envelope; --other-share: extra non-session events per
// SessionEvent (ViewEvents); --rate: total requests/s (0 = as fast as possible), spread evenly
// over time: the connections send in turn, not all at once.
// --max-requests: stop after this many requests in all (0 = until --seconds is over).
// --reconnect 1: when a connection fails (server killed or restarting), connect again (every
// 20 ms until --seconds is over) and go on; the request whose connection died got no 200 and
// is not recorded. Only ids of requests answered 200 go to --ids-out. A connection that the
// server closes after an answer (`Connection: close`: caliper-sessiond does so after
// server.keepalive_max_requests, 10,000 by default) is opened again at once, always, as real
// clients do; the output counts them in "server_closes".
// --idle-connections N: before the load starts, open N more TLS keep-alive connections (one
// thread drives them all), each posting one 1-event envelope at once and then one every
// --idle-interval seconds (below the server's read timeout) until --seconds is over: the
// memory check of bench/run. Their ids go to --ids-out too; they are not in the latency or
// throughput figures, and add "idle_*" fields to the output line.
// --nagle 1: leave Nagle's algorithm on (Beast's default). By default the busy connections set
// TCP_NODELAY, as curl, Go's net/http and Python's urllib3 do: with Nagle on, a body of several
// TLS records can end in a small segment held back until the server's delayed ACK (40 ms on
// Linux), which measured the client, not the server (bench/README, run 9).
// --latencies-out FILE: one line per request answered 200, "<s> <connection> <ms>": when it was
// sent (or scheduled, with --rate), in seconds from the start, and its latency; to see whether
// the slow answers come together (a stall) or one by one.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <memory>
#include <thread>
#include <vector>

#include "events.hpp"

#include <sys/resource.h>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1", port = "8443", path = "/caliper", key, cacert;
  bool tls = true;
  int connections = 8;
  double seconds = 10;
  int events = 10;
  double other_share = 0.3;
  double rate = 0;
  std::string ids_out;
  std::string latencies_out;
  long long max_requests = 0;
  bool reconnect = false;
  bool nagle = false;
  int idle_connections = 0;
  double idle_interval = 10;
};

options parse_args(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--url") {
      o.tls = v.rfind("https://", 0) == 0;
      auto rest = v.substr(v.find("://") + 3);
      const auto slash = rest.find('/');
      o.path = slash == std::string::npos ? "/caliper" : rest.substr(slash);
      rest = rest.substr(0, slash);
      const auto colon = rest.rfind(':');
      o.host = rest.substr(0, colon);
      o.port = colon == std::string::npos ? (o.tls ? "443" : "80") : rest.substr(colon + 1);
    } else if (a == "--key") o.key = v;
    else if (a == "--cacert") o.cacert = v;
    else if (a == "--connections") o.connections = std::stoi(v);
    else if (a == "--seconds") o.seconds = std::stod(v);
    else if (a == "--events") o.events = std::stoi(v);
    else if (a == "--other-share") o.other_share = std::stod(v);
    else if (a == "--rate") o.rate = std::stod(v);
    else if (a == "--ids-out") o.ids_out = v;
    else if (a == "--latencies-out") o.latencies_out = v;
    else if (a == "--max-requests") o.max_requests = std::stoll(v);
    else if (a == "--reconnect") o.reconnect = v == "1" || v == "true";
    else if (a == "--nagle") o.nagle = v == "1" || v == "true";
    else if (a == "--idle-connections") o.idle_connections = std::stoi(v);
    else if (a == "--idle-interval") o.idle_interval = std::stod(v);
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.key.empty()) {
    std::fprintf(stderr, "--key is required\n");
    std::exit(2);
  }
  return o;
}

/// One Learn-shaped envelope: `n` SessionEvents plus some ViewEvents. Returns the session ids.
std::string envelope(std::mt19937_64& rng, int n, double other_share, std::vector<std::string>& ids) {
  static const char* actions[] = {"LoggedIn", "LoggedOut", "TimedOut"};
  const std::string& site = caliper_bench::learn_site;
  std::string body = R"({"sensor":"0f3a6c2e-5b1d-4e8a-9c7f-2d4b6a8e1c35","sendTime":"2026-11-27T09:00:01.250Z",)"
                     R"("dataVersion":"http://purl.imsglobal.org/ctx/caliper/v1p1","data":[)";
  const int others = static_cast<int>(n * other_share + 0.5);
  for (int i = 0; i < n + others; ++i) {
    if (i) body += ',';
    const auto id = caliper_bench::uuid4(rng);
    const auto user = std::to_string(rng() % 20000);
    const auto ms = std::to_string(rng() % 1000);
    if (i >= n) {
      body += R"({"@context":"http://purl.imsglobal.org/ctx/caliper/v1p1","type":"ViewEvent","id":")" + id +
              R"(","actor":")" + site + "/users/u" + user + R"(","action":"Viewed","object":")" + site +
              R"(/courses/_12_1","eventTime":"2026-11-27T09:00:00.)" + std::string(3 - ms.size(), '0') + ms + "Z\"}";
      continue;
    }
    ids.push_back(id);
    const char* action = actions[rng() % 3];
    const bool timed_out = action[0] == 'T';
    body += R"({"@context":"http://purl.imsglobal.org/ctx/caliper/v1p1","type":"SessionEvent","id":")" + id + "\",";
    body += timed_out ? R"("actor":{"id":")" + site + R"(/applications/learn","type":"SoftwareApplication"},)"
                      : R"("actor":{"id":")" + site + "/users/u" + user +
                            R"(","type":"Person","extensions":{"bb:user.id":"_)" + user +
                            R"(_1","bb:user.externalId":"s)" + user + R"("}},)";
    body += R"("action":")" + std::string(action) + "\",";
    body += timed_out ? R"("object":{"id":")" + site + "/sessions/S" + user + R"(","type":"Session","user":")" + site +
                            "/users/u" + user + "\"},"
                      : R"("object":{"id":")" + site +
                            R"(/applications/learn","type":"SoftwareApplication","extensions":{"bb:request.headers.agent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","bb:request.headers.ipAddress":"198.51.100.)" +
                            std::to_string(rng() % 250) + R"("}},)";
    body += R"("eventTime":"2026-11-27T09:00:00.)" + std::string(3 - ms.size(), '0') + ms + R"(Z","edApp":")" + site +
            R"(/applications/learn","federatedSession":{"id":")" + site + "/sessions/S" + user +
            R"(","type":"LtiSession","name":"S)" + user + "\"}}";
  }
  body += "]}";
  return body;
}

/// One request answered 200: when it was sent (or scheduled), in seconds from the start; by
/// which connection; its latency.
struct answer {
  double sent_s;
  int connection;
  double ms;
};

struct shared_results {
  std::mutex mutex;
  std::vector<answer> answers;
  std::vector<std::string> acked_ids;
  std::uint64_t ok = 0, failed = 0, events = 0, connection_errors = 0, server_closes = 0;
  std::map<int, std::uint64_t> statuses;
  std::atomic<long long> requests_left{0};  ///< with --max-requests
};

/// How a connection's run ended: over, failed, or closed by the server after its answer
/// (`Connection: close`, e.g. at server.keepalive_max_requests), as a real client reconnects.
enum class run_end { done, connection_error, server_closed };

template <class Stream>
run_end drive(Stream& stream, const options& o, int index, clock_type::time_point start, clock_type::time_point end,
              shared_results& out, std::uint64_t& n) {
  std::mt19937_64 rng(0x5eed + index * 7919 + std::random_device{}());
  run_end how = run_end::done;
  beast::flat_buffer buffer;
  std::vector<answer> answers;
  std::vector<std::string> acked;
  std::map<int, std::uint64_t> statuses;
  std::uint64_t ok = 0, failed = 0, events = 0;
  const double per_conn_rate = o.rate > 0 ? o.rate / o.connections : 0;
  for (;; ++n) {
    auto send_at = clock_type::now();
    if (per_conn_rate > 0) {
      // The connections take turns: connection i sends i/connections of a period after
      // connection 0, so the requests arrive evenly spread, not in bursts of one per connection.
      const double slot = static_cast<double>(n) + static_cast<double>(index) / o.connections;
      send_at = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(slot / per_conn_rate));
      std::this_thread::sleep_until(send_at);  // fixed-rate mode: latency counts from the scheduled time
    }
    if (clock_type::now() >= end) break;
    if (o.max_requests > 0 && out.requests_left.fetch_sub(1) <= 0) break;
    std::vector<std::string> ids;
    http::request<http::string_body> req{http::verb::post, o.path, 11};
    req.set(http::field::host, o.host);
    req.set(http::field::authorization, "Bearer " + o.key);
    req.set(http::field::content_type, "application/json");
    req.body() = envelope(rng, o.events, o.other_share, ids);
    req.prepare_payload();
    beast::error_code ec;
    http::write(stream, req, ec);
    http::response<http::string_body> res;
    if (!ec) http::read(stream, buffer, res, ec);
    const double ms = std::chrono::duration<double, std::milli>(clock_type::now() - send_at).count();
    if (ec) {
      std::fprintf(stderr, "connection %d: %s\n", index, ec.message().c_str());
      ++failed;
      how = run_end::connection_error;
      break;
    }
    ++statuses[res.result_int()];
    if (res.result_int() == 200) {
      ++ok;
      events += ids.size();
      answers.push_back({std::chrono::duration<double>(send_at - start).count(), index, ms});
      if (!o.ids_out.empty()) acked.insert(acked.end(), ids.begin(), ids.end());
    } else {
      ++failed;
    }
    if (!res.keep_alive()) {
      how = run_end::server_closed;
      ++n;
      break;
    }
  }
  std::lock_guard lock(out.mutex);
  out.answers.insert(out.answers.end(), answers.begin(), answers.end());
  out.acked_ids.insert(out.acked_ids.end(), acked.begin(), acked.end());
  out.ok += ok;
  out.failed += failed;
  out.events += events;
  if (how == run_end::connection_error) ++out.connection_errors;
  if (how == run_end::server_closed) ++out.server_closes;
  for (auto [s, c] : statuses) out.statuses[s] += c;
  return how;
}

/// The --idle-connections: many keep-alive connections that post now and then.
class idle_connections {
 public:
  idle_connections(const options& o, net::ssl::context& ctx, const net::ip::tcp::resolver::results_type& endpoints)
      : o_(o), rng_(0x1d1e + std::random_device{}()) {
    rlimit r{};  // one descriptor per connection: lift the soft limit to the hard one
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
      r.rlim_cur = r.rlim_max;
      setrlimit(RLIMIT_NOFILE, &r);
    }
    for (int i = 0; i < o.idle_connections; ++i) {
      auto s = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, ctx);
      SSL_set_tlsext_host_name(s->native_handle(), o.host.c_str());
      beast::error_code ec;
      beast::get_lowest_layer(*s).connect(endpoints, ec);
      if (!ec) s->handshake(net::ssl::stream_base::client, ec);
      if (ec) {
        std::fprintf(stderr, "idle connection %d: %s\n", i, ec.message().c_str());
        continue;
      }
      streams_.push_back(std::move(s));
      post(streams_.size() - 1);
    }
  }

  /// Posts on every open connection each --idle-interval seconds until `end`.
  void run(clock_type::time_point end) {
    const auto every = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o_.idle_interval));
    for (auto next = clock_type::now() + every; next < end; next += every) {
      std::this_thread::sleep_until(next);  // the idle connections' schedule
      for (std::size_t i = 0; i < streams_.size(); ++i) post(i);
    }
  }

  std::size_t open() const {
    return static_cast<std::size_t>(std::count_if(streams_.begin(), streams_.end(), [](auto& s) { return s != nullptr; }));
  }
  std::uint64_t ok() const { return ok_; }
  std::uint64_t failed() const { return failed_; }
  std::vector<std::string>& acked() { return acked_; }

 private:
  void post(std::size_t i) {
    auto& s = streams_[i];
    if (!s) return;
    std::vector<std::string> ids;
    http::request<http::string_body> req{http::verb::post, o_.path, 11};
    req.set(http::field::host, o_.host);
    req.set(http::field::authorization, "Bearer " + o_.key);
    req.set(http::field::content_type, "application/json");
    req.body() = envelope(rng_, 1, o_.other_share, ids);
    req.prepare_payload();
    beast::error_code ec;
    http::write(*s, req, ec);
    http::response<http::string_body> res;
    if (!ec) http::read(*s, buffer_, res, ec);
    if (ec) {
      ++failed_;
      std::fprintf(stderr, "idle connection %zu: %s\n", i, ec.message().c_str());
      s.reset();  // a closed idle connection stays closed: open() reports it
      buffer_.clear();
      return;
    }
    if (res.result_int() != 200) {
      ++failed_;
      return;
    }
    ++ok_;
    if (!o_.ids_out.empty()) acked_.insert(acked_.end(), ids.begin(), ids.end());
  }

  const options& o_;
  net::io_context ioc_;
  std::mt19937_64 rng_;
  beast::flat_buffer buffer_;
  std::vector<std::unique_ptr<beast::ssl_stream<beast::tcp_stream>>> streams_;
  std::vector<std::string> acked_;
  std::uint64_t ok_ = 0, failed_ = 0;
};

/// The clock starts once every connection's first handshake is done (or failed): the run time
/// and the fixed-rate schedule count from then, not from before the handshakes.
struct start_gate {
  std::atomic<int> arrived{0};
  std::atomic<bool> open{false};
  clock_type::time_point start, end;  ///< written before `open`, read after

  void arrive_and_wait() {
    ++arrived;
    while (!open.load(std::memory_order_acquire)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse_args(argc, argv);
  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  if (!o.cacert.empty()) {
    ctx.load_verify_file(o.cacert);
    ctx.set_verify_mode(net::ssl::verify_peer);
  }
  net::ip::tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(o.host, o.port);
  shared_results results;
  results.requests_left = o.max_requests;
  std::optional<idle_connections> idle;
  if (o.idle_connections > 0) idle.emplace(o, ctx, endpoints);  // all open before the load starts
  std::vector<std::thread> threads;
  start_gate gate;
  const clock_type::time_point& start = gate.start;
  const clock_type::time_point& end = gate.end;
  for (int i = 0; i < o.connections; ++i) {
    threads.emplace_back([&, i] {
      net::io_context local;
      std::uint64_t scheduled = 0;  // requests of this connection so far (fixed-rate schedule)
      run_end how = run_end::done;
      for (bool first = true;; first = false) {
        if (!first) {
          if (clock_type::now() >= end) return;
          if (!o.reconnect && how != run_end::server_closed) return;
          if (o.max_requests > 0 && results.requests_left.load() <= 0) return;
          // Reconnect pacing after a failure; a server that closed after its answer is
          // reconnected to at once, as a browser or Learn would.
          if (how != run_end::server_closed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        beast::error_code ec;
        how = run_end::connection_error;
        if (o.tls) {
          beast::ssl_stream<beast::tcp_stream> stream(local, ctx);
          SSL_set_tlsext_host_name(stream.native_handle(), o.host.c_str());
          beast::get_lowest_layer(stream).connect(endpoints, ec);
          if (!ec && !o.nagle) beast::get_lowest_layer(stream).socket().set_option(net::ip::tcp::no_delay(true), ec);
          if (!ec) stream.handshake(net::ssl::stream_base::client, ec);
          if (first) gate.arrive_and_wait();
          if (ec) {
            if (!o.reconnect) std::fprintf(stderr, "connect: %s\n", ec.message().c_str());
            continue;
          }
          if (first) std::this_thread::sleep_until(start);
          how = drive(stream, o, i, start, end, results, scheduled);
        } else {
          beast::tcp_stream stream(local);
          stream.connect(endpoints, ec);
          if (!ec && !o.nagle) stream.socket().set_option(net::ip::tcp::no_delay(true), ec);
          if (first) gate.arrive_and_wait();
          if (ec) continue;
          if (first) std::this_thread::sleep_until(start);
          how = drive(stream, o, i, start, end, results, scheduled);
        }
        if (how == run_end::done) return;
      }
    });
  }
  for (const auto deadline = clock_type::now() + std::chrono::seconds(60);
       gate.arrived.load() < o.connections && clock_type::now() < deadline;)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // waiting for the handshakes
  gate.start = clock_type::now() + std::chrono::milliseconds(20);
  gate.end = gate.start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.seconds));
  gate.open.store(true, std::memory_order_release);
  if (idle) threads.emplace_back([&] { idle->run(end); });
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::vector<double> l;
  l.reserve(results.answers.size());
  for (const auto& a : results.answers) l.push_back(a.ms);
  std::printf("{\"connections\":%d,\"events_per_envelope\":%d,\"seconds\":%.2f,\"requests_ok\":%llu,"
              "\"requests_failed\":%llu,\"connection_errors\":%llu,\"server_closes\":%llu,\"requests_per_s\":%.1f,\"events_per_s\":%.1f,"
              "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,",
              o.connections, o.events, secs, static_cast<unsigned long long>(results.ok),
              static_cast<unsigned long long>(results.failed),
              static_cast<unsigned long long>(results.connection_errors),
              static_cast<unsigned long long>(results.server_closes), static_cast<double>(results.ok) / secs,
              static_cast<double>(results.events) / secs, percentile(l, 0.5), percentile(l, 0.99),
              percentile(l, 0.999));
  if (idle) {
    std::printf("\"idle_connections\":%d,\"idle_open\":%zu,\"idle_requests_ok\":%llu,\"idle_requests_failed\":%llu,",
                o.idle_connections, idle->open(), static_cast<unsigned long long>(idle->ok()),
                static_cast<unsigned long long>(idle->failed()));
    results.acked_ids.insert(results.acked_ids.end(), idle->acked().begin(), idle->acked().end());
  }
  std::printf("\"statuses\":{");
  bool first = true;
  for (auto [s, c] : results.statuses) {
    std::printf("%s\"%d\":%llu", first ? "" : ",", s, static_cast<unsigned long long>(c));
    first = false;
  }
  std::printf("}}\n");
  if (!o.latencies_out.empty()) {
    auto& a = results.answers;
    std::sort(a.begin(), a.end(), [](const answer& x, const answer& y) { return x.sent_s < y.sent_s; });
    std::FILE* f = std::fopen(o.latencies_out.c_str(), "w");
    for (std::size_t i = 0; f != nullptr && i < a.size(); ++i) std::fprintf(f, "%.6f %d %.3f\n", a[i].sent_s, a[i].connection, a[i].ms);
    if (f == nullptr || std::fclose(f) != 0) std::fprintf(stderr, "cannot write %s\n", o.latencies_out.c_str());
  }
  if (!o.ids_out.empty()) {
    std::ofstream f(o.ids_out);
    for (const auto& id : results.acked_ids) f << id << '\n';
  }
  return results.ok > 0 ? 0 : 1;
}
