#include "caliper_sessiond/caliper/time.hpp"

#include <charconv>
#include <cmath>

namespace caliper_sessiond::caliper {
namespace {

constexpr std::int64_t us_per_second = 1'000'000;
constexpr std::int64_t us_per_day = 86'400 * us_per_second;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Reads exactly `n` digits at `s[i]`.
bool digits(std::string_view s, std::size_t i, std::size_t n, int& out) noexcept {
  if (i + n > s.size()) return false;
  int v = 0;
  for (std::size_t k = i; k < i + n; ++k) {
    if (!is_digit(s[k])) return false;
    v = v * 10 + (s[k] - '0');
  }
  out = v;
  return true;
}

bool is_leap(int y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) noexcept {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

/// A proleptic Gregorian date of days since 1970-01-01 (H. Hinnant's civil_from_days).
struct civil_date {
  std::int64_t year;  ///< astronomical: 0 is 1 BC
  unsigned month;
  unsigned day;
};
civil_date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

/// Writes `v` in decimal, zero-padded to at least `width` digits; returns the end.
char* put_digits(char* p, std::uint64_t v, int width) noexcept {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n < width) tmp[n++] = '0';
  while (n > 0) *p++ = tmp[--n];
  return p;
}

/// Microseconds of a fraction given as its digits, rounded as PostgreSQL does.
std::optional<std::int64_t> fraction_us(std::string_view frac) noexcept {
  if (frac.size() <= 6) {
    int v = 0;
    digits(frac, 0, frac.size(), v);
    for (std::size_t k = frac.size(); k < 6; ++k) v *= 10;
    return v;
  }
  // PostgreSQL: strtod(".digits") then rint(x * 1e6). from_chars is the locale-free strtod.
  char buf[40] = "0.";
  const std::size_t n = frac.size() < sizeof buf - 3 ? frac.size() : sizeof buf - 3;
  for (std::size_t k = 0; k < n; ++k) buf[2 + k] = frac[k];
  double x = 0;
  const auto [end, ec] = std::from_chars(buf, buf + 2 + n, x);
  if (ec != std::errc{} || end != buf + 2 + n) return std::nullopt;
  return static_cast<std::int64_t>(std::nearbyint(x * 1e6));
}

}  // namespace

std::optional<std::int64_t> parse_rfc3339_us(std::string_view s) noexcept {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second))
    return std::nullopt;
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
      hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  std::size_t i = 19;
  std::int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return std::nullopt;
    const auto f = fraction_us(s.substr(start, i - start));
    if (!f) return std::nullopt;
    frac = *f;
  }
  if (i >= s.size()) return std::nullopt;
  std::int64_t offset_s = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    int oh = 0, om = 0;
    if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' || !digits(s, i + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t secs = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return secs * us_per_second + frac;
}

std::string format_timestamp_us(std::int64_t us) {
  // Floor division: before 1970 the day is earlier and the time of day still positive.
  std::int64_t days = us / us_per_day;
  std::int64_t rem = us % us_per_day;
  if (rem < 0) {
    rem += us_per_day;
    --days;
  }
  const civil_date d = civil_from_days(days);
  // PostgreSQL has no year 0: astronomical year y <= 0 is year 1 - y BC.
  const bool bc = d.year <= 0;
  const std::int64_t secs = rem / us_per_second;
  const std::int64_t frac = rem % us_per_second;
  char buf[40];  // int64 microseconds reach year 294247: "294247-01-10 04:00:54.775807"
  char* p = put_digits(buf, static_cast<std::uint64_t>(bc ? 1 - d.year : d.year), 4);
  *p++ = '-';
  p = put_digits(p, d.month, 2);
  *p++ = '-';
  p = put_digits(p, d.day, 2);
  *p++ = ' ';
  p = put_digits(p, static_cast<std::uint64_t>(secs / 3600), 2);
  *p++ = ':';
  p = put_digits(p, static_cast<std::uint64_t>(secs / 60 % 60), 2);
  *p++ = ':';
  p = put_digits(p, static_cast<std::uint64_t>(secs % 60), 2);
  if (frac != 0) {
    *p++ = '.';
    p = put_digits(p, static_cast<std::uint64_t>(frac), 6);
    while (p[-1] == '0') --p;
  }
  std::string out(buf, p);
  out += bc ? "+00 BC" : "+00";
  return out;
}

bool is_iso8601_duration(std::string_view s) noexcept {
  // P[nY][nM][nW][nD][T[nH][nM][nS]], each n digits with an optional . or , fraction.
  if (s.size() < 3 || s[0] != 'P') return false;
  static constexpr std::string_view date_units = "YMWD";
  static constexpr std::string_view time_units = "HMS";
  std::size_t i = 1;
  bool in_time = false;
  bool any = false;
  bool time_any = false;
  std::size_t next_unit = 0;  // units must come in order
  while (i < s.size()) {
    if (s[i] == 'T') {
      if (in_time) return false;
      in_time = true;
      next_unit = 0;
      ++i;
      continue;
    }
    const std::size_t start = i;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == start) return false;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
      const std::size_t fstart = ++i;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i == fstart) return false;
    }
    if (i >= s.size()) return false;
    const std::string_view units = in_time ? time_units : date_units;
    const std::size_t u = units.find(s[i], next_unit);
    if (u == std::string_view::npos) return false;
    next_unit = u + 1;
    any = true;
    time_any = time_any || in_time;
    ++i;
  }
  return any && (!in_time || time_any);
}

}  // namespace caliper_sessiond::caliper
