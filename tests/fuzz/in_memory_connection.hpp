#pragma once
/// The server's real per-connection code (http::detail::serve_requests and the request handler
/// behind it) on an in-memory Beast test stream, for the http fuzz target and the unit tests
/// that drive a connection without sockets. The coroutine is instantiated once, in
/// in_memory_connection.cpp: under ASan+UBSan each instantiation costs ~30 s of compile time.

#include <boost/asio/awaitable.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <chrono>

#include "connection_state.hpp"
#include "server_state.hpp"

namespace caliper_sessiond::http::testing {

/// The Beast test stream with the timer interface serve_requests expects. Its deadlines never
/// fire: the callers close the client's end, so every read ends.
class in_memory_stream : public boost::beast::test::stream {
public:
  using boost::beast::test::stream::stream;
  void expires_after(std::chrono::steady_clock::duration) noexcept {}
  void expires_never() noexcept {}
};

/// A connection's state with no I/O to cancel.
class in_memory_connection final : public connection_state {
public:
  using connection_state::connection_state;
  void cancel_io() override {}
};

/// Reads and answers requests on `stream` as a main-listener connection until it closes
/// (http::detail::serve_requests).
boost::asio::awaitable<void> serve_in_memory(in_memory_stream& stream, server_state& st, const reloadable& snapshot,
                                             connection_state& conn, connection_state::clock::time_point first_deadline);

}  // namespace caliper_sessiond::http::testing
