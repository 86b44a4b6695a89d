#pragma once
/// What one connection shares with callbacks that may outlive its coroutine: the shutdown closer
/// (connection_registry::close_idle posts it) and the read deadline's timer. Both hold it
/// weakly and run on the connection's executor, so neither touches a connection that has ended.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

#include "connection_limits.hpp"

namespace caliper_sessiond::http {

/// Which listener a connection came in on.
enum class listener_role { main, metrics };

class connection_state : public std::enable_shared_from_this<connection_state> {
public:
  using clock = std::chrono::steady_clock;

  /// `ex` is the connection's executor; `slot` its count in the connection limits.
  connection_state(boost::asio::any_io_executor ex, connection_slot slot = {})
      : timer_(std::move(ex)), slot_(std::move(slot)) {}
  virtual ~connection_state() = default;
  connection_state(const connection_state&) = delete;
  connection_state& operator=(const connection_state&) = delete;

  /// Cancels the socket's pending operations (they complete with operation_aborted).
  virtual void cancel_io() = 0;

  /// Cancels the socket's I/O at `when` unless disarm() comes first; timed_out() then holds
  /// until the next arm(). Unlike beast::tcp_stream's timeout, this leaves the socket open,
  /// so that a 408 can still be written.
  /// Lazy: a request arms and disarms twice (head, body), each time with a deadline later than
  /// the last, so arm() leaves a wait in flight that ends earlier alone and disarm() only
  /// forgets the deadline. That wait, when it ends, waits again for the current deadline or
  /// stops when there is none. A busy connection thus touches the timer about once per
  /// read timeout instead of four times per request (cancel, completion, expiry, wait).
  void arm(clock::time_point when);
  void disarm() { deadline_ = clock::time_point::max(); }
  /// disarm(), and the wait in flight ends now: when the connection reads no more requests,
  /// so that no wait outlives its use (an io_context's run() would wait for it).
  void stop_deadline();
  bool timed_out() const { return timed_out_; }

  bool busy = false;  ///< a request is being served: shutdown leaves the connection be
  const clock::time_point opened = clock::now();
  std::uint64_t requests = 0;  ///< answered on this connection

private:
  void wait();
  void expired();

  boost::asio::steady_timer timer_;
  clock::time_point deadline_ = clock::time_point::max();  ///< max: disarmed
  bool waiting_ = false;  ///< a wait is in flight, ending at timer_.expiry()
  bool timed_out_ = false;
  connection_slot slot_;
};

}  // namespace caliper_sessiond::http
