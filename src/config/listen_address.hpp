#pragma once
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace caliper_sessiond::config {

struct listen_address {
  std::string host;
  std::uint16_t port;
};

/// "host:port" or "[v6]:port"; the port must be 1-65535 (0 allowed: pick a free one).
inline std::optional<listen_address> parse_listen(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  const std::string_view port = s.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;
  }
  unsigned value = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || p != port.data() + port.size() || value > 65535 || port.empty()) return std::nullopt;
  return listen_address{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace caliper_sessiond::config
