#include "completion_relay.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <stdexcept>

namespace caliper_sessiond::http {

namespace net = boost::asio;

/// The posted run. When the io_context is destroyed without running it (stopped), it drops the
/// queued completions, whose handlers own coroutine frames that own the server state: left in
/// the relay they would keep each other alive.
struct completion_relay::run_op {
  std::shared_ptr<completion_relay> relay;
  lane* l;
  run_op(std::shared_ptr<completion_relay> r, lane& ln) : relay(std::move(r)), l(&ln) {}
  run_op(run_op&&) noexcept = default;
  run_op& operator=(run_op&&) = delete;
  ~run_op() {
    if (relay) discard(*l);
  }
  void operator()() {
    auto r = std::move(relay);
    run(*l);
  }
};

completion_relay::completion_relay(const std::vector<io_executor>& lanes) {
  if (lanes.empty()) throw std::invalid_argument("completion_relay: no io_context");
  for (const auto& io : lanes) lanes_.push_back(std::make_unique<lane>(io));
}

completion_relay::lane& completion_relay::lane_for(const net::any_io_executor& target) {
  const auto* context = &target.context();
  for (auto& l : lanes_)
    if (&l->io.context() == context) return *l;
  return *lanes_.front();
}

void completion_relay::deliver(net::any_io_executor target, std::function<void()> fn) {
  auto& l = lane_for(target);
  bool post = false;
  {
    std::lock_guard lock(l.mutex);
    l.items.push_back({std::move(target), std::move(fn)});
    if (!l.posted) {
      l.posted = true;
      post = true;
    }
  }
  ++delivered_;
  if (post) {
    ++runs_;
    net::post(l.io, run_op(shared_from_this(), l));
  }
}

void completion_relay::run(lane& l) {
  std::vector<item> batch;
  {
    std::lock_guard lock(l.mutex);
    batch.swap(l.items);
    l.posted = false;
  }
  // Each on its connection's executor: inline on the lane's own thread (or when its strand is
  // free), queued behind it otherwise.
  for (auto& i : batch) net::dispatch(i.target, std::move(i.fn));
}

void completion_relay::discard(lane& l) {
  std::vector<item> dropped;
  std::lock_guard lock(l.mutex);
  dropped.swap(l.items);
  l.posted = false;
  // `dropped` is destroyed after the lock is released (declared first).
}

}  // namespace caliper_sessiond::http
