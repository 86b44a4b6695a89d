#pragma once
/// Request ids for X-Request-Id and the access log: random, so that they reveal neither the
/// request volume nor the order of other clients' requests.

#include <string>

namespace caliper_sessiond::http {

/// 16 lower-case hex digits (64 bits) from OpenSSL's CSPRNG, drawn in batches per thread so
/// that the hot path costs a copy, not a system call or a lock.
std::string random_request_id();

}  // namespace caliper_sessiond::http
