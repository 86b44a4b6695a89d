#include "connection_state.hpp"

namespace caliper_sessiond::http {

void connection_state::arm(clock::time_point when) {
  timed_out_ = false;
  deadline_ = when;
  if (waiting_ && timer_.expiry() <= when) return;  // that wait ends first and waits again
  timer_.expires_at(when);                          // a later wait ends now, operation_aborted
  wait();
}

void connection_state::stop_deadline() {
  deadline_ = clock::time_point::max();
  waiting_ = false;
  timer_.cancel();
}

void connection_state::wait() {
  waiting_ = true;
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    // Aborted: replaced by an earlier arm(), whose wait is in flight, or the state is gone.
    if (ec) return;
    if (auto self = weak.lock()) self->expired();
  });
}

void connection_state::expired() {
  waiting_ = false;
  if (deadline_ == clock::time_point::max()) return;  // disarmed: the next arm() waits again
  if (clock::now() < deadline_) {                     // re-armed for later since this wait began
    timer_.expires_at(deadline_);
    wait();
    return;
  }
  deadline_ = clock::time_point::max();
  timed_out_ = true;
  cancel_io();
}

}  // namespace caliper_sessiond::http
