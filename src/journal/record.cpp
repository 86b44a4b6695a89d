#include "record.hpp"

#include <bit>
#include <cstring>

static_assert(std::endian::native == std::endian::little, "the journal format is little-endian");

namespace caliper_sessiond::journal {
namespace {

constexpr std::uint8_t format_version = 1;

std::uint32_t load_u32(const char* p) noexcept {
  std::uint32_t v = 0;
  std::memcpy(&v, p, 4);
  return v;
}

void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void put_i64(std::string& out, std::int64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void put_str(std::string& out, std::string_view s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
void put_opt(std::string& out, const std::optional<std::string>& s) {
  out.push_back(s ? 1 : 0);
  if (s) put_str(out, *s);
}

/// Bounds-checked reads over a payload; any failure sticks.
class cursor {
public:
  explicit cursor(std::string_view b) : b_(b) {}
  bool ok() const { return ok_; }
  bool at_end() const { return ok_ && b_.empty(); }

  std::uint8_t u8() {
    if (!need(1)) return 0;
    const auto v = static_cast<std::uint8_t>(b_.front());
    b_.remove_prefix(1);
    return v;
  }
  std::uint32_t u32() {
    if (!need(4)) return 0;
    const auto v = load_u32(b_.data());
    b_.remove_prefix(4);
    return v;
  }
  std::int64_t i64() {
    if (!need(8)) return 0;
    std::int64_t v = 0;
    std::memcpy(&v, b_.data(), 8);
    b_.remove_prefix(8);
    return v;
  }
  std::string str() {
    const auto n = u32();
    if (!need(n)) return {};
    std::string s(b_.substr(0, n));
    b_.remove_prefix(n);
    return s;
  }
  std::optional<std::string> opt() {
    const auto present = u8();
    if (present > 1) ok_ = false;
    if (present != 1) return std::nullopt;
    return str();
  }
  /// A count whose items need at least `min_each` bytes: refuses counts the rest cannot hold.
  std::uint32_t count(std::size_t min_each) {
    const auto n = u32();
    if (ok_ && n > b_.size() / min_each) ok_ = false;
    return ok_ ? n : 0;
  }

private:
  bool need(std::size_t n) {
    if (ok_ && b_.size() >= n) return true;
    ok_ = false;
    return false;
  }
  std::string_view b_;
  bool ok_ = true;
};

std::uint32_t checksum(std::uint32_t length, std::string_view payload) noexcept {
  return crc32c_extend(crc32c_extend(0, &length, 4), payload.data(), payload.size());
}

}  // namespace

void append_record(std::string& out, std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  put_u32(out, record_magic);
  put_u32(out, n);
  put_u32(out, checksum(n, payload));
  out.append(payload);
}

std::optional<std::uint32_t> header_length(std::string_view header) noexcept {
  if (header.size() < record_header_bytes) return std::nullopt;
  if (load_u32(header.data()) != record_magic) return std::nullopt;
  const auto n = load_u32(header.data() + 4);
  if (n > max_payload_bytes) return std::nullopt;
  return n;
}

bool record_valid(std::string_view header, std::string_view payload) noexcept {
  const auto n = header_length(header);
  return n && *n == payload.size() && load_u32(header.data() + 8) == checksum(*n, payload);
}

parsed_record parse_record(std::string_view bytes) noexcept {
  if (bytes.size() < record_header_bytes) return {parse_status::incomplete, {}, 0};
  const auto n = header_length(bytes);
  if (!n) return {parse_status::bad, {}, 0};
  if (bytes.size() - record_header_bytes < *n) return {parse_status::incomplete, {}, 0};
  const auto payload = bytes.substr(record_header_bytes, *n);
  if (!record_valid(bytes.substr(0, record_header_bytes), payload)) return {parse_status::bad, {}, 0};
  return {parse_status::ok, payload, record_header_bytes + *n};
}

std::optional<std::size_t> find_next_record(std::string_view bytes, std::size_t from) noexcept {
  std::uint32_t magic = record_magic;
  const std::string_view m(reinterpret_cast<const char*>(&magic), 4);
  for (auto at = bytes.find(m, from); at != std::string_view::npos; at = bytes.find(m, at + 1))
    if (parse_record(bytes.substr(at)).status == parse_status::ok) return at;
  return std::nullopt;
}

std::string encode_batch(const store::ingest_batch& batch) {
  std::string out;
  out.reserve(64 + batch.events.size() * 512);
  out.push_back(static_cast<char>(format_version));
  put_str(out, batch.source);
  put_i64(out, batch.received_at_us);
  put_u32(out, static_cast<std::uint32_t>(batch.events.size()));
  for (const auto& e : batch.events) {
    put_str(out, e.event_id);
    out.push_back(static_cast<char>(e.action));
    put_i64(out, e.event_time_us);
    put_str(out, e.actor_id);
    put_str(out, e.user_id);
    put_opt(out, e.user_lms_id);
    put_opt(out, e.user_external_id);
    put_opt(out, e.session_id);
    put_opt(out, e.session_name);
    put_opt(out, e.user_agent);
    put_opt(out, e.ip_address);
    put_opt(out, e.ed_app_id);
    put_str(out, e.sensor);
  }
  put_u32(out, static_cast<std::uint32_t>(batch.rejects.size()));
  for (const auto& r : batch.rejects) {
    put_str(out, r.reason);
    put_str(out, r.raw);
  }
  return out;
}

std::optional<store::ingest_batch> decode_batch(std::string_view payload) {
  cursor c(payload);
  if (c.u8() != format_version) return std::nullopt;
  store::ingest_batch b;
  b.source = c.str();
  b.received_at_us = c.i64();
  // An event needs at least 4 strings, an action, a time and 7 presence bytes: 32 bytes.
  const auto events = c.count(32);
  b.events.reserve(events);
  for (std::uint32_t i = 0; i < events && c.ok(); ++i) {
    auto& e = b.events.emplace_back();
    e.event_id = c.str();
    const auto action = c.u8();
    if (action > static_cast<std::uint8_t>(caliper::session_action::timed_out)) return std::nullopt;
    e.action = static_cast<caliper::session_action>(action);
    e.event_time_us = c.i64();
    e.actor_id = c.str();
    e.user_id = c.str();
    e.user_lms_id = c.opt();
    e.user_external_id = c.opt();
    e.session_id = c.opt();
    e.session_name = c.opt();
    e.user_agent = c.opt();
    e.ip_address = c.opt();
    e.ed_app_id = c.opt();
    e.sensor = c.str();
  }
  const auto rejects = c.count(8);
  b.rejects.reserve(rejects);
  for (std::uint32_t i = 0; i < rejects && c.ok(); ++i) {
    auto& r = b.rejects.emplace_back();
    r.reason = c.str();
    r.raw = c.str();
  }
  if (!c.at_end()) return std::nullopt;
  return b;
}

}  // namespace caliper_sessiond::journal
