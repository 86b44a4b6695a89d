#pragma once
// What caliper-loadgen sends and caliper-copy-ceiling copies must be the same events: their
// shared pieces live here (Learn's site IRI and random version-4 event ids).

#include <cstdio>
#include <random>
#include <string>

namespace caliper_bench {

inline const std::string learn_site =
    "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/0f3a6c2e-5b1d-4e8a-9c7f-2d4b6a8e1c35";

/// A random version-4 UUID in canonical form.
inline std::string uuid4(std::mt19937_64& rng) {
  const auto a = rng(), b = rng();
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

}  // namespace caliper_bench
