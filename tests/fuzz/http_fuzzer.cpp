// libFuzzer target: the server's real per-connection code (http::detail::serve_requests and the
// request_handler behind it, in_memory_connection.hpp) reading arbitrary bytes as an HTTP/1.1
// stream from an in-memory Beast test stream, with a fake event_sink instead of the store.
//
// Input: byte 0 chooses the sink's behaviour (bits 0-1) and how many bytes each read may
// return (bits 2-4); the rest is what the client sends, then it closes its end.
// Invariants: no crash or sanitizer report; the connection coroutine finishes; everything the
// sink receives is storable text with rejects within ingest.reject_raw_bytes; what the server
// writes is a sequence of well-formed HTTP responses with a status of DESIGN section 2.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/metrics/registry.hpp"
#include "caliper_sessiond/store/event_sink.hpp"
#include "fuzz_check.hpp"
#include "in_memory_connection.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using namespace caliper_sessiond;

/// The API key the seeds and the dictionary use.
constexpr std::string_view fuzz_key = "fuzz-key-0123456789abcdef";
constexpr std::size_t reject_raw_bytes = 512;

enum class sink_mode : std::uint8_t { commit, refuse, unavailable, commit_duplicates };

bool storable(const std::optional<std::string>& s) { return !s || caliper::is_storable_text(*s); }

class fake_sink final : public store::event_sink {
public:
  sink_mode mode = sink_mode::commit;
  std::size_t batches = 0;

  bool submit(store::ingest_batch batch, store::completion done) override {
    ++batches;
    FUZZ_CHECK(batch.source == "fuzz");
    FUZZ_CHECK(!batch.events.empty() || !batch.rejects.empty());
    for (const auto& e : batch.events) {
      FUZZ_CHECK(caliper::is_storable_text(e.event_id) && caliper::is_storable_text(e.actor_id));
      FUZZ_CHECK(caliper::is_storable_text(e.user_id) && caliper::is_storable_text(e.sensor));
      FUZZ_CHECK(storable(e.user_lms_id) && storable(e.user_external_id) && storable(e.session_id));
      FUZZ_CHECK(storable(e.session_name) && storable(e.user_agent) && storable(e.ed_app_id));
      FUZZ_CHECK(storable(e.ip_address));
    }
    for (const auto& r : batch.rejects) {
      FUZZ_CHECK(caliper::is_storable_text(r.reason) && caliper::is_storable_text(r.raw));
      FUZZ_CHECK(r.raw.size() <= reject_raw_bytes);
    }
    if (mode == sink_mode::refuse) return false;
    store::commit_report report;
    if (mode == sink_mode::commit_duplicates) report.duplicates = batch.events.size();
    else report.inserted = batch.events.size();
    report.rejects = batch.rejects.size();
    // The real sinks call back on another thread; request_handler relays back to its executor.
    done(mode == sink_mode::unavailable ? store::outcome::unavailable : store::outcome::committed, report);
    return true;
  }
  bool ready() const noexcept override { return mode != sink_mode::refuse; }
};

struct fixture {
  fake_sink sink;
  metrics::registry registry;
  std::unique_ptr<http::server_state> state;
  std::unique_ptr<http::reloadable> snapshot;

  fixture() {
    spdlog::set_level(spdlog::level::off);
    config::config cfg;
    cfg.server.tls = false;
    cfg.server.body_limit = 64 * 1024;
    cfg.server.header_limit = 4 * 1024;
    cfg.ingest.max_events = 200;
    cfg.ingest.max_depth = 32;
    cfg.ingest.reject_raw_bytes = reject_raw_bytes;
    cfg.api_keys.push_back({"fuzz", std::string(fuzz_key)});
    state = std::make_unique<http::server_state>(cfg, sink, registry);
    snapshot = std::make_unique<http::reloadable>(http::reloadable{http::key_ring(cfg.api_keys), nullptr});
  }
};

fixture& shared() {
  static fixture f;
  return f;
}

constexpr std::array<std::size_t, 8> read_sizes{0, 1, 2, 7, 64, 509, 4096, 65536};  // 0: unlimited

std::string last_outcome;

/// The status of the first final response in `out`, or "none".
std::string first_final_status(std::string_view out) {
  while (out.starts_with("HTTP/1.") && out.size() >= 12) {
    const std::string status(out.substr(9, 3));
    if (status != "100") return status;
    const auto end = out.find("\r\n\r\n");
    if (end == std::string_view::npos) break;
    out.remove_prefix(end + 4);
  }
  return "none";
}

/// Checks that `out` is a sequence of complete HTTP responses with statuses we answer.
void check_responses(std::string_view out, bool maybe_head) {
  static const std::set<unsigned> statuses{100, 200, 400, 401, 404, 405, 408, 413, 415, 422, 431, 501, 503, 505};
  while (!out.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    beast::error_code ec;
    const std::size_t used = parser.put(net::buffer(out.data(), out.size()), ec);
    // After the answer to a HEAD, whose Content-Length announces a body that is not sent, the
    // stream cannot be framed without knowing the requests; check what came before only.
    if (ec && maybe_head) return;
    FUZZ_CHECK(!ec);
    FUZZ_CHECK(parser.is_header_done());
    FUZZ_CHECK(statuses.contains(parser.get().result_int()));
    if (parser.get().result_int() == 100) {  // interim: a header alone
      out.remove_prefix(used);
      continue;
    }
    if (!parser.is_done()) {
      FUZZ_CHECK(maybe_head);
      return;
    }
    out.remove_prefix(used);
  }
}

/// A named coroutine, not a lambda: GCC 12 emits a lambda coroutine inside an extern "C"
/// function twice under the same symbol.
net::awaitable<void> serve(http::testing::in_memory_stream& stream, fixture& f, http::connection_state& conn,
                           bool& finished) {
  co_await http::testing::serve_in_memory(stream, *f.state, *f.snapshot, conn,
                                          http::connection_state::clock::now() + f.state->cfg.server.handshake_timeout);
  finished = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  fixture& f = shared();
  f.sink.mode = static_cast<sink_mode>(data[0] & 0x03);
  const std::size_t read_size = read_sizes[(data[0] >> 2) & 0x07];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  net::io_context ioc;
  f.state->relay = std::make_shared<http::completion_relay>(ioc.get_executor());
  http::testing::in_memory_stream server(ioc);
  beast::test::stream client(ioc);
  server.connect(client);
  if (read_size != 0) server.read_size(read_size);
  server.append(input);
  client.close();  // the server reads everything, then end of stream

  bool finished = false;
  auto conn = std::make_shared<http::testing::in_memory_connection>(ioc.get_executor());
  net::co_spawn(ioc, serve(server, f, *conn, finished), net::detached);
  ioc.run();
  FUZZ_CHECK(finished);
  last_outcome = first_final_status(client.str());
  check_responses(client.str(), input.find("HEAD") != std::string_view::npos);
  return 0;
}

std::string fuzz_last_outcome() { return last_outcome; }
