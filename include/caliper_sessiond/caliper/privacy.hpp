#pragma once
/// The [privacy] modes (DESIGN section 5): what of a person's client address and browser is
/// kept. Applied by the parser, so nothing fuller reaches the journal, the database or a
/// reject's raw JSON. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caliper_sessiond::caliper {

/// privacy.ip_address: the address as sent, its network (/24 for IPv4, /48 for IPv6), or nothing.
enum class ip_privacy : std::uint8_t { full, truncate, drop };
/// privacy.user_agent: the browser string as sent, or nothing.
enum class user_agent_privacy : std::uint8_t { full, drop };

struct privacy_options {
  ip_privacy ip_address = ip_privacy::full;
  user_agent_privacy user_agent = user_agent_privacy::full;

  /// True when some value must be changed (raw JSON is then scrubbed).
  bool scrubs() const noexcept { return ip_address != ip_privacy::full || user_agent != user_agent_privacy::full; }
  friend bool operator==(const privacy_options&, const privacy_options&) = default;
};

/// The ip_address column for the address `text` as sent, under `mode`: normalize_ip's text,
/// truncate_ip's network, or nullopt (also when `text` is no address).
std::optional<std::string> stored_ip(std::string_view text, ip_privacy mode);

/// `raw` (JSON, possibly cut short) with the string value of every member the parser reads a
/// client address or user agent from (ipAddress, bb:request.headers.ipAddress, client_ip;
/// userAgent, bb:request.headers.agent, user_agent) replaced as the modes say: an address by
/// its network ("192.0.2.0/24") or null, a user agent by null. A value that is no address is
/// replaced by null in "truncate" too (what cannot be truncated is not kept). Keys are matched
/// as written, as the parser matches them. Returns `raw` unchanged when nothing is scrubbed.
std::string scrub_raw(std::string_view raw, const privacy_options& options);

}  // namespace caliper_sessiond::caliper
