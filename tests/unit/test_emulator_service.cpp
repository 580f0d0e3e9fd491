// The emulator's hot-path helpers: the direct JSON writer, buffered random identifiers, route classification.

#include <set>

#include <gtest/gtest.h>

#include <emulator/service.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

using namespace xdr;
using namespace xdr::emulator;

TEST(EmulatorJsonWriter, WritesWhatNlohmannWritesForTheSameMembers) {
  const std::vector<std::string> strings = {
      "",
      "plain text",
      "https://sts.windows.net/3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e/",
      "quote \" backslash \\ slash /",
      std::string("controls \b\f\n\r\t \x01\x1f \x7f and a NUL: ") + '\0' + "!",
      "UTF-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91",
      "invalid UTF-8: \xff\xfe and a lone \xc3",
  };
  for (const auto& s : strings) {
    JsonObjectWriter w;
    w.member("k", s).member("n", int64_t{-42}).member(s, int64_t{1700000000});
    OrderedJson expected;
    expected["k"] = s;
    expected["n"] = -42;
    expected[s] = 1700000000;
    EXPECT_EQ(w.finish(), safe_dump(expected)) << util::hex_encode(s);
  }
  JsonObjectWriter w;
  w.member("roles", std::vector<std::string>{"Incident.Read.All", "Alert.\"Read\""})
      .member("none", std::vector<std::string>{});
  OrderedJson expected;
  expected["roles"] = {"Incident.Read.All", "Alert.\"Read\""};
  expected["none"] = Json::array();
  EXPECT_EQ(w.finish(), safe_dump(expected));
  EXPECT_EQ(JsonObjectWriter().finish(), "{}");
}

TEST(EmulatorIdRandom, BytesSpanBufferRefillsAndDoNotRepeat) {
  EXPECT_EQ(id_random_bytes(0).size(), 0u);
  std::set<std::string> seen;
  size_t total = 0;
  for (int i = 0; i < 300; ++i) { // 300 x 48 bytes crosses the 4 KB refill several times
    std::string b = id_random_bytes(48);
    ASSERT_EQ(b.size(), 48u);
    total += b.size();
    EXPECT_TRUE(seen.insert(b).second);
  }
  EXPECT_EQ(id_random_bytes(10000).size(), 10000u) << "a draw larger than the buffer";
  std::string g = id_random_guid();
  EXPECT_TRUE(util::is_guid(g));
  EXPECT_EQ(g[14], '4') << "version 4";
  EXPECT_NE(g, id_random_guid());
}

TEST(EmulatorRoutes, ClassifyFindsTheTenantSegment) {
  EXPECT_EQ(classify("POST", "/contoso.com/oauth2/v2.0/token").name, "token_v2");
  EXPECT_EQ(classify("POST", "/contoso.com/oauth2/v2.0/token").tenant, "contoso.com");
  EXPECT_EQ(classify("POST", "/t/oauth2/token").name, "token_v1");
  EXPECT_EQ(classify("GET", "/t/discovery/v2.0/keys").name, "keys_v2");
  EXPECT_EQ(classify("GET", "/t/").name, "other");
  EXPECT_EQ(classify("GET", "/t/").tenant, "t");
  EXPECT_EQ(classify("GET", "/t").tenant, "");
  EXPECT_EQ(classify("GET", "").name, "other");
  EXPECT_EQ(classify("GET", "/common/discovery/instance").name, "instance");
  EXPECT_EQ(classify("GET", "/_emulator/requests").name, "control");
}
