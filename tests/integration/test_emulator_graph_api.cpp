// Graph security (/v1.0/security/...) over raw HTTPS with the emulator's own Graph tokens: the Graph error
// shape and permissions, incidents (filters, paging, $count, $expand), PATCH and comments shared with the
// legacy API, alerts_v2 with evidence, runHuntingQuery, and the per-app Graph quota.

#include "resource_api_support.hpp"

#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

class GraphApiTest : public ResourceApiTest {
protected:
  // Asserts Graph's error shape; returns the error object.
  static Json graph_error(const httplib::Result& r, int status, const std::string& code) {
    EXPECT_TRUE(r);
    if (!r) return Json();
    EXPECT_EQ(r->status, status) << r->body;
    Json e = body_of(r)["error"];
    EXPECT_EQ(e["code"], code) << r->body;
    EXPECT_FALSE(e["message"].get<std::string>().empty());
    EXPECT_TRUE(util::is_guid(e["innerError"]["request-id"].get<std::string>())) << r->body;
    EXPECT_EQ(e["innerError"]["request-id"], r->get_header_value("request-id"));
    EXPECT_TRUE(util::parse_rfc3339(e["innerError"]["date"].get<std::string>()).has_value());
    EXPECT_TRUE(e["innerError"].contains("client-request-id"));
    return e;
  }
  std::vector<Json> list_all_legacy() const { return list_all(token(k_fabrikam), "/api/incidents"); }
};

int64_t ticks(const Json& j) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(util::parse_rfc3339(j.get<std::string>())->time_since_epoch()).count() / 100;
}

} // namespace

TEST_F(GraphApiTest, TokensForOtherAudiencesOrNoneGetGraphs401) {
  httplib::Headers h = {{"client-request-id", "0f4b3c1a-2d3e-4f50-8a6b-7c8d9e0f1a2b"}};
  auto none = call("GET", "/v1.0/security/incidents", "", "", "application/json", h);
  Json e = graph_error(none, 401, "InvalidAuthenticationToken");
  EXPECT_EQ(e["message"], "Access token is empty.");
  EXPECT_EQ(e["innerError"]["client-request-id"], "0f4b3c1a-2d3e-4f50-8a6b-7c8d9e0f1a2b");
  EXPECT_EQ(none->get_header_value("client-request-id"), "0f4b3c1a-2d3e-4f50-8a6b-7c8d9e0f1a2b");
  EXPECT_NE(none->get_header_value("WWW-Authenticate").find("Bearer"), std::string::npos);
  for (const std::string& resource : {k_xdr, k_mde}) {
    Json x = graph_error(call("GET", "/v1.0/security/incidents", token(k_fabrikam, resource)), 401,
                         "InvalidAuthenticationToken");
    EXPECT_EQ(x["message"], "Access token validation failure. Invalid audience.");
  }
  // A Graph token on the Defender XDR API is refused there, in that API's dialect.
  auto d = call("GET", "/api/incidents", token(k_fabrikam, k_graph));
  EXPECT_EQ(d->status, 401);
  EXPECT_EQ(body_of(d)["error"]["code"], "Unauthorized");
  EXPECT_EQ(call("GET", "/v1.0/security/incidents?$top=1", token(k_fabrikam, k_graph))->status, 200);
}

TEST_F(GraphApiTest, MissingRolesGet403NamingTheRequiredPermission) {
  // Northwind's service principal exists but holds no Graph roles.
  std::string nw = token(k_northwind, k_graph);
  Json e = graph_error(call("GET", "/v1.0/security/incidents", nw), 403, "Forbidden");
  EXPECT_NE(e["message"].get<std::string>().find("SecurityIncident.Read.All"), std::string::npos) << e.dump();
  e = graph_error(call("GET", "/v1.0/security/alerts_v2", nw), 403, "Forbidden");
  EXPECT_NE(e["message"].get<std::string>().find("SecurityAlert.Read.All"), std::string::npos);
  e = graph_error(call("POST", "/v1.0/security/runHuntingQuery", nw, R"({"Query":"AlertInfo"})"), 403, "Forbidden");
  EXPECT_NE(e["message"].get<std::string>().find("ThreatHunting.Read.All"), std::string::npos);
  // Fabrikam without the write role: reads work, PATCH is 403.
  control("DELETE", "/_emulator/tenants/" + k_fabrikam + "/consents/" + k_app + "?resource=graph&role=SecurityIncident.ReadWrite.All");
  std::string fab = token(k_fabrikam, k_graph);
  auto list = call("GET", "/v1.0/security/incidents?$top=1", fab);
  ASSERT_EQ(list->status, 200);
  std::string id = body_of(list)["value"][0]["id"];
  e = graph_error(call("PATCH", "/v1.0/security/incidents/" + id, fab, R"({"status":"resolved"})"), 403, "Forbidden");
  EXPECT_NE(e["message"].get<std::string>().find("SecurityIncident.ReadWrite.All"), std::string::npos);
}

TEST_F(GraphApiTest, IncidentsPageBy50WithCountAndShowTheLegacyIncidents) {
  emulator->stop();
  start(scenario_with(120));
  std::string g = token(k_fabrikam, k_graph);
  auto first = body_of(call("GET", "/v1.0/security/incidents?$count=true", g));
  EXPECT_EQ(first["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#security/incidents");
  EXPECT_EQ(first["@odata.count"], 120);
  EXPECT_EQ(first["value"].size(), 50u);
  ASSERT_TRUE(first.contains("@odata.nextLink"));
  std::vector<size_t> sizes;
  auto all = list_all(g, "/v1.0/security/incidents?$top=100", nullptr, &sizes);
  EXPECT_EQ(sizes, (std::vector<size_t>{50, 50, 20})) << "pages hold at most 50";
  ASSERT_EQ(all.size(), 120u);
  std::vector<Json> legacy;
  for (std::string path = "/api/incidents"; !path.empty();) {
    Json b = body_of(call("GET", path, token(k_fabrikam)));
    for (const auto& i : b["value"]) legacy.push_back(i);
    path = b.contains("@odata.nextLink") ? b["@odata.nextLink"].get<std::string>().substr(emulator->url().size()) : "";
  }
  ASSERT_EQ(legacy.size(), 120u);
  for (size_t i = 0; i < all.size(); ++i) {
    const Json& gi = all[i];
    const Json& li = legacy[i];
    EXPECT_EQ(gi["id"], std::to_string(li["incidentId"].get<int64_t>())) << "same incidents in the same order";
    EXPECT_EQ(gi["@odata.type"], "#microsoft.graph.security.incident");
    EXPECT_EQ(gi["tenantId"], k_fabrikam);
    EXPECT_EQ(gi["incidentWebUrl"], "https://security.microsoft.com/incidents/" + gi["id"].get<std::string>() + "?tid=" + k_fabrikam);
    EXPECT_EQ(gi["displayName"], li["incidentName"]);
    EXPECT_EQ(gi["createdDateTime"], li["createdTime"]);
    EXPECT_EQ(gi["lastUpdateDateTime"], li["lastUpdateTime"]);
    EXPECT_EQ(gi["assignedTo"], li["assignedTo"]);
    std::string st = li["status"];
    EXPECT_EQ(gi["status"], st == "InProgress" ? "inProgress" : st == "Active" ? "active" : "resolved");
    std::string sev = li["severity"];
    EXPECT_EQ(gi["severity"], std::string(1, static_cast<char>(std::tolower(sev[0]))) + sev.substr(1));
    std::string cls = li["classification"];
    EXPECT_EQ(gi["classification"], cls == "Unknown" ? "unknown" : std::string(1, static_cast<char>(std::tolower(cls[0]))) + cls.substr(1));
    if (li["determination"] == "NotAvailable") {
      EXPECT_EQ(gi["determination"], "unknown");
    }
    EXPECT_EQ(gi["customTags"], li["tags"]);
    EXPECT_FALSE(gi.contains("alerts")) << "alerts only with $expand";
  }
  auto skipped = body_of(call("GET", "/v1.0/security/incidents?$top=10&$skip=115", g));
  EXPECT_EQ(skipped["value"].size(), 5u);
  EXPECT_FALSE(skipped.contains("@odata.nextLink"));
  graph_error(call("GET", "/v1.0/security/incidents?$top=abc", g), 400, "BadRequest");
  graph_error(call("GET", "/v1.0/security/incidents?$expand=devices", g), 400, "BadRequest");
  graph_error(call("GET", "/v1.0/security/incidents?$count=yes", g), 400, "BadRequest");
}

TEST_F(GraphApiTest, FiltersMatchAClientSideCheck) {
  emulator->stop();
  start(scenario_with(150));
  std::string g = token(k_fabrikam, k_graph);
  auto all = list_all(g, "/v1.0/security/incidents");
  ASSERT_EQ(all.size(), 150u);
  std::string cutoff_text = util::format_rfc3339(*util::parse_rfc3339(all[75]["createdDateTime"].get<std::string>()), 0);
  int64_t cutoff = ticks(Json(cutoff_text));
  std::string upn;
  for (const auto& i : all)
    if (i["assignedTo"].is_string()) upn = i["assignedTo"];
  auto sev_rank = [](const Json& i) {
    std::string s = i["severity"];
    return s == "informational" ? 1 : s == "low" ? 2 : s == "medium" ? 3 : s == "high" ? 4 : 0;
  };
  struct Case {
    std::string filter;
    std::function<bool(const Json&)> expect;
  };
  std::vector<Case> cases = {
      {"status eq 'active'", [](const Json& i) { return i["status"] == "active"; }},
      {"status eq microsoft.graph.security.incidentStatus'resolved'", [](const Json& i) { return i["status"] == "resolved"; }},
      {"severity ge 'medium'", [&](const Json& i) { return sev_rank(i) >= 3; }},
      {"classification ne 'unknown' and determination ne 'unknown'",
       [](const Json& i) { return i["classification"] != "unknown" && i["determination"] != "unknown"; }},
      {"(assignedTo eq '" + upn + "' or status eq 'inProgress') and createdDateTime gt " + cutoff_text,
       [&](const Json& i) {
         return (i["assignedTo"] == upn || i["status"] == "inProgress") && ticks(i["createdDateTime"]) > cutoff;
       }},
      {"lastUpdateDateTime le " + cutoff_text + " or severity eq 'high'",
       [&](const Json& i) { return ticks(i["lastUpdateDateTime"]) <= cutoff || i["severity"] == "high"; }},
      {"assignedTo eq null", [](const Json& i) { return i["assignedTo"].is_null(); }},
  };
  for (const auto& c : cases) {
    std::set<std::string> want, got;
    for (const auto& i : all)
      if (c.expect(i)) want.insert(i["id"].get<std::string>());
    for (const auto& i : list_all(g, "/v1.0/security/incidents?$top=20&$filter=" + q(c.filter))) got.insert(i["id"].get<std::string>());
    EXPECT_FALSE(want.empty()) << c.filter;
    EXPECT_EQ(got, want) << c.filter;
    Json counted = body_of(call("GET", "/v1.0/security/incidents?$top=1&$count=true&$filter=" + q(c.filter), g));
    EXPECT_EQ(counted["@odata.count"], want.size()) << c.filter;
  }
  for (std::string bad : {"displayName eq 'x'", "status eq 'closed'", "createdDateTime gt '2024-01-01T00:00:00Z'",
                                 "status eq 'active' and", "(status eq 'active'", "severity like 'high'"}) {
    Json e = graph_error(call("GET", "/v1.0/security/incidents?$filter=" + q(bad), g), 400, "BadRequest");
    EXPECT_EQ(e["message"].get<std::string>().rfind("Invalid filter clause", 0), 0u) << bad << ": " << e.dump();
  }
}

TEST_F(GraphApiTest, ExpandAlertsCarriesTheLegacyAlertsWithTypedEvidence) {
  std::string g = token(k_fabrikam, k_graph);
  auto expanded = list_all(g, "/v1.0/security/incidents?$expand=alerts");
  ASSERT_EQ(expanded.size(), 25u);
  std::map<std::string, std::set<std::string>> legacy_alerts;
  for (const auto& i : list_all_legacy()) {
    for (const auto& a : i["alerts"]) legacy_alerts[std::to_string(i["incidentId"].get<int64_t>())].insert(a["alertId"].get<std::string>());
  }
  std::set<std::string> types;
  for (const auto& i : expanded) {
    std::set<std::string> ids;
    for (const auto& a : i["alerts"]) {
      ids.insert(a["id"].get<std::string>());
      EXPECT_EQ(a["@odata.type"], "#microsoft.graph.security.alert");
      EXPECT_EQ(a["incidentId"], i["id"]);
      EXPECT_EQ(a["tenantId"], k_fabrikam);
      EXPECT_FALSE(a["evidence"].empty());
      for (const auto& e : a["evidence"]) types.insert(e["@odata.type"].get<std::string>());
      if (a["serviceSource"] == "microsoftDefenderForEndpoint") {
        EXPECT_EQ(a["evidence"][0]["@odata.type"], "#microsoft.graph.security.deviceEvidence");
      }
    }
    EXPECT_EQ(ids, legacy_alerts[i["id"].get<std::string>()]);
  }
  EXPECT_TRUE(types.count("#microsoft.graph.security.deviceEvidence"));
  EXPECT_TRUE(types.count("#microsoft.graph.security.userEvidence"));
  auto one = body_of(call("GET", "/v1.0/security/incidents/" + expanded[3]["id"].get<std::string>() + "?$expand=alerts", g));
  EXPECT_EQ(one["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#security/incidents/$entity");
  EXPECT_EQ(one["alerts"], expanded[3]["alerts"]);
  graph_error(call("GET", "/v1.0/security/incidents/12", g), 404, "NotFound");
}

TEST_F(GraphApiTest, PatchOnEitherSurfaceShowsOnBoth) {
  std::string g = token(k_fabrikam, k_graph);
  std::string x = token(k_fabrikam);
  auto all = list_all(g, "/v1.0/security/incidents");
  std::string id = all.back()["id"];
  auto r = call("PATCH", "/v1.0/security/incidents/" + id, g,
                R"({"status":"resolved","classification":"truePositive","determination":"compromisedUser",)"
                R"("assignedTo":"secop2@fabrikam.onmicrosoft.com","customTags":["graph"]})");
  ASSERT_EQ(r->status, 200) << r->body;
  Json b = body_of(r);
  EXPECT_EQ(b["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#security/incidents/$entity");
  EXPECT_EQ(b["status"], "resolved");
  EXPECT_EQ(b["determination"], "compromisedUser");
  EXPECT_EQ(b["customTags"], Json::array({"graph"}));
  Json legacy = body_of(call("GET", "/api/incidents/" + id, x));
  EXPECT_EQ(legacy["status"], "Resolved");
  EXPECT_EQ(legacy["classification"], "TruePositive");
  EXPECT_EQ(legacy["determination"], "CompromisedUser");
  EXPECT_EQ(legacy["tags"], Json::array({"graph"}));
  EXPECT_EQ(legacy["lastUpdateTime"], b["lastUpdateDateTime"]);
  EXPECT_EQ(body_of(call("GET", "/v1.0/security/incidents?$top=1", g))["value"][0]["id"], id) << "most recently updated first";
  // Legacy PATCH, Graph read.
  auto p = call("PATCH", "/api/incidents/" + id, x, R"({"status":"InProgress","assignedTo":null,"comment":"handing over"})");
  ASSERT_EQ(p->status, 200) << p->body;
  Json gi = body_of(call("GET", "/v1.0/security/incidents/" + id, g));
  EXPECT_EQ(gi["status"], "inProgress");
  EXPECT_TRUE(gi["assignedTo"].is_null());
  ASSERT_EQ(gi["comments"].size(), 1u);
  EXPECT_EQ(gi["comments"][0]["comment"], "handing over");
  // Comments through Graph.
  auto c = call("POST", "/v1.0/security/incidents/" + id + "/comments", g,
                R"({"@odata.type":"microsoft.graph.security.alertComment","comment":"from graph"})");
  ASSERT_EQ(c->status, 200) << c->body;
  EXPECT_EQ(body_of(c)["value"].size(), 2u);
  EXPECT_EQ(body_of(call("GET", "/api/incidents/" + id, x))["comments"][1]["comment"], "from graph");
  // Invalid values change nothing.
  for (std::string bad : {R"({"status":"Resolved"})", R"({"status":"closed"})", R"({"classification":"bogus"})",
                                 R"({"determination":"CompromisedAccount"})", R"({"customTags":"x"})",
                                 R"({"severity":"high"})", R"({"nope":1})", R"({"status":"awaitingAction"})"}) {
    Json e = graph_error(call("PATCH", "/v1.0/security/incidents/" + id, g, bad), 400, "BadRequest");
    (void)e;
  }
  EXPECT_EQ(body_of(call("GET", "/v1.0/security/incidents/" + id, g))["status"], "inProgress");
  graph_error(call("PATCH", "/v1.0/security/incidents/" + id, g, "status=resolved", "application/x-www-form-urlencoded"),
              400, "BadRequest");
  graph_error(call("POST", "/v1.0/security/incidents/" + id + "/comments", g, R"({"comment":""})"), 400, "BadRequest");
  // Tenant isolation: Fabrikam's incident is not Northwind's... nor any other tenant's (404 for a foreign id).
  control("POST", "/_emulator/tenants/" + k_northwind + "/consents",
          {{"client_id", k_app}, {"resource", "graph"}, {"roles", {"SecurityIncident.ReadWrite.All"}}});
  std::string nw = token(k_northwind, k_graph);
  std::set<std::string> nw_ids;
  for (const auto& i : list_all(nw, "/v1.0/security/incidents")) nw_ids.insert(i["id"].get<std::string>());
  if (!nw_ids.count(id)) {
    graph_error(call("GET", "/v1.0/security/incidents/" + id, nw), 404, "NotFound");
    graph_error(call("PATCH", "/v1.0/security/incidents/" + id, nw, R"({"status":"active"})"), 404, "NotFound");
  }
  EXPECT_EQ(body_of(call("GET", "/v1.0/security/incidents/" + id, g))["status"], "inProgress");
}

TEST_F(GraphApiTest, AlertsV2ListsEveryAlertWithFiltersAndPaging) {
  emulator->stop();
  start(scenario_with(60));
  std::string g = token(k_fabrikam, k_graph);
  std::map<std::string, Json> legacy; // alert id -> legacy alert
  for (const auto& i : list_all_legacy())
    for (const auto& a : i["alerts"]) legacy[a["alertId"].get<std::string>()] = a;
  std::vector<size_t> sizes;
  auto all = list_all(g, "/v1.0/security/alerts_v2?$top=40", nullptr, &sizes);
  ASSERT_EQ(all.size(), legacy.size());
  for (size_t i = 0; i + 1 < sizes.size(); ++i) EXPECT_EQ(sizes[i], 40u);
  std::set<std::string> ids;
  for (const auto& a : all) {
    ids.insert(a["id"].get<std::string>());
    ASSERT_TRUE(legacy.count(a["id"]));
    const Json& l = legacy[a["id"]];
    EXPECT_EQ(a["incidentId"], std::to_string(l["incidentId"].get<int64_t>()));
    EXPECT_EQ(a["createdDateTime"], l["creationTime"]);
    EXPECT_EQ(a["title"], l["title"]);
    EXPECT_EQ(a["alertWebUrl"], "https://security.microsoft.com/alerts/" + a["id"].get<std::string>() + "?tid=" + k_fabrikam);
  }
  EXPECT_EQ(ids.size(), legacy.size());
  std::string some_incident = all[7]["incidentId"];
  std::string cutoff_text = util::format_rfc3339(*util::parse_rfc3339(all[all.size() / 2]["createdDateTime"].get<std::string>()), 0);
  int64_t cutoff = ticks(Json(cutoff_text));
  struct Case {
    std::string filter;
    std::function<bool(const Json&)> expect;
  };
  std::vector<Case> cases = {
      {"incidentId eq '" + some_incident + "'", [&](const Json& a) { return a["incidentId"] == some_incident; }},
      {"status eq 'new'", [](const Json& a) { return a["status"] == "new"; }},
      {"severity eq 'high' or severity eq 'low'", [](const Json& a) { return a["severity"] == "high" || a["severity"] == "low"; }},
      {"createdDateTime ge " + cutoff_text, [&](const Json& a) { return ticks(a["createdDateTime"]) >= cutoff; }},
      {"lastUpdateDateTime lt " + cutoff_text + " and serviceSource eq 'microsoftDefenderForEndpoint'",
       [&](const Json& a) { return ticks(a["lastUpdateDateTime"]) < cutoff && a["serviceSource"] == "microsoftDefenderForEndpoint"; }},
  };
  for (const auto& c : cases) {
    std::set<std::string> want, got;
    for (const auto& a : all)
      if (c.expect(a)) want.insert(a["id"].get<std::string>());
    for (const auto& a : list_all(g, "/v1.0/security/alerts_v2?$top=7&$filter=" + q(c.filter))) got.insert(a["id"].get<std::string>());
    EXPECT_FALSE(want.empty()) << c.filter;
    EXPECT_EQ(got, want) << c.filter;
  }
  Json counted = body_of(call("GET", "/v1.0/security/alerts_v2?$top=1&$count=true", g));
  EXPECT_EQ(counted["@odata.count"], legacy.size());
  EXPECT_EQ(counted["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2");
  graph_error(call("GET", "/v1.0/security/alerts_v2?$filter=" + q("title eq 'x'"), g), 400, "BadRequest");
}

TEST_F(GraphApiTest, RunHuntingQueryAnswersGraphsShapeWithinTheTimespan) {
  std::string g = token(k_fabrikam, k_graph);
  auto r = call("POST", "/v1.0/security/runHuntingQuery", g, R"({"Query":"AlertInfo | project AlertId, Timestamp"})");
  ASSERT_EQ(r->status, 200) << r->body;
  Json b = body_of(r);
  EXPECT_EQ(b["@odata.context"], "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults");
  EXPECT_EQ(b["schema"], Json::parse(R"([{"name":"AlertId","type":"String"},{"name":"Timestamp","type":"DateTime"}])"));
  Json legacy = body_of(call("POST", "/api/advancedhunting/run", token(k_fabrikam), R"({"Query":"AlertInfo | project AlertId, Timestamp"})"));
  EXPECT_EQ(b["results"], legacy["Results"]) << "default Timespan: 30 days, all the data";
  std::string count = R"(DeviceProcessEvents | summarize n = count())";
  int64_t month = body_of(call("POST", "/v1.0/security/runHuntingQuery", g, Json{{"Query", count}}.dump()))["results"][0]["n"];
  int64_t week = body_of(call("POST", "/v1.0/security/runHuntingQuery", g, Json{{"Query", count}, {"Timespan", "P7D"}}.dump()))["results"][0]["n"];
  int64_t week_kql = body_of(call("POST", "/v1.0/security/runHuntingQuery", g,
                                  Json{{"Query", "DeviceProcessEvents | where Timestamp >= ago(7d) | count"}}.dump()))["results"][0]["Count"];
  EXPECT_EQ(month, 400);
  EXPECT_LT(week, month);
  EXPECT_GT(week, 0);
  EXPECT_NEAR(static_cast<double>(week), static_cast<double>(week_kql), 1.0) << "Timespan limits rows like ago() does";
  graph_error(call("POST", "/v1.0/security/runHuntingQuery", g, R"({"query":"AlertInfo"})"), 400, "BadRequest");
  graph_error(call("POST", "/v1.0/security/runHuntingQuery", g, R"({"Query":"AlertInfo","Timespan":"a week"})"), 400, "BadRequest");
  Json e = graph_error(call("POST", "/v1.0/security/runHuntingQuery", g, R"({"Query":"AlertInfo | where Nope == 1"})"), 400, "BadRequest");
  EXPECT_NE(e["message"].get<std::string>().find("Nope"), std::string::npos);
}

TEST_F(GraphApiTest, TheGraphLimitIsPerAppAcrossTenants) {
  Json s = scenario_with(25, {{"quotas", {{"graph_per_10_seconds", 3}}}});
  s["tenants"].push_back({{"tenant_id", "4d3c2b1a-0f9e-4d8c-9b7a-6f5e4d3c2b1a"},
                          {"domain", "woodgrove.onmicrosoft.com"},
                          {"consents", {{{"client_id", k_app}, {"resource", "graph"}, {"roles", {"SecurityIncident.Read.All"}}}}}});
  emulator->stop();
  start(s);
  std::string fab = token(k_fabrikam, k_graph);
  std::string wood = token("4d3c2b1a-0f9e-4d8c-9b7a-6f5e4d3c2b1a", k_graph);
  EXPECT_EQ(call("GET", "/v1.0/security/incidents?$top=1", fab)->status, 200);
  EXPECT_EQ(call("GET", "/v1.0/security/incidents?$top=1", wood)->status, 200);
  EXPECT_EQ(call("GET", "/v1.0/security/incidents?$top=1", fab)->status, 200);
  auto r = call("GET", "/v1.0/security/incidents?$top=1", wood);
  Json e = graph_error(r, 429, "TooManyRequests");
  int retry = std::stoi(r->get_header_value("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 10);
  EXPECT_NE(e["message"].get<std::string>().find("3 requests per 10 seconds"), std::string::npos) << e.dump();
  // The legacy API's per-tenant quota is separate.
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", token(k_fabrikam))->status, 200);
  control("POST", "/_emulator/clock", {{"advance_seconds", 11}});
  EXPECT_EQ(call("GET", "/v1.0/security/incidents?$top=1", wood)->status, 200);
}
