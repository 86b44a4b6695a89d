#include "caliper_sessiond/caliper/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <iterator>

namespace caliper_sessiond::caliper {

std::optional<std::string> normalize_ip(std::string_view text) {
  if (const auto comma = text.find(','); comma != std::string_view::npos) text = text.substr(0, comma);
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.size() > INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos) return std::nullopt;
  char in[INET6_ADDRSTRLEN + 1] = {};
  text.copy(in, text.size());
  unsigned char addr[sizeof(struct in6_addr)] = {};
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, in, addr) == 1) {
    if (inet_ntop(AF_INET, addr, out, sizeof out) == nullptr) return std::nullopt;
  } else if (inet_pton(AF_INET6, in, addr) == 1) {
    if (inet_ntop(AF_INET6, addr, out, sizeof out) == nullptr) return std::nullopt;
  } else {
    return std::nullopt;
  }
  return std::string(out);
}

std::optional<std::string> truncate_ip(std::string_view text) {
  if (text.ends_with("/24") || text.ends_with("/48")) text.remove_suffix(3);
  const auto normalized = normalize_ip(text);
  if (!normalized) return std::nullopt;
  unsigned char addr[sizeof(struct in6_addr)] = {};
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, normalized->c_str(), addr) == 1) {
    addr[3] = 0;
    if (inet_ntop(AF_INET, addr, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out) + "/24";
  }
  if (inet_pton(AF_INET6, normalized->c_str(), addr) != 1) return std::nullopt;
  // ::ffff:a.b.c.d is an IPv4 client seen through an IPv6 socket: its /24, not a /48 of all IPv4.
  static constexpr unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(std::begin(v4_mapped), std::end(v4_mapped), addr)) {
    addr[15] = 0;
    if (inet_ntop(AF_INET, addr + 12, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out) + "/24";
  }
  std::fill(addr + 6, addr + sizeof addr, static_cast<unsigned char>(0));
  if (inet_ntop(AF_INET6, addr, out, sizeof out) == nullptr) return std::nullopt;
  return std::string(out) + "/48";
}

}  // namespace caliper_sessiond::caliper
