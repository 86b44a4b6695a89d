#pragma once
/// The server's log sink: lines collect in memory and reach the descriptor (stderr: journald
/// under systemd) in one write(2) when the buffer passes flush_bytes, at once for a warning
/// or worse, on flush() (spdlog::flush_every, every second) and when the sink is destroyed.
/// spdlog's stderr sink writes and flushes every line: one system call per request with the
/// access log on. The price: a kill -9 loses up to a second of info lines, never a warning.

#include <spdlog/sinks/base_sink.h>

#include <cstddef>
#include <mutex>
#include <string>

namespace caliper_sessiond::app {

class buffered_fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
  static constexpr std::size_t default_flush_bytes = 32 * 1024;

  explicit buffered_fd_sink(int fd, std::size_t flush_bytes = default_flush_bytes) : fd_(fd), flush_bytes_(flush_bytes) {}
  ~buffered_fd_sink() override;
  buffered_fd_sink(const buffered_fd_sink&) = delete;
  buffered_fd_sink& operator=(const buffered_fd_sink&) = delete;

protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override { write_out(); }

private:
  void write_out() noexcept;

  int fd_;
  std::size_t flush_bytes_;
  std::string buffer_;
};

}  // namespace caliper_sessiond::app
