#include "nesting.hpp"

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace caliper_sessiond::caliper::detail {
namespace {

struct scan_state {
  const char* begin;
  std::size_t limit;
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;

  /// Handles one of `"{}[]` at `p`; false once the depth exceeds the limit.
  bool step(const char* p) noexcept {
    const char c = *p;
    if (c == '"') {
      const char* q = p;
      while (q > begin && q[-1] == '\\') --q;
      if ((p - q) % 2 == 0) in_string = !in_string;  // an even run of backslashes does not escape it
      return true;
    }
    if (in_string) return true;
    if (c == '{' || c == '[') {
      if (++depth > deepest) deepest = depth;
      return deepest <= limit;
    }
    if (depth > 0) --depth;
    return true;
  }
};

bool is_special(char c) noexcept { return c == '"' || c == '{' || c == '}' || c == '[' || c == ']'; }

}  // namespace

std::size_t nesting_depth(std::string_view json, std::size_t limit) noexcept {
  scan_state s{json.data(), limit};
  const char* p = json.data();
  const char* const end = p + json.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i open_brace = _mm_set1_epi8('{');
  const __m128i close_brace = _mm_set1_epi8('}');
  const __m128i open_bracket = _mm_set1_epi8('[');
  const __m128i close_bracket = _mm_set1_epi8(']');
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hits = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, open_brace)),
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, close_brace), _mm_cmpeq_epi8(v, open_bracket)),
                     _mm_cmpeq_epi8(v, close_bracket)));
    auto mask = static_cast<std::uint32_t>(_mm_movemask_epi8(hits));
    while (mask != 0) {
      if (!s.step(p + __builtin_ctz(mask))) return s.deepest;
      mask &= mask - 1;
    }
  }
#endif
  for (; p < end; ++p)
    if (is_special(*p) && !s.step(p)) return s.deepest;
  return s.deepest;
}

}  // namespace caliper_sessiond::caliper::detail
