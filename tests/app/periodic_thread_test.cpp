// periodic_thread (src/app/periodic_thread.hpp), the loop under the maintenance and the memory
// trim: when the first run happens, that runs repeat, and that destruction ends a long wait at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "eventually.hpp"
#include "periodic_thread.hpp"

namespace app = caliper_sessiond::app;
using caliper_sessiond::testing::eventually;
using namespace std::chrono_literals;

TEST(periodic_thread, at_start_runs_at_once_and_destruction_ends_the_wait) {
  std::atomic<int> runs{0};
  auto t = std::make_unique<app::periodic_thread>("test-periodic", std::chrono::hours(1),
                                                  app::periodic_thread::first_run::at_start, [&] { ++runs; });
  EXPECT_TRUE(eventually([&] { return runs.load() == 1; })) << "the first run did not come at once";
  const auto start = std::chrono::steady_clock::now();
  t.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "destruction waited for the hour";
  EXPECT_EQ(runs.load(), 1);
}

TEST(periodic_thread, after_interval_waits_one_interval_first) {
  using clock = std::chrono::steady_clock;
  std::atomic<int> runs{0};
  std::atomic<clock::rep> first_at{0};
  const auto constructed = clock::now();
  app::periodic_thread t("test-periodic", 50ms, app::periodic_thread::first_run::after_interval, [&] {
    if (runs.load() == 0) first_at = clock::now().time_since_epoch().count();
    ++runs;
  });
  ASSERT_TRUE(eventually([&] { return runs.load() >= 1; }));
  const auto first = clock::time_point(clock::duration(first_at.load()));
  EXPECT_GE(first - constructed, 50ms) << "ran before its first interval";
}

TEST(periodic_thread, runs_again_every_interval_on_a_named_thread) {
  std::atomic<int> runs{0};
  std::string name;
  app::periodic_thread t("test-periodic", 5ms, app::periodic_thread::first_run::after_interval, [&] {
    if (runs.load() == 0) std::getline(std::ifstream("/proc/thread-self/comm"), name);
    ++runs;
  });
  EXPECT_TRUE(eventually([&] { return runs.load() >= 3; })) << "fewer than three runs";
  EXPECT_EQ(name, "test-periodic");
}
