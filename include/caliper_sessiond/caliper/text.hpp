#pragma once
/// Text that PostgreSQL can store.
///
/// The one rule, applied to every string the parser returns (columns, reasons and raw JSON):
/// the result is valid UTF-8 without U+0000. Each ill-formed UTF-8 sequence (maximal subpart,
/// as Unicode recommends), each U+0000 (a raw NUL byte or a decoded `\u0000` escape) and each
/// lone surrogate escape (`\ud800` without its pair) becomes U+FFFD. Such text never rejects an
/// event or an envelope by itself.
///
/// Also the text codecs every module shares (one implementation each): hex digits and JSON
/// string literals.

#include <cstddef>
#include <string>
#include <string_view>

namespace caliper_sessiond::caliper {

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

/// `text` made valid UTF-8 without NUL: ill-formed sequences and NULs become U+FFFD.
std::string sanitize_text(std::string_view text);

/// As sanitize_text, then cut to at most `max_bytes` bytes, never inside a character.
std::string sanitize_text(std::string_view text, std::size_t max_bytes);

/// True when `text` is valid UTF-8 and holds no NUL, i.e. sanitize_text would return it unchanged.
bool is_storable_text(std::string_view text) noexcept;

/// The value of a hexadecimal digit of either case, or -1 for any other character.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Appends `s` as a JSON string literal: `"` and `\` escaped, `\n` `\r` `\t` and `\u00XX` for
/// the other control characters, every other byte as it is (valid JSON when `s` is valid
/// UTF-8: pass text that may not be through sanitize_text first).
void append_json_string(std::string& out, std::string_view s);

}  // namespace caliper_sessiond::caliper
