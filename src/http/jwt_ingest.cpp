// Signed-JWT delivery (issue 13, Canvas Data Services): a POST without Authorization whose
// body is a compact JWS signed by a key of a [[jwt_sources]] JWKS. Its claims are an envelope
// and go through ingest() like any other request, with source = the jwt source's name.
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <memory>

#include "caliper_sessiond/jose/claims.hpp"
#include "caliper_sessiond/jose/jws.hpp"
#include "request_handler.hpp"

namespace caliper_sessiond::http {
namespace {

namespace net = boost::asio;

/// Completes the awaiting coroutine on its own executor once the refetch has ended.
struct refetch_initiation {
  jwks_refresher* jwks;
  net::any_io_executor ex;

  template <class Handler>
  void operator()(Handler handler) const {
    auto h = std::make_shared<Handler>(std::move(handler));
    jwks->refetch([h, ex = ex] { net::post(ex, [h] { (*h)(); }); });
  }
};

/// Not a coroutine, like submit(): the initiation must not be built inside a co_await expression.
net::awaitable<void> refetch(jwks_refresher& jwks, net::any_io_executor ex) {
  return net::async_initiate<decltype(net::use_awaitable), void()>(refetch_initiation{&jwks, std::move(ex)},
                                                                    net::use_awaitable);
}

std::string_view reason(jose::failure f) {
  switch (f) {
    case jose::failure::wrong_alg: return "wrong alg";
    case jose::failure::unknown_kid: return "unknown kid";
    case jose::failure::bad_signature: return "bad signature";
    default: return "malformed JWT";
  }
}

}  // namespace

net::awaitable<response> request_handler::ingest_jwt(std::string& body, unsigned version,
                                                    std::chrono::steady_clock::time_point started) {
  const auto unauthorized = [&](std::string detail, const std::string& source) {
    auto res = problem(401, "Unauthorized", std::move(detail), version);
    res.set(bhttp::field::www_authenticate, R"(Bearer realm="caliper-sessiond")");
    return finish(std::move(res), "ingest", source, started);
  };
  if (!jose::looks_like_compact_jws(body))
    co_return unauthorized("no API key, and the body is not a signed JWT (compact JWS)", {});
  auto header = jose::read_header(body);
  if (header.error != jose::failure::none)
    co_return unauthorized(std::string(reason(header.error)) + ": " + header.detail, {});
  auto match = st_.jwks->find(header.jws.kid);
  if (!match) {
    // A rotation: the sender may use a key published after our last fetch. Bounded by the fetch timeout.
    auto ex = co_await net::this_coro::executor;
    auto pending = refetch(*st_.jwks, ex);
    co_await std::move(pending);
    match = st_.jwks->find(header.jws.kid);
  }
  if (!match) co_return unauthorized("unknown kid: no jwt_sources JWKS holds the key of this JWT, after a refresh", {});
  auto verified = match->keys->verify(header.jws, caliper::envelope_parser::padding);
  if (verified.error != jose::failure::none)
    co_return unauthorized(std::string(reason(verified.error)) + ": " + verified.detail, match->name);
  authenticated_ = true;
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  const auto claims = jose::check_claims(verified.claims, now_s.count(), *match->allowed_accounts);
  switch (claims.verdict) {
    case jose::claims_verdict::ok: break;
    case jose::claims_verdict::account_not_allowed:
      co_return finish(problem(403, "Forbidden", "account not allowed: " + claims.detail, version), "ingest",
                       match->name, started);
    case jose::claims_verdict::expired: co_return unauthorized("expired: " + claims.detail, match->name);
    default: co_return unauthorized("invalid claims: " + claims.detail, match->name);
  }
  auto res = co_await ingest(verified.claims, match->name, version, started);
  co_return res;
}

}  // namespace caliper_sessiond::http
