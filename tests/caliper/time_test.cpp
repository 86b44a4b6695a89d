#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::caliper {
namespace {

constexpr std::int64_t t_2016_11_15_10_15 = 1479204900LL * 1'000'000;  // 2016-11-15T10:15:00Z

TEST(ParseRfc3339, AcceptsUtcWithMilliseconds) {
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.000Z"), t_2016_11_15_10_15);
}

TEST(ParseRfc3339, AcceptsNoFraction) { EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00Z"), t_2016_11_15_10_15); }

TEST(ParseRfc3339, AcceptsLowerCaseSeparators) {
  EXPECT_EQ(parse_rfc3339_us("2016-11-15t10:15:00z"), t_2016_11_15_10_15);
}

TEST(ParseRfc3339, AppliesPositiveAndNegativeOffsets) {
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T12:15:00+02:00"), t_2016_11_15_10_15);
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T04:45:00-05:30"), t_2016_11_15_10_15);
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00-00:00"), t_2016_11_15_10_15);
}

TEST(ParseRfc3339, KeepsMicroseconds) {
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.123456Z"), t_2016_11_15_10_15 + 123456);
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.5Z"), t_2016_11_15_10_15 + 500000);
}

TEST(ParseRfc3339, RoundsExtraDigitsToNearestMicrosecondLikePostgres) {
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.1234564Z"), t_2016_11_15_10_15 + 123456);
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.1234566Z"), t_2016_11_15_10_15 + 123457);
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.123456789Z"), t_2016_11_15_10_15 + 123457);
  // rint(): exact ties go to even, as in PostgreSQL.
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.0000005Z"), t_2016_11_15_10_15);
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:15:00.0000015Z"), t_2016_11_15_10_15 + 2);
}

TEST(ParseRfc3339, RoundingCarriesIntoTheNextSecond) {
  EXPECT_EQ(parse_rfc3339_us("2016-11-15T10:14:59.9999996Z"), t_2016_11_15_10_15);
}

TEST(ParseRfc3339, LeapSecondRollsOverAsInPostgres) {
  EXPECT_EQ(parse_rfc3339_us("2016-12-31T23:59:60Z"), parse_rfc3339_us("2017-01-01T00:00:00Z"));
}

TEST(ParseRfc3339, HandlesLeapYearsAndEpochBounds) {
  EXPECT_EQ(parse_rfc3339_us("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_us("1969-12-31T23:59:59.999999Z"), -1);
  EXPECT_TRUE(parse_rfc3339_us("2020-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(parse_rfc3339_us("2000-02-29T00:00:00Z").has_value());
  EXPECT_EQ(parse_rfc3339_us("0001-01-01T00:00:00Z"), -62135596800LL * 1'000'000);
  EXPECT_EQ(parse_rfc3339_us("9999-12-31T23:59:59Z"), 253402300799LL * 1'000'000);
}

class ParseRfc3339Rejects : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseRfc3339Rejects, Refuses) { EXPECT_EQ(parse_rfc3339_us(GetParam()), std::nullopt) << GetParam(); }

INSTANTIATE_TEST_SUITE_P(Malformed, ParseRfc3339Rejects,
                         ::testing::Values("", "2016-11-15", "2016-11-15T10:15:00", "2016-11-15 10:15:00Z",
                                           "2016-11-15T10:15Z", "2016-11-15T10:15:00.Z", "2016-11-15T10:15:00,5Z",
                                           "2016-11-15T10:15:00+0200", "2016-11-15T10:15:00+02",
                                           "2016-11-15T10:15:00ZZ", "2016-11-15T10:15:00Z ", " 2016-11-15T10:15:00Z",
                                           "2016-13-01T00:00:00Z", "2016-00-01T00:00:00Z", "2019-02-29T00:00:00Z",
                                           "1900-02-29T00:00:00Z", "2016-04-31T00:00:00Z", "2016-11-15T24:00:00Z",
                                           "2016-11-15T10:60:00Z", "2016-11-15T10:15:61Z", "0000-01-01T00:00:00Z",
                                           "2016-11-15T10:15:00+24:00", "2016-11-15T10:15:00+02:60",
                                           "+2016-11-15T10:15:00Z", "2016-1-15T10:15:00Z", "yesterday",
                                           "1479204900", "2016-11-15T10:15:00.123abcZ"));

TEST(FormatTimestamp, WritesPostgresStyleUtc) {
  EXPECT_EQ(format_timestamp_us(t_2016_11_15_10_15), "2016-11-15 10:15:00+00");
  EXPECT_EQ(format_timestamp_us(t_2016_11_15_10_15 + 645000), "2016-11-15 10:15:00.645+00");
  EXPECT_EQ(format_timestamp_us(-1), "1969-12-31 23:59:59.999999+00");
  EXPECT_EQ(format_timestamp_us(0), "1970-01-01 00:00:00+00");
  EXPECT_EQ(format_timestamp_us(1'709'622'489'012'345), "2024-03-05 07:08:09.012345+00");
  EXPECT_EQ(format_timestamp_us(951'782'400'000'010), "2000-02-29 00:00:00.00001+00");
}

TEST(FormatTimestamp, WritesYearsBeforeOneAdAsPostgresDoes) {
  EXPECT_EQ(format_timestamp_us(-62'135'596'800'000'000), "0001-01-01 00:00:00+00");
  EXPECT_EQ(format_timestamp_us(-62'135'596'800'000'001), "0001-12-31 23:59:59.999999+00 BC");
  // Reachable from a Caliper eventTime: year 0001 at a positive offset is 1 BC in UTC.
  EXPECT_EQ(format_timestamp_us(*parse_rfc3339_us("0001-01-01T00:00:00+01:00")), "0001-12-31 23:00:00+00 BC");
}

TEST(FormatTimestamp, WritesYearsPastNineThousandNineHundredNinetyNine) {
  EXPECT_EQ(format_timestamp_us(*parse_rfc3339_us("9999-12-31T23:59:59.5-01:00")), "10000-01-01 00:59:59.5+00");
}

TEST(FormatTimestamp, WritesTheWholeInt64Range) {
  EXPECT_EQ(format_timestamp_us(INT64_MAX), "294247-01-10 04:00:54.775807+00");
  EXPECT_EQ(format_timestamp_us(INT64_MIN), "290309-12-21 19:59:05.224192+00 BC");
}

TEST(Iso8601Duration, AcceptsCaliperDurations) {
  for (const char* d : {"PT3000S", "PT3600S", "P1D", "P1DT2H", "PT1H30M", "P2W", "PT0.5S", "P1Y2M3DT4H5M6.7S", "PT0,5S"})
    EXPECT_TRUE(is_iso8601_duration(d)) << d;
}

TEST(Iso8601Duration, RefusesOtherText) {
  for (const char* d : {"", "P", "PT", "3000", "PT3000", "2016-09-15T10:00:00.000Z", "P1S", "PT1D", "P1DT", "PTS",
                        "pt3000s", "PT1S2M", "P1M1Y", "PT1.S"})
    EXPECT_FALSE(is_iso8601_duration(d)) << d;
}

}  // namespace
}  // namespace caliper_sessiond::caliper
