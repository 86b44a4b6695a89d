// The buffered log sink: info lines wait for a flush, warnings go out at once, nothing is
// lost at a flush or when the sink goes away.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "log_sink.hpp"

namespace {

using caliper_sessiond::app::buffered_fd_sink;

/// A pipe whose read end never blocks: read_all() returns what has been written so far.
struct pipe_pair {
  int fds[2] = {-1, -1};
  pipe_pair() {
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  }
  ~pipe_pair() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  std::string read_all() const {
    std::string out;
    char buf[4096];
    for (;;) {
      const auto n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
};

spdlog::logger make_logger(const std::shared_ptr<buffered_fd_sink>& sink) {
  spdlog::logger logger("test", sink);
  logger.set_pattern("%l %v");
  logger.set_level(spdlog::level::debug);
  return logger;
}

TEST(log_sink, info_lines_wait_for_a_flush) {
  pipe_pair p;
  auto sink = std::make_shared<buffered_fd_sink>(p.fds[1]);
  auto logger = make_logger(sink);
  logger.info("request id=1");
  logger.info("request id=2");
  EXPECT_EQ(p.read_all(), "");
  logger.flush();
  EXPECT_EQ(p.read_all(), "info request id=1\ninfo request id=2\n");
  EXPECT_EQ(p.read_all(), "");  // written once
}

TEST(log_sink, a_warning_writes_it_and_everything_before_it_at_once) {
  pipe_pair p;
  auto sink = std::make_shared<buffered_fd_sink>(p.fds[1]);
  auto logger = make_logger(sink);
  logger.info("before");
  logger.warn("journal: cannot write");
  EXPECT_EQ(p.read_all(), "info before\nwarning journal: cannot write\n");
  logger.error("and an error");
  EXPECT_EQ(p.read_all(), "error and an error\n");
}

TEST(log_sink, a_full_buffer_is_written_without_a_flush) {
  pipe_pair p;
  auto sink = std::make_shared<buffered_fd_sink>(p.fds[1], 64);
  auto logger = make_logger(sink);
  logger.info("0123456789012345678901234567890");  // 37 bytes with "info " and newline
  EXPECT_EQ(p.read_all(), "");
  logger.info("0123456789012345678901234567890");  // 74 >= 64
  EXPECT_EQ(p.read_all().size(), 74u);
}

TEST(log_sink, lines_left_in_the_buffer_are_written_when_the_sink_goes) {
  pipe_pair p;
  {
    auto sink = std::make_shared<buffered_fd_sink>(p.fds[1]);
    auto logger = make_logger(sink);
    logger.info("last words");
  }
  EXPECT_EQ(p.read_all(), "info last words\n");
}

}  // namespace
