#include "in_memory_connection.hpp"

#include "connection.hpp"

namespace caliper_sessiond::http::testing {

boost::asio::awaitable<void> serve_in_memory(in_memory_stream& stream, server_state& st, const reloadable& snapshot,
                                             connection_state& conn, connection_state::clock::time_point first_deadline) {
  co_await detail::serve_requests(stream, st, snapshot, conn, listener_role::main, first_deadline);
}

}  // namespace caliper_sessiond::http::testing
