#pragma once
/// Request checks and response bodies with no I/O, so they are unit-testable.

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caliper_sessiond/config/config.hpp"

namespace caliper_sessiond::http {

/// An RFC 9457 problem document ({"type","title","status","detail"}).
std::string problem_json(int status, std::string_view title, std::string_view detail);

/// True when the media type (parameters ignored, case-insensitive) is application/json.
bool is_json_media_type(std::string_view content_type);

/// A SHA-256 digest of `data` into `out`; false when it could not be computed.
using digest_fn = bool (*)(std::string_view data, std::array<unsigned char, 32>& out);

/// SHA-256 by OpenSSL (the algorithm fetched once, a digest context per thread), checked.
bool sha256(std::string_view data, std::array<unsigned char, 32>& out);

/// The API keys, kept as SHA-256 digests so that comparison takes the same time whatever
/// the presented key's length or content. Fails closed: a key whose digest could not be
/// computed never matches, and neither does a presented key whose digest could not be.
class key_ring {
public:
  /// `digest` is a test seam; the server always uses sha256.
  explicit key_ring(const std::vector<config::api_key>& keys, digest_fn digest = sha256);
  /// The name of the key presented in an Authorization header ("<key>" or "Bearer <key>",
  /// scheme case-insensitive), or nullopt. Every key is compared, in constant time.
  std::optional<std::string> authenticate(std::string_view authorization) const;

private:
  struct entry {
    std::string name;
    std::array<unsigned char, 32> digest;
    bool usable;  ///< false when its digest failed: it never matches
  };
  std::vector<entry> entries_;
  digest_fn digest_;
};

/// The Caliper 1.2 endpoint configuration document answered on GET <ingest path>.
std::string endpoint_config_json(std::size_t max_payload_bytes);

}  // namespace caliper_sessiond::http
