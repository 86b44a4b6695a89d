#include <gtest/gtest.h>

#include <cstring>

#include "caliper_sessiond/caliper/versions.hpp"
#include "caliper_sessiond/http/responses.hpp"

namespace http = caliper_sessiond::http;

namespace {

/// A digest that always fails, leaving its output as it found it (all zero), as a failed
/// EVP_Digest may.
bool failing_digest(std::string_view, std::array<unsigned char, 32>&) { return false; }

/// SHA-256, except for the secret "cannot-digest-this-0123", whose digest fails.
bool digest_failing_for_one_key(std::string_view data, std::array<unsigned char, 32>& out) {
  return data != "cannot-digest-this-0123" && http::sha256(data, out);
}

}  // namespace

TEST(media_type, accepts_json_with_parameters_in_any_case) {
  EXPECT_TRUE(http::is_json_media_type("application/json"));
  EXPECT_TRUE(http::is_json_media_type("application/json; charset=utf-8"));
  EXPECT_TRUE(http::is_json_media_type("Application/JSON ;charset=UTF-8"));
}

TEST(media_type, refuses_other_types) {
  EXPECT_FALSE(http::is_json_media_type("text/plain"));
  EXPECT_FALSE(http::is_json_media_type(""));
  EXPECT_FALSE(http::is_json_media_type("application/jsonx"));
  EXPECT_FALSE(http::is_json_media_type("application/ld+json"));
}

TEST(key_ring, accepts_bare_and_bearer_keys) {
  http::key_ring keys(std::vector<caliper_sessiond::config::api_key>{{"learn", "secret-one-0123456789"},
                                                                   {"canvas", "secret-two-0123456789"}});
  EXPECT_EQ(keys.authenticate("secret-one-0123456789"), "learn");
  EXPECT_EQ(keys.authenticate("Bearer secret-two-0123456789"), "canvas");
  EXPECT_EQ(keys.authenticate("bearer  secret-two-0123456789 "), "canvas");
}

TEST(key_ring, refuses_wrong_empty_and_prefix_keys) {
  http::key_ring keys(std::vector<caliper_sessiond::config::api_key>{{"learn", "secret-one-0123456789"}});
  EXPECT_FALSE(keys.authenticate(""));
  EXPECT_FALSE(keys.authenticate("Bearer "));
  EXPECT_FALSE(keys.authenticate("secret-one"));
  EXPECT_FALSE(keys.authenticate("secret-one-01234567890"));
  EXPECT_FALSE(keys.authenticate("Basic secret-one-0123456789"));
}

TEST(key_ring, matches_nothing_when_no_digest_can_be_computed) {
  // Two failed digests must never compare equal: that would let any key in.
  http::key_ring keys(std::vector<caliper_sessiond::config::api_key>{{"learn", "secret-one-0123456789"}},
                      failing_digest);
  EXPECT_FALSE(keys.authenticate("secret-one-0123456789"));
  EXPECT_FALSE(keys.authenticate("anything-at-all"));
}

TEST(key_ring, a_key_whose_digest_failed_never_matches_and_the_others_still_do) {
  http::key_ring keys(std::vector<caliper_sessiond::config::api_key>{{"broken", "cannot-digest-this-0123"},
                                                                   {"learn", "secret-one-0123456789"}},
                      digest_failing_for_one_key);
  EXPECT_FALSE(keys.authenticate("cannot-digest-this-0123"));
  EXPECT_EQ(keys.authenticate("secret-one-0123456789"), "learn");
}

TEST(key_ring, sha256_gives_the_known_digest) {
  std::array<unsigned char, 32> out{};
  ASSERT_TRUE(http::sha256("abc", out));
  const unsigned char want[] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
  EXPECT_EQ(std::memcmp(out.data(), want, sizeof want), 0);
}

TEST(problem_json, escapes_and_names_status) {
  const auto body = http::problem_json(400, "Bad Request", "field \"data\"\nmissing");
  EXPECT_EQ(body, R"({"type":"about:blank","title":"Bad Request","status":400,"detail":"field \"data\"\nmissing"})");
}

TEST(endpoint_config, lists_supported_versions_and_limit) {
  const auto body = http::endpoint_config_json(1234);
  EXPECT_NE(body.find(R"("caliper_maximum_payload_size":1234)"), std::string::npos);
  EXPECT_NE(body.find("http://purl.imsglobal.org/ctx/caliper/v1p2"), std::string::npos);
}

TEST(endpoint_config, lists_exactly_the_versions_the_parser_accepts) {
  std::string want = R"("caliper_supported_versions":[)";
  for (const auto v : caliper_sessiond::caliper::supported_versions)
    want.append(want.back() == '[' ? "\"" : ",\"").append(v).append("\"");
  want += "]}";
  const auto body = http::endpoint_config_json(1234);
  ASSERT_GE(body.size(), want.size());
  EXPECT_EQ(body.substr(body.size() - want.size()), want) << body;
}
