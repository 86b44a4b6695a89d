#include "text_key_cache.hpp"

#include <time.h>

namespace caliper_sessiond::store {

boot_clock::time_point boot_clock::now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

std::optional<std::int64_t> text_key_cache::find(std::string_view text, clock::time_point now) const {
  const auto it = entries_.find(text);
  if (it == entries_.end() || now - it->second.asked_at >= ttl_) return std::nullopt;
  return it->second.key;
}

void text_key_cache::put(std::string_view text, std::int64_t key, clock::time_point asked_at) {
  if (const auto it = entries_.find(text); it != entries_.end()) {
    it->second = entry{key, asked_at};
    return;
  }
  const std::size_t cost = text.size() + entry_overhead;
  if (bytes_ + cost > max_bytes_ && !entries_.empty()) {
    // The keys not asked for within the time to live go first; when the rest would leave less
    // than a quarter of the bound free, everything goes (so a sweep is followed by at least a
    // quarter of the bound's worth of new texts before the next one, never by one per text).
    std::erase_if(entries_, [&](const auto& e) {
      if (asked_at - e.second.asked_at < ttl_) return false;
      bytes_ -= e.first.size() + entry_overhead;
      return true;
    });
    ++sweeps_;
    if (bytes_ + cost > max_bytes_ - max_bytes_ / 4) {
      clear();
      ++resets_;
    }
  }
  entries_.emplace(std::string(text), entry{key, asked_at});
  bytes_ += cost;
}

void text_key_cache::clear() noexcept {
  entries_.clear();
  bytes_ = 0;
}

}  // namespace caliper_sessiond::store
