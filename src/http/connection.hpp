#pragma once
/// The per-connection request loop, for any stream whose lowest layer has expires_after and
/// expires_never (beast::tcp_stream, its ssl_stream, or a test stream in the fuzz target).
/// Private to http.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "connection_state.hpp"
#include "request_checks.hpp"
#include "request_handler.hpp"
#include "server_state.hpp"

namespace caliper_sessiond::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
inline constexpr auto nothrow = net::as_tuple(net::use_awaitable);

/// What is read and dropped after an early answer before closing, so that the client sees the
/// answer instead of a reset: at most this much from a client without a valid key...
inline constexpr std::size_t unauthenticated_drain_bytes = 64 * 1024;
/// ...at most server.body_limit from one with a key, and for at most this long either way.
inline constexpr std::chrono::seconds drain_time{2};

/// What a connection's read buffer may keep while it waits for the next request.
inline constexpr std::size_t idle_buffer_bytes = 4 * 1024;

/// Errors that are an ordinary end of a connection, not worth a log line.
inline bool expected_close(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
         ec == net::error::eof || ec == net::error::connection_reset || ec == beast::error::timeout ||
         // A peer that closes without close_notify: safe, since HTTP framing tells us where
         // every message ends.
         ec == net::ssl::error::stream_truncated;
}

/// After answering a request whose body or rest we did not read (401, 413, 431, ...), reads
/// and drops what the client is still sending, up to `max_bytes` and drain_time, so that
/// closing does not reset the connection before the client has read our answer.
template <class Stream>
net::awaitable<void> discard_input(Stream& stream, std::size_t max_bytes) {
  std::array<char, 16 * 1024> scratch;
  std::size_t total = 0;
  beast::get_lowest_layer(stream).expires_after(drain_time);  // closes the socket when over
  while (total < max_bytes) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), nothrow);
    if (ec) break;
    total += n;
  }
}

/// Writes `res` (with the headers every answer carries) within the read timeout. False when
/// the connection failed.
template <class Stream>
net::awaitable<bool> send(Stream& stream, const server_state& st, response& res) {
  res.set("X-Content-Type-Options", "nosniff");
  beast::get_lowest_layer(stream).expires_after(st.cfg.server.read_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, res, nothrow);
  (void)n;
  if (ec && !expected_close(ec)) spdlog::debug("write: {}", ec.message());
  co_return !ec;
}

/// Writes an answer that ends the connection, then drains what the client still sends.
/// (By reference: GCC 12 may destroy a temporary argument of a co_await expression twice.)
template <class Stream>
net::awaitable<void> send_last(Stream& stream, const server_state& st, response& res, std::size_t drain_bytes) {
  res.keep_alive(false);
  // Named results: GCC 12 mishandles a co_await inside an if condition.
  const bool sent = co_await send(stream, st, res);
  if (sent) co_await discard_input(stream, drain_bytes);
}

/// Reads and answers requests on `stream` until it closes, fails, reaches a keep-alive bound
/// or the server drains. The first request head must arrive by `first_deadline`
/// (server.handshake_timeout_ms from accept), later ones within server.read_timeout_seconds.
template <class Stream>
net::awaitable<void> serve_requests(Stream& stream, server_state& st, const reloadable& snapshot,
                                    connection_state& conn, listener_role role,
                                    connection_state::clock::time_point first_deadline) {
  const auto& cfg = st.cfg.server;
  beast::flat_buffer buffer;
  request_handler handler(st, snapshot, role);
  handler.learn_client(stream);
  struct stop_deadline_at_exit {  // no deadline may fire into a connection that has moved on
    connection_state& conn;
    ~stop_deadline_at_exit() { conn.stop_deadline(); }
  } stop_deadline{conn};
  for (;;) {
    conn.busy = false;
    if (st.draining) co_return;
    // An idle keep-alive connection keeps no room for the largest body it has read so far.
    if (buffer.size() == 0 && buffer.capacity() > idle_buffer_bytes) buffer.shrink_to_fit();
    request_parser parser;
    parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
    // No limit while reading the head: the handler checks Content-Length after authenticating
    // (401 before 413) and sets the limit before it reads a body.
    parser.body_limit(boost::none);
    beast::get_lowest_layer(stream).expires_never();  // the read is bounded by `conn`'s deadline
    conn.arm(conn.requests == 0 ? first_deadline : connection_state::clock::now() + cfg.read_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, nothrow);
    conn.disarm();
    conn.busy = true;
    if (ec) {
      const auto unread = beast::buffers_to_string(buffer.data());  // rare: a failed head only
      const int status = head_error_status(ec, conn.timed_out(), unread);
      if (status == 0) {
        if (!expected_close(ec)) spdlog::debug("read: {}", ec.message());
        co_return;
      }
      std::string detail = status == 431   ? "the request head is over the limit of " +
                                                 std::to_string(cfg.header_limit) + " bytes (server.header_limit)"
                           : status == 408 ? "the request head did not arrive in time"
                           : status == 505 ? "only HTTP/1.0 and HTTP/1.1 are supported"
                                           : "malformed request head: " + ec.message();
      auto res = handler.unrouted(status, std::move(detail));
      co_await send_last(stream, st, res, unauthenticated_drain_bytes);
      co_return;
    }
    if (auto problem = check_request_head(parser.get())) {
      auto res = handler.unrouted(problem->status, std::move(problem->detail));
      co_await send_last(stream, st, res, unauthenticated_drain_bytes);
      co_return;
    }
    auto res = co_await handler.handle(stream, buffer, parser, conn);
    ++conn.requests;
    if (st.draining || conn.requests >= cfg.keepalive_max_requests ||
        connection_state::clock::now() - conn.opened >= cfg.keepalive_max)
      res.keep_alive(false);
    const bool sent = co_await send(stream, st, res);
    if (!sent) co_return;
    if (!res.keep_alive()) {
      if (!parser.is_done())
        co_await discard_input(stream, handler.authenticated() ? cfg.body_limit : unauthenticated_drain_bytes);
      co_return;
    }
  }
}

}  // namespace caliper_sessiond::http::detail
