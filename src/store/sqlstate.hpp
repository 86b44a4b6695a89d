#pragma once
/// What the caller must do about a failed libpq call, decided from its SQLSTATE.
/// No libpq here: the classification is pure and unit-tested on its own.

#include <cstdint>
#include <string_view>

namespace caliper_sessiond::store::pg {

enum class error_action : std::uint8_t {
  retry,      ///< transient (serialization failure, deadlock): run the same work again
  reconnect,  ///< the connection is gone or the server is going away: reconnect, back off, retry
  reject,     ///< the data was refused (22xxx, 23xxx, 54xxx): find the bad row, keep the rest
  fail,       ///< anything else (missing schema, permissions): back off and retry, log loudly
};

/// Classifies an error. `sqlstate` is empty when the server sent none (libpq-side failure);
/// `connection_ok` is false when libpq reports the connection as bad.
error_action classify(std::string_view sqlstate, bool connection_ok) noexcept;

std::string_view to_string(error_action a) noexcept;

}  // namespace caliper_sessiond::store::pg
