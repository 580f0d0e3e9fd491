// The emulator's compact JSON writer (src/emulator/json_dump.hpp) writes exactly nlohmann's bytes.

#include <gtest/gtest.h>

#include <emulator/defender_data.hpp>
#include <emulator/json_dump.hpp>
#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::emulator;

namespace {

template <class J>
std::string reference(const J& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

} // namespace

TEST(EmulatorJsonDump, WritesNlohmannsBytesForEveryKindOfValue) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls += static_cast<char>(c);
  const std::vector<OrderedJson> cases = {
      nullptr,
      true,
      false,
      0,
      -1,
      int64_t{-9223372036854775807} - 1,
      uint64_t{18446744073709551615u},
      1.5,
      0.1,
      -2.5e-300,
      1e21,
      "",
      "plain ascii",
      "quote \" backslash \\ slash / del \x7f",
      controls,
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92",  // valid UTF-8 passes through
      "bad \xff\xfe utf-8 \xc3",                      // invalid: U+FFFD, never a throw
      OrderedJson::array(),
      OrderedJson::object(),
      OrderedJson::parse(R"({"b":1,"a":[1,2,{"x":null,"y":[]}],"c":{"d":"e\n"},"f":2.25,"g":[true,false]})"),
      OrderedJson::binary({1, 2, 3}),
  };
  for (const auto& j : cases) EXPECT_EQ(dump_compact(j), reference(j)) << reference(j);

  OrderedJson keys;
  keys["tab\tkey"] = 1;
  keys["caf\xc3\xa9"] = "\x01";
  keys["bad\xff"] = nullptr;
  EXPECT_EQ(dump_compact(keys), reference(keys));
  // The sorted nlohmann::json too.
  Json sorted = Json::parse(R"({"z":[1,"two",3.5],"a":{"k":"v"}})");
  EXPECT_EQ(dump_compact(sorted), reference(sorted));
}

// Plain text is skipped eight bytes at a time: a byte that needs escaping (or hands the string to nlohmann)
// must be found at every offset within and across those words, and in the tail after them.
TEST(EmulatorJsonDump, EscapesFoundAtEveryOffsetOfLongStrings) {
  const std::vector<std::string> specials = {"\x01", "\x1f", "\"", "\\", "\n", "\x7f", " ", "\xc3\xa9", "\xff"};
  for (const auto& special : specials) {
    for (size_t length : {7, 8, 9, 16, 17, 25}) {
      for (size_t at = 0; at < length; ++at) {
        std::string text(length, 'a');
        for (size_t i = 0; i < length; ++i) text[i] = static_cast<char>('A' + (i * 7) % 58); // includes '[', '`' ...
        text.replace(at, 1, special);
        const OrderedJson j = text;
        ASSERT_EQ(dump_compact(j), reference(j)) << "special byte " << static_cast<int>(static_cast<unsigned char>(special[0]))
                                                 << " at " << at << " of " << length;
      }
    }
  }
  // A JWT-sized plain string, and the same with one escape near its end.
  std::string token(1500, 'x');
  for (size_t i = 0; i < token.size(); ++i) token[i] = "ABCxyz019-_."[i % 12];
  EXPECT_EQ(dump_compact(OrderedJson(token)), reference(OrderedJson(token)));
  token[1497] = '"';
  EXPECT_EQ(dump_compact(OrderedJson(token)), reference(OrderedJson(token)));
}

TEST(EmulatorJsonDump, RenderedIncidentsAreByteForByteTheSame) {
  TenantData data(7, {"t1", "fabrikam.onmicrosoft.com", 60}, *util::parse_rfc3339("2026-06-15T12:00:00Z"));
  for (const auto& incident : data.incidents) {
    OrderedJson j = data.render(incident);
    ASSERT_EQ(dump_compact(j), reference(j));
  }
}
