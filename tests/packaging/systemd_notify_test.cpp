// The sd_notify wrappers send what a Type=notify unit expects, to $NOTIFY_SOCKET.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <string>

#include "systemd_notify.hpp"

namespace app = caliper_sessiond::app;

namespace {

/// A datagram socket standing in for the service manager's notification socket.
class systemd_notify_to_manager : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = "/tmp/caliper-notify-" + std::to_string(getpid()) + ".sock";
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd_, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  /// The next datagram; sd_notify has sent it before returning, so it is queued already.
  std::string received() {
    char buf[512];
    const auto n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

  std::string path_;
  int fd_ = -1;
};

std::uint64_t now_usec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000U + static_cast<std::uint64_t>(ts.tv_nsec) / 1'000U;
}

}  // namespace

TEST_F(systemd_notify_to_manager, ready_sends_ready) {
  EXPECT_TRUE(app::notify_ready());
  EXPECT_EQ(received(), "READY=1");
}

TEST_F(systemd_notify_to_manager, reloading_carries_the_monotonic_time) {
  const auto before = now_usec();
  EXPECT_TRUE(app::notify_reloading());
  const auto after = now_usec();
  const std::string msg = received();
  const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
  ASSERT_EQ(msg.rfind(prefix, 0), 0U) << msg;
  const auto usec = std::stoull(msg.substr(prefix.size()));
  EXPECT_GE(usec, before);
  EXPECT_LE(usec, after);
}

TEST_F(systemd_notify_to_manager, stopping_and_watchdog) {
  EXPECT_TRUE(app::notify_stopping());
  EXPECT_EQ(received(), "STOPPING=1");
  EXPECT_TRUE(app::notify_watchdog());
  EXPECT_EQ(received(), "WATCHDOG=1");
}

TEST_F(systemd_notify_to_manager, status_is_one_line) {
  EXPECT_TRUE(app::notify_status("listening\non 8443"));
  EXPECT_EQ(received(), "STATUS=listening on 8443");
}

TEST_F(systemd_notify_to_manager, extend_timeout_in_microseconds) {
  EXPECT_TRUE(app::notify_extend_timeout(std::chrono::seconds(30)));
  EXPECT_EQ(received(), "EXTEND_TIMEOUT_USEC=30000000");
}

TEST_F(systemd_notify_to_manager, watchdog_interval_is_half_of_watchdog_usec) {
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  EXPECT_EQ(app::watchdog_interval(), std::chrono::microseconds(15'000'000));
}

TEST_F(systemd_notify_to_manager, no_watchdog_for_another_process) {
  ::setenv("WATCHDOG_USEC", "30000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  EXPECT_EQ(app::watchdog_interval(), std::nullopt);
}

TEST(systemd_notify, nothing_is_sent_without_a_manager) {
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_FALSE(app::notify_ready());
  EXPECT_FALSE(app::notify_watchdog());
  EXPECT_EQ(app::watchdog_interval(), std::nullopt);
}
