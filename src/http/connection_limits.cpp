#include "connection_limits.hpp"

namespace caliper_sessiond::http {

namespace ip = boost::asio::ip;

ip::address connection_limits::normalize(const ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  return address;
}

connection_limits::verdict connection_limits::acquire(const ip::address& address) {
  const auto key = normalize(address);
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return verdict::max_connections;
  auto& n = by_address_[key];
  if (n >= max_per_address_) {
    if (n == 0) by_address_.erase(key);
    return verdict::max_connections_per_ip;
  }
  ++n;
  ++total_;
  return verdict::accepted;
}

void connection_limits::release(const ip::address& address) {
  const auto key = normalize(address);
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(key);
  if (it == by_address_.end()) return;
  --total_;
  if (--it->second == 0) by_address_.erase(it);
}

std::size_t connection_limits::open() const {
  std::lock_guard lock(mutex_);
  return total_;
}

std::size_t connection_limits::open_from(const ip::address& address) const {
  std::lock_guard lock(mutex_);
  auto it = by_address_.find(normalize(address));
  return it == by_address_.end() ? 0 : it->second;
}

}  // namespace caliper_sessiond::http
