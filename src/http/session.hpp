#pragma once
#include <boost/asio/ip/tcp.hpp>

#include <memory>

#include "server_state.hpp"

namespace caliper_sessiond::http {

/// Serves one accepted connection (TLS or plain, as configured) on its own strand until it
/// closes. The socket's executor must be a strand.
void start_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<server_state> state);

}  // namespace caliper_sessiond::http
