#pragma once
/// The per-connection request loop, for any stream whose lowest layer has expires_after
/// (beast::tcp_stream, its ssl_stream, or a test stream in the fuzz target). Private to http.

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

#include "request_handler.hpp"
#include "server_state.hpp"

namespace caliper_sessiond::http::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
inline constexpr auto nothrow = net::as_tuple(net::use_awaitable);

/// Errors that are an ordinary end of a connection, not worth a log line.
inline bool expected_close(const beast::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
         ec == net::error::eof || ec == net::error::connection_reset || ec == beast::error::timeout ||
         // A peer that closes without close_notify: safe, since HTTP framing tells us where
         // every message ends.
         ec == net::ssl::error::stream_truncated;
}

/// Marks the connection busy while a request is being served, so shutdown leaves it be.
struct activity {
  bool busy = false;
};

/// After answering a request whose body we did not read (401, 413, ...), reads and drops
/// what the client is still sending, for a bounded time and amount, so that closing does not
/// reset the connection before the client has read our answer.
template <class Stream>
net::awaitable<void> discard_input(Stream& stream) {
  constexpr std::size_t max_bytes = 64 * 1024 * 1024;
  std::array<char, 16 * 1024> scratch;
  std::size_t total = 0;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
  while (total < max_bytes) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), nothrow);
    if (ec) break;
    total += n;
  }
}

/// Reads and answers requests on `stream` until it closes, fails or the server drains.
template <class Stream>
net::awaitable<void> serve_requests(Stream& stream, server_state& st, const reloadable& snapshot, activity& act) {
  beast::flat_buffer buffer;
  request_handler handler(st, snapshot);
  for (;;) {
    act.busy = false;
    if (st.draining) co_return;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(st.cfg.server.header_limit));
    // No limit while reading the head: the handler checks Content-Length after authenticating
    // (401 before 413) and sets the limit before it reads a body.
    parser.body_limit(boost::none);
    beast::get_lowest_layer(stream).expires_after(st.cfg.server.read_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, nothrow);
    act.busy = true;
    if (ec == bhttp::error::header_limit) {
      auto res = handler.simple_problem(431, "Request Header Fields Too Large",
                                        "the request head is over the limit of " +
                                            std::to_string(st.cfg.server.header_limit) + " bytes");
      co_await bhttp::async_write(stream, res, nothrow);
      co_return;
    }
    if (ec) {
      if (!expected_close(ec)) spdlog::debug("read: {}", ec.message());
      co_return;
    }
    auto res = co_await handler.handle(stream, buffer, parser);
    if (st.draining) res.keep_alive(false);
    beast::get_lowest_layer(stream).expires_after(st.cfg.server.read_timeout);
    auto [wec, wn] = co_await bhttp::async_write(stream, res, nothrow);
    if (wec) {
      if (!expected_close(wec)) spdlog::debug("write: {}", wec.message());
      co_return;
    }
    if (!res.keep_alive()) {
      if (!parser.is_done()) co_await discard_input(stream);
      co_return;
    }
  }
}

}  // namespace caliper_sessiond::http::detail
