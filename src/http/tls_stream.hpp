#pragma once
/// A server-side TLS stream that lets OpenSSL read and write the socket itself (nonblocking)
/// and waits for readiness through Asio, as nginx does. Compared with asio::ssl::stream it
/// keeps no buffers of its own: asio's stream holds two zeroed 17 KiB vectors and a 2 x 17 KiB
/// BIO pair for the life of every connection, so 1,000 idle keep-alive connections cost
/// ~80 MB; here an idle connection holds only OpenSSL's session state, since
/// SSL_MODE_RELEASE_BUFFERS frees its record buffers whenever they are empty. It also saves
/// the copy through the BIO pair on every record. Private to http.
///
/// One operation at a time (read, write, handshake or shutdown), which is how the server uses
/// it; the lowest layer of itself, with beast::tcp_stream's timeout interface (a deadline that
/// closes the socket and fails the operation with beast::error::timeout).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <memory>
#include <utility>

namespace caliper_sessiond::http {

class tls_stream {
public:
  using executor_type = boost::asio::any_io_executor;
  using clock = std::chrono::steady_clock;

  /// Takes the accepted socket; `ctx` is kept alive by the SSL object (SSL_new takes a reference).
  tls_stream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& ctx);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }
  SSL* native_handle() { return ssl_.get(); }
  /// True while a multi-buffer write's copy is held (between its start and its completion).
  bool holds_write_area() const noexcept { return write_area_ != nullptr; }

  /// beast::tcp_stream's timeout interface: an operation still waiting at the deadline closes
  /// the socket and completes with beast::error::timeout.
  void expires_after(clock::duration d) { deadline_ = clock::now() + d; }
  void expires_at(clock::time_point t) { deadline_ = t; }
  void expires_never() { deadline_ = clock::time_point::max(); }

  /// What one nonblocking OpenSSL call did: finished (with `ec` and `bytes`), or needs the
  /// socket to become readable or writable first.
  enum class step { done, want_read, want_write };
  struct attempt {
    step next = step::done;
    boost::system::error_code ec;
    std::size_t bytes = 0;
  };
  enum class op_kind { handshake, read, write, shutdown };

  /// One try of `kind` on `data` (the first buffer of a read; the linearised head of a write).
  attempt try_once(op_kind kind, void* data, std::size_t size);

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return start(op_kind::read, first_mutable(buffers), std::forward<Token>(token));
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return start(op_kind::write, linearise(buffers), std::forward<Token>(token));
  }

  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type, Token&& token) {
    return start_void(op_kind::handshake, std::forward<Token>(token));
  }

  /// Sends close_notify and waits (within the deadline) for the peer's.
  template <class Token>
  auto async_shutdown(Token&& token) {
    return start_void(op_kind::shutdown, std::forward<Token>(token));
  }

private:
  struct ssl_free {
    void operator()(SSL* s) const { SSL_free(s); }
  };

  /// Largest write handed to one SSL_write: one TLS record.
  static constexpr std::size_t max_write = 16 * 1024;

  template <class MutableBufferSequence>
  static boost::asio::mutable_buffer first_mutable(const MutableBufferSequence& buffers) {
    for (auto b : boost::beast::buffers_range_ref(buffers))
      if (b.size() != 0) return b;
    return {};
  }

  /// The first buffer when it is the only one or large; otherwise up to max_write bytes of the
  /// sequence copied into a write area of just that size, so that a response's head and body
  /// go out in one record and one system call. The area lives only while the write does (see
  /// io_op): an idle connection keeps none (a 16 KiB area kept per connection was 16 MB of
  /// 1,000 idle connections, bench/README.md).
  template <class ConstBufferSequence>
  boost::asio::const_buffer linearise(const ConstBufferSequence& buffers) {
    std::size_t count = 0, total = 0;
    boost::asio::const_buffer first;
    for (auto b : boost::beast::buffers_range_ref(buffers)) {
      if (b.size() == 0) continue;
      if (count++ == 0) first = b;
      total += b.size();
    }
    if (count <= 1 || first.size() >= max_write) return first;
    const std::size_t want = std::min(total, max_write);
    write_area_ = std::make_unique_for_overwrite<char[]>(want);
    std::size_t used = 0;
    for (auto b : boost::beast::buffers_range_ref(buffers)) {
      const auto n = std::min(b.size(), want - used);
      std::memcpy(write_area_.get() + used, b.data(), n);
      used += n;
      if (used == want) break;
    }
    return {write_area_.get(), used};
  }

  template <class Token>
  auto start(op_kind kind, boost::asio::mutable_buffer buf, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        io_op{this, kind, buf.data(), buf.size()}, token, socket_);
  }
  template <class Token>
  auto start(op_kind kind, boost::asio::const_buffer buf, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        io_op{this, kind, const_cast<void*>(buf.data()), buf.size()}, token, socket_);
  }
  template <class Token>
  auto start_void(op_kind kind, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code)>(void_op{this, kind}, token, socket_);
  }

  /// Arms the deadline's timer for a wait; false when the deadline has passed already.
  bool arm_deadline();
  /// After a wait: the error to report (timeout when the deadline closed the socket).
  boost::system::error_code after_wait(const boost::system::error_code& ec);

  /// Tries the operation; completes it (posted, when still inside the initiating call) or
  /// waits for the socket and tries again.
  struct io_op {
    tls_stream* s;
    op_kind kind;
    void* data;
    std::size_t size;
    bool started = false;
    attempt result{};

    /// Completes the operation. A write's area goes first: OpenSSL needed the same buffer only
    /// while it asked to be called again; the caller passes what is left of a partial write anew.
    template <class Self>
    void finish(Self& self, boost::system::error_code ec, std::size_t bytes) {
      if (kind == op_kind::write) s->write_area_.reset();
      self.complete(ec, bytes);
    }

    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}) {
      if (result.next == step::done && started) {  // re-entered after a posted completion
        finish(self, result.ec, result.bytes);
        return;
      }
      const bool initiating = !started;
      started = true;
      if (!initiating) {
        ec = s->after_wait(ec);
        if (ec) {
          finish(self, ec, 0);
          return;
        }
      }
      if (kind != op_kind::handshake && kind != op_kind::shutdown && size == 0) {
        result = {};
      } else {
        result = s->try_once(kind, data, size);
      }
      if (result.next == step::done) {
        if (initiating) {
          boost::asio::post(std::move(self));  // never complete inside the initiating call
        } else {
          finish(self, result.ec, result.bytes);
        }
        return;
      }
      if (!s->arm_deadline()) {
        result = {step::done, boost::beast::error::timeout, 0};
        s->close_for_timeout();
        if (initiating) {
          boost::asio::post(std::move(self));
        } else {
          finish(self, result.ec, 0);
        }
        return;
      }
      s->socket_.async_wait(result.next == step::want_read ? boost::asio::socket_base::wait_read
                                                           : boost::asio::socket_base::wait_write,
                            std::move(self));
    }
  };

  struct void_op {
    tls_stream* s;
    op_kind kind;
    template <class Self>
    void operator()(Self& self) {
      s->start(kind, boost::asio::mutable_buffer{}, std::move(self));
    }
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec, std::size_t) {
      self.complete(ec);
    }
  };

  void close_for_timeout();

  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<SSL, ssl_free> ssl_;
  boost::asio::steady_timer timer_;
  clock::time_point deadline_ = clock::time_point::max();
  bool timed_out_ = false;
  std::uint64_t tick_ = 0;  ///< a deadline timer that fired for an earlier wait does nothing
  /// Points at this stream until it is destroyed: the deadline's handler may run after that.
  std::shared_ptr<tls_stream*> alive_;
  std::unique_ptr<char[]> write_area_;  ///< a multi-buffer write's bytes, while it is in progress
};

}  // namespace caliper_sessiond::http
