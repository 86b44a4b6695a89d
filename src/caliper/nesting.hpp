#pragma once
/// Nesting depth of a JSON text, found before parsing (internal).

#include <cstddef>
#include <string_view>

namespace caliper_sessiond::caliper::detail {

/// The deepest nesting of arrays and objects in `json`, ignoring brackets inside strings.
/// Stops as soon as the depth exceeds `limit`. Malformed JSON gives some number; the parser
/// reports the malformation itself. simdjson's on-demand API does not bound depth, so the
/// bound is checked here, at SIMD speed where SSE2 is available.
std::size_t nesting_depth(std::string_view json, std::size_t limit) noexcept;

}  // namespace caliper_sessiond::caliper::detail
