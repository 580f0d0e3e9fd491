#pragma once
// RFC 3339 and HTTP-date formatting and parsing, in UTC; proleptic Gregorian day arithmetic.

#include <optional>
#include <string>
#include <string_view>

#include <xdr/util/clock.hpp>

namespace xdr::util {

// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms; any year).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day);

// "2020-09-06T14:46:57.0733333Z": `fraction_digits` digits (0..7), trailing zeros trimmed when `trim`.
std::string format_rfc3339(TimePoint tp, int fraction_digits = 7, bool trim = false);
// Accepts "Z" or "+hh:mm", any number of fraction digits, 'T' or ' ' as separator.
std::optional<TimePoint> parse_rfc3339(std::string_view text);

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate).
std::string format_http_date(TimePoint tp);
std::optional<TimePoint> parse_http_date(std::string_view text);

// "2016-01-09 02:02:12Z", as Entra ID error bodies write timestamps.
std::string format_entra_timestamp(TimePoint tp);

// ISO 8601 durations as Graph's Timespan takes them: "P7D", "PT12H", "P1DT2H30M".
std::optional<std::chrono::seconds> parse_iso_duration(std::string_view text);

} // namespace xdr::util
