#pragma once
/// While a `fips_only_openssl` lives, OpenSSL fetches algorithms only from a FIPS provider,
/// which the tests never load: every digest (SHA-1, SHA-256) fails, as on a misconfigured
/// FIPS-only system. For tests of what the server does when OpenSSL cannot digest.

#include <gtest/gtest.h>
#include <openssl/evp.h>

namespace caliper_sessiond::testing {

class fips_only_openssl {
public:
  fips_only_openssl() { EXPECT_EQ(EVP_set_default_properties(nullptr, "fips=yes"), 1); }
  ~fips_only_openssl() { EVP_set_default_properties(nullptr, ""); }
  fips_only_openssl(const fips_only_openssl&) = delete;
  fips_only_openssl& operator=(const fips_only_openssl&) = delete;
};

}  // namespace caliper_sessiond::testing
