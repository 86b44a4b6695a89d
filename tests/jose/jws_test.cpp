// The compact-JWS checks of issue 13 (src/jose): RS256 only, kid matched, signature verified,
// with keys made in the test.
#include <gtest/gtest.h>

#include <random>

#include "caliper_sessiond/jose/jws.hpp"
#include "jose_test_keys.hpp"

namespace jose = caliper_sessiond::jose;
using namespace caliper_sessiond::testing;

namespace {

const std::string claims = R"({"sensor":"s","sendTime":"2025-01-01T00:00:00Z","data":[]})";

class jws : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    current_ = make_rsa_key().release();
    next_ = make_rsa_key().release();
    other_ = make_rsa_key().release();
  }
  static void TearDownTestSuite() {
    for (auto* k : {current_, next_, other_}) EVP_PKEY_free(k);
  }
  static std::shared_ptr<const jose::key_set> keys() {
    std::string error;
    auto set = jose::key_set::parse(jwks_json(jwk_json(current_, "current") + "," + jwk_json(next_, "next")), error);
    EXPECT_TRUE(set) << error;
    return set;
  }
  static jose::verify_result check(const std::string& token) {
    const auto header = jose::read_header(token);
    if (header.error != jose::failure::none) return {header.error, header.detail, {}};
    return keys()->verify(header.jws);
  }
  static EVP_PKEY* current_;
  static EVP_PKEY* next_;
  static EVP_PKEY* other_;
};
EVP_PKEY* jws::current_ = nullptr;
EVP_PKEY* jws::next_ = nullptr;
EVP_PKEY* jws::other_ = nullptr;

}  // namespace

TEST_F(jws, signed_by_the_current_key_verifies_and_yields_the_claims) {
  const auto r = check(sign_rs256(current_, rs256_header("current"), claims));
  EXPECT_EQ(r.error, jose::failure::none) << r.detail;
  EXPECT_EQ(r.claims, claims);
}

TEST_F(jws, signed_by_the_next_key_verifies) {
  const auto r = check(sign_rs256(next_, rs256_header("next"), claims));
  EXPECT_EQ(r.error, jose::failure::none) << r.detail;
}

TEST_F(jws, surrounding_whitespace_is_allowed) {
  const auto r = check("\n " + sign_rs256(current_, rs256_header("current"), claims) + "\r\n");
  EXPECT_EQ(r.error, jose::failure::none) << r.detail;
}

TEST_F(jws, claims_get_the_requested_padding) {
  const auto header = jose::read_header(sign_rs256(current_, rs256_header("current"), claims));
  const auto r = keys()->verify(header.jws, 64);
  EXPECT_GE(r.claims.capacity(), r.claims.size() + 64);
}

TEST_F(jws, unknown_kid_is_refused) {
  EXPECT_EQ(check(sign_rs256(other_, rs256_header("previous"), claims)).error, jose::failure::unknown_kid);
}

TEST_F(jws, missing_kid_is_refused) {
  EXPECT_EQ(check(sign_rs256(current_, R"({"alg":"RS256"})", claims)).error, jose::failure::unknown_kid);
}

TEST_F(jws, signature_by_another_key_under_a_known_kid_is_refused) {
  EXPECT_EQ(check(sign_rs256(other_, rs256_header("current"), claims)).error, jose::failure::bad_signature);
}

TEST_F(jws, tampered_payload_is_refused) {
  const auto token = sign_rs256(current_, rs256_header("current"), claims);
  const auto first = token.find('.'), second = token.find('.', first + 1);
  const auto forged = token.substr(0, first + 1) + base64url(R"({"sensor":"evil","sendTime":"x","data":[]})") +
                      token.substr(second);
  EXPECT_EQ(check(forged).error, jose::failure::bad_signature);
}

TEST_F(jws, alg_none_is_refused) {
  const auto token = base64url(R"({"alg":"none","kid":"current"})") + "." + base64url(claims) + ".";
  // An empty signature is not even the shape of a JWS we take; with one, the alg is refused.
  EXPECT_EQ(check(token).error, jose::failure::malformed);
  EXPECT_EQ(check(token + "AA").error, jose::failure::wrong_alg);
}

TEST_F(jws, hs256_signed_with_the_public_key_as_secret_is_refused) {
  const auto token = sign_hs256(public_pem(current_), R"({"alg":"HS256","kid":"current"})", claims);
  const auto r = check(token);
  EXPECT_EQ(r.error, jose::failure::wrong_alg);
  EXPECT_NE(r.detail.find("HS256"), std::string::npos) << r.detail;
}

TEST_F(jws, other_rsa_algs_are_refused) {
  for (const char* alg : {"RS384", "RS512", "PS256", "ES256", "rs256"}) {
    const auto token = sign_rs256(current_, std::string(R"({"alg":")") + alg + R"(","kid":"current"})", claims);
    EXPECT_EQ(check(token).error, jose::failure::wrong_alg) << alg;
  }
}

TEST_F(jws, a_repeated_alg_member_is_refused) {
  const auto token = sign_rs256(current_, R"({"alg":"RS256","alg":"HS256","kid":"current"})", claims);
  EXPECT_EQ(check(token).error, jose::failure::malformed);
}

TEST_F(jws, crit_extensions_are_refused) {
  const auto token = sign_rs256(current_, R"({"alg":"RS256","kid":"current","crit":["exp"],"exp":1})", claims);
  EXPECT_EQ(check(token).error, jose::failure::malformed);
}

TEST(jws_shape, only_three_nonempty_base64url_segments_look_like_a_jws) {
  EXPECT_TRUE(jose::looks_like_compact_jws("a.b.c"));
  EXPECT_TRUE(jose::looks_like_compact_jws(" eyJ-_0.x.y\n"));
  for (const char* s : {"", "a.b", "a.b.c.d", ".b.c", "a..c", "a.b.", "{\"a\":1}", "a.b.c=", "a b.c.d"})
    EXPECT_FALSE(jose::looks_like_compact_jws(s)) << s;
}

TEST_F(jws, garbage_never_crashes_and_never_verifies) {
  const auto valid = sign_rs256(current_, rs256_header("current"), claims);
  const std::string alphabet = "ABCxyz019-_.=+/ {}\"\x00\xff";
  std::mt19937 rng(13);
  const auto set = keys();
  for (int i = 0; i < 3000; ++i) {
    std::string token = valid;
    if (i % 3 == 0) {  // random text
      token.assign(rng() % 120, 'A');
      for (auto& c : token) c = alphabet[rng() % alphabet.size()];
    } else {  // a few bytes of a valid token changed, cut or repeated
      for (unsigned n = 1 + rng() % 4; n > 0; --n) token[rng() % token.size()] = alphabet[rng() % alphabet.size()];
      if (i % 5 == 0) token.resize(rng() % token.size());
      if (i % 7 == 0) token += token.substr(0, rng() % token.size());
    }
    const auto header = jose::read_header(token);
    if (header.error != jose::failure::none) continue;
    const auto r = set->verify(header.jws);
    // A changed byte may fall where base64url has slack bits; then the token is still the valid one.
    if (r.error == jose::failure::none) {
      EXPECT_EQ(r.claims, claims) << token;
    }
  }
}

TEST(jwks, keeps_rsa_signing_keys_and_skips_the_others) {
  auto rsa = make_rsa_key();
  const std::string members =
      jwk_json(rsa.get(), "kept") + "," + jwk_json(rsa.get(), "no-alg", "") + "," +
      jwk_json(rsa.get(), "for-encryption", R"("use":"enc")") + "," + jwk_json(rsa.get(), "for-ps256", R"("alg":"PS256")") +
      "," + R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0"})" + "," + jwk_json(rsa.get(), "") + "," +
      R"({"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"})";
  std::string error;
  const auto set = jose::key_set::parse(jwks_json(members), error);
  ASSERT_TRUE(set) << error;
  EXPECT_EQ(set->kids(), "kept,no-alg");
}

TEST(jwks, a_document_without_a_usable_key_is_an_error) {
  for (const char* doc : {"", "[]", "{}", R"({"keys":{}})", R"({"keys":[]})", R"({"keys":[{"kty":"oct","kid":"a","k":"AA"}]})"}) {
    std::string error;
    EXPECT_FALSE(jose::key_set::parse(doc, error)) << doc;
    EXPECT_FALSE(error.empty()) << doc;
  }
}
