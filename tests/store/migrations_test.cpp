#include <gtest/gtest.h>

#include "caliper_sessiond/store/migrations.hpp"

namespace caliper_sessiond::store {
namespace {

TEST(parse_migration_version_test, reads_a_whole_decimal_number) {
  EXPECT_EQ(parse_migration_version("1"), 1);
  EXPECT_EQ(parse_migration_version("42"), 42);
  EXPECT_EQ(parse_migration_version("2147483647"), 2147483647);
}

TEST(parse_migration_version_test, refuses_anything_else_instead_of_reading_zero) {
  for (const char* bad : {"", "x", "1x", " 1", "1 ", "1.0", "2147483648", "0x10"})
    EXPECT_EQ(parse_migration_version(bad), std::nullopt) << '"' << bad << '"';
}

}  // namespace
}  // namespace caliper_sessiond::store
