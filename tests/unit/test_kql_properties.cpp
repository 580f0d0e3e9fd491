// Consistency properties of the KQL interpreter on a generated table of 10,000 rows.

#include <random>

#include <gtest/gtest.h>

#include <emulator/kql/kql.hpp>

#include "kql_test_catalog.hpp"

namespace xdr::emulator::kql {
namespace {

const Catalog& generated() {
  static const Catalog catalog = [] {
    std::mt19937_64 rng(20240501);
    TableBuilder b(testing::schema_of({"Timestamp:datetime", "DeviceName", "ActionType", "RemotePort:int",
                                       "Bytes:long", "Score:real", "Flag:bool"}));
    const char* actions[] = {"ConnectionSuccess", "ConnectionFailed", "InboundConnectionAccepted", "ListeningConnectionCreated"};
    b.reserve(10'000);
    for (int i = 0; i < 10'000; ++i) {
      const auto minutes = static_cast<int64_t>(rng() % (60 * 24 * 30));
      Value bytes = (rng() % 10 == 0) ? Value() : Value(static_cast<int64_t>(rng() % 100'000));
      Value score = (rng() % 7 == 0) ? Value() : Value(static_cast<double>(rng() % 1000) / 10.0);
      b.add_row({testing::at_minutes_ago(minutes), "host-" + std::to_string(rng() % 50), actions[rng() % 4],
                 static_cast<int32_t>(rng() % 1024), bytes, score, rng() % 2 == 0});
    }
    Catalog c;
    c.add("Net", b.build());
    TableBuilder owners(testing::schema_of({"DeviceName", "Owner"}));
    for (int i = 0; i < 60; i += 2) owners.add_row({"host-" + std::to_string(i), "owner-" + std::to_string(i % 7)});
    c.add("Owners", owners.build());
    return c;
  }();
  return catalog;
}

QueryResult run_ok(const std::string& query) {
  QueryOptions o;
  o.now = testing::test_now();
  auto r = run(query, generated(), o);
  EXPECT_TRUE(r) << query << " -> " << (r ? "" : r.error().message);
  return r ? *r : QueryResult{};
}

int64_t single_long(const QueryResult& r) {
  if (r.rows.size() != 1 || r.rows[0].empty()) return -1;
  return r.rows[0][0].as_long();
}

const char* k_predicates[] = {
    "RemotePort < 100",
    "ActionType == 'ConnectionFailed' and Bytes > 5000",
    "DeviceName in ('host-1', 'host-2', 'host-3') or Flag",
    "Timestamp > ago(7d)",
    "Score between (10.0 .. 50.5)",
    "isnull(Bytes)",
    "DeviceName endswith '7' and not(Flag)",
    "ActionType contains 'connection' and RemotePort % 3 == 0",
    "tostring(RemotePort) startswith '1'",
    "Bytes * 2 > 100000 or Score < 1",
};

TEST(KqlProperties, CountEqualsNumberOfFilteredRows) {
  for (const char* p : k_predicates) {
    const auto rows = run_ok(std::string("Net | where ") + p);
    const auto count = run_ok(std::string("Net | where ") + p + " | count");
    EXPECT_EQ(single_long(count), static_cast<int64_t>(rows.rows.size())) << p;
    EXPECT_GT(rows.rows.size(), 0u) << p;
    EXPECT_LT(rows.rows.size(), 10'000u) << p;
  }
}

TEST(KqlProperties, PredicateAndItsNegationPartitionNonNullRows) {
  const std::string p = "Bytes > 40000";
  const auto yes = single_long(run_ok("Net | where " + p + " | count"));
  const auto no = single_long(run_ok("Net | where not(" + p + ") | count"));
  const auto nulls = single_long(run_ok("Net | where isnull(Bytes) | count"));
  EXPECT_EQ(yes + no + nulls, 10'000);
}

TEST(KqlProperties, GroupCountsAddUpToCount) {
  for (const char* key : {"DeviceName", "ActionType", "bin(Timestamp, 1d)", "Flag", "RemotePort % 10", "Bytes"}) {
    const auto groups = run_ok(std::string("Net | where RemotePort > 100 | summarize n = count() by ") + key);
    int64_t total = 0;
    for (const auto& row : groups.rows) total += row.back().as_long();
    EXPECT_EQ(total, single_long(run_ok("Net | where RemotePort > 100 | count"))) << key;
  }
}

TEST(KqlProperties, TopEqualsOrderThenTake) {
  for (const char* x : {"Bytes", "Score", "Timestamp", "DeviceName"}) {
    const auto top = run_ok(std::string("Net | top 10 by ") + x);
    const auto ordered = run_ok(std::string("Net | order by ") + x + " desc | take 10");
    ASSERT_EQ(top.rows.size(), 10u);
    ASSERT_EQ(ordered.rows.size(), 10u);
    for (size_t r = 0; r < 10; ++r) {
      for (size_t c = 0; c < top.schema.size(); ++c) {
        EXPECT_TRUE(key_equal(top.rows[r][c], ordered.rows[r][c])) << x << " row " << r << " col " << c;
      }
    }
    const auto top_asc = run_ok(std::string("Net | top 10 by ") + x + " asc nulls last");
    const auto ordered_asc = run_ok(std::string("Net | order by ") + x + " asc nulls last | take 10");
    for (size_t r = 0; r < 10; ++r) EXPECT_TRUE(key_equal(top_asc.rows[r][0], ordered_asc.rows[r][0])) << x;
  }
}

TEST(KqlProperties, DistinctEqualsSummarizeByAndDcount) {
  for (const char* k : {"DeviceName", "ActionType", "RemotePort", "DeviceName, ActionType"}) {
    const auto distinct = single_long(run_ok(std::string("Net | distinct ") + k + " | count"));
    const auto grouped = single_long(run_ok(std::string("Net | summarize by ") + k + " | count"));
    EXPECT_EQ(distinct, grouped) << k;
    EXPECT_GT(distinct, 1) << k;
  }
  EXPECT_EQ(single_long(run_ok("Net | summarize dcount(DeviceName)")), single_long(run_ok("Net | distinct DeviceName | count")));
}

TEST(KqlProperties, SemiAndAntiJoinPartitionTheLeftSide) {
  const auto semi = single_long(run_ok("Net | join kind=leftsemi Owners on DeviceName | count"));
  const auto anti = single_long(run_ok("Net | join kind=leftanti Owners on DeviceName | count"));
  const auto inner = single_long(run_ok("Net | join kind=inner Owners on DeviceName | count"));
  EXPECT_EQ(semi + anti, 10'000);
  EXPECT_EQ(inner, semi);  // Owners has one row per DeviceName
  const auto unique = single_long(run_ok("Net | join Owners on DeviceName | count"));
  EXPECT_EQ(unique, single_long(run_ok("Owners | join kind=leftsemi (Net | distinct DeviceName) on DeviceName | count")));
}

TEST(KqlProperties, SumAndAvgAgreeWithManualTotals) {
  const auto r = run_ok("Net | summarize s = sum(Bytes), a = avg(Bytes), n = countif(isnotnull(Bytes))");
  ASSERT_EQ(r.rows.size(), 1u);
  const double expected_avg = static_cast<double>(r.rows[0][0].as_long()) / static_cast<double>(r.rows[0][2].as_long());
  EXPECT_DOUBLE_EQ(r.rows[0][1].as_real(), expected_avg);
}

} // namespace
} // namespace xdr::emulator::kql
