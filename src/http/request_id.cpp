#include "request_id.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>

namespace caliper_sessiond::http {
namespace {

/// 512 ids' worth of random bytes, refilled when used up.
struct random_pool {
  std::array<unsigned char, 8 * 512> bytes{};
  std::size_t next = bytes.size();

  const unsigned char* take8() {
    if (next + 8 > bytes.size()) {
      if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        // OpenSSL's generator failed (not seeded?): still unpredictable enough for an id.
        std::random_device rd;
        for (auto& b : bytes) b = static_cast<unsigned char>(rd());
      }
      next = 0;
    }
    const unsigned char* p = bytes.data() + next;
    next += 8;
    return p;
  }
};

}  // namespace

std::string random_request_id() {
  thread_local random_pool pool;
  static constexpr char hex[] = "0123456789abcdef";
  const unsigned char* p = pool.take8();
  std::string id(16, '0');
  for (std::size_t i = 0; i < 8; ++i) {
    id[2 * i] = hex[p[i] >> 4];
    id[2 * i + 1] = hex[p[i] & 0x0f];
  }
  return id;
}

}  // namespace caliper_sessiond::http
