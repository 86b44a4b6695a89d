#pragma once
/// Brings the store's completions (from the journal's flusher or the writer's threads) back to
/// the I/O threads with one post per burst instead of one per request: a group commit settles
/// many requests at once, and each post from another thread may wake an I/O thread. The first
/// completion of a burst posts a run; the run dispatches every completion queued by then, each
/// on its connection's strand, inline where that strand is free (it is: its coroutine waits).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace caliper_sessiond::http {

class completion_relay : public std::enable_shared_from_this<completion_relay> {
public:
  explicit completion_relay(boost::asio::io_context::executor_type io) : io_(std::move(io)) {}

  /// Thread-safe. Runs `fn` on `target` (a connection's strand) soon, never inside this call.
  void deliver(boost::asio::any_io_executor target, std::function<void()> fn);

  /// Completions delivered and runs posted so far (for the tests: runs < delivered under load).
  std::size_t delivered() const;
  std::size_t runs() const;

private:
  struct item {
    boost::asio::any_io_executor target;
    std::function<void()> fn;
  };
  struct run_op;
  void run();
  void discard();

  boost::asio::io_context::executor_type io_;
  mutable std::mutex mutex_;
  std::vector<item> items_;
  bool posted_ = false;
  std::size_t delivered_ = 0;
  std::size_t runs_ = 0;
};

}  // namespace caliper_sessiond::http
