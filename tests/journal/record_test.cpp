#include <gtest/gtest.h>

#include <random>

#include "journal_test_support.hpp"
#include "record.hpp"

namespace j = caliper_sessiond::journal;
using j::testing::make_batch;

TEST(journal_record, crc32c_matches_the_standard_check_value) {
  const std::string s = "123456789";
  EXPECT_EQ(j::crc32c_extend(0, s.data(), s.size()), 0xe3069283u);
  EXPECT_EQ(j::crc32c_software(s.data(), s.size()), 0xe3069283u);
}

TEST(journal_record, crc32c_hardware_and_software_agree_and_extend) {
  std::mt19937 rng(7);
  std::string data(10'007, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const auto whole = j::crc32c_extend(0, data.data(), data.size());
  EXPECT_EQ(whole, j::crc32c_software(data.data(), data.size()));
  const auto split = j::crc32c_extend(j::crc32c_extend(0, data.data(), 333), data.data() + 333, data.size() - 333);
  EXPECT_EQ(whole, split);
}

TEST(journal_record, batch_round_trips) {
  auto b = make_batch("round", 5);
  b.events[1].user_agent = std::string("agent\0with nul", 14);
  auto back = j::decode_batch(j::encode_batch(b));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->source, b.source);
  EXPECT_EQ(back->received_at_us, b.received_at_us);
  EXPECT_EQ(back->events, b.events);
  ASSERT_EQ(back->rejects.size(), 1u);
  EXPECT_EQ(back->rejects[0].reason, b.rejects[0].reason);
  EXPECT_EQ(back->rejects[0].raw, b.rejects[0].raw);
}

TEST(journal_record, truncated_or_extended_payload_does_not_decode) {
  const auto p = j::encode_batch(make_batch("x", 3));
  for (std::size_t n = 0; n < p.size(); n += 7) EXPECT_FALSE(j::decode_batch(p.substr(0, n))) << n;
  EXPECT_FALSE(j::decode_batch(p + "z"));
}

TEST(journal_record, framed_record_parses_back) {
  std::string file;
  j::append_record(file, "hello");
  j::append_record(file, "world!");
  auto a = j::parse_record(file);
  ASSERT_EQ(a.status, j::parse_status::ok);
  EXPECT_EQ(a.payload, "hello");
  auto b = j::parse_record(std::string_view(file).substr(a.size));
  ASSERT_EQ(b.status, j::parse_status::ok);
  EXPECT_EQ(b.payload, "world!");
  EXPECT_EQ(a.size + b.size, file.size());
}

TEST(journal_record, half_a_record_is_incomplete) {
  std::string file;
  j::append_record(file, std::string(100, 'a'));
  for (std::size_t n : {std::size_t{0}, std::size_t{5}, std::size_t{12}, file.size() - 1})
    EXPECT_EQ(j::parse_record(std::string_view(file).substr(0, n)).status, j::parse_status::incomplete) << n;
}

TEST(journal_record, any_flipped_byte_is_detected) {
  std::string file;
  j::append_record(file, std::string(40, 'q'));
  for (std::size_t i = 0; i < file.size(); ++i) {
    auto bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_NE(j::parse_record(bad).status, j::parse_status::ok) << "byte " << i;
  }
}

TEST(journal_record, next_valid_record_is_found_after_garbage) {
  std::string file;
  j::append_record(file, "first");
  const auto second_at = file.size();
  j::append_record(file, "second");
  file[second_at + 14] ^= 1;  // corrupt the second's payload
  const auto third_at = file.size();
  j::append_record(file, "third");
  EXPECT_EQ(j::parse_record(std::string_view(file).substr(second_at)).status, j::parse_status::bad);
  auto next = j::find_next_record(file, second_at + 1);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, third_at);
  EXPECT_FALSE(j::find_next_record(file, third_at + 1));
}
