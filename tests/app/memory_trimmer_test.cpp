// The memory trimmer (src/app/memory_trimmer.hpp): it counts its trims, never starts with an
// interval of 0, and gives freed heap pages between live blocks back to the system (RSS falls),
// which glibc's free() alone does not. Built without sanitizers in every build
// (tests/app/CMakeLists.txt): AddressSanitizer's allocator replaces glibc's heap, the one
// malloc_trim works on.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "eventually.hpp"
#include "memory_trimmer.hpp"

namespace app = caliper_sessiond::app;
using caliper_sessiond::testing::eventually;
using namespace std::chrono_literals;

namespace {

long rss_kb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace

TEST(memory_trimmer, counts_each_trim) {
  // The interval, the first wait and stopping are periodic_thread's (periodic_thread_test).
  app::memory_trimmer trimmer(10ms);
  EXPECT_TRUE(trimmer.running());
  EXPECT_TRUE(eventually([&] { return trimmer.stats().runs.load() >= 2; })) << "fewer than two trims in 20 s";
}

TEST(memory_trimmer, an_interval_of_zero_starts_no_thread) {
  app::memory_trimmer trimmer(0ms);
  EXPECT_FALSE(trimmer.running());
  EXPECT_EQ(trimmer.stats().runs.load(), 0u);
}

TEST(memory_trimmer, gives_freed_pages_between_live_blocks_back) {
  // 64 MiB in 32 KiB blocks (under glibc's mmap threshold: on the heap), each followed by a
  // small block that stays: freeing the large ones leaves holes that free() cannot return.
  constexpr std::size_t blocks = 2048, size = 32 * 1024;
  std::vector<char*> large, pins;
  large.reserve(blocks);
  pins.reserve(blocks);
  for (std::size_t i = 0; i < blocks; ++i) {
    large.push_back(static_cast<char*>(std::malloc(size)));
    std::memset(large.back(), 1, size);
    pins.push_back(static_cast<char*>(std::malloc(64)));
  }
  for (char* p : large) std::free(p);
  const long before = rss_kb();
  {
    app::memory_trimmer trimmer(10ms);
    ASSERT_TRUE(eventually([&] { return trimmer.stats().runs.load() >= 1; }));
  }
  const long after = rss_kb();
  for (char* p : pins) std::free(p);
  EXPECT_GT(before - after, 32 * 1024) << "RSS " << before << " kB before the trim, " << after << " kB after";
}
