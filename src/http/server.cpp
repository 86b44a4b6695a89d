#include "caliper_sessiond/http/server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <thread>
#include <vector>

#include "caliper_sessiond/metrics/thread_name.hpp"
#include "server_state.hpp"
#include "session.hpp"

namespace caliper_sessiond::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace {
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

/// Opens, binds and listens; "" on success, else why not.
std::string listen_on(tcp::acceptor& a, const std::string& host, std::uint16_t port, const std::string& what) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return what + ": \"" + host + "\" is not an IP address";
  const tcp::endpoint endpoint(address, port);
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return "cannot listen on " + host + ":" + std::to_string(port) + " (" + what + "): " + ec.message();
  return {};
}

}  // namespace

struct server::impl {
  /// One event loop per I/O thread, each connection on one of them for its whole life: nothing
  /// of a request is handed from one I/O thread to another (a shared io_context wakes the
  /// other thread for much of its work, ~15% of the CPU of a 1-event request on 2 cores).
  std::vector<std::unique_ptr<net::io_context>> lanes;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running;
  std::size_t next_lane = 0;  ///< round robin of new connections; on the control strand
  /// The acceptors, the signals and the shutdown run on this strand (of the first lane) only:
  /// accept and close of an acceptor must not race (asio objects are not thread-safe).
  net::strand<net::io_context::executor_type> control;
  tcp::acceptor acceptor{control};
  tcp::acceptor metrics_acceptor{control};  ///< open when server.metrics_listen is set
  net::signal_set signals{control, SIGINT, SIGTERM, SIGHUP};
  std::shared_ptr<server_state> state;
  server_hooks hooks;
  /// For the watchdog: each lane (the first too) has run a heartbeat since the last check.
  std::vector<std::unique_ptr<std::atomic<bool>>> beat;

  /// Half the cores: the journal's flusher and drainer, the writer and usually PostgreSQL share
  /// the machine, and an I/O thread that serves more connections batches more per wake-up (on 2
  /// cores one thread took ~12% less CPU per request than two, at a higher rate: bench/README.md).
  static unsigned default_threads() { return std::max(1u, std::thread::hardware_concurrency() / 2); }

  static std::vector<std::unique_ptr<net::io_context>> make_lanes(unsigned n) {
    std::vector<std::unique_ptr<net::io_context>> out;
    for (unsigned i = 0; i < n; ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  impl(const config::config& cfg, store::event_sink& w, metrics::registry& m)
      : lanes(make_lanes(cfg.server.threads ? cfg.server.threads : default_threads())),
        control(net::make_strand(*lanes.front())),
        state(std::make_shared<server_state>(cfg, w, m)) {
    std::vector<net::io_context::executor_type> executors;
    for (auto& l : lanes) {
      executors.push_back(l->get_executor());
      keep_running.push_back(net::make_work_guard(*l));
      beat.push_back(std::make_unique<std::atomic<bool>>(true));
    }
    state->relay = std::make_shared<completion_relay>(executors);
  }

  void stop_lanes() {
    for (auto& g : keep_running) g.reset();
    for (auto& l : lanes) l->stop();
  }

  net::awaitable<void> accept_loop(tcp::acceptor& from, listener_role role) {
    for (;;) {
      // The connection runs on its lane's io_context, not on a strand of it: one thread runs
      // each lane, so its handlers already run one at a time, and a strand would only add a
      // lock, a queue and a reference count to every handler (issue 12 item 1, bench/README).
      // Anything from another thread reaches the connection by net::post to this executor.
      const auto lane = lanes[next_lane]->get_executor();
      next_lane = (next_lane + 1) % lanes.size();
      auto [ec, socket] = co_await from.async_accept(lane, nothrow);
      if (ec == net::error::operation_aborted || !from.is_open()) co_return;
      if (ec) {
        // Out of descriptors or a connection reset before accept: keep accepting.
        spdlog::warn("accept: {}", ec.message());
        continue;
      }
      boost::system::error_code peer_ec;
      const auto peer = socket.remote_endpoint(peer_ec);
      if (peer_ec) continue;  // already reset by the peer
      const auto verdict = state->limits.acquire(peer.address());
      if (verdict != connection_limits::verdict::accepted) {
        refuse(socket, peer, verdict);
        continue;
      }
      start_session(std::move(socket), state, role, connection_slot(state->limits, peer.address()));
    }
  }

  /// Closes a connection over a limit at once; counted, and logged at most every 10 s.
  template <class Socket>
  void refuse(Socket& socket, const tcp::endpoint& peer, connection_limits::verdict why) {
    const bool per_ip = why == connection_limits::verdict::max_connections_per_ip;
    state->refused[per_ip ? 1 : 0]->inc();
    boost::system::error_code ec;
    socket.close(ec);
    if (auto n = state->refused_log.occur()) {
      if (per_ip)
        spdlog::warn("refused {} connection(s) over a limit since the last report; this one from {}: {} open from "
                     "that address (server.max_connections_per_ip)",
                     *n, connection_limits::normalize(peer.address()).to_string(),
                     state->limits.open_from(peer.address()));
      else
        spdlog::warn("refused {} connection(s) over a limit since the last report; this one: {} open "
                     "(server.max_connections)",
                     *n, state->limits.open());
    }
  }

  void wait_signal() {
    signals.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
        return;
      }
      spdlog::info("received signal {}: shutting down", sig);
      begin_shutdown();
    });
  }

  void reload() {
    if (!hooks.reload) return;
    if (hooks.reloading) hooks.reloading();
    apply_reload();
    if (hooks.reloaded) hooks.reloaded();
  }

  void apply_reload() {
    auto cfg = hooks.reload();
    if (!cfg) {
      spdlog::error("reload: keeping the running configuration");
      return;
    }
    auto next = std::make_shared<reloadable>(reloadable{key_ring(cfg->api_keys), nullptr});
    if (state->cfg.server.tls) {
      std::string error;
      next->tls = make_tls_context(cfg->server.tls_cert, cfg->server.tls_key, cfg->server.tls_ciphers, error);
      if (!next->tls) {
        spdlog::error("reload: {}; keeping the running configuration", error);
        return;
      }
    }
    state->replace(std::move(next));
    if (state->jwks) state->jwks->reload_files();  // jwks_file contents; [[jwt_sources]] itself needs a restart
    spdlog::info("reload: {} API keys, TLS certificate {} loaded; open connections keep theirs",
                 cfg->api_keys.size(), state->cfg.server.tls ? cfg->server.tls_cert : "(plain HTTP)");
  }

  /// On the control strand (the signal handler, or server::shutdown's post).
  void begin_shutdown() {
    if (state->draining.exchange(true)) return;
    if (hooks.stopping) hooks.stopping();
    signals.cancel();
    boost::system::error_code ec;
    acceptor.close(ec);
    metrics_acceptor.close(ec);
    state->connections.close_idle();
    net::co_spawn(control, wait_drained(), net::detached);
  }

  /// Pings the watchdog from the first I/O thread while every lane answers its heartbeat between
  /// two checks, so a stuck event loop, any of them, stops the pings.
  net::awaitable<void> watchdog_loop() {
    net::steady_timer timer(*lanes.front());
    for (;;) {
      bool all = true;
      for (auto& b : beat) all = b->exchange(false) && all;
      if (all) hooks.watchdog();
      for (std::size_t i = 0; i < lanes.size(); ++i) net::post(*lanes[i], [b = beat[i].get()] { *b = true; });
      timer.expires_after(hooks.watchdog_every);
      auto [ec] = co_await timer.async_wait(nothrow);
      if (ec) co_return;
    }
  }

  /// Waits for the open connections to finish their requests, then stops the writer.
  net::awaitable<void> wait_drained() {
    net::steady_timer timer(control);
    while (state->connections.size() > 0) {
      state->connections.close_idle();
      timer.expires_after(std::chrono::milliseconds(20));
      co_await timer.async_wait(nothrow);
    }
    spdlog::info("all connections closed");
    if (hooks.drained) {
      // The writer's drain blocks; run it off the I/O threads' path by keeping it last.
      hooks.drained();
    }
    stop_lanes();
  }
};

server::server(const config::config& cfg, store::event_sink& sink, metrics::registry& metrics)
    : impl_(std::make_unique<impl>(cfg, sink, metrics)) {}

server::~server() = default;

bool server::open(std::string& error) {
  const auto& s = impl_->state->cfg.server;
  auto snapshot = std::make_shared<reloadable>(reloadable{key_ring(impl_->state->cfg.api_keys), nullptr});
  if (s.tls) {
    snapshot->tls = make_tls_context(s.tls_cert, s.tls_key, s.tls_ciphers, error);
    if (!snapshot->tls) return false;
  }
  impl_->state->replace(std::move(snapshot));
  if (impl_->state->jwks && !impl_->state->jwks->start(error)) return false;

  error = listen_on(impl_->acceptor, s.host, s.port, "server.listen");
  if (!error.empty()) return false;
  if (!s.metrics_listen.empty()) {
    error = listen_on(impl_->metrics_acceptor, s.metrics_host, s.metrics_port, "server.metrics_listen");
    if (!error.empty()) return false;
    spdlog::info("metrics on http://{}:{}/metrics", s.metrics_host,
                 impl_->metrics_acceptor.local_endpoint().port());
  }
  return true;
}

std::uint16_t server::port() const { return impl_->acceptor.local_endpoint().port(); }

unsigned server::threads() const { return static_cast<unsigned>(impl_->lanes.size()); }

void server::run(server_hooks hooks) {
  impl_->hooks = std::move(hooks);
  net::co_spawn(impl_->control, impl_->accept_loop(impl_->acceptor, listener_role::main), net::detached);
  if (impl_->metrics_acceptor.is_open())
    net::co_spawn(impl_->control, impl_->accept_loop(impl_->metrics_acceptor, listener_role::metrics),
                  net::detached);
  net::post(impl_->control, [this] { impl_->wait_signal(); });
  if (impl_->hooks.watchdog && impl_->hooks.watchdog_every.count() > 0)
    net::co_spawn(*impl_->lanes.front(), impl_->watchdog_loop(), net::detached);
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < impl_->lanes.size(); ++i) {
    pool.emplace_back([l = impl_->lanes[i].get()] { l->run(); });
    metrics::name_thread(pool.back(), "io-" + std::to_string(i));
  }
  impl_->lanes.front()->run();
  // The first lane returns when the shutdown has drained every connection and stopped them all.
  for (auto& t : pool) t.join();
}

void server::shutdown() {
  net::post(impl_->control, [this] { impl_->begin_shutdown(); });
}

}  // namespace caliper_sessiond::http
