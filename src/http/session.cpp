#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include <type_traits>

#include "connection.hpp"

namespace caliper_sessiond::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

using detail::activity;
using detail::expected_close;
using detail::serve_requests;

/// Registers the connection for shutdown, does the TLS handshake if any, serves requests.
template <class Stream>
net::awaitable<void> run_stream(Stream& stream, server_state& st, const reloadable& snapshot) {
  activity act;
  auto ex = stream.get_executor();
  auto& tcp = beast::get_lowest_layer(stream);
  auto registration = st.connections.add([ex, &tcp, &act] {
    net::post(ex, [&tcp, &act] {
      if (!act.busy) tcp.socket().cancel();
    });
  });
  struct unregister {
    server_state& st;
    connection_registry::handle h;
    ~unregister() { st.connections.remove(h); }
  } guard{st, registration};

  if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
    tcp.expires_after(st.cfg.server.read_timeout);
    auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, nothrow);
    if (ec) {
      if (!expected_close(ec)) spdlog::debug("TLS handshake: {}", ec.message());
      co_return;
    }
    co_await serve_requests(stream, st, snapshot, act);
    tcp.expires_after(std::chrono::seconds(5));
    auto [sec] = co_await stream.async_shutdown(nothrow);
    (void)sec;  // the peer may already be gone; nothing more to do either way
  } else {
    co_await serve_requests(stream, st, snapshot, act);
    beast::error_code ec;
    tcp.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
}

net::awaitable<void> run_connection(net::ip::tcp::socket socket, std::shared_ptr<server_state> st) {
  const auto snapshot = st->current();
  if (snapshot->tls) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *snapshot->tls);
    co_await run_stream(stream, *st, *snapshot);
  } else {
    beast::tcp_stream stream(std::move(socket));
    co_await run_stream(stream, *st, *snapshot);
  }
}

}  // namespace

void start_session(net::ip::tcp::socket socket, std::shared_ptr<server_state> state) {
  auto ex = socket.get_executor();
  net::co_spawn(ex, run_connection(std::move(socket), std::move(state)), net::detached);
}

}  // namespace caliper_sessiond::http
