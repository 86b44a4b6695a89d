#pragma once
/// The checks on a verified JWT's claims that come before the envelope parser (issue 13):
/// exp/nbf, and the Canvas account allowlist. Pure: no I/O.

#include <cstdint>
#include <string>
#include <vector>

namespace caliper_sessiond::jose {

/// Seconds of clock difference tolerated around exp and nbf (RFC 7519 4.1.4 allows "some
/// small leeway"): the sender's and our clocks may disagree a little.
inline constexpr std::int64_t time_leeway_seconds = 60;

enum class claims_verdict {
  ok,
  expired,            ///< now > exp + leeway
  not_yet_valid,      ///< now < nbf - leeway
  invalid_time,       ///< exp or nbf present but not a number
  account_not_allowed ///< an event's root_account_uuid is absent or not in the allowlist
};

struct claims_result {
  claims_verdict verdict = claims_verdict::ok;
  std::string detail;
};

/// Checks `claims` (the JWT payload; `claims.capacity()` must leave 64 bytes of padding) at
/// `now_s` (seconds since the epoch). With a non-empty `allowed_accounts`, every entry of
/// `data` must carry `actor.extensions["com.instructure.canvas"].root_account_uuid` from
/// the list. Claims that are not an envelope pass: the envelope parser answers them.
claims_result check_claims(std::string& claims, std::int64_t now_s, const std::vector<std::string>& allowed_accounts);

}  // namespace caliper_sessiond::jose
