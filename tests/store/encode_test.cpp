#include "encode.hpp"

#include <gtest/gtest.h>

namespace caliper_sessiond::store::encode {
namespace {

TEST(array_literal_test, quotes_every_element_and_escapes_quote_and_backslash) {
  array_literal a;
  a.add("plain");
  a.add("say \"hi\"");
  a.add("back\\slash");
  a.add("{braces}, comma");
  a.add("");
  EXPECT_EQ(a.finish(), R"({"plain","say \"hi\"","back\\slash","{braces}, comma",""})");
}

TEST(array_literal_test, absent_values_are_unquoted_null_and_the_text_null_stays_text) {
  array_literal a;
  a.add_nullable(std::nullopt);
  a.add_nullable(std::string("NULL"));
  EXPECT_EQ(a.finish(), R"({NULL,"NULL"})");
}

TEST(array_literal_test, empty_array_and_reuse_after_finish) {
  array_literal a;
  EXPECT_EQ(a.finish(), "{}");
  a.add("x");
  EXPECT_EQ(a.finish(), R"({"x"})");
}

TEST(binary_array_test, writes_the_array_recv_layout) {
  binary_array a(text_oid);
  a.add("ab");
  a.add_null();
  EXPECT_EQ(a.finish(), std::string("\0\0\0\1"  // one dimension
                                    "\0\0\0\1"  // has nulls
                                    "\0\0\0\x19"  // text
                                    "\0\0\0\2"  // two elements
                                    "\0\0\0\1"  // lower bound 1
                                    "\0\0\0\2ab"
                                    "\xFF\xFF\xFF\xFF",
                                    30));
}

TEST(binary_array_test, empty_array_has_no_dimensions) {
  binary_array a(uuid_oid);
  EXPECT_EQ(a.finish(), std::string("\0\0\0\0\0\0\0\0\0\0\x0B\x86", 12));
}

TEST(binary_array_test, a_builder_cleared_for_the_next_batch_builds_the_same_arrays_in_place) {
  binary_array reused(text_oid);
  for (int round = 0; round < 3; ++round) {
    binary_array fresh(text_oid);
    const int n = round == 1 ? 0 : 100 * (round + 1);  // an empty batch in the middle
    for (int i = 0; i < n; ++i) {
      const std::string v(static_cast<std::size_t>(i % 37), static_cast<char>('a' + i % 26));
      if (i % 11 == 3) {
        reused.add_null();
        fresh.add_null();
      } else {
        reused.add(v);
        fresh.add(v);
      }
    }
    const std::string_view in_place = reused.view();
    EXPECT_EQ(in_place, reused.view()) << "view() may be called again";
    EXPECT_EQ(std::string(in_place), fresh.finish()) << "round " << round;
    reused.clear();
  }
  EXPECT_EQ(reused.finish(), std::string("\0\0\0\0\0\0\0\0\0\0\0\x19", 12));
}

TEST(binary_array_test, int64_elements_are_big_endian) {
  binary_array a(timestamptz_oid);
  a.add_int64(-2);
  const std::string out = a.finish();
  EXPECT_EQ(out.substr(20), std::string("\0\0\0\x08\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFE", 12));
}

TEST(copy_field_test, escapes_backslash_and_control_characters) {
  std::string out;
  append_copy_field(out, "a\\b\tc\nd\re");
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
}

TEST(copy_field_test, absent_value_is_backslash_n) {
  std::string out;
  append_copy_nullable(out, std::nullopt);
  append_copy_nullable(out, std::string("\\N"));
  EXPECT_EQ(out, "\\N\\\\N");
}

TEST(uuid_bytes_test, accepts_postgres_forms_and_refuses_others) {
  const auto a = uuid_bytes("9b2c4a7e-1f3d-4e5a-8b6c-7d8e9f0a1b2c");
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)[0], 0x9b);
  EXPECT_EQ((*a)[15], 0x2c);
  EXPECT_EQ(uuid_bytes("{9B2C4A7E1F3D4E5A8B6C7D8E9F0A1B2C}"), a);
  EXPECT_FALSE(uuid_bytes("9b2c4a7e-1f3d-4e5a-8b6c-7d8e9f0a1b2"));
  EXPECT_FALSE(uuid_bytes("9b2c4a7e-1f3d-4e5a-8b6c-7d8e9f0a1b2c0"));
  EXPECT_FALSE(uuid_bytes("zb2c4a7e-1f3d-4e5a-8b6c-7d8e9f0a1b2c"));
}

TEST(split_iri_test, cuts_after_the_last_slash) {
  const auto learn = split_iri("https://lms.example.edu/sessions/2C6A0F5C1B7E4D7A");
  ASSERT_TRUE(learn);
  EXPECT_EQ(learn->prefix, "https://lms.example.edu/sessions/");
  EXPECT_EQ(learn->tail, "2C6A0F5C1B7E4D7A");
  const auto no_slash = split_iri("urn:uuid:2c6a0f5c");
  ASSERT_TRUE(no_slash);
  EXPECT_FALSE(no_slash->prefix);
  EXPECT_EQ(no_slash->tail, "urn:uuid:2c6a0f5c");
  const auto empty = split_iri("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->prefix);
  EXPECT_EQ(empty->tail, "");
}

TEST(split_iri_test, keeps_an_iri_that_ends_with_a_slash_whole) {
  // Its prefix would hold the session's own id: one new text per session.
  EXPECT_FALSE(split_iri("https://lms.example.edu/sessions/2C6A0F5C/"));
  EXPECT_FALSE(split_iri("/"));
}

TEST(row_json_test, renders_fields_with_nulls_and_escapes) {
  caliper::session_event e;
  e.event_id = "id";
  e.event_time_us = 0;
  e.actor_id = "a\"b";
  e.user_id = "user";  // not one letter: GCC 12 -O3 warns falsely on that (-Wrestrict, PR 105329)
  e.sensor = "sensor";
  e.ip_address = "192.0.2.1";
  EXPECT_EQ(row_json(e),
            R"({"event_id":"id","action":"LoggedIn","event_time":"1970-01-01 00:00:00+00",)"
            R"("actor_id":"a\"b","user_id":"user","user_lms_id":null,"user_external_id":null,)"
            R"("session_id":null,"session_name":null,"user_agent":null,"ip_address":"192.0.2.1",)"
            R"("ed_app_id":null,"sensor":"sensor"})");
}

}  // namespace
}  // namespace caliper_sessiond::store::encode
