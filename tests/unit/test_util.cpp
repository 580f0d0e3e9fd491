#include <gtest/gtest.h>

#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/random.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

using namespace xdr::util;

TEST(Base64, RoundTripsAllLengths) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
    bytes += static_cast<char>(i * 37);
  }
}

TEST(Base64, KnownVectorsAndRejections) {
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_FALSE(base64url_decode("abc="));
  EXPECT_FALSE(base64url_decode("a"));
  EXPECT_FALSE(base64url_decode("-_9")); // non-zero leftover bits
  // The thumbprint example from Microsoft's certificate-credentials page.
  EXPECT_EQ(base64url_encode(*hex_decode("84E05C1D98BCE3A5421D225B140B36E86A3D5534")), "hOBcHZi846VCHSJbFAs26Go9VTQ");
}

TEST(Strings, FormEncodingRoundTrip) {
  FormFields f{{"scope", "https://api.security.microsoft.com/.default"}, {"a b", "c&d=e+f"}};
  std::string enc = encode_form(f);
  EXPECT_EQ(enc, "scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default&a+b=c%26d%3De%2Bf");
  EXPECT_EQ(parse_form(enc), f);
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_TRUE(is_guid("8ee8fdad-f234-4243-8f3b-15c294843740"));
  EXPECT_FALSE(is_guid("8ee8fdad-f234-4243-8f3b-15c29484374"));
}

TEST(Strings, FormPairsAreSplitStillEncodedAndTheWalkCanStop) {
  std::vector<std::string> seen;
  auto record = [&](std::string_view k, std::string_view v) {
    seen.push_back(std::string(k) + "|" + std::string(v));
    return true;
  };
  EXPECT_TRUE(for_each_form_pair("a=1&&b&c=&=d&e=x%3Dy=z&", record));
  EXPECT_EQ(seen, (std::vector<std::string>{"a|1", "b|", "c|", "|d", "e|x%3Dy=z"}));
  seen.clear();
  EXPECT_TRUE(for_each_form_pair("", record));
  EXPECT_TRUE(seen.empty());
  int calls = 0;
  EXPECT_FALSE(for_each_form_pair("a=1&b=2&c=3", [&](std::string_view k, std::string_view) {
    ++calls;
    return k != "b";
  }));
  EXPECT_EQ(calls, 2) << "the walk stops at the first false";
}

TEST(Time, Rfc3339AndHttpDate) {
  auto tp = parse_rfc3339("2020-09-06T14:46:57.0733333Z");
  ASSERT_TRUE(tp);
  EXPECT_EQ(format_rfc3339(*tp), "2020-09-06T14:46:57.0733333Z");
  EXPECT_EQ(format_rfc3339(*parse_rfc3339("2020-09-06T14:46:57.29Z"), 7, true), "2020-09-06T14:46:57.29Z");
  EXPECT_EQ(to_unix(*parse_rfc3339("1970-01-02T00:00:00+01:00")), 82800);
  EXPECT_FALSE(parse_rfc3339("2020-13-06T14:46:57Z"));
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_rfc3339("9999-12-31T23:59:59Z")) << "would overflow a nanosecond time point";
  // Fractions of 1 to 9 digits, and more (kept to the nanosecond); the 't' and ' ' separators; offsets.
  const int64_t base = to_unix(*parse_rfc3339("2020-09-06T14:46:57Z"));
  EXPECT_EQ(base, 1599403617);
  auto nanos = [](std::string_view text) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(parse_rfc3339(text).value().time_since_epoch()).count() %
           1'000'000'000;
  };
  EXPECT_EQ(nanos("2020-09-06T14:46:57.5Z"), 500'000'000);
  EXPECT_EQ(nanos("2020-09-06T14:46:57.0733333Z"), 73'333'300);
  EXPECT_EQ(nanos("2020-09-06T14:46:57.123456789Z"), 123'456'789);
  EXPECT_EQ(nanos("2020-09-06T14:46:57.123456789987Z"), 123'456'789);
  EXPECT_EQ(to_unix(*parse_rfc3339("2020-09-06t14:46:57z")), base);
  EXPECT_EQ(to_unix(*parse_rfc3339("2020-09-06 14:46:57Z")), base);
  EXPECT_EQ(to_unix(*parse_rfc3339("2020-09-06T16:46:57.5+02:00")), base);
  EXPECT_EQ(to_unix(*parse_rfc3339("1969-12-31T23:59:59Z")), -1);
  EXPECT_EQ(to_unix(*parse_rfc3339("2024-02-29T00:00:00Z")), 1709164800);
  // Every digit position refuses a non-digit (including bytes below '0' and above '9', and non-ASCII).
  const std::string good = "2020-09-06T14:46:57Z";
  for (size_t pos : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18}) {
    for (char c : {'/', ':', 'a', ' ', '\xc3'}) {
      std::string bad = good;
      bad[pos] = c;
      EXPECT_FALSE(parse_rfc3339(bad)) << bad;
    }
  }
  for (const char* bad : {"2020-09-06T14:46:57", "2020-09-06T14:46:57.Z", "2020-09-06T14:46:57.5", "2020-09-06X14:46:57Z",
                          "2020/09/06T14:46:57Z", "2020-09-06T14-46-57Z", "2020-09-06T14:46:57ZZ", "2020-09-06T14:46:57+0200",
                          "2020-09-06T24:00:00Z", "2020-09-06T14:60:00Z", "2020-09-00T14:46:57Z", "2020-00-06T14:46:57Z", ""})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  EXPECT_EQ(format_http_date(from_unix(784111777)), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(to_unix(*parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT")), 784111777);
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 PST"));
  EXPECT_EQ(format_entra_timestamp(from_unix(1452304932)), "2016-01-09 02:02:12Z");
  EXPECT_EQ(parse_iso_duration("P7D")->count(), 7 * 86400);
  EXPECT_EQ(parse_iso_duration("P1DT2H30M")->count(), 86400 + 2 * 3600 + 1800);
  EXPECT_FALSE(parse_iso_duration("P"));
  EXPECT_FALSE(parse_iso_duration("7D"));
}

TEST(Random, DeterministicStreams) {
  DeterministicRng a(7, "tenant-1"), b(7, "tenant-1"), c(7, "tenant-2");
  EXPECT_EQ(a.guid(), b.guid());
  EXPECT_NE(a.guid(), c.guid());
  EXPECT_TRUE(is_guid(a.guid()));
}

TEST(Json, ParseDescribesNonJson) {
  auto r = parse_json("<!DOCTYPE html><html>500</html>", "the token response");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "the token response is not valid JSON (received an HTML page)");
  EXPECT_EQ(r.error().kind, xdr::ErrorKind::invalid_response);
}
