#include "connection_state.hpp"

namespace caliper_sessiond::http {

void connection_state::arm(clock::time_point when) {
  const auto generation = ++generation_;
  timed_out_ = false;
  timer_.expires_at(when);
  timer_.async_wait([weak = weak_from_this(), generation](const boost::system::error_code& ec) {
    if (ec) return;  // disarmed, re-armed or destroyed
    auto self = weak.lock();
    if (!self || self->generation_ != generation) return;
    self->timed_out_ = true;
    self->cancel_io();
  });
}

void connection_state::disarm() {
  ++generation_;
  timer_.cancel();
}

}  // namespace caliper_sessiond::http
