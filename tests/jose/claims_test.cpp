// exp/nbf and the Canvas account allowlist of issue 13 (jose::check_claims).
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

#include "caliper_sessiond/jose/claims.hpp"
#include "pg_test_env.hpp"

namespace jose = caliper_sessiond::jose;

namespace {

constexpr std::int64_t now = 1'800'000'000;
const std::string canvas_account = "ExampleRootAccountUuid0000000000000000000";

std::string canvas_claims() {
  std::ifstream in(caliper_sessiond::testing::source_dir() + "/tests/fixtures/canvas-logged-in-claims.json");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

jose::claims_verdict verdict(std::string claims, const std::vector<std::string>& allowed = {}) {
  return jose::check_claims(claims, now, allowed).verdict;
}

std::string with_member(const std::string& member) { return "{" + member + "," + canvas_claims().substr(1); }

}  // namespace

TEST(claims, canvas_claims_without_exp_pass) { EXPECT_EQ(verdict(canvas_claims()), jose::claims_verdict::ok); }

TEST(claims, exp_past_the_leeway_is_expired) {
  EXPECT_EQ(verdict(with_member("\"exp\":" + std::to_string(now - 61))), jose::claims_verdict::expired);
}

TEST(claims, exp_within_the_leeway_passes) {
  EXPECT_EQ(verdict(with_member("\"exp\":" + std::to_string(now - 59))), jose::claims_verdict::ok);
  EXPECT_EQ(verdict(with_member("\"exp\":" + std::to_string(now + 300) + ".5")), jose::claims_verdict::ok);
}

TEST(claims, nbf_beyond_the_leeway_is_not_yet_valid) {
  EXPECT_EQ(verdict(with_member("\"nbf\":" + std::to_string(now + 61))), jose::claims_verdict::not_yet_valid);
  EXPECT_EQ(verdict(with_member("\"nbf\":" + std::to_string(now + 59))), jose::claims_verdict::ok);
}

TEST(claims, exp_that_is_not_a_number_is_invalid) {
  EXPECT_EQ(verdict(with_member(R"("exp":"tomorrow")")), jose::claims_verdict::invalid_time);
}

TEST(claims, allowed_account_passes) {
  EXPECT_EQ(verdict(canvas_claims(), {"other", canvas_account}), jose::claims_verdict::ok);
}

TEST(claims, account_not_in_the_list_is_refused_and_named) {
  std::string claims = canvas_claims();
  const auto r = jose::check_claims(claims, now, {"VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs"});
  EXPECT_EQ(r.verdict, jose::claims_verdict::account_not_allowed);
  EXPECT_NE(r.detail.find(canvas_account), std::string::npos) << r.detail;
}

TEST(claims, event_without_an_account_is_refused_when_a_list_is_set) {
  const std::string claims = R"({"sensor":"s","sendTime":"t","data":[{"type":"SessionEvent","actor":"urn:x"}]})";
  EXPECT_EQ(verdict(claims, {canvas_account}), jose::claims_verdict::account_not_allowed);
  EXPECT_EQ(verdict(claims), jose::claims_verdict::ok);
}

TEST(claims, claims_that_are_not_an_envelope_are_left_to_the_parser) {
  for (const char* c : {"", "[1]", "\"x\"", "{\"data\":7}", "{broken", R"({"data":[1,2]})"})
    EXPECT_EQ(verdict(c), jose::claims_verdict::ok) << c;
}

TEST(claims, garbage_never_crashes) {
  std::mt19937 rng(13);
  const std::string base = with_member("\"exp\":1,\"nbf\":2");
  for (int i = 0; i < 2000; ++i) {
    std::string c = base.substr(0, rng() % base.size());
    for (unsigned n = rng() % 6; n > 0 && !c.empty(); --n) c[rng() % c.size()] = static_cast<char>(rng());
    (void)jose::check_claims(c, now, {canvas_account});
  }
  SUCCEED();
}
