#include "log_sink.hpp"

#include <unistd.h>

#include <cerrno>

namespace caliper_sessiond::app {

buffered_fd_sink::~buffered_fd_sink() {
  std::lock_guard lock(mutex_);
  write_out();
}

void buffered_fd_sink::sink_it_(const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t line;
  formatter_->format(msg, line);
  buffer_.append(line.data(), line.size());
  if (buffer_.size() >= flush_bytes_ || msg.level >= spdlog::level::warn) write_out();
}

void buffered_fd_sink::write_out() noexcept {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    const auto n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // nowhere to report a failing log descriptor: drop the lines
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
}

}  // namespace caliper_sessiond::app
