#pragma once
/// Client addresses as PostgreSQL's `inet` stores them.

#include <optional>
#include <string>
#include <string_view>

namespace caliper_sessiond::caliper {

/// The normalized text of an IPv4 or IPv6 address (inet_pton then inet_ntop, so
/// `2001:0db8::0001` becomes `2001:db8::1`). Surrounding blanks are ignored; of a
/// comma-separated list (an X-Forwarded-For value) the first entry is taken. nullopt when
/// the text is no address (a host name, a port suffix, a zone id, garbage).
std::optional<std::string> normalize_ip(std::string_view text);

/// The network of an address as `inet` text: IPv4 /24 ("192.0.2.0/24"), IPv6 /48
/// ("2001:db8:1::/48"); an IPv4-mapped IPv6 address is truncated as IPv4. A network already
/// written so ("192.0.2.0/24": a raw JSON scrubbed before) gives the same. nullopt when
/// normalize_ip refuses the address. The one truncation used for storage ([privacy]) and logs.
std::optional<std::string> truncate_ip(std::string_view text);

}  // namespace caliper_sessiond::caliper
