#pragma once
#include <boost/asio/ip/tcp.hpp>

#include <memory>

#include "connection_limits.hpp"
#include "connection_state.hpp"
#include "server_state.hpp"

namespace caliper_sessiond::http {

/// Serves one accepted connection (TLS or plain, as configured; the metrics listener is always
/// plain) until it closes. Every handler of the connection runs on the socket's executor, which
/// must run them one at a time: an io_context run by one thread (the server's lanes) or a
/// strand. `slot` is its count in the connection limits, released when the connection ends.
void start_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_state> state, listener_role role,
                   connection_slot slot);

}  // namespace caliper_sessiond::http
