#include <xdr/util/time.hpp>

#include <cctype>
#include <cstdio>
#include <ctime>

namespace xdr::util {
namespace {

struct Civil {
  int64_t y;
  unsigned m, d, hh, mm, ss;
};

Civil to_civil(int64_t secs) {
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  Civil c{};
  civil_from_days(days, c.y, c.m, c.d);
  c.hh = unsigned(rem / 3600);
  c.mm = unsigned(rem % 3600 / 60);
  c.ss = unsigned(rem % 60);
  return c;
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const unsigned d = static_cast<unsigned char>(s[pos + i]) - unsigned{'0'};
    if (d > 9) return false;
    out = out * 10 + static_cast<int>(d);
  }
  return true;
}

} // namespace

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

std::string format_rfc3339(TimePoint tp, int fraction_digits, bool trim) {
  using namespace std::chrono;
  auto ticks = duration_cast<nanoseconds>(tp.time_since_epoch()).count();
  int64_t secs = ticks >= 0 ? ticks / 1'000'000'000 : (ticks - 999'999'999) / 1'000'000'000;
  int64_t nanos = ticks - secs * 1'000'000'000;
  Civil c = to_civil(secs);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u", static_cast<long long>(c.y), c.m, c.d,
                c.hh, c.mm, c.ss);
  std::string out = buf;
  if (fraction_digits > 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, "%09lld", static_cast<long long>(nanos));
    std::string f(frac, static_cast<size_t>(fraction_digits > 9 ? 9 : fraction_digits));
    if (trim) {
      while (!f.empty() && f.back() == '0') f.pop_back();
    }
    if (!f.empty()) out += "." + f;
  }
  out += 'Z';
  return out;
}

std::optional<TimePoint> parse_rfc3339(std::string_view s) {
  // The shortest accepted form is "YYYY-MM-DDTHH:MM:SSZ"; every page carries many of these, so the fixed part
  // is read without branches per digit.
  if (s.size() < 20) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned bad = 0;
  auto two = [&](size_t i) {
    const unsigned a = p[i] - unsigned{'0'};
    const unsigned b = p[i + 1] - unsigned{'0'};
    bad |= static_cast<unsigned>(a > 9) | static_cast<unsigned>(b > 9);
    return static_cast<int>(a * 10 + b);
  };
  const int y = two(0) * 100 + two(2);
  const int mo = two(5);
  const int d = two(8);
  const int h = two(11);
  const int mi = two(14);
  const int se = two(17);
  if (bad != 0 || p[4] != '-' || p[7] != '-' || (p[10] != 'T' && p[10] != 't' && p[10] != ' ') || p[13] != ':' ||
      p[16] != ':')
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  if (y < 1700 || y > 2250) return std::nullopt; // a TimePoint counts nanoseconds: +-292 years around 1970
  size_t pos = 19;
  int64_t nanos = 0;
  if (p[pos] == '.') {
    const size_t start = ++pos;
    unsigned digit = 0;
    while (pos < s.size() && (digit = p[pos] - unsigned{'0'}) <= 9) {
      if (pos - start < 9) nanos = nanos * 10 + digit;
      ++pos;
    }
    const size_t n = pos - start;
    if (n == 0) return std::nullopt;
    static constexpr int64_t k_scale[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000};
    if (n < 9) nanos *= k_scale[9 - n];
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om))
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t secs = days_from_civil(y, unsigned(mo), unsigned(d)) * 86400 + h * 3600 + mi * 60 + se - offset;
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(secs) +
                                                                   std::chrono::nanoseconds(nanos)));
}

std::string format_http_date(TimePoint tp) {
  static const char* days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int64_t secs = to_unix(tp);
  Civil c = to_civil(secs);
  int64_t day = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t wd = ((day % 7) + 7) % 7;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02u:%02u:%02u GMT", days[wd], c.d, months[c.m - 1],
                static_cast<long long>(c.y), c.hh, c.mm, c.ss);
  return buf;
}

std::optional<TimePoint> parse_http_date(std::string_view s) {
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  if (s.size() != 29 || s[3] != ',' || s[4] != ' ' || s.substr(26) != "GMT") return std::nullopt;
  int d, y, h, mi, se;
  if (!digits(s, 5, 2, d) || !digits(s, 12, 4, y) || !digits(s, 17, 2, h) || !digits(s, 20, 2, mi) ||
      !digits(s, 23, 2, se))
    return std::nullopt;
  std::string_view mon = s.substr(8, 3);
  int m = 0;
  for (int i = 0; i < 12; ++i)
    if (mon == months[i]) m = i + 1;
  if (m == 0 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  if (y < 1700 || y > 2250) return std::nullopt; // outside what a TimePoint can hold
  return from_unix(days_from_civil(y, unsigned(m), unsigned(d)) * 86400 + h * 3600 + mi * 60 + se);
}

std::string format_entra_timestamp(TimePoint tp) {
  std::string s = format_rfc3339(tp, 0);
  s[10] = ' ';
  return s;
}

std::optional<std::chrono::seconds> parse_iso_duration(std::string_view s) {
  if (s.size() < 2 || (s[0] != 'P' && s[0] != 'p')) return std::nullopt;
  int64_t total = 0;
  bool in_time = false, any = false;
  int64_t num = 0;
  bool have_num = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(s[i])));
    if (std::isdigit(static_cast<unsigned char>(c))) {
      num = num * 10 + (c - '0');
      if (num > 1'000'000'000) return std::nullopt;
      have_num = true;
      continue;
    }
    if (c == 'T') {
      if (in_time || have_num) return std::nullopt;
      in_time = true;
      continue;
    }
    if (!have_num) return std::nullopt;
    int64_t unit = 0;
    if (!in_time && c == 'W') unit = 7 * 86400;
    else if (!in_time && c == 'D') unit = 86400;
    else if (in_time && c == 'H') unit = 3600;
    else if (in_time && c == 'M') unit = 60;
    else if (in_time && c == 'S') unit = 1;
    else return std::nullopt;
    total += num * unit;
    num = 0;
    have_num = false;
    any = true;
  }
  if (have_num || !any) return std::nullopt;
  return std::chrono::seconds(total);
}

} // namespace xdr::util
