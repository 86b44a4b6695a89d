// The record splitter of `import`: layouts, strings and escapes, nesting, chunk boundaries,
// oversized and truncated records.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "record_splitter.hpp"

using caliper_sessiond::app::record_layout;
using caliper_sessiond::app::record_splitter;

namespace {

struct split_outcome {
  std::vector<std::string> records;
  std::size_t oversized = 0;
  bool error = false;
  std::string message;
  record_layout layout = record_layout::unknown;
  std::size_t max_buffered = 0;

  bool same_split(const split_outcome& o) const {
    return records == o.records && oversized == o.oversized && error == o.error && layout == o.layout;
  }
};

/// Splits `text` fed in chunks of `chunk` bytes.
split_outcome split(std::string_view text, std::size_t chunk = 1 << 20, std::size_t max = 1 << 20) {
  record_splitter s(max);
  split_outcome o;
  std::size_t at = 0;
  std::string rec;
  for (;;) {
    const auto r = s.next(rec);
    if (r == record_splitter::result::need_more) {
      o.max_buffered = std::max(o.max_buffered, s.buffered());
      if (at < text.size()) {
        s.feed(text.substr(at, chunk));
        at += chunk;
      } else {
        s.finish();
      }
    } else if (r == record_splitter::result::record) {
      o.records.push_back(rec);
    } else if (r == record_splitter::result::oversized) {
      ++o.oversized;
    } else {
      o.error = r == record_splitter::result::error;
      o.message = s.error();
      break;
    }
  }
  o.layout = s.layout();
  return o;
}

}  // namespace

TEST(record_splitter, array_elements_are_records) {
  const auto o = split(R"([ {"a":1} , {"b":[1,2,{"c":3}]},"iri",42 ])");
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.layout, record_layout::array);
  EXPECT_EQ(o.records, (std::vector<std::string>{R"({"a":1})", R"({"b":[1,2,{"c":3}]})", R"("iri")", "42"}));
}

TEST(record_splitter, brackets_and_escaped_quotes_inside_strings_do_not_split) {
  const auto o = split(R"([{"s":"]},[{\"x\\"},{"t":"\\"}])");
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.records, (std::vector<std::string>{R"({"s":"]},[{\"x\\"})", R"({"t":"\\"})"}));
}

TEST(record_splitter, nested_arrays_are_one_element) {
  const auto o = split("[[[1],[2,[3]]],[]]");
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.records, (std::vector<std::string>{"[[1],[2,[3]]]", "[]"}));
}

TEST(record_splitter, every_chunk_size_gives_the_same_records) {
  const std::string text = "\xEF\xBB\xBF[ {\"a\":\"x\\\"]\"}, [1, {\"b\": \"}\"}], \"s\\\\\" , 7 ]\n";
  const auto whole = split(text);
  ASSERT_FALSE(whole.error) << whole.message;
  ASSERT_EQ(whole.records.size(), 4u);
  for (std::size_t chunk = 1; chunk < 8; ++chunk) EXPECT_EQ(split(text, chunk).records, whole.records) << chunk;
}

TEST(record_splitter, json_lines_when_the_first_object_ends_on_its_line) {
  const auto o = split("{\"a\":1}\r\n\n  {\"b\":\"{\"}\n{not json\n{\"c\":3}", 3);
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.layout, record_layout::lines);
  // A broken line is one record (the parser refuses it) and does not swallow the next.
  EXPECT_EQ(o.records, (std::vector<std::string>{R"({"a":1})", R"({"b":"{"})", "{not json", R"({"c":3})"}));
}

TEST(record_splitter, a_pretty_printed_envelope_is_one_record) {
  const std::string text = "{\n  \"sensor\": \"s\",\n  \"data\": [\n    {\"a\": \"}\"}\n  ]\n}\n";
  const auto o = split(text, 5);
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.layout, record_layout::values);
  ASSERT_EQ(o.records.size(), 1u);
  EXPECT_EQ(o.records[0] + "\n", text);
}

TEST(record_splitter, concatenated_multi_line_values_are_records) {
  const auto o = split("{\n\"a\":1\n}\n{\n\"b\":2}");
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.records, (std::vector<std::string>{"{\n\"a\":1\n}", "{\n\"b\":2}"}));
}

TEST(record_splitter, truncated_array_is_an_error_after_the_complete_elements) {
  const auto o = split(R"([{"a":1},{"b":"unterminated)");
  EXPECT_TRUE(o.error);
  EXPECT_EQ(o.records, std::vector<std::string>{R"({"a":1})"});
  EXPECT_NE(o.message.find("truncated"), std::string::npos) << o.message;
}

TEST(record_splitter, unclosed_array_is_an_error) {
  const auto o = split(R"([{"a":1},)");
  EXPECT_TRUE(o.error);
  EXPECT_NE(o.message.find("not closed"), std::string::npos) << o.message;
}

TEST(record_splitter, content_after_the_array_is_an_error) {
  EXPECT_TRUE(split("[1] [2]").error);
}

TEST(record_splitter, missing_comma_between_elements_is_an_error) {
  EXPECT_TRUE(split(R"([{"a":1} {"b":2}])").error);
}

TEST(record_splitter, trailing_comma_is_an_error) {
  EXPECT_TRUE(split("[1,]").error);
}

TEST(record_splitter, text_that_is_not_json_is_an_error_at_byte_zero) {
  const auto o = split("hello");
  EXPECT_TRUE(o.error);
  EXPECT_NE(o.message.find("at byte 0"), std::string::npos) << o.message;
}

TEST(record_splitter, empty_input_has_no_records) {
  const auto o = split(" \n");
  EXPECT_FALSE(o.error);
  EXPECT_TRUE(o.records.empty());
}

TEST(record_splitter, oversized_array_element_is_dropped_and_the_next_kept) {
  const std::string big = "{\"x\":\"" + std::string(100, 'a') + "\"}";
  const auto o = split("[" + big + ",{\"b\":1}]", 7, 50);
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.oversized, 1u);
  EXPECT_EQ(o.records, std::vector<std::string>{R"({"b":1})"});
}

TEST(record_splitter, oversized_line_is_dropped_and_the_next_kept) {
  const std::string big = "{\"x\":\"" + std::string(100, 'a') + "\"}";
  const auto o = split("{\"a\":1}\n" + big + "\n{\"b\":1}\n", 7, 50);
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.oversized, 1u);
  EXPECT_EQ(o.records, (std::vector<std::string>{R"({"a":1})", R"({"b":1})"}));
}

TEST(record_splitter, oversized_first_line_still_reads_as_json_lines) {
  const std::string big = "{\"x\":\"" + std::string(100, 'a') + "\"}";
  const auto o = split(big + "\n{\"b\":1}\n", 7, 50);
  ASSERT_FALSE(o.error) << o.message;
  EXPECT_EQ(o.layout, record_layout::lines);
  EXPECT_EQ(o.oversized, 1u);
  EXPECT_EQ(o.records, std::vector<std::string>{R"({"b":1})"});
}

TEST(record_splitter, memory_stays_bounded_while_dropping_a_huge_record) {
  // 4 MB of one string fed in 64 KB chunks: the splitter keeps at most a chunk of it.
  record_splitter s(1024);
  std::string rec;
  ASSERT_EQ(s.next(rec), record_splitter::result::need_more);
  s.feed("[\"");
  const std::string chunk(64 * 1024, 'a');
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(s.next(rec), record_splitter::result::need_more);
    s.feed(chunk);
    ASSERT_LE(s.buffered(), 2 * chunk.size());
  }
  ASSERT_EQ(s.next(rec), record_splitter::result::need_more);
  s.feed("\",{}]");
  EXPECT_EQ(s.next(rec), record_splitter::result::oversized);
  EXPECT_EQ(s.next(rec), record_splitter::result::record);
  EXPECT_EQ(rec, "{}");
  EXPECT_EQ(s.next(rec), record_splitter::result::need_more);
  s.finish();
  EXPECT_EQ(s.next(rec), record_splitter::result::end);
}

TEST(record_splitter, random_input_splits_the_same_in_any_chunks_within_bounded_memory) {
  // Fuzz-style: JSON-ish noise (brackets, quotes, escapes, newlines), fixed seed.
  std::mt19937 rng(20261201);
  const std::string alphabet = "{}[]\"\\,: \na1";
  for (int n = 0; n < 3000; ++n) {
    std::string text(rng() % 120, ' ');
    for (char& c : text) c = alphabet[rng() % alphabet.size()];
    // (text = "[" + text trips GCC 12's false -Wrestrict at -O3, as does insert(0, "[")).
    if (n % 3 == 0) text = std::string(1, '[').append(text);
    if (n % 3 == 1) text = std::string(1, '{').append(text);
    const std::size_t max = 1 + rng() % 40;
    const auto whole = split(text, 1 << 20, max);
    for (const std::size_t chunk : {1, 2, 7}) {
      const auto parts = split(text, chunk, max);
      ASSERT_TRUE(parts.same_split(whole)) << "chunk " << chunk << " max " << max << " text: " << text;
      ASSERT_LE(parts.max_buffered, max + 2 * chunk + 3) << text;
    }
    for (const auto& r : whole.records) ASSERT_LE(r.size(), max) << text;
  }
}
