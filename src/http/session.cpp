#include "session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <type_traits>

#include "connection.hpp"
#include "tls_stream.hpp"

namespace caliper_sessiond::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

using detail::expected_close;
using detail::serve_requests;

/// The connection's stream, owned with its state so that a closer or a deadline that holds the
/// state weakly reaches either both or neither.
template <class Stream>
class connection final : public connection_state {
public:
  template <class... Args>
  connection(net::any_io_executor ex, connection_slot slot, Args&&... args)
      : connection_state(std::move(ex), std::move(slot)), stream(std::forward<Args>(args)...) {}
  void cancel_io() override {
    beast::error_code ec;
    beast::get_lowest_layer(stream).socket().cancel(ec);
  }
  Stream stream;
};

/// Registers the connection for shutdown, does the TLS handshake if any, serves requests.
template <class Stream>
net::awaitable<void> run_stream(connection<Stream>& conn, server_state& st, const reloadable& snapshot,
                                listener_role role) {
  auto& tcp = beast::get_lowest_layer(conn.stream);
  // One deadline for the handshake and the first request head: a client that connects and
  // then sends nothing, or dribbles, holds its slot this long at most.
  const auto first_deadline = connection_state::clock::now() + st.cfg.server.handshake_timeout;
  // The closer may run after this coroutine is gone: it holds the state weakly and runs on
  // the connection's executor, where the state is destroyed too.
  auto registration = st.connections.add(
      [ex = tcp.get_executor(), weak = std::weak_ptr<connection_state>(conn.shared_from_this())] {
        net::post(ex, [weak] {
          if (auto c = weak.lock(); c && !c->busy) c->cancel_io();
        });
      });
  struct unregister {
    server_state& st;
    connection_registry::handle h;
    ~unregister() { st.connections.remove(h); }
  } guard{st, registration};

  if constexpr (std::is_same_v<Stream, tls_stream>) {
    tcp.expires_at(first_deadline);  // a timeout here closes the socket: nothing to answer
    auto [ec] = co_await conn.stream.async_handshake(net::ssl::stream_base::server, nothrow);
    if (ec) {
      if (!expected_close(ec)) spdlog::debug("TLS handshake: {}", ec.message());
      co_return;
    }
    co_await serve_requests(conn.stream, st, snapshot, conn, role, first_deadline);
    conn.busy = false;  // a draining server need not wait for the peer's close_notify
    tcp.expires_after(std::chrono::seconds(5));
    auto [sec] = co_await conn.stream.async_shutdown(nothrow);
    (void)sec;  // the peer may already be gone; nothing more to do either way
  } else {
    co_await serve_requests(conn.stream, st, snapshot, conn, role, first_deadline);
    beast::error_code ec;
    tcp.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  }
}

net::awaitable<void> run_connection(net::ip::tcp::socket socket, std::shared_ptr<server_state> st,
                                    listener_role role, connection_slot slot) {
  const auto snapshot = st->current();
  auto ex = socket.get_executor();
  if (snapshot->tls && role == listener_role::main) {
    auto conn = std::make_shared<connection<tls_stream>>(ex, std::move(slot), std::move(socket), *snapshot->tls);
    co_await run_stream(*conn, *st, *snapshot, role);
  } else {
    auto conn = std::make_shared<connection<beast::tcp_stream>>(ex, std::move(slot), std::move(socket));
    co_await run_stream(*conn, *st, *snapshot, role);
  }
}

}  // namespace

void start_session(net::ip::tcp::socket socket, std::shared_ptr<server_state> state, listener_role role,
                   connection_slot slot) {
  auto ex = socket.get_executor();
  net::co_spawn(ex, run_connection(std::move(socket), std::move(state), role, std::move(slot)), net::detached);
}

}  // namespace caliper_sessiond::http
