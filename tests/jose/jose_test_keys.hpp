#pragma once
/// RSA keys made in the test, their JWKs, and compact JWS signed with them (issue 13 tests).
/// The signing is OpenSSL's EVP directly, independent of the cjose code under test.

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace caliper_sessiond::testing {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

/// A fresh 2048-bit RSA key (EVP_RSA_gen).
pkey_ptr make_rsa_key();

/// base64url without padding.
std::string base64url(std::string_view bytes);

/// The public JWK of `key`: {"kty":"RSA","kid":…,"n":…,"e":…}, plus `extra` members
/// (e.g. R"("alg":"RS256","use":"sig")") when not empty.
std::string jwk_json(EVP_PKEY* key, const std::string& kid, const std::string& extra = R"("alg":"RS256","use":"sig")");

/// {"keys":[…]} of the given JWK objects, comma separated.
std::string jwks_json(const std::string& jwks_members);

/// A compact JWS of `claims` with this protected header, signed RS256 by `key`.
std::string sign_rs256(EVP_PKEY* key, const std::string& header_json, const std::string& claims);

/// The same with HS256 and `secret` (the alg-confusion attack uses the public key as secret).
std::string sign_hs256(const std::string& secret, const std::string& header_json, const std::string& claims);

/// The public key as PEM text.
std::string public_pem(EVP_PKEY* key);

/// {"alg":"RS256","typ":"JWT","kid":"<kid>"}
std::string rs256_header(const std::string& kid);

}  // namespace caliper_sessiond::testing
