// Published-style advanced-hunting queries (tests/data/kql/corpus): each runs against the test catalog, or,
// when its file name starts with "ns_", is refused with "not supported: ...". Never a crash.

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include <emulator/kql/kql.hpp>
#include <emulator/kql/render.hpp>

#include "kql_test_catalog.hpp"

namespace xdr::emulator::kql {
namespace {

std::filesystem::path corpus_dir() {
  return std::filesystem::path(XDR_TEST_DATA_DIR) / "kql" / "corpus";
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The number after "// expect-rows:", or -1.
long expected_rows(const std::string& text) {
  const std::string marker = "// expect-rows:";
  const size_t at = text.find(marker);
  if (at == std::string::npos) return -1;
  return std::stol(text.substr(at + marker.size()));
}

TEST(KqlCorpus, EveryQueryRunsOrIsRefusedAsNotSupported) {
  const Catalog catalog = testing::hunting_catalog();
  QueryOptions options;
  options.now = testing::test_now();
  size_t ran = 0;
  size_t refused = 0;
  ASSERT_TRUE(std::filesystem::is_directory(corpus_dir())) << corpus_dir();
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    if (entry.path().extension() != ".kql") continue;
    const std::string name = entry.path().filename().string();
    const std::string text = read_file(entry.path());
    auto result = run(text, catalog, options);
    if (name.rfind("ns_", 0) == 0) {
      ASSERT_FALSE(result) << name << " should be refused";
      EXPECT_EQ(result.error().code, "NotSupported") << name << ": " << result.error().message;
      EXPECT_EQ(result.error().message.rfind("not supported: ", 0), 0u) << result.error().message;
      ++refused;
      continue;
    }
    ASSERT_TRUE(result) << name << ": " << result.error().message;
    const long want = expected_rows(text);
    if (want >= 0) {
      EXPECT_EQ(static_cast<long>(result->rows.size()), want) << name;
    }
    const auto json = to_defender_json(*result);
    EXPECT_EQ(json["Schema"].size(), result->schema.size()) << name;
    ++ran;
  }
  EXPECT_GE(ran, 20u);
  EXPECT_GE(refused, 5u);
}

TEST(KqlCorpus, TruncatedQueriesNeverCrash) {
  const Catalog catalog = testing::hunting_catalog();
  QueryOptions options;
  options.now = testing::test_now();
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    const std::string text = read_file(entry.path());
    for (size_t cut = 0; cut < text.size(); cut += 7) {
      auto result = run(std::string_view(text).substr(0, cut), catalog, options);
      if (!result) {
        EXPECT_FALSE(result.error().message.empty());
      }
    }
  }
}

// Deterministic mutations of every corpus query (deleted, duplicated and inserted fragments): each must
// either run or fail with a message, never throw or crash.
TEST(KqlCorpus, MutatedQueriesNeverCrash) {
  const Catalog catalog = testing::hunting_catalog();
  QueryOptions options;
  options.now = testing::test_now();
  std::mt19937 rng(7);
  const std::vector<std::string> fragments = {"(", ")", "|", ",", "..", "'", "\"", "[", "]", "==", "!", " by ",
                                              " on ", "*", "-", ".", "0", "1d", " and ", "$left.", " in~ ", ";",
                                              "dynamic(", "datetime(", "@'", "//", "\n", "summarize", "count()"};
  size_t ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
    const std::string original = read_file(entry.path());
    for (int i = 0; i < 60; ++i) {
      std::string text = original;
      const size_t at = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0: text.erase(at, rng() % 12); break;
        case 1: text.insert(at, text.substr(rng() % text.size(), rng() % 20)); break;
        default: text.insert(at, fragments[rng() % fragments.size()]); break;
      }
      auto result = run(text, catalog, options);
      if (result) {
        ++ran;
      } else {
        EXPECT_FALSE(result.error().message.empty());
        EXPECT_FALSE(result.error().code.empty());
      }
    }
  }
  EXPECT_GT(ran, 0u);
}

} // namespace
} // namespace xdr::emulator::kql
