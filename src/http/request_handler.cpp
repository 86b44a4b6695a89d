#include "request_handler.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/this_coro.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <utility>

#include "caliper_sessiond/caliper/net.hpp"
#include "caliper_sessiond/caliper/parser.hpp"
#include "caliper_sessiond/caliper/privacy.hpp"
#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/config/parse_limits.hpp"
#include "caliper_sessiond/metrics/log_throttle.hpp"
#include "request_id.hpp"

namespace caliper_sessiond::http {
namespace {

namespace net = boost::asio;
constexpr const char* problem_type = "application/problem+json";
constexpr int retry_after_seconds = 5;

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Event ids that could not be derived (SHA-1 failing): one error line per interval.
metrics::log_throttle derive_failures;

/// One parser per I/O thread: simdjson's buffers stay warm and no lock is needed.
caliper::envelope_parser& thread_parser(const config::config& cfg) {
  thread_local std::optional<caliper::envelope_parser> parser;
  thread_local config::ingest_config made_for{};
  thread_local config::privacy_config made_for_privacy{};
  // Every [ingest] and [privacy] setting, so a changed limit or mode is picked up at reload.
  if (!parser || made_for != cfg.ingest || made_for_privacy != cfg.privacy) {
    parser.emplace(config::parse_limits(cfg.ingest, cfg.privacy));
    made_for = cfg.ingest;
    made_for_privacy = cfg.privacy;
  }
  return *parser;
}

using submit_result = std::pair<store::outcome, store::commit_report>;

/// Completes the awaiting coroutine on its own executor once the sink settles, through
/// the relay: one post per group commit rather than one per request.
struct submit_initiation {
  store::event_sink* sink;
  std::shared_ptr<completion_relay> relay;
  net::any_io_executor ex;

  template <class Handler>
  void operator()(Handler handler, store::ingest_batch batch) const {
    auto h = std::make_shared<Handler>(std::move(handler));
    auto deliver = [h, relay = relay, ex = ex](store::outcome o, const store::commit_report& r) {
      relay->deliver(ex, [h, o, r] { (*h)(submit_result{o, r}); });
    };
    if (!sink->submit(std::move(batch), deliver)) deliver(store::outcome::unavailable, {});
  }
};

/// Not a coroutine on purpose: GCC 12 destroys some temporaries of a co_await
/// full-expression twice, so the initiation must not be built inside one.
net::awaitable<submit_result> submit(store::event_sink& sink, std::shared_ptr<completion_relay> relay,
                                     store::ingest_batch batch, net::any_io_executor ex) {
  return net::async_initiate<decltype(net::use_awaitable), void(submit_result)>(
      submit_initiation{&sink, std::move(relay), std::move(ex)}, net::use_awaitable, std::move(batch));
}

}  // namespace

response request_handler::problem(int status, std::string_view title, std::string detail, unsigned version) {
  response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, problem_type);
  res.body() = problem_json(status, title, detail);
  res.prepare_payload();
  return res;
}

response request_handler::simple_problem(int status, std::string_view title, std::string detail) {
  auto res = problem(status, title, std::move(detail), 11);
  res.keep_alive(false);
  return res;
}

response request_handler::unrouted(int status, std::string detail) {
  return finish(simple_problem(status, status_title(status), std::move(detail)), "unrouted", {},
                std::chrono::steady_clock::now());
}

std::string_view status_title(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

response request_handler::refuse(const std::string& source, int status, std::string_view title, std::string detail,
                                 std::string_view body, unsigned version) {
  // Ops can see what was refused: a bounded, storable copy of the body goes to the rejects.
  store::ingest_batch record;
  record.source = source;
  record.received_at_us = now_us();
  // [privacy] holds for the body's copy too: its addresses and browsers are scrubbed first.
  record.rejects.push_back(caliper::rejected_request(status, title, detail, body, st_.cfg.ingest.reject_raw_bytes,
                                                     config::privacy_options(st_.cfg.privacy)));
  if (!st_.sink.submit(std::move(record), [](store::outcome, const store::commit_report&) {}))
    spdlog::warn("could not record a refused request from {}: the store is unavailable", source);
  return problem(status, title, std::move(detail), version);
}

route_decision request_handler::route(const bhttp::request<bhttp::string_body>& req,
                                      std::optional<std::uint64_t> content_length) {
  route_decision d;
  std::string_view target = req.target();
  target = target.substr(0, target.find('?'));
  const auto method = req.method();
  const unsigned v = req.version();
  const auto ok_text = [v](std::string body, const char* type) {
    response res{bhttp::status::ok, v};
    res.set(bhttp::field::content_type, type);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  };
  const auto not_allowed = [&](const char* allow) {
    auto res = problem(405, "Method Not Allowed", std::string(req.method_string()) + " is not allowed here", v);
    res.set(bhttp::field::allow, allow);
    return res;
  };

  if (role_ == listener_role::metrics && target != "/metrics" && target != "/healthz") {
    // The metrics listener (server.metrics_listen) serves nothing else: no key is checked there.
    d.route = "other";
    d.answer = problem(404, "Not Found", "this listener serves /metrics and /healthz only", v);
    return d;
  }

  if (target == st_.cfg.server.path) {
    d.route = "ingest";
    if (method != bhttp::verb::post && method != bhttp::verb::get) {
      d.answer = not_allowed("GET, POST");
      return d;
    }
    auto source = snapshot_.keys.authenticate(req[bhttp::field::authorization]);
    if (!source && st_.jwks && method == bhttp::verb::post && req[bhttp::field::authorization].empty()) {
      // Issue 13: no API key, but [[jwt_sources]] exist: the body may be a signed JWT, whatever its Content-Type.
      d.jwt = true;
      if (content_length && *content_length > st_.cfg.server.body_limit)
        d.answer = problem(413, "Content Too Large", "the body is over the limit of " +
                                                         std::to_string(st_.cfg.server.body_limit) + " bytes", v);
      return d;
    }
    if (!source) {
      const bool none = req[bhttp::field::authorization].empty();
      d.answer = problem(401, "Unauthorized", none ? "no API key: send Authorization: Bearer <key>" : "unknown API key", v);
      d.answer->set(bhttp::field::www_authenticate, R"(Bearer realm="caliper-sessiond")");
      return d;
    }
    d.source = std::move(*source);
    if (method == bhttp::verb::get) {
      d.answer = ok_text(endpoint_config_json(st_.cfg.server.body_limit), "application/json");
      return d;
    }
    if (!is_json_media_type(req[bhttp::field::content_type])) {
      d.answer = problem(415, "Unsupported Media Type",
                         "Content-Type must be application/json, not \"" +
                             caliper::sanitize_text(req[bhttp::field::content_type], 200) + "\"",
                         v);
      return d;
    }
    if (content_length && *content_length > st_.cfg.server.body_limit) {
      d.answer = refuse(d.source, 413, "Content Too Large",
                        "the body of " + std::to_string(*content_length) + " bytes is over the limit of " +
                            std::to_string(st_.cfg.server.body_limit) + " bytes",
                        {}, v);
      return d;
    }
    return d;  // read the body, then ingest
  }

  const bool get = method == bhttp::verb::get || method == bhttp::verb::head;
  if (target == "/healthz") {
    d.route = "healthz";
    d.answer = get ? ok_text("ok\n", "text/plain") : not_allowed("GET, HEAD");
  } else if (target == "/readyz") {
    d.route = "readyz";
    if (!get) {
      d.answer = not_allowed("GET, HEAD");
    } else if (st_.draining) {
      d.answer = problem(503, "Service Unavailable", "shutting down", v);
    } else if (!st_.sink.ready()) {
      d.answer = problem(503, "Service Unavailable", "cannot accept events durably now (journal full or failing, or the database unreachable in database mode)", v);
      d.answer->set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
    } else {
      d.answer = ok_text("ready\n", "text/plain");
    }
  } else if (target == "/metrics" && (role_ == listener_role::metrics || st_.cfg.server.metrics_listen.empty())) {
    d.route = "metrics";
    d.answer = get ? ok_text(st_.metrics.render(), "text/plain; version=0.0.4") : not_allowed("GET, HEAD");
  } else {
    d.route = "other";
    d.answer = problem(404, "Not Found", "no such resource", v);
  }
  if (method == bhttp::verb::head && d.answer) {
    d.answer->body().clear();
  }
  return d;
}

net::awaitable<response> request_handler::ingest(std::string& body, const std::string& source, unsigned version,
                                                std::chrono::steady_clock::time_point started) {
  const std::int64_t received_at = now_us();  // also the centre of the eventTime window
  auto result = thread_parser(st_.cfg).parse(body, source, received_at);
  if (result.error && result.error->status == 503) {
    // Not the sender's fault (no event id could be derived): nothing to record, retry later.
    if (const auto n = derive_failures.occur())
      spdlog::error("{} request(s) answered 503: cannot derive event ids: SHA-1 fails in OpenSSL (configuration?)",
                    *n);
    auto res = problem(503, result.error->title, result.error->detail, version);
    res.set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
    co_return finish(std::move(res), "ingest", source, started);
  }
  if (result.error) {
    auto res = refuse(source, result.error->status, result.error->title, result.error->detail, body, version);
    co_return finish(std::move(res), "ingest", source, started);
  }
  if (result.skipped) st_.events_skipped.inc(result.skipped);
  if (!result.rejects.empty()) st_.events_rejected.inc(result.rejects.size());
  const std::size_t rejected = result.rejects.size();
  std::array<std::size_t, 3> by_action{};
  for (const auto& e : result.events) ++by_action[static_cast<std::size_t>(e.action)];
  response ok{bhttp::status::ok, version};
  ok.prepare_payload();
  if (result.events.empty() && result.rejects.empty()) co_return finish(std::move(ok), "ingest", source, started);

  store::ingest_batch batch{source, received_at, std::move(result.events), std::move(result.rejects)};
  auto ex = co_await net::this_coro::executor;
  auto pending = submit(st_.sink, st_.relay, std::move(batch), ex);
  auto [outcome, report] = co_await std::move(pending);
  const std::size_t verdict = outcome == store::outcome::committed ? 0 : 1;  // accepted, refused
  for (std::size_t a = 0; a < by_action.size(); ++a)
    if (by_action[a] != 0) st_.events_by_action[a][verdict]->inc(by_action[a]);
  if (outcome != store::outcome::committed) {
    auto res = problem(503, "Service Unavailable", "the events cannot be stored durably now; retry later", version);
    res.set(bhttp::field::retry_after, std::to_string(retry_after_seconds));
    co_return finish(std::move(res), "ingest", source, started);
  }
  co_return finish(std::move(ok), "ingest", source, started, report.inserted, report.duplicates, rejected);
}

std::string client_address(const boost::asio::ip::tcp::endpoint& peer, bool mask) {
  auto address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6());
  const std::string text = address.to_string();
  if (!mask) return text;
  return caliper::truncate_ip(text).value_or(text);
}

response request_handler::finish(response res, std::string_view route, const std::string& source,
                                 std::chrono::steady_clock::time_point started, std::size_t stored,
                                 std::size_t duplicates, std::size_t rejected) {
  const int status = static_cast<int>(res.result_int());
  if (status == 200 && route == "ingest")
    st_.ingest_ok.inc();
  else
    st_.requests.with("route=\"" + std::string(route) + "\",status=\"" + std::to_string(status) + "\"").inc();
  const auto id = random_request_id();
  res.set("X-Request-Id", id);
  if (st_.cfg.log.access) {
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    spdlog::info("request id={} client={} route={} source={} status={} stored={} duplicate={} rejected={} "
                 "latency_ms={:.3f}",
                 id, client_, route, source.empty() ? "-" : source, status, stored, duplicates, rejected,
                 static_cast<double>(us.count()) / 1000.0);
  }
  return res;
}

}  // namespace caliper_sessiond::http
