#include "caliper_sessiond/caliper/text.hpp"

#include <cstdint>

namespace caliper_sessiond::caliper {
namespace {

/// Length of the well-formed UTF-8 sequence at `s[i]`, or 0 when it is ill-formed; `bad` then
/// gets the length of its maximal subpart (at least 1), which becomes one U+FFFD.
std::size_t sequence_length(std::string_view s, std::size_t i, std::size_t& bad) noexcept {
  const auto b0 = static_cast<std::uint8_t>(s[i]);
  bad = 1;
  if (b0 < 0x80) return b0 == 0 ? 0 : 1;
  std::size_t need = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;       // no overlongs
    else if (b0 == 0xED) hi = 0x9F;  // no UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;       // no overlongs
    else if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) return 0;
    const auto b = static_cast<std::uint8_t>(s[i + k]);
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    bad = k + 1;
  }
  return need + 1;
}

}  // namespace

bool is_storable_text(std::string_view text) noexcept {
  std::size_t i = 0;
  std::size_t bad = 0;
  while (i < text.size()) {
    if (static_cast<std::uint8_t>(text[i]) - 1U < 0x7FU) {  // printable or control ASCII, not NUL
      ++i;
      continue;
    }
    const std::size_t n = sequence_length(text, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_text(std::string_view text) {
  if (is_storable_text(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t i = 0;
  std::size_t bad = 0;
  while (i < text.size()) {
    const std::size_t n = sequence_length(text, i, bad);
    if (n == 0) {
      out.append(replacement_character);
      i += bad;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

namespace {

/// The largest cut <= max_bytes that does not fall just before a continuation byte.
std::size_t character_boundary(std::string_view s, std::size_t max_bytes) noexcept {
  if (s.size() <= max_bytes) return s.size();
  std::size_t cut = max_bytes;
  for (int k = 0; k < 3 && cut > 0 && (static_cast<std::uint8_t>(s[cut]) & 0xC0U) == 0x80U; ++k) --cut;
  return cut;
}

}  // namespace

std::string sanitize_text(std::string_view text, std::size_t max_bytes) {
  std::string out = sanitize_text(text.substr(0, character_boundary(text, max_bytes)));
  // U+FFFD is longer than what it replaces when that was a NUL or a stray byte.
  if (out.size() > max_bytes) out.resize(character_boundary(out, max_bytes));
  return out;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += hex_digits[static_cast<unsigned char>(c) >> 4];
          out += hex_digits[static_cast<unsigned char>(c) & 0x0F];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

}  // namespace caliper_sessiond::caliper
