#pragma once
/// Signed-JWT delivery (issue 13): a compact JWS checked against the RSA keys of a JWKS.
/// Pure: no I/O. JOSE parsing and RS256 verification are cjose's (the library
/// mod_auth_openidc uses); this layer enforces the policy cjose leaves to its caller:
/// RS256 only, whatever the header or the JWK says, and a `kid` that names a key.

#include <memory>
#include <string>
#include <string_view>

namespace caliper_sessiond::jose {

/// Why a token was not accepted; `none` when it was.
enum class failure {
  none,
  malformed,      ///< not three base64url segments, or a header that is not a JSON object
  wrong_alg,      ///< the protected header's alg is not RS256 (none, HS256, ES256, …)
  unknown_kid,    ///< no kid, or no key of the set has it
  bad_signature,  ///< the RS256 signature does not verify with the key of that kid
};

/// True when `body` has the shape of a compact JWS: three non-empty base64url segments
/// separated by dots (surrounding whitespace allowed), nothing else.
bool looks_like_compact_jws(std::string_view body);

/// A compact JWS whose protected header has been read (no signature checked yet).
struct compact_jws {
  std::string token;  ///< the three segments, whitespace trimmed
  std::string alg;
  std::string kid;
};

struct header_result {
  failure error = failure::none;
  std::string detail;  ///< for the problem document, when error != none
  compact_jws jws;
};

/// Splits `body` and reads the protected header: malformed, wrong_alg (anything but RS256)
/// or unknown_kid (no kid) before any key is looked at. A header with a `crit` member or a
/// repeated member is malformed (RFC 7515 4.1.11; repeated names are read differently by
/// different JSON parsers).
header_result read_header(std::string_view body);

struct verify_result {
  failure error = failure::none;
  std::string detail;
  std::string claims;  ///< the payload, when verified
};

/// The RSA verification keys of one JWKS document, imported once and shared read-only
/// between threads. Kept: keys with kty RSA, a kid, alg absent or RS256, use absent or sig.
class key_set {
public:
  /// Parses a JWKS ({"keys":[…]}). Null, with `error`, when it is not a JWKS or holds no
  /// usable key (a caller then keeps the keys it had).
  static std::shared_ptr<const key_set> parse(std::string_view jwks, std::string& error);
  ~key_set();
  key_set(const key_set&) = delete;
  key_set& operator=(const key_set&) = delete;

  bool has(std::string_view kid) const;
  std::size_t size() const;
  /// The kids, comma separated (for logs).
  std::string kids() const;

  /// Verifies `jws` (from read_header) with the key named by its kid: one RSA verify.
  /// `claims_padding` extra bytes are reserved after the claims (simdjson's padding).
  verify_result verify(const compact_jws& jws, std::size_t claims_padding = 0) const;

  struct impl;

private:
  explicit key_set(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::jose
