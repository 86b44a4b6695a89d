// The arguments of reprocess-rejects and forget.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operator_args.hpp"

namespace caliper_sessiond::app {
namespace {

TEST(ReprocessArgs, SinceTakesAnRfc3339Time) {
  std::string error;
  const std::vector<std::string> args{"--since", "2024-03-01T00:00:00Z", "--dry-run"};
  const auto a = parse_reprocess_args(args, error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->since_us, 1'709'251'200'000'000);
  EXPECT_TRUE(a->dry_run);
}

TEST(ReprocessArgs, SinceWithEqualsSign) {
  std::string error;
  const std::vector<std::string> args{"--since=2024-03-01T00:00:00+01:00"};
  const auto a = parse_reprocess_args(args, error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->since_us, 1'709'247'600'000'000);
}

TEST(ReprocessArgs, BadOrMissingTimeIsRefused) {
  std::string error;
  for (const auto& args : {std::vector<std::string>{"--since", "2024-03-01"}, std::vector<std::string>{"--since"},
                           std::vector<std::string>{"--user", "x"}})
    EXPECT_FALSE(parse_reprocess_args(args, error)) << args.front();
}

TEST(ForgetArgs, UserIsRequired) {
  std::string error;
  EXPECT_FALSE(parse_forget_args(std::vector<std::string>{"--dry-run"}, error));
  EXPECT_FALSE(parse_forget_args(std::vector<std::string>{"--user", ""}, error));
  EXPECT_FALSE(parse_forget_args(std::vector<std::string>{"--user"}, error));
}

TEST(ForgetArgs, TakesTheIdAsGiven) {
  std::string error;
  const auto a = parse_forget_args(std::vector<std::string>{"--dry-run", "--user", "https://lms.example.edu/users/1"}, error);
  ASSERT_TRUE(a) << error;
  EXPECT_EQ(a->user, "https://lms.example.edu/users/1");
  EXPECT_TRUE(a->dry_run);
}

TEST(ForgetArgs, TwoUsersAreRefused) {
  std::string error;
  EXPECT_FALSE(parse_forget_args(std::vector<std::string>{"--user", "a", "--user", "b"}, error));
}

}  // namespace
}  // namespace caliper_sessiond::app
