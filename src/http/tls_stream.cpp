#include "tls_stream.hpp"

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>

#include <cerrno>
#include <csignal>

namespace caliper_sessiond::http {

namespace net = boost::asio;
using boost::system::error_code;

tls_stream::tls_stream(net::ip::tcp::socket socket, net::ssl::context& ctx)
    : socket_(std::move(socket)),
      ssl_(SSL_new(ctx.native_handle())),
      timer_(socket_.get_executor()),
      alive_(std::make_shared<tls_stream*>(this)) {
  // OpenSSL writes with write(2), which raises SIGPIPE on a reset connection (Asio uses
  // MSG_NOSIGNAL): ignore it process-wide, once; EPIPE then fails the write instead.
  [[maybe_unused]] static const bool sigpipe_ignored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;
  if (!ssl_) return;  // try_once reports it; a constructor that throws would end the process
  // Record buffers are freed whenever they are empty: what makes an idle connection small.
  SSL_set_mode(ssl_.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // One read(2) per burst instead of one for each record's header and one for its body.
  SSL_set_read_ahead(ssl_.get(), 1);
  error_code ec;
  // OpenSSL writes each record with its own write(2) (a TLS 1.3 server's session tickets
  // after the handshake, for one): without this, Nagle holds the second back for the
  // client's delayed ACK, 40 ms a connection. Every write here is a whole record anyway.
  socket_.set_option(net::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);
  if (ec || SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle())) != 1) {
    ssl_.reset();
    return;
  }
  SSL_set_accept_state(ssl_.get());
}

tls_stream::~tls_stream() { *alive_ = nullptr; }

tls_stream::attempt tls_stream::try_once(op_kind kind, void* data, std::size_t size) {
  // A socket closed by a deadline may already carry another connection's number: never let
  // OpenSSL near it again.
  if (!socket_.is_open()) return {step::done, timed_out_ ? error_code(boost::beast::error::timeout) : net::error::bad_descriptor, 0};
  if (!ssl_) return {step::done, net::error::no_memory, 0};
  SSL* ssl = ssl_.get();
  ERR_clear_error();
  std::size_t n = 0;
  int r = 0;
  switch (kind) {
    case op_kind::handshake: r = SSL_do_handshake(ssl); break;
    case op_kind::read: r = SSL_read_ex(ssl, data, size, &n); break;
    case op_kind::write: r = SSL_write_ex(ssl, data, size, &n); break;
    case op_kind::shutdown:
      r = SSL_shutdown(ssl);
      if (r == 0) r = SSL_shutdown(ssl);  // close_notify sent; now wait for the peer's
      break;
  }
  const int saved_errno = errno;
  if (r == 1) return {step::done, {}, n};
  const int err = SSL_get_error(ssl, r);
  switch (err) {
    case SSL_ERROR_WANT_READ: return {step::want_read, {}, 0};
    case SSL_ERROR_WANT_WRITE: return {step::want_write, {}, 0};
    case SSL_ERROR_ZERO_RETURN: return {step::done, net::error::eof, 0};
    case SSL_ERROR_SYSCALL: {
      if (const auto e = ERR_get_error(); e != 0)
        return {step::done, error_code(static_cast<int>(e), net::error::get_ssl_category()), 0};
      if (saved_errno != 0) return {step::done, error_code(saved_errno, boost::system::system_category()), 0};
      return {step::done, net::ssl::error::stream_truncated, 0};  // EOF without close_notify
    }
    default: {
      const auto e = ERR_get_error();
      if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return {step::done, net::ssl::error::stream_truncated, 0};
      if (e == 0) return {step::done, net::error::eof, 0};
      return {step::done, error_code(static_cast<int>(e), net::error::get_ssl_category()), 0};
    }
  }
}

bool tls_stream::arm_deadline() {
  if (deadline_ == clock::time_point::max()) return true;
  if (clock::now() >= deadline_) return false;
  const auto tick = ++tick_;
  timer_.expires_at(deadline_);
  timer_.async_wait([alive = alive_, tick](const error_code& ec) {
    if (ec || *alive == nullptr) return;
    tls_stream& s = **alive;
    if (s.tick_ == tick) s.close_for_timeout();
  });
  return true;
}

error_code tls_stream::after_wait(const error_code& ec) {
  if (deadline_ != clock::time_point::max()) {
    ++tick_;  // a handler already queued for this wait does nothing now
    timer_.cancel();
  }
  if (timed_out_) return boost::beast::error::timeout;
  return ec;
}

void tls_stream::close_for_timeout() {
  timed_out_ = true;
  error_code ignored;
  socket_.close(ignored);
}

}  // namespace caliper_sessiond::http
