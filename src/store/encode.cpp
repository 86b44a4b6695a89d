#include "encode.hpp"

#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::store::encode {
namespace {

void append_be32(std::string& out, std::uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

void append_json_member(std::string& out, std::string_view key,
                        const std::optional<std::string>& value) {
  out += out.size() > 1 ? "," : "";
  caliper::append_json_string(out, key);
  out += ':';
  if (value)
    caliper::append_json_string(out, *value);
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

std::string_view binary_array::view() {
  char* h = body_.data();
  const auto put = [&h](std::uint32_t v) {
    *h++ = static_cast<char>(v >> 24);
    *h++ = static_cast<char>(v >> 16);
    *h++ = static_cast<char>(v >> 8);
    *h++ = static_cast<char>(v);
  };
  put(count_ > 0 ? 1 : 0);  // dimensions: an empty array has none, nor their length and bound
  put(has_null_ ? 1 : 0);
  put(oid_);
  if (count_ == 0) return std::string_view(body_.data(), 12);
  put(static_cast<std::uint32_t>(count_));
  put(1);  // lower bound
  return body_;
}

void binary_array::clear() {
  // Kept for the next batch up to a bound: one batch of large values (rejects' raw JSON) must
  // not pin its memory for the life of the thread.
  constexpr std::size_t keep_max = 1 << 20;
  if (body_.capacity() > keep_max) std::string(header_bytes, '\0').swap(body_);
  body_.resize(header_bytes);
  count_ = 0;
  has_null_ = false;
}

std::string binary_array::finish() {
  std::string out(view());
  clear();
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

std::optional<std::array<std::uint8_t, 16>> uuid_bytes(std::string_view text) {
  if (text.size() >= 2 && text.front() == '{' && text.back() == '}')
    text = text.substr(1, text.size() - 2);
  std::array<std::uint8_t, 16> out{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    if (n == 32) return std::nullopt;
    const int v = caliper::hex_value(text[i]);
    if (v < 0) return std::nullopt;
    out[n / 2] = static_cast<std::uint8_t>((n % 2 == 0) ? v << 4 : out[n / 2] | v);
    ++n;
  }
  if (n != 32) return std::nullopt;
  return out;
}

std::string row_json(const caliper::session_event& e) {
  std::string out = "{";
  append_json_member(out, "event_id", e.event_id);
  append_json_member(out, "action", std::string(caliper::to_string(e.action)));
  append_json_member(out, "event_time", caliper::format_timestamp_us(e.event_time_us));
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

std::optional<iri_parts> split_iri(std::string_view iri) noexcept {
  const auto slash = iri.rfind('/');
  if (slash == std::string_view::npos) return iri_parts{std::nullopt, iri};
  if (slash + 1 == iri.size()) return std::nullopt;
  return iri_parts{iri.substr(0, slash + 1), iri.substr(slash + 1)};
}

}  // namespace caliper_sessiond::store::encode
