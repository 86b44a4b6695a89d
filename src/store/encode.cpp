#include "encode.hpp"

#include <fmt/format.h>

namespace caliper_sessiond::store::encode {
namespace {

constexpr std::int64_t us_per_day = 86'400'000'000;

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
struct civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};
civil civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid (or NUL).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

void append_be32(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        else
          out += c;
    }
  }
  out += '"';
}

void append_json_member(std::string& out, std::string_view key,
                        const std::optional<std::string>& value) {
  out += out.size() > 1 ? "," : "";
  append_json_string(out, key);
  out += ':';
  if (value)
    append_json_string(out, *value);
  else
    out += "null";
}

}  // namespace

void array_literal::add(std::string_view element) {
  if (!empty_) text_ += ',';
  empty_ = false;
  text_ += '"';
  for (const char c : element) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

void array_literal::add_nullable(const std::optional<std::string>& element) {
  if (element)
    add(*element);
  else
    add_null();
}

void array_literal::add_null() {
  if (!empty_) text_ += ',';
  empty_ = false;
  text_ += "NULL";
}

std::string array_literal::finish() {
  text_ += '}';
  std::string out = std::move(text_);
  text_.clear();  // not `= "{"`: GCC 12 -O2 warns falsely (-Wrestrict, PR 105329) on that
  text_ += '{';
  empty_ = true;
  return out;
}

void binary_array::add(std::string_view bytes) {
  append_be32(body_, static_cast<std::uint32_t>(bytes.size()));
  body_.append(bytes);
  ++count_;
}

void binary_array::add_nullable(const std::optional<std::string>& element) {
  if (element)
    add(*element);
  else
    add_null();
}

void binary_array::add_null() {
  append_be32(body_, 0xFFFFFFFFU);  // length -1
  has_null_ = true;
  ++count_;
}

void binary_array::add_int64(std::int64_t value) {
  append_be32(body_, 8);
  const auto v = static_cast<std::uint64_t>(value);
  append_be32(body_, static_cast<std::uint32_t>(v >> 32));
  append_be32(body_, static_cast<std::uint32_t>(v));
  ++count_;
}

std::string binary_array::finish() {
  std::string out;
  out.reserve(20 + body_.size());
  append_be32(out, count_ > 0 ? 1 : 0);  // dimensions: an empty array has none
  append_be32(out, has_null_ ? 1 : 0);
  append_be32(out, oid_);
  if (count_ > 0) {
    append_be32(out, static_cast<std::uint32_t>(count_));
    append_be32(out, 1);  // lower bound
    out.append(body_);
  }
  body_.clear();
  count_ = 0;
  has_null_ = false;
  return out;
}

void append_copy_field(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
}

void append_copy_nullable(std::string& out, const std::optional<std::string>& value) {
  if (value)
    append_copy_field(out, *value);
  else
    out += "\\N";
}

std::string timestamptz(std::int64_t us) {
  std::int64_t days = us / us_per_day;
  std::int64_t rem = us % us_per_day;
  if (rem < 0) {
    rem += us_per_day;
    --days;
  }
  const civil d = civil_from_days(days);
  const std::int64_t secs = rem / 1'000'000;
  const std::int64_t micros = rem % 1'000'000;
  // PostgreSQL has no year 0: astronomical year y <= 0 is (1 - y) BC.
  const bool bc = d.year <= 0;
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00{}", bc ? 1 - d.year : d.year,
                     d.month, d.day, secs / 3600, secs / 60 % 60, secs % 60, micros,
                     bc ? " BC" : "");
}

std::optional<std::array<std::uint8_t, 16>> uuid_bytes(std::string_view text) {
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}')
    text = text.substr(1, text.size() - 2);
  std::array<std::uint8_t, 16> out{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    if (n == 32) return std::nullopt;
    const int v = hex_value(text[i]);
    if (v < 0) return std::nullopt;
    out[n / 2] = static_cast<std::uint8_t>((n % 2 == 0) ? v << 4 : out[n / 2] | v);
    ++n;
  }
  if (n != 32) return std::nullopt;
  return out;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = utf8_sequence(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string row_json(const caliper::session_event& e) {
  std::string out = "{";
  append_json_member(out, "event_id", e.event_id);
  append_json_member(out, "action", std::string(caliper::to_string(e.action)));
  append_json_member(out, "event_time", timestamptz(e.event_time_us));
  append_json_member(out, "actor_id", e.actor_id);
  append_json_member(out, "user_id", e.user_id);
  append_json_member(out, "user_lms_id", e.user_lms_id);
  append_json_member(out, "user_external_id", e.user_external_id);
  append_json_member(out, "session_id", e.session_id);
  append_json_member(out, "session_name", e.session_name);
  append_json_member(out, "user_agent", e.user_agent);
  append_json_member(out, "ip_address", e.ip_address);
  append_json_member(out, "ed_app_id", e.ed_app_id);
  append_json_member(out, "sensor", e.sensor);
  out += '}';
  return out;
}

}  // namespace caliper_sessiond::store::encode
