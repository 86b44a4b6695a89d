#include "sqlstate.hpp"

#include <gtest/gtest.h>

#include "pg_connection.hpp"

namespace caliper_sessiond::store::pg {
namespace {

TEST(sqlstate_test, lost_connections_and_shutdowns_reconnect) {
  EXPECT_EQ(classify("", true), error_action::reconnect);
  EXPECT_EQ(classify("22P02", false), error_action::reconnect);  // a dead connection trumps
  EXPECT_EQ(classify("08006", true), error_action::reconnect);
  EXPECT_EQ(classify("08001", true), error_action::reconnect);
  EXPECT_EQ(classify("57P01", true), error_action::reconnect);
  EXPECT_EQ(classify("57P02", true), error_action::reconnect);
  EXPECT_EQ(classify("57P03", true), error_action::reconnect);
  EXPECT_EQ(classify("53300", true), error_action::reconnect);
}

TEST(sqlstate_test, serialization_failures_and_deadlocks_retry) {
  EXPECT_EQ(classify("40001", true), error_action::retry);
  EXPECT_EQ(classify("40P01", true), error_action::retry);
  EXPECT_EQ(classify("57014", true), error_action::retry);
}

TEST(sqlstate_test, data_errors_reject_the_row) {
  EXPECT_EQ(classify("22P02", true), error_action::reject);  // invalid text representation
  EXPECT_EQ(classify("22021", true), error_action::reject);  // invalid byte sequence
  EXPECT_EQ(classify("22008", true), error_action::reject);  // datetime out of range
  EXPECT_EQ(classify("23502", true), error_action::reject);  // not null
  EXPECT_EQ(classify("54000", true), error_action::reject);
}

TEST(sqlstate_test, everything_else_fails) {
  EXPECT_EQ(classify("42P01", true), error_action::fail);  // undefined table: not migrated
  EXPECT_EQ(classify("42501", true), error_action::fail);  // permission denied
  EXPECT_EQ(classify("XX000", true), error_action::fail);
}

TEST(redact_conninfo_test, drops_the_password_from_urls_and_keyword_strings) {
  const auto url = redact_conninfo("postgresql://app:s3cret@db.example:5433/caliper?sslmode=require");
  EXPECT_EQ(url, "user=app dbname=caliper host=db.example port=5433");
  const auto kv = redact_conninfo("host=db user=app password='s3cret' dbname=caliper");
  EXPECT_EQ(kv.find("s3cret"), std::string::npos);
  EXPECT_NE(kv.find("host=db"), std::string::npos);
  EXPECT_EQ(redact_conninfo("postgresql://%zz"), "<unparsable connection string>");
}

}  // namespace
}  // namespace caliper_sessiond::store::pg
