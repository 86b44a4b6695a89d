#pragma once
/// Routes one request and builds its response (DESIGN section 2). The steps that need no
/// I/O live in request_handler.cpp; only reading the body and waiting for the writer await.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "caliper_sessiond/caliper/parser.hpp"
#include "connection_state.hpp"
#include "server_state.hpp"

namespace caliper_sessiond::http {

namespace bhttp = boost::beast::http;
using response = bhttp::response<bhttp::string_body>;
using request_parser = bhttp::request_parser<bhttp::string_body>;

/// What routing decided before the body is read.
struct route_decision {
  std::optional<response> answer;  ///< final answer; the body (if any) is not needed
  std::string source;              ///< for an ingest: the API key's name
  std::string route;               ///< metrics label
  bool jwt = false;                ///< no Authorization: the body may be a signed JWT (issue 13)
};

class request_handler {
public:
  request_handler(server_state& st, const reloadable& snapshot, listener_role role = listener_role::main)
      : st_(st), snapshot_(snapshot), role_(role) {}

  /// Notes the peer's address for the access log (once per connection: a system call).
  template <class Stream>
  void learn_client(Stream& stream);

  /// Serves the request whose header `parser` has read; reads the body when it is needed,
  /// within the read timeout kept by `conn`.
  template <class Stream>
  boost::asio::awaitable<response> handle(Stream& stream, boost::beast::flat_buffer& buffer, request_parser& parser,
                                          connection_state& conn);

  /// A problem response that closes the connection.
  response simple_problem(int status, std::string_view title, std::string detail);

  /// The answer to a request that is not routed (its head could not be read or is refused),
  /// counted and logged like any other; it closes the connection.
  response unrouted(int status, std::string detail);

  /// Whether the last request handled carried a valid API key (it may then be drained longer).
  bool authenticated() const { return authenticated_; }

private:
  route_decision route(const bhttp::request<bhttp::string_body>& req, std::optional<std::uint64_t> content_length);
  boost::asio::awaitable<response> ingest(std::string& body, const std::string& source, unsigned version,
                                          std::chrono::steady_clock::time_point started);
  /// A body sent without Authorization: verified as a JWT of a [[jwt_sources]] entry, whose
  /// claims then go to ingest() (jwt_ingest.cpp).
  boost::asio::awaitable<response> ingest_jwt(std::string& body, unsigned version,
                                              std::chrono::steady_clock::time_point started);
  response problem(int status, std::string_view title, std::string detail, unsigned version);
  response refuse(const std::string& source, int status, std::string_view title, std::string detail,
                  std::string_view body, unsigned version);
  response finish(response res, std::string_view route, const std::string& source,
                  std::chrono::steady_clock::time_point started, std::size_t stored = 0, std::size_t duplicates = 0,
                  std::size_t rejected = 0);

  server_state& st_;
  const reloadable& snapshot_;
  listener_role role_;
  std::string client_ = "-";  ///< peer address for the access log (masked if configured)
  bool authenticated_ = false;
};

/// The reason phrase of the statuses we answer.
std::string_view status_title(int status);

/// The peer's address for logs: "-" when unknown, cut to /24 or /48 when `mask`.
std::string client_address(const boost::asio::ip::tcp::endpoint& peer, bool mask);

template <class Stream>
void request_handler::learn_client(Stream& stream) {
  if constexpr (requires { boost::beast::get_lowest_layer(stream).socket(); }) {
    boost::system::error_code peer_ec;
    const auto peer = boost::beast::get_lowest_layer(stream).socket().remote_endpoint(peer_ec);
    client_ = peer_ec ? std::string("-") : client_address(peer, st_.cfg.log.mask_client_ip);
  }
}

template <class Stream>
boost::asio::awaitable<response> request_handler::handle(Stream& stream, boost::beast::flat_buffer& buffer,
                                                         request_parser& parser, connection_state& conn) {
  namespace net = boost::asio;
  constexpr auto nothrow = net::as_tuple(net::use_awaitable);
  const auto started = std::chrono::steady_clock::now();
  auto& tcp = boost::beast::get_lowest_layer(stream);
  auto& req = parser.get();
  const unsigned version = req.version();
  auto decision = route(req, parser.content_length() ? std::optional<std::uint64_t>(*parser.content_length())
                                                    : std::nullopt);
  authenticated_ = !decision.source.empty();
  if (decision.answer) {
    // The body was not read: the connection cannot carry another request.
    if (!parser.is_done()) decision.answer->keep_alive(false);
    co_return finish(std::move(*decision.answer), decision.route, decision.source, started);
  }
  if (bhttp::token_list(req[bhttp::field::expect]).exists("100-continue")) {
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, version};
    tcp.expires_after(st_.cfg.server.read_timeout);
    auto [ec, n] = co_await bhttp::async_write(stream, cont, nothrow);
    (void)n;
    if (ec) {
      auto failed = simple_problem(400, "Bad Request", "the connection failed");
      co_return finish(std::move(failed), decision.route, decision.source, started);
    }
  }
  parser.body_limit(st_.cfg.server.body_limit);
  // Room for simdjson's padding up front, so the parser never copies the body.
  if (const auto length = parser.content_length(); length && *length <= st_.cfg.server.body_limit)
    req.body().reserve(static_cast<std::size_t>(*length) + caliper::envelope_parser::padding);
  tcp.expires_never();  // bounded by `conn`'s deadline instead, which leaves room for a 408
  conn.arm(std::chrono::steady_clock::now() + st_.cfg.server.read_timeout);
  auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, nothrow);
  conn.disarm();
  (void)n;
  if (ec && conn.timed_out()) {
    auto late = simple_problem(408, status_title(408), "the body did not arrive within server.read_timeout_seconds");
    co_return finish(std::move(late), decision.route, decision.source, started);
  }
  if (ec == bhttp::error::body_limit) {
    std::string detail = "the body is over the limit of " + std::to_string(st_.cfg.server.body_limit) + " bytes";
    // Only an authenticated sender's refusal is recorded: an unsigned body names no source.
    auto res = decision.jwt ? problem(413, "Content Too Large", std::move(detail), version)
                            : refuse(decision.source, 413, "Content Too Large", std::move(detail), {}, version);
    res.keep_alive(false);
    co_return finish(std::move(res), decision.route, decision.source, started);
  }
  if (ec) {
    auto failed = simple_problem(400, "Bad Request", "the body could not be read: " + ec.message());
    co_return finish(std::move(failed), decision.route, decision.source, started);
  }
  const bool keep_alive = req.keep_alive();
  std::string body = std::move(req.body());
  response res;
  if (decision.jwt)  // not a ?: expression: GCC 12 mishandles co_await inside one
    res = co_await ingest_jwt(body, version, started);
  else
    res = co_await ingest(body, decision.source, version, started);
  if (!keep_alive) res.keep_alive(false);
  co_return res;
}

}  // namespace caliper_sessiond::http
