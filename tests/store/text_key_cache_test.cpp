// The writer's memory of caliper.texts' keys: found within the time to live, forgotten after
// it, and bounded in bytes.
#include <gtest/gtest.h>

#include <string>

#include "text_key_cache.hpp"

namespace caliper_sessiond::store {
namespace {

using namespace std::chrono_literals;
using clock = text_key_cache::clock;

TEST(text_key_cache, finds_a_key_until_its_time_to_live_has_passed) {
  text_key_cache cache(10min, 1 << 20);
  const auto t0 = clock::time_point{} + 1h;
  EXPECT_FALSE(cache.find("agent", t0));
  cache.put("agent", 42, t0);
  EXPECT_EQ(cache.find("agent", t0), 42);
  EXPECT_EQ(cache.find("agent", t0 + 10min - 1ns), 42);
  EXPECT_FALSE(cache.find("agent", t0 + 10min)) << "a key is used for less than the time to live";
  EXPECT_FALSE(cache.find("agen", t0));
  EXPECT_FALSE(cache.find("agent ", t0));
  // Asked again: the new answer and the new time count.
  cache.put("agent", 43, t0 + 20min);
  EXPECT_EQ(cache.find("agent", t0 + 25min), 43);
  EXPECT_EQ(cache.size(), 1U);
}

TEST(text_key_cache, forgets_everything_when_a_new_text_would_pass_the_bound) {
  const std::size_t per_entry = 100 + text_key_cache::entry_overhead;
  text_key_cache cache(10min, 3 * per_entry);
  const auto t = clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) cache.put(std::string(99, 'a') + char('0' + i), i, t);
  EXPECT_EQ(cache.size(), 3U);
  EXPECT_EQ(cache.bytes(), 3 * per_entry);
  EXPECT_EQ(cache.resets(), 0U);
  cache.put(std::string(99, 'a') + '0', 7, t);  // known: replaced, no growth
  EXPECT_EQ(cache.bytes(), 3 * per_entry);
  cache.put(std::string(99, 'b') + '0', 9, t);
  EXPECT_EQ(cache.resets(), 1U);
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(cache.bytes(), per_entry);
  EXPECT_FALSE(cache.find(std::string(99, 'a') + '0', t));
  EXPECT_EQ(cache.find(std::string(99, 'b') + '0', t), 9);
}

// At the bound the keys past their time to live go first; everything goes only when the rest
// would leave less than a quarter of the bound free.
TEST(text_key_cache, at_the_bound_forgets_the_expired_keys_first) {
  const std::size_t per_entry = 100 + text_key_cache::entry_overhead;
  text_key_cache cache(10min, 8 * per_entry);
  const auto t = clock::time_point{} + 1h;
  const auto text = [](char c) { return std::string(100, c); };
  for (char c = 'a'; c < 'e'; ++c) cache.put(text(c), c, t);           // 4, asked at t
  for (char c = 'e'; c < 'i'; ++c) cache.put(text(c), c, t + 5min);    // 4, asked at t + 5 min
  EXPECT_EQ(cache.size(), 8U);
  cache.put(text('i'), 'i', t + 10min);  // a-d have expired: they go, e-h stay
  EXPECT_EQ(cache.sweeps(), 1U);
  EXPECT_EQ(cache.resets(), 0U);
  EXPECT_EQ(cache.size(), 5U);
  EXPECT_EQ(cache.bytes(), 5 * per_entry);
  EXPECT_FALSE(cache.find(text('a'), t + 10min));
  EXPECT_EQ(cache.find(text('h'), t + 10min), 'h');
  EXPECT_EQ(cache.find(text('i'), t + 10min), 'i');
  for (char c = 'j'; c < 'm'; ++c) cache.put(text(c), c, t + 11min);  // full again: 8
  cache.put(text('m'), 'm', t + 12min);  // nothing expired: 8 + 1 > 3/4 of 8, everything goes
  EXPECT_EQ(cache.sweeps(), 2U);
  EXPECT_EQ(cache.resets(), 1U);
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(cache.find(text('m'), t + 12min), 'm');
}

TEST(text_key_cache, keeps_a_text_longer_than_the_bound_alone) {
  text_key_cache cache(10min, 1000);
  const auto t = clock::time_point{} + 1h;
  cache.put("short", 1, t);
  cache.put(std::string(5000, 'u'), 2, t);
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(cache.find(std::string(5000, 'u'), t), 2);
  cache.put("next", 3, t);  // the long one goes
  EXPECT_EQ(cache.size(), 1U);
  EXPECT_EQ(cache.resets(), 2U);
  cache.clear();
  EXPECT_EQ(cache.size(), 0U);
  EXPECT_EQ(cache.bytes(), 0U);
}

}  // namespace
}  // namespace caliper_sessiond::store
