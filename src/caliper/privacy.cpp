#include "caliper_sessiond/caliper/privacy.hpp"

#include <array>
#include <utility>

#include "caliper_sessiond/caliper/net.hpp"

namespace caliper_sessiond::caliper {
namespace {

enum class member_kind : std::uint8_t { other, address, user_agent };

/// The members the parser reads a client address or a user agent from (json_reader.cpp).
member_kind kind_of(std::string_view key) noexcept {
  static constexpr std::array<std::string_view, 3> addresses{"ipAddress", "bb:request.headers.ipAddress", "client_ip"};
  static constexpr std::array<std::string_view, 3> agents{"userAgent", "bb:request.headers.agent", "user_agent"};
  for (const auto a : addresses)
    if (key == a) return member_kind::address;
  for (const auto a : agents)
    if (key == a) return member_kind::user_agent;
  return member_kind::other;
}

/// Index past the string that starts with the quote at `at`, or raw.size() when it is cut short.
std::size_t string_end(std::string_view raw, std::size_t at) noexcept {
  for (std::size_t k = at + 1; k < raw.size(); ++k) {
    if (raw[k] == '\\') ++k;
    else if (raw[k] == '"') return k + 1;
  }
  return raw.size();
}

std::size_t skip_blanks(std::string_view raw, std::size_t at) noexcept {
  while (at < raw.size() && (raw[at] == ' ' || raw[at] == '\t' || raw[at] == '\n' || raw[at] == '\r')) ++at;
  return at;
}

/// The text between the quotes of the string [from, to), the closing one possibly missing.
std::string_view string_content(std::string_view raw, std::size_t from, std::size_t to) noexcept {
  const bool closed = to - from >= 2 && raw[to - 1] == '"' && to <= raw.size();
  return raw.substr(from + 1, to - from - 1 - (closed ? 1 : 0));
}

/// The JSON that replaces the value `content` of a member of `kind`.
std::string replacement(member_kind kind, std::string_view content, const privacy_options& o) {
  if (kind == member_kind::address && o.ip_address == ip_privacy::truncate) {
    // A backslash would need unescaping first: no address needs one, so it is dropped.
    if (content.find('\\') == std::string_view::npos)
      if (auto network = truncate_ip(content)) return "\"" + *network + "\"";
  }
  return "null";
}

bool scrubbed(member_kind kind, const privacy_options& o) noexcept {
  return (kind == member_kind::address && o.ip_address != ip_privacy::full) ||
         (kind == member_kind::user_agent && o.user_agent != user_agent_privacy::full);
}

}  // namespace

std::optional<std::string> stored_ip(std::string_view text, ip_privacy mode) {
  switch (mode) {
    case ip_privacy::full: return normalize_ip(text);
    case ip_privacy::truncate: return truncate_ip(text);
    case ip_privacy::drop: break;
  }
  return std::nullopt;
}

std::string scrub_raw(std::string_view raw, const privacy_options& options) {
  if (!options.scrubs()) return std::string(raw);
  std::string out;
  out.reserve(raw.size());
  std::size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '"') {
      out += raw[i++];
      continue;
    }
    const std::size_t key_end = string_end(raw, i);
    const member_kind kind = kind_of(string_content(raw, i, key_end));
    out.append(raw.substr(i, key_end - i));
    i = key_end;
    const std::size_t colon = skip_blanks(raw, i);
    if (colon >= raw.size() || raw[colon] != ':' || !scrubbed(kind, options)) continue;
    const std::size_t value = skip_blanks(raw, colon + 1);
    if (value >= raw.size() || raw[value] != '"') continue;  // only string values are read
    const std::size_t value_end = string_end(raw, value);
    out.append(raw.substr(i, value - i));
    out += replacement(kind, string_content(raw, value, value_end), options);
    i = value_end;
  }
  return out;
}

}  // namespace caliper_sessiond::caliper
