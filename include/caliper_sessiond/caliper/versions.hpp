#pragma once
/// The Caliper versions this server accepts: the one list behind the parser's 422 and the
/// endpoint configuration document's `caliper_supported_versions`.

#include <array>
#include <string_view>

namespace caliper_sessiond::caliper {

/// The `dataVersion` contexts accepted (an envelope without `dataVersion` is Caliper 1.0).
inline constexpr std::array<std::string_view, 2> supported_versions = {
    "http://purl.imsglobal.org/ctx/caliper/v1p1",
    "http://purl.imsglobal.org/ctx/caliper/v1p2",
};

}  // namespace caliper_sessiond::caliper
