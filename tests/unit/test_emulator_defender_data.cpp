// Defender data generation (determinism, shape, hunting tables) and the incidents $filter language.

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include <emulator/defender_data.hpp>
#include <emulator/kql/kql.hpp>
#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::emulator;

namespace {

const util::TimePoint k_now = *util::parse_rfc3339("2026-06-15T12:00:00Z");

TenantProfile profile(const std::string& tid, int64_t n = 25) {
  return {tid, "fabrikam.onmicrosoft.com", n};
}

Incident with(const std::string& status, std::optional<std::string> assigned, const std::string& created,
              const std::string& updated) {
  Incident i;
  i.status = status;
  i.assigned_to = std::move(assigned);
  i.created = ticks_of(*util::parse_rfc3339(created));
  i.last_update = ticks_of(*util::parse_rfc3339(updated));
  return i;
}

} // namespace

TEST(EmulatorDefenderData, SameSeedAndTenantGiveTheSameIncidents) {
  TenantData a(7, profile("t1"), k_now);
  TenantData b(7, profile("t1"), k_now);
  TenantData c(8, profile("t1"), k_now);
  TenantData d(7, profile("t2"), k_now);
  ASSERT_EQ(a.incidents.size(), 25u);
  std::string ja, jb, jc, jd;
  for (size_t i = 0; i < 25; ++i) {
    ja += a.render(a.incidents[i]).dump();
    jb += b.render(b.incidents[i]).dump();
    jc += c.render(c.incidents[i]).dump();
    jd += d.render(d.incidents[i]).dump();
  }
  EXPECT_EQ(ja, jb);
  EXPECT_NE(ja, jc);
  EXPECT_NE(ja, jd);
}

TEST(EmulatorDefenderData, IncidentsHaveTheDocumentedShape) {
  TenantData data(7, profile("t1", 200), k_now);
  int64_t now = ticks_of(k_now);
  int64_t month = 30 * int64_t{864'000'000'000};
  std::set<int64_t> ids;
  std::regex ts(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)");
  std::regex mde_id(R"(da\d{18}_\d{9,10})");
  std::set<std::string> statuses;
  for (const Incident& inc : data.incidents) {
    EXPECT_TRUE(ids.insert(inc.id).second);
    EXPECT_GE(inc.created, now - month);
    EXPECT_LE(inc.last_update, now);
    EXPECT_LE(inc.created, inc.last_update);
    auto j = data.render(inc);
    statuses.insert(j["status"].get<std::string>());
    EXPECT_TRUE(j["redirectIncidentId"].is_null());
    EXPECT_TRUE(std::regex_match(j["createdTime"].get<std::string>(), ts)) << j["createdTime"];
    EXPECT_TRUE(std::regex_match(j["lastUpdateTime"].get<std::string>(), ts));
    EXPECT_TRUE(j["comments"].is_array());
    ASSERT_GE(j["alerts"].size(), 1u);
    ASSERT_LE(j["alerts"].size(), 4u);
    for (const auto& a : j["alerts"]) {
      EXPECT_EQ(a["incidentId"], inc.id);
      EXPECT_EQ(a.size(), 25u) << a.dump();
      if (a["serviceSource"] == "MicrosoftDefenderForEndpoint") {
        EXPECT_TRUE(std::regex_match(a["alertId"].get<std::string>(), mde_id)) << a["alertId"];
        ASSERT_EQ(a["devices"].size(), 1u);
        EXPECT_TRUE(std::regex_match(a["devices"][0]["mdatpDeviceId"].get<std::string>(), std::regex("[0-9a-f]{40}")));
        EXPECT_TRUE(a["devices"][0]["osBuild"].is_number());
      }
      for (const auto& e : a["entities"]) {
        ASSERT_EQ(e.size(), entity_keys().size());
        for (const auto& k : entity_keys()) EXPECT_TRUE(e.contains(k)) << k;
      }
    }
  }
  EXPECT_EQ(statuses, (std::set<std::string>{"Active", "InProgress", "Resolved"}));
  // The order index is newest first.
  for (size_t i = 1; i < data.order.size(); ++i)
    EXPECT_GE(data.incidents[data.order[i - 1]].last_update, data.incidents[data.order[i]].last_update);
}

TEST(EmulatorDefenderData, AlertInfoHasOneRowPerAlert) {
  TenantData data(7, profile("t1", 40), k_now);
  std::set<std::string> alert_ids;
  for (const Incident& inc : data.incidents)
    for (const auto& a : data.render_alerts(inc)) alert_ids.insert(a["alertId"].get<std::string>());
  auto cat = data.catalog();
  auto info = cat->find("AlertInfo");
  ASSERT_TRUE(info);
  ASSERT_EQ(info->row_count, alert_ids.size());
  int col = info->find_column("AlertId");
  for (size_t r = 0; r < info->row_count; ++r) EXPECT_TRUE(alert_ids.count(info->at(r, static_cast<size_t>(col)).as_string()));
  for (const char* t : {"AlertEvidence", "DeviceProcessEvents", "DeviceNetworkEvents", "DeviceLogonEvents",
                        "DeviceFileEvents", "EmailEvents", "IdentityLogonEvents"}) {
    auto table = cat->find(t);
    ASSERT_TRUE(table) << t;
    EXPECT_GE(table->row_count, 100u) << t;
  }
  kql::QueryOptions o;
  o.now = k_now;
  auto r = kql::run("DeviceProcessEvents | where Timestamp > ago(30d) | count", *cat, o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->rows[0][0].as_long(), static_cast<int64_t>(cat->find("DeviceProcessEvents")->row_count));
}

TEST(EmulatorDefenderData, TouchKeepsTheOrderNewestFirst) {
  TenantData data(7, profile("t1"), k_now);
  size_t oldest = data.order.back();
  data.incidents[oldest].last_update = ticks_of(k_now) + 10;
  data.touch(oldest);
  EXPECT_EQ(data.order.front(), oldest);
  EXPECT_EQ(data.order.size(), data.incidents.size());
}

TEST(EmulatorDefenderData, RenderedTextsAreCachedWithinTheSharedBudgetOnly) {
  // Room for the first two rendered incidents and half the third: two are kept, the rest are rendered per
  // call; a touch gives the bytes back, and a tenant's bytes return when it goes.
  TenantData probe(7, profile("t1", 10), k_now);
  auto budget = std::make_shared<RenderBudget>(probe.rendered_text(0)->size() + probe.rendered_text(1)->size() +
                                               probe.rendered_text(2)->size() / 2);
  {
    TenantData data(7, profile("t1", 10), k_now, budget);
    auto first = data.rendered_text(0);
    EXPECT_EQ(data.rendered_text(0), first) << "a cached text is shared, not rendered again";
    auto second = data.rendered_text(1);
    EXPECT_GT(budget->used(), 0u);
    const size_t used_two = budget->used();
    auto third = data.rendered_text(2);
    EXPECT_EQ(budget->used(), used_two) << "past the budget nothing more is kept";
    EXPECT_NE(data.rendered_text(2), third) << "an uncached text is rendered per call";
    EXPECT_EQ(*data.rendered_text(2), *third) << "... with the same content";
    EXPECT_EQ(*third, data.render(data.incidents[2]).dump());
    data.touch(0);
    EXPECT_EQ(budget->used(), used_two - first->size());
    EXPECT_EQ(*data.rendered_text(0), *first);
  }
  EXPECT_EQ(budget->used(), 0u) << "a dropped tenant returns its bytes";
}

TEST(EmulatorDefenderData, FilterComparesFieldsWithAndOrParentheses) {
  Incident a = with("Active", std::nullopt, "2021-04-01T00:00:00Z", "2021-04-02T00:00:00Z");
  Incident b = with("Resolved", "secop2@contoso.com", "2021-03-01T00:00:00Z", "2021-04-05T00:00:00Z");
  auto eval = [](const std::string& f, const Incident& i) {
    auto p = parse_incident_filter(f);
    EXPECT_TRUE(p) << f << ": " << (p ? "" : p.error().message);
    return p && (*p)(i);
  };
  EXPECT_TRUE(eval("status eq 'Active'", a));
  EXPECT_FALSE(eval("status eq 'Active'", b));
  EXPECT_TRUE(eval("status ne 'Active'", b));
  EXPECT_TRUE(eval("assignedTo eq null", a));
  EXPECT_FALSE(eval("assignedTo eq null", b));
  EXPECT_TRUE(eval("assignedTo eq 'secop2@contoso.com'", b));
  EXPECT_TRUE(eval("createdTime gt 2021-03-15T00:00:00Z", a));
  EXPECT_FALSE(eval("createdTime gt 2021-04-01T00:00:00Z", a));
  EXPECT_TRUE(eval("createdTime ge 2021-04-01T00:00:00Z", a));
  EXPECT_TRUE(eval("lastUpdateTime le 2021-04-05T00:00:00.0000000Z", b));
  EXPECT_TRUE(eval("lastUpdateTime lt 2021-04-03T00:00:00Z and status eq 'Active'", a));
  EXPECT_TRUE(eval("(status eq 'Resolved' or status eq 'Active') and createdTime lt 2021-03-02T00:00:00Z", b));
  EXPECT_FALSE(eval("(status eq 'Resolved' or status eq 'Active') and createdTime lt 2021-03-02T00:00:00Z", a));
  EXPECT_TRUE(eval("status eq 'Resolved' or status eq 'Active' and createdTime lt 2000-01-01T00:00:00Z", b));
  // The Defender syntax: keywords in any case, status values in any case.
  EXPECT_TRUE(eval("status eq 'active' OR status eq 'Resolved' AND assignedTo ne null", a));
  EXPECT_TRUE(eval("status eq 'RESOLVED' And assignedTo ne null", b));
}

TEST(EmulatorDefenderData, FilterErrorsNameTheProblem) {
  auto message = [](const std::string& f) {
    auto p = parse_incident_filter(f);
    EXPECT_FALSE(p) << f;
    return p ? std::string() : p.error().message;
  };
  EXPECT_NE(message("severity eq 'High'").find("'severity'"), std::string::npos);
  EXPECT_NE(message("status eq Active").find("quoted"), std::string::npos);
  EXPECT_NE(message("createdTime gt '2021-04-01T00:00:00Z'").find("datetime"), std::string::npos);
  EXPECT_NE(message("status like 'Active'").find("'like'"), std::string::npos);
  EXPECT_NE(message("(status eq 'Active'").find("')'"), std::string::npos);
  EXPECT_NE(message("status eq 'Active' extra").find("extra"), std::string::npos);
  EXPECT_NE(message("status eq 'Bogus'").find("Bogus"), std::string::npos);
  EXPECT_NE(message("").find("empty"), std::string::npos);
  EXPECT_NE(message("status eq 'Active").find("unterminated"), std::string::npos);
  EXPECT_EQ(message("severity eq 'High'").rfind("Invalid OData URI query", 0), 0u);
  EXPECT_NE(message("createdTime eq null").find("not a datetime literal"), std::string::npos)
      << "only Graph compares datetimes with null";
  EXPECT_NE(message("status eq microsoft.graph.security.incidentStatus'active'").find("quoted value"), std::string::npos)
      << "typed enum literals are Graph's";
}

TEST(EmulatorDefenderData, IncidentCountIsCappedAndIdsStayUnique) {
  TenantData data(7, profile("t1", 250'000), k_now);
  ASSERT_EQ(data.incidents.size(), static_cast<size_t>(k_max_incidents));
  EXPECT_EQ(data.by_id.size(), data.incidents.size());
  EXPECT_EQ(data.order.size(), data.incidents.size());
  TenantData none(7, profile("t1", -5), k_now);
  EXPECT_TRUE(none.incidents.empty());
}
