#pragma once
/// A writer's memory of caliper.texts (sql/010): text -> key, so that a batch whose texts it
/// knows is written as one plain INSERT of keys, with no lookup in the database.
///
/// A key is used for at most `ttl` after the writer asked the database for it (the time
/// passed to put() is taken before the call of caliper.text_keys, which found the text's
/// resolved_at within the last hour or set it). That bound is what lets caliper.prune_texts
/// delete texts not resolved for a day, and caliper.forget_texts an erased user's IRI not
/// resolved for 8 hours (sql/012), without racing a writer.
/// The cache holds at most `max_bytes` of texts. When a new text would pass it, the keys older
/// than `ttl` are forgotten, and everything when the rest would leave less than a quarter of
/// the bound free (a miss costs one round trip; a sender sending a new text with every event
/// would otherwise grow it without end).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace caliper_sessiond::store {

/// CLOCK_BOOTTIME: steady, and counting the time the host was suspended (steady_clock does
/// not: a key would outlive its time to live by the length of a suspend).
struct boot_clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<boot_clock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;
};

class text_key_cache {
public:
  using clock = boot_clock;

  /// 6 hours: a user's login and logout are usually more than minutes apart, and the user's IRI
  /// is a key since sql/012. Inside caliper.prune_texts' one day; caliper.forget_texts waits
  /// 8 hours (this, text_keys' hour and an hour's margin) and must change with it.
  static constexpr std::chrono::hours default_ttl{6};
  /// 16 MiB of texts: some 80,000 user IRIs of ~130 bytes, or 50,000 user agents.
  static constexpr std::size_t default_max_bytes = std::size_t{16} << 20;
  /// What one entry costs beyond its text (node, hash bucket, key), counted against max_bytes.
  static constexpr std::size_t entry_overhead = 64;

  explicit text_key_cache(clock::duration ttl = default_ttl, std::size_t max_bytes = default_max_bytes)
      : ttl_(ttl), max_bytes_(max_bytes) {}

  /// The key of `text`, unless unknown or resolved `ttl` or more before `now`.
  std::optional<std::int64_t> find(std::string_view text, clock::time_point now) const;
  /// Remembers `key` for `text`, as resolved at `asked_at`.
  void put(std::string_view text, std::int64_t key, clock::time_point asked_at);
  void clear() noexcept;

  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t bytes() const noexcept { return bytes_; }
  /// How many times the bound made it forget the keys older than `ttl`, and everything.
  std::uint64_t sweeps() const noexcept { return sweeps_; }
  std::uint64_t resets() const noexcept { return resets_; }

private:
  struct entry {
    std::int64_t key;
    clock::time_point asked_at;
  };
  struct text_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  clock::duration ttl_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::uint64_t sweeps_ = 0;
  std::uint64_t resets_ = 0;
  std::unordered_map<std::string, entry, text_hash, std::equal_to<>> entries_;
};

}  // namespace caliper_sessiond::store
