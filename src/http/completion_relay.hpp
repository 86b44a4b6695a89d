#pragma once
/// Brings the store's completions (from the journal's flusher or the writer's threads) back to
/// the I/O threads with one post per burst instead of one per request: a group commit settles
/// many requests at once, and each post from another thread may wake an I/O thread. The first
/// completion of a burst posts a run; the run dispatches every completion queued by then, each
/// on its connection's executor: inline, since the run is on that executor's own thread (a
/// strand, as in the unit tests, queues it when busy).
/// With one io_context per I/O thread, each has its own lane: a completion is run by the thread
/// that serves its connection, never handed from one I/O thread to another.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace caliper_sessiond::http {

class completion_relay : public std::enable_shared_from_this<completion_relay> {
public:
  using io_executor = boost::asio::io_context::executor_type;
  explicit completion_relay(io_executor io) : completion_relay(std::vector<io_executor>{std::move(io)}) {}
  /// One lane per io_context (at least one).
  explicit completion_relay(const std::vector<io_executor>& lanes);

  /// Thread-safe. Runs `fn` on `target` (a connection's executor) soon, never inside this call,
  /// from a run posted to the lane of target's io_context (the first lane for another one).
  void deliver(boost::asio::any_io_executor target, std::function<void()> fn);

  /// Completions delivered and runs posted so far (for the tests: runs < delivered under load).
  std::size_t delivered() const { return delivered_.load(); }
  std::size_t runs() const { return runs_.load(); }

private:
  struct item {
    boost::asio::any_io_executor target;
    std::function<void()> fn;
  };
  struct lane {
    explicit lane(io_executor e) : io(std::move(e)) {}
    io_executor io;
    std::mutex mutex;
    std::vector<item> items;
    bool posted = false;
  };
  struct run_op;
  lane& lane_for(const boost::asio::any_io_executor& target);
  static void run(lane& l);
  static void discard(lane& l);

  std::vector<std::unique_ptr<lane>> lanes_;
  std::atomic<std::size_t> delivered_{0};
  std::atomic<std::size_t> runs_{0};
};

}  // namespace caliper_sessiond::http
