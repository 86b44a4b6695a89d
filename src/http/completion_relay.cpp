#include "completion_relay.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace caliper_sessiond::http {

namespace net = boost::asio;

/// The posted run. When the io_context is destroyed without running it (stopped), it drops the
/// queued completions, whose handlers own coroutine frames that own the server state: left in
/// the relay they would keep each other alive.
struct completion_relay::run_op {
  std::shared_ptr<completion_relay> relay;
  explicit run_op(std::shared_ptr<completion_relay> r) : relay(std::move(r)) {}
  run_op(run_op&&) noexcept = default;
  run_op& operator=(run_op&&) = delete;
  ~run_op() {
    if (relay) relay->discard();
  }
  void operator()() {
    auto r = std::move(relay);
    r->run();
  }
};

void completion_relay::deliver(net::any_io_executor target, std::function<void()> fn) {
  bool post = false;
  {
    std::lock_guard lock(mutex_);
    items_.push_back({std::move(target), std::move(fn)});
    ++delivered_;
    if (!posted_) {
      posted_ = true;
      ++runs_;
      post = true;
    }
  }
  if (post) net::post(io_, run_op(shared_from_this()));
}

void completion_relay::run() {
  std::vector<item> batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(items_);
    posted_ = false;
  }
  // Each on its strand: inline when the strand is free, queued behind it otherwise.
  for (auto& i : batch) net::dispatch(i.target, std::move(i.fn));
}

void completion_relay::discard() {
  std::vector<item> dropped;
  std::lock_guard lock(mutex_);
  dropped.swap(items_);
  posted_ = false;
  // `dropped` is destroyed after the lock is released (declared first).
}

std::size_t completion_relay::delivered() const {
  std::lock_guard lock(mutex_);
  return delivered_;
}

std::size_t completion_relay::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

}  // namespace caliper_sessiond::http
