#include <gtest/gtest.h>

#include <string>

#include "caliper_sessiond/caliper/text.hpp"

namespace caliper_sessiond::caliper {
namespace {

using namespace std::string_literals;
const std::string fffd(replacement_character);

TEST(SanitizeText, KeepsValidUtf8Unchanged) {
  const std::string text = "plain ASCII, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(sanitize_text(text), text);
  EXPECT_TRUE(is_storable_text(text));
}

TEST(SanitizeText, ReplacesNulWithReplacementCharacter) {
  EXPECT_EQ(sanitize_text("a\0b"s), "a" + fffd + "b");
  EXPECT_FALSE(is_storable_text("a\0b"s));
}

TEST(SanitizeText, ReplacesStrayContinuationAndInvalidBytes) {
  EXPECT_EQ(sanitize_text("a\x80z"), "a" + fffd + "z");
  EXPECT_EQ(sanitize_text("a\xFFz"), "a" + fffd + "z");
  EXPECT_EQ(sanitize_text("\xC0\xAF"), fffd + fffd);  // overlong '/' : two ill-formed bytes
}

TEST(SanitizeText, ReplacesEachMaximalSubpartOnce) {
  EXPECT_EQ(sanitize_text("\xE2\x82z"), fffd + "z");      // truncated 3-byte sequence
  EXPECT_EQ(sanitize_text("\xF0\x9F\x98"), fffd);         // truncated at the end
  EXPECT_EQ(sanitize_text("\xC3\x28"), fffd + "(");       // lead byte without continuation
}

TEST(SanitizeText, ReplacesEncodedSurrogatesAndCodePointsAboveUnicode) {
  EXPECT_EQ(sanitize_text("\xED\xA0\x80"), fffd + fffd + fffd);
  EXPECT_EQ(sanitize_text("\xF4\x90\x80\x80"), fffd + fffd + fffd + fffd);
}

TEST(SanitizeText, BoundedVersionNeverSplitsACharacter) {
  const std::string text = "ab\xE2\x82\xAC";  // "ab€", 5 bytes
  EXPECT_EQ(sanitize_text(text, 4), "ab");
  EXPECT_EQ(sanitize_text(text, 5), text);
  EXPECT_EQ(sanitize_text(text, 0), "");
}

TEST(SanitizeText, BoundedVersionCountsReplacementBytes) {
  const std::string out = sanitize_text("\0\0\0\0"s, 4);  // each NUL grows to 3 bytes
  EXPECT_EQ(out, fffd);
  EXPECT_LE(out.size(), 4U);
}

TEST(SanitizeText, EveryByteValueGivesStorableText) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_TRUE(is_storable_text(sanitize_text(all)));
  EXPECT_TRUE(is_storable_text(sanitize_text(all + all, 300)));
}

TEST(HexValue, DecodesDigitsOfEitherCaseAndRefusesTheRest) {
  EXPECT_EQ(hex_value('0'), 0);
  EXPECT_EQ(hex_value('9'), 9);
  EXPECT_EQ(hex_value('a'), 10);
  EXPECT_EQ(hex_value('F'), 15);
  for (const char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '\xC3'}) EXPECT_EQ(hex_value(c), -1) << int(c);
}

TEST(AppendJsonString, QuotesAndEscapesQuoteBackslashAndControlCharacters) {
  std::string out = "x=";
  append_json_string(out, "say \"hi\"\\ a\nb\rc\td\x01\x1F\0e"s);
  EXPECT_EQ(out, R"(x="say \"hi\"\\ a\nb\rc\td\u0001\u001f\u0000e")");
}

TEST(AppendJsonString, KeepsUtf8AndSlashAsTheyAre) {
  std::string out;
  append_json_string(out, "caf\xC3\xA9 / \xF0\x9F\x98\x80 \x7F");
  EXPECT_EQ(out, "\"caf\xC3\xA9 / \xF0\x9F\x98\x80 \x7F\"");
}

}  // namespace
}  // namespace caliper_sessiond::caliper
