// The server's TLS stream (src/http/tls_stream.hpp) against Beast's client TLS stream over a
// real loopback socket: HTTP round trips, large bodies, deadlines, cancellation, peers that
// vanish, and that an idle connection keeps no record buffers.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "caliper_sessiond/config/config.hpp"
#include "server_state.hpp"
#include "tls_stream.hpp"

namespace http = caliper_sessiond::http;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

namespace {

class tls_stream_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("caliper-tls-stream-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    const auto cert = (dir_ / "cert.pem").string();
    const auto key = (dir_ / "key.pem").string();
    const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                            "-subj /CN=localhost -keyout '" + key + "' -out '" + cert + "' >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::string error;
    server_ctx_ = http::make_tls_context(cert, key, caliper_sessiond::config::default_tls_ciphers, error);
    ASSERT_TRUE(server_ctx_) << error;
    acceptor_.open(tcp::v4());
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
  }
  void TearDown() override { fs::remove_all(dir_); }

  /// A connected pair: the server's tls_stream (not yet handshaken) and a client TCP stream.
  std::pair<std::unique_ptr<http::tls_stream>, std::unique_ptr<beast::ssl_stream<beast::tcp_stream>>> connect() {
    auto client = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, client_ctx_);
    beast::get_lowest_layer(*client).connect(acceptor_.local_endpoint());
    tcp::socket accepted(ioc_);
    acceptor_.accept(accepted);
    return {std::make_unique<http::tls_stream>(std::move(accepted), *server_ctx_), std::move(client)};
  }

  /// Runs both coroutines to completion on the test's io_context (deadline 20 s).
  template <class A, class B>
  void run_both(A server, B client) {
    auto f1 = net::co_spawn(ioc_, std::move(server), net::use_future);
    auto f2 = net::co_spawn(ioc_, std::move(client), net::use_future);
    ioc_.restart();
    ioc_.run_for(std::chrono::seconds(20));
    ASSERT_EQ(f1.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "server side did not finish";
    ASSERT_EQ(f2.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "client side did not finish";
    f1.get();
    f2.get();
  }

  net::io_context ioc_;
  net::ssl::context client_ctx_{net::ssl::context::tls_client};
  std::shared_ptr<net::ssl::context> server_ctx_;
  tcp::acceptor acceptor_{ioc_};
  fs::path dir_;
};

}  // namespace

TEST_F(tls_stream_test, serves_http_requests_over_keep_alive_with_large_and_small_bodies) {
  auto [server, client] = connect();
  const std::string big(3 * 1024 * 1024 + 17, 'x');  // many records, many partial reads
  std::string got_small, got_big;
  run_both(
      [&]() -> net::awaitable<void> {
        auto [hec] = co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        EXPECT_FALSE(hec) << hec.message();
        beast::flat_buffer buffer;
        for (int i = 0; i < 2; ++i) {
          bhttp::request_parser<bhttp::string_body> parser;
          parser.body_limit(8 * 1024 * 1024);
          auto [rec, rn] = co_await bhttp::async_read(*server, buffer, parser, nothrow);
          EXPECT_FALSE(rec) << rec.message();
          (i == 0 ? got_small : got_big) = parser.get().body();
          bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
          res.body() = "answer " + std::to_string(i);
          res.prepare_payload();
          auto [wec, wn] = co_await bhttp::async_write(*server, res, nothrow);
          EXPECT_FALSE(wec) << wec.message();
        }
        server->expires_after(std::chrono::seconds(5));
        auto [sec] = co_await server->async_shutdown(nothrow);
        EXPECT_TRUE(!sec || sec == net::ssl::error::stream_truncated || sec == net::error::eof) << sec.message();
      }(),
      [&]() -> net::awaitable<void> {
        auto [hec] = co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        EXPECT_FALSE(hec) << hec.message();
        beast::flat_buffer buffer;
        for (int i = 0; i < 2; ++i) {
          bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/caliper", 11};
          req.body() = i == 0 ? std::string("{\"small\":true}") : big;
          req.prepare_payload();
          auto [wec, wn] = co_await bhttp::async_write(*client, req, nothrow);
          EXPECT_FALSE(wec) << wec.message();
          bhttp::response<bhttp::string_body> res;
          auto [rec, rn] = co_await bhttp::async_read(*client, buffer, res, nothrow);
          EXPECT_FALSE(rec) << rec.message();
          EXPECT_EQ(res.body(), "answer " + std::to_string(i));
        }
        auto [sec] = co_await client->async_shutdown(nothrow);
        (void)sec;
      }());
  EXPECT_EQ(got_small, "{\"small\":true}");
  EXPECT_EQ(got_big.size(), big.size());
  EXPECT_TRUE(got_big == big);
}

TEST_F(tls_stream_test, idle_connection_holds_no_record_buffers) {
  auto [server, client] = connect();
  run_both(
      [&]() -> net::awaitable<void> {
        co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        std::array<char, 64> buf;
        auto [ec, n] = co_await server->async_read_some(net::buffer(buf), nothrow);
        EXPECT_EQ(std::string(buf.data(), n), "ping");
        // Two buffers, as a response's head and body: copied into one record.
        const std::string po = "po", ng = "ng";
        const std::array<net::const_buffer, 2> pong{net::buffer(po), net::buffer(ng)};
        auto [wec, wn] = co_await server->async_write_some(pong, nothrow);
        EXPECT_FALSE(wec) << wec.message();
        EXPECT_EQ(wn, 4u);
      }(),
      [&]() -> net::awaitable<void> {
        co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        co_await net::async_write(*client, net::buffer(std::string("ping")), nothrow);
        std::array<char, 64> buf;
        co_await net::async_read(*client, net::buffer(buf, 4), nothrow);
        EXPECT_EQ(std::string(buf.data(), 4), "pong");
      }());
  // The copy of a multi-buffer write lives only while the write does (it was 16 KiB kept for
  // the connection's life: 16 MB of 1,000 idle connections).
  EXPECT_FALSE(server->holds_write_area());
  // SSL_MODE_RELEASE_BUFFERS: with nothing pending, neither record buffer is allocated.
  EXPECT_NE(SSL_get_mode(server->native_handle()) & SSL_MODE_RELEASE_BUFFERS, 0u);
  EXPECT_EQ(SSL_has_pending(server->native_handle()), 0);
  // OpenSSL reads and writes the socket itself: no BIO pair and no copies in between.
  EXPECT_EQ(BIO_method_type(SSL_get_rbio(server->native_handle())), BIO_TYPE_SOCKET);
}

TEST_F(tls_stream_test, a_write_that_waits_for_the_socket_keeps_its_area_until_it_completes) {
  // OpenSSL asks to be called again with the same buffer after WANT_WRITE: the area must live
  // while the write waits, and go when it completes.
  auto [server, client] = connect();
  server->socket().set_option(net::socket_base::send_buffer_size(4096));
  beast::get_lowest_layer(*client).socket().set_option(net::socket_base::receive_buffer_size(4096));
  const std::string half(4096, 'w');  // two buffers of 4 KiB: linearised into one 8 KiB record
  const std::array<net::const_buffer, 2> message{net::buffer(half), net::buffer(half)};
  net::steady_timer go_read(ioc_, net::steady_timer::time_point::max());
  std::size_t expected = 0;
  bool waited = false, held_while_waiting = false;
  run_both(
      [&]() -> net::awaitable<void> {
        co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        auto ex = co_await net::this_coro::executor;
        for (std::size_t n = 1; n <= 10'000 && !waited; ++n) {
          bool done = false;
          boost::system::error_code wec;
          server->async_write_some(message, [&](boost::system::error_code ec, std::size_t) {
            wec = ec;
            done = true;
          });
          // A write that OpenSSL finished at once has posted its completion before this.
          co_await net::post(ex, net::use_awaitable);
          if (done) {
            EXPECT_FALSE(wec) << wec.message();
            continue;
          }
          waited = true;  // OpenSSL said WANT_WRITE: the write waits for the socket
          held_while_waiting = server->holds_write_area();
          expected = n * 2 * half.size();
          go_read.cancel();
          while (!done) co_await net::post(ex, net::use_awaitable);  // the client reads meanwhile
          EXPECT_FALSE(wec) << wec.message();
        }
      }(),
      [&]() -> net::awaitable<void> {
        co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        co_await go_read.async_wait(nothrow);
        std::vector<char> got(expected);
        auto [ec, n] = co_await net::async_read(*client, net::buffer(got), nothrow);
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_EQ(n, expected);
      }());
  ASSERT_TRUE(waited) << "no write ever had to wait: the socket buffers took 80 MB";
  EXPECT_TRUE(held_while_waiting);
  EXPECT_FALSE(server->holds_write_area());
}

TEST_F(tls_stream_test, read_past_its_deadline_fails_with_timeout_and_closes_the_socket) {
  auto [server, client] = connect();
  beast::error_code read_ec, again_ec;
  run_both(
      [&]() -> net::awaitable<void> {
        co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        server->expires_after(std::chrono::milliseconds(100));
        std::array<char, 64> buf;
        auto [ec, n] = co_await server->async_read_some(net::buffer(buf), nothrow);
        read_ec = ec;
        // Never reaches OpenSSL again: the closed socket's number may belong to someone else.
        auto [ec2, n2] = co_await server->async_read_some(net::buffer(buf), nothrow);
        again_ec = ec2;
      }(),
      [&]() -> net::awaitable<void> {
        co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        std::array<char, 64> buf;
        co_await client->async_read_some(net::buffer(buf), nothrow);  // ends when the server closes
      }());
  EXPECT_EQ(read_ec, beast::error::timeout);
  EXPECT_TRUE(again_ec) << "a second read after the timeout succeeded";
  EXPECT_FALSE(server->socket().is_open());
}

TEST_F(tls_stream_test, cancel_ends_a_waiting_read_with_operation_aborted) {
  auto [server, client] = connect();
  beast::error_code read_ec;
  run_both(
      [&]() -> net::awaitable<void> {
        co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        net::steady_timer t(co_await net::this_coro::executor, std::chrono::milliseconds(50));
        t.async_wait([&](beast::error_code) { server->socket().cancel(); });
        std::array<char, 64> buf;
        auto [ec, n] = co_await server->async_read_some(net::buffer(buf), nothrow);
        read_ec = ec;
        server->socket().close();
      }(),
      [&]() -> net::awaitable<void> {
        co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        std::array<char, 64> buf;
        co_await client->async_read_some(net::buffer(buf), nothrow);
      }());
  EXPECT_EQ(read_ec, net::error::operation_aborted);
}

TEST_F(tls_stream_test, peer_closing_without_close_notify_is_stream_truncated) {
  auto [server, client] = connect();
  beast::error_code read_ec;
  run_both(
      [&]() -> net::awaitable<void> {
        co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        std::array<char, 64> buf;
        auto [ec, n] = co_await server->async_read_some(net::buffer(buf), nothrow);
        read_ec = ec;
      }(),
      [&]() -> net::awaitable<void> {
        co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        beast::get_lowest_layer(*client).socket().close();
      }());
  EXPECT_EQ(read_ec, net::ssl::error::stream_truncated) << read_ec.message();
}

TEST_F(tls_stream_test, peer_close_notify_is_eof) {
  auto [server, client] = connect();
  beast::error_code read_ec;
  run_both(
      [&]() -> net::awaitable<void> {
        co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        std::array<char, 64> buf;
        auto [ec, n] = co_await server->async_read_some(net::buffer(buf), nothrow);
        read_ec = ec;
        server->socket().close();
      }(),
      [&]() -> net::awaitable<void> {
        co_await client->async_handshake(net::ssl::stream_base::client, nothrow);
        beast::get_lowest_layer(*client).expires_after(std::chrono::seconds(5));
        co_await client->async_shutdown(nothrow);
      }());
  EXPECT_EQ(read_ec, net::error::eof) << read_ec.message();
}

TEST_F(tls_stream_test, plain_http_to_the_tls_port_fails_the_handshake) {
  auto [server, client] = connect();
  beast::error_code hs_ec;
  run_both(
      [&]() -> net::awaitable<void> {
        server->expires_after(std::chrono::seconds(5));
        auto [ec] = co_await server->async_handshake(net::ssl::stream_base::server, nothrow);
        hs_ec = ec;
        server->socket().close();
      }(),
      [&]() -> net::awaitable<void> {
        const std::string plain = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        co_await net::async_write(beast::get_lowest_layer(*client).socket(), net::buffer(plain), nothrow);
        std::array<char, 64> buf;
        co_await beast::get_lowest_layer(*client).socket().async_read_some(net::buffer(buf), nothrow);
      }());
  EXPECT_TRUE(hs_ec);
  EXPECT_NE(hs_ec, beast::error::timeout);
}
