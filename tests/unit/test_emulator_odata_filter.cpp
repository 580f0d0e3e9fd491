// The Graph $filter language (src/emulator/odata_filter.hpp) and the churn of TenantData.

#include <set>

#include <gtest/gtest.h>

#include <emulator/defender_data.hpp>
#include <emulator/kql/kql.hpp>
#include <emulator/odata_filter.hpp>
#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::emulator;

namespace {

const std::vector<ODataField> k_fields = {
    {"assignedTo", ODataKind::string, {}},
    {"createdDateTime", ODataKind::datetime, {}},
    {"severity", ODataKind::enumeration, {"unknown", "informational", "low", "medium", "high"}},
};

struct Row {
  std::optional<std::string> assigned;
  std::string created;
  int64_t severity = 0;
};

bool match(const std::string& filter, const Row& r) {
  auto f = parse_odata_filter(filter, k_fields);
  EXPECT_TRUE(f) << filter << ": " << (f ? "" : f.error().message);
  if (!f) return false;
  return f->matches([&](size_t i) -> ODataOperand {
    if (i == 0) return {r.assigned, 0};
    if (i == 1) return {std::nullopt, ticks_of(*util::parse_rfc3339(r.created))};
    return {std::nullopt, r.severity};
  });
}

std::string error_of(const std::string& filter) {
  auto f = parse_odata_filter(filter, k_fields);
  EXPECT_FALSE(f) << filter;
  return f ? std::string() : f.error().message;
}

} // namespace

TEST(EmulatorODataFilter, ComparesEachKindAsGraphDoes) {
  Row r{"Alex@Contoso.com", "2024-03-01T10:00:00.5Z", 3};
  EXPECT_TRUE(match("assignedTo eq 'alex@contoso.com'", r)) << "strings compare case-insensitively";
  EXPECT_FALSE(match("assignedTo ne 'alex@contoso.com'", r));
  EXPECT_TRUE(match("assignedTo ne null", r));
  EXPECT_TRUE(match("assignedTo eq null", Row{std::nullopt, "2024-03-01T10:00:00Z", 0}));
  EXPECT_FALSE(match("assignedTo gt 'a'", Row{std::nullopt, "2024-03-01T10:00:00Z", 0})) << "null is not ordered";
  EXPECT_TRUE(match("createdDateTime gt 2024-03-01T10:00:00Z", r)) << "fractions count";
  EXPECT_TRUE(match("createdDateTime le 2024-03-01T10:00:00.5Z", r));
  EXPECT_FALSE(match("createdDateTime lt 2024-03-01T10:00:00.5Z", r));
  EXPECT_TRUE(match("severity ge 'medium'", r)) << "enums by declared order";
  EXPECT_FALSE(match("severity gt 'medium'", r));
  EXPECT_TRUE(match("severity eq 'Medium'", r)) << "members match case-insensitively";
  EXPECT_TRUE(match("severity eq microsoft.graph.security.alertSeverity'medium'", r));
}

TEST(EmulatorODataFilter, CombinesWithAndOrAndParentheses) {
  Row r{"a@x.com", "2024-03-01T10:00:00Z", 4};
  EXPECT_TRUE(match("severity eq 'low' or severity eq 'high'", r));
  EXPECT_FALSE(match("severity eq 'high' and assignedTo eq 'b@x.com'", r));
  EXPECT_TRUE(match("(severity eq 'low' or severity eq 'high') and (assignedTo eq 'a@x.com')", r));
  EXPECT_FALSE(match("severity eq 'low' or severity eq 'high' and assignedTo eq 'b@x.com'", r)) << "and binds tighter";
}

TEST(EmulatorODataFilter, ErrorsNameTheProblemAndPosition) {
  EXPECT_NE(error_of("title eq 'x'").find("'title'"), std::string::npos);
  EXPECT_NE(error_of("severity eq 'severe'").find("not a valid enumeration type constant"), std::string::npos);
  EXPECT_NE(error_of("createdDateTime gt '2024-01-01T00:00:00Z'").find("Edm.DateTimeOffset"), std::string::npos);
  EXPECT_NE(error_of("createdDateTime gt yesterday").find("not a datetime literal"), std::string::npos);
  EXPECT_NE(error_of("assignedTo eq bob").find("quoted"), std::string::npos);
  EXPECT_NE(error_of("severity like 'high'").find("operator"), std::string::npos);
  EXPECT_NE(error_of("(severity eq 'high'").find("closing"), std::string::npos);
  EXPECT_NE(error_of("assignedTo eq 'x").find("unterminated"), std::string::npos);
  EXPECT_NE(error_of("severity eq 'high' severity").find("unexpected text"), std::string::npos);
  EXPECT_NE(error_of("").find("empty"), std::string::npos);
  std::string e = error_of("severity eq 'high' and");
  EXPECT_EQ(e.rfind("Invalid filter clause: ", 0), 0u) << e;
  EXPECT_NE(e.find("position"), std::string::npos);
}

TEST(EmulatorChurn, CreatesNewIncidentsAndUpdatesDistinctOnesDeterministically) {
  const util::TimePoint now = *util::parse_rfc3339("2026-06-15T12:00:00Z");
  TenantProfile p{"t1", "fabrikam.onmicrosoft.com", 40};
  TenantData a(7, p, now), b(7, p, now);
  int64_t later = ticks_of(now) + 600 * kql::k_ticks_per_second;
  int64_t max_id = 0;
  for (const auto& i : a.incidents) max_id = std::max(max_id, i.id);
  ChurnResult ra = a.churn(3, 5, later);
  ChurnResult rb = b.churn(3, 5, later);
  EXPECT_EQ(ra.created, rb.created);
  EXPECT_EQ(ra.updated, rb.updated);
  ASSERT_EQ(ra.created.size(), 3u);
  for (int64_t id : ra.created) EXPECT_GT(id, max_id);
  EXPECT_EQ(std::set<int64_t>(ra.updated.begin(), ra.updated.end()).size(), 5u);
  EXPECT_EQ(a.incidents.size(), 43u);
  // Newest first: the changed incidents lead the order, all stamped `later`.
  std::set<int64_t> changed(ra.created.begin(), ra.created.end());
  changed.insert(ra.updated.begin(), ra.updated.end());
  for (size_t k = 0; k < changed.size(); ++k) {
    const Incident& inc = a.incidents[a.order[k]];
    EXPECT_TRUE(changed.count(inc.id)) << inc.id;
    EXPECT_EQ(inc.last_update, later);
  }
  EXPECT_NE(a.churn(3, 5, later).created, ra.created) << "the next call draws anew";
  ChurnResult all = a.churn(0, 1000, later);
  EXPECT_EQ(all.updated.size(), a.incidents.size());
}

TEST(EmulatorChurn, AlertInfoGrowsWithCreatedIncidents) {
  const util::TimePoint now = *util::parse_rfc3339("2026-06-15T12:00:00Z");
  TenantData d(7, TenantProfile{"t1", "fabrikam.onmicrosoft.com", 10}, now);
  auto count = [&] {
    kql::QueryOptions o;
    o.now = now;
    auto r = kql::run("AlertInfo | count", *d.catalog(), o);
    EXPECT_TRUE(r);
    return r ? r->rows[0][0].as_long() : -1;
  };
  int64_t before = count();
  ChurnResult r = d.churn(2, 0, ticks_of(now));
  int64_t added = 0;
  for (int64_t id : r.created) added += d.incidents[d.by_id.at(id)].alert_count;
  EXPECT_EQ(count(), before + added);
  EXPECT_EQ(count(), before + added) << "extended once";
}

TEST(EmulatorChurn, SteadyChurnStampsEachChangeWhenDue) {
  const util::TimePoint now = *util::parse_rfc3339("2026-06-15T12:00:00Z");
  TenantData d(7, TenantProfile{"t1", "fabrikam.onmicrosoft.com", 10}, now);
  int64_t t0 = ticks_of(now);
  int64_t minute = 60 * kql::k_ticks_per_second;
  d.apply_steady_churn(2, 0, t0 + minute / 4);
  EXPECT_EQ(d.incidents.size(), 10u) << "nothing due yet";
  d.apply_steady_churn(2, 0, t0 + minute + 1);
  ASSERT_EQ(d.incidents.size(), 12u);
  EXPECT_EQ(d.incidents[10].created, t0 + minute / 2);
  EXPECT_EQ(d.incidents[11].created, t0 + minute);
  d.apply_steady_churn(2, 0, t0 + minute + 2);
  EXPECT_EQ(d.incidents.size(), 12u) << "applied once";
}
