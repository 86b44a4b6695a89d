#pragma once
/// The bounds on open connections, in all (server.max_connections) and per client address
/// (server.max_connections_per_ip), counted from accept to close. Thread-safe.

#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <map>
#include <mutex>

namespace caliper_sessiond::http {

class connection_limits {
public:
  enum class verdict { accepted, max_connections, max_connections_per_ip };

  connection_limits(std::size_t max_total, std::size_t max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  /// Counts a new connection from `address`, or says which bound refuses it (nothing counted).
  verdict acquire(const boost::asio::ip::address& address);
  /// Uncounts a connection that acquire() accepted.
  void release(const boost::asio::ip::address& address);
  std::size_t open() const;
  std::size_t open_from(const boost::asio::ip::address& address) const;

  /// The address a connection is counted under: IPv4-mapped IPv6 as IPv4.
  static boost::asio::ip::address normalize(const boost::asio::ip::address& address);

private:
  const std::size_t max_total_, max_per_address_;
  mutable std::mutex mutex_;
  std::size_t total_ = 0;
  std::map<boost::asio::ip::address, std::size_t> by_address_;
};

/// One accepted connection's count: released when the connection's state is destroyed.
class connection_slot {
public:
  connection_slot() = default;
  connection_slot(connection_limits& limits, const boost::asio::ip::address& address)
      : limits_(&limits), address_(address) {}
  connection_slot(connection_slot&& o) noexcept : limits_(o.limits_), address_(o.address_) { o.limits_ = nullptr; }
  connection_slot& operator=(connection_slot&&) = delete;
  connection_slot(const connection_slot&) = delete;
  ~connection_slot() {
    if (limits_ != nullptr) limits_->release(address_);
  }

private:
  connection_limits* limits_ = nullptr;
  boost::asio::ip::address address_;
};

}  // namespace caliper_sessiond::http
