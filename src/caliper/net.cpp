#include "caliper_sessiond/caliper/net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

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

}  // namespace caliper_sessiond::caliper
