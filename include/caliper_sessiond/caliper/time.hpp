#pragma once
/// RFC 3339 timestamps as microseconds since the Unix epoch, UTC. Locale- and timezone-free.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caliper_sessiond::caliper {

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (RFC 3339 section 5.6; `T` and `Z`
/// may be lower case; second 60 is a leap second and rolls over as in PostgreSQL). Fraction
/// digits beyond the sixth are rounded to the nearest microsecond as PostgreSQL does
/// (`rint(fraction * 1e6)`, ties to even). Years 0001-9999. nullopt for anything else.
std::optional<std::int64_t> parse_rfc3339_us(std::string_view text) noexcept;

/// `YYYY-MM-DD HH:MM:SS[.ffffff]+00[ BC]`: PostgreSQL's timestamptz output in UTC (fraction
/// trimmed of trailing zeros, omitted when zero; years before 1 AD as PostgreSQL writes them),
/// and a literal PostgreSQL reads back exactly whatever the session's TimeZone and DateStyle.
/// The one formatter: log lines, reasons, and the timestamps the batch statements send.
std::string format_timestamp_us(std::int64_t us);

/// True for an ISO 8601 duration as Caliper uses it (`PT3000S`, `P1DT2H`, `PT0.5S`, `P2W`).
bool is_iso8601_duration(std::string_view text) noexcept;

}  // namespace caliper_sessiond::caliper
