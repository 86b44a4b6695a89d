#pragma once
/// Text that PostgreSQL can store.
///
/// The one rule, applied to every string the parser returns (columns, reasons and raw JSON):
/// the result is valid UTF-8 without U+0000. Each ill-formed UTF-8 sequence (maximal subpart,
/// as Unicode recommends), each U+0000 (a raw NUL byte or a decoded `\u0000` escape) and each
/// lone surrogate escape (`\ud800` without its pair) becomes U+FFFD. Such text never rejects an
/// event or an envelope by itself.

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

}  // namespace caliper_sessiond::caliper
