// The legacy Defender XDR API over raw HTTPS with the emulator's own tokens: token enforcement, roles,
// incidents list/get/patch, advanced hunting, tenant isolation and quotas.

#include "emulator_fixture.hpp"

#include <regex>
#include <set>

#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

const std::string k_mde = "https://api.securitycenter.microsoft.com";

class DefenderApiTest : public EmulatorTest {
protected:
  std::string token(const std::string& tenant, const std::string& resource = k_xdr) const {
    Json b = body_of(post_form("/" + tenant + "/oauth2/token", secret_v1(resource)));
    EXPECT_TRUE(b.contains("access_token")) << b.dump();
    return b.value("access_token", std::string());
  }
  httplib::Result call(const std::string& method, const std::string& path, const std::string& bearer,
                       const std::string& body = "", const std::string& ctype = "application/json") const {
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    auto c = client();
    if (method == "GET") return c->Get(path.c_str(), h);
    if (method == "PATCH") return c->Patch(path.c_str(), h, body, ctype.c_str());
    return c->Post(path.c_str(), h, body, ctype.c_str());
  }
  // Walks every page of a listing, following @odata.nextLink.
  std::vector<Json> list_all(const std::string& bearer, const std::string& first, int* pages = nullptr) const {
    std::vector<Json> out;
    std::string path = first;
    int n = 0;
    while (!path.empty() && n < 1000) {
      auto r = call("GET", path, bearer);
      EXPECT_TRUE(r);
      if (!r) break;
      EXPECT_EQ(r->status, 200) << r->body;
      Json b = body_of(r);
      for (const auto& i : b["value"]) out.push_back(i);
      ++n;
      path.clear();
      if (b.contains("@odata.nextLink")) {
        std::string link = b["@odata.nextLink"];
        EXPECT_EQ(link.rfind(emulator->url() + "/api/incidents?", 0), 0u) << link;
        path = link.substr(emulator->url().size());
      }
    }
    if (pages) *pages = n;
    return out;
  }
  Json scenario_with(int fabrikam_incidents, Json quotas = Json()) const {
    Json s = identity.scenario();
    s["tenants"][0]["data"] = {{"incidents", fabrikam_incidents}};
    if (!quotas.is_null()) s["quotas"] = quotas;
    return s;
  }
};

std::string q(const std::string& s) { return httplib::detail::encode_query_param(s); }

} // namespace

TEST_F(DefenderApiTest, MissingForeignOrTamperedTokensGet401WithBearerChallenge) {
  auto check = [](const httplib::Result& r, const std::string& why) {
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->status, 401) << why << ": " << r->body;
    EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer") << why;
    Json b = body_of(r);
    EXPECT_EQ(b["error"]["code"], "Unauthorized") << why;
    EXPECT_FALSE(b["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(util::is_guid(b["error"]["target"].get<std::string>())) << why;
  };
  check(call("GET", "/api/incidents", ""), "no token");
  check(call("GET", "/api/incidents", token(k_fabrikam, k_mde)), "MDE audience");
  std::string t = token(k_fabrikam);
  auto parts = util::split(t, '.');
  Json claims = claims_of(t);
  claims["roles"] = Json::array({"Incident.ReadWrite.All", "AdvancedHunting.Read.All"});
  std::string forged = std::string(parts[0]) + "." + util::base64url_encode(claims.dump()) + "." + std::string(parts[2]);
  check(call("GET", "/api/incidents", forged), "tampered payload");
  check(call("GET", "/api/incidents", "not-a-jwt"), "garbage");
  control("POST", "/_emulator/clock", {{"advance_seconds", 2 * 3600}});
  check(call("GET", "/api/incidents", t), "expired");
  control("POST", "/_emulator/clock", {{"offset_seconds", 0}});
  EXPECT_EQ(call("GET", "/api/incidents", t)->status, 200);
}

TEST_F(DefenderApiTest, TokensSignedByAKeyNoLongerPublishedAreRefused) {
  std::string old = token(k_fabrikam);
  control("POST", "/_emulator/keys/rotate", {{"drop_old", false}});
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", old)->status, 200);
  control("POST", "/_emulator/keys/rotate", {{"drop_old", true}});
  auto r = call("GET", "/api/incidents?$top=1", old);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(body_of(r)["error"]["code"], "Unauthorized");
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", token(k_fabrikam))->status, 200);
}

TEST_F(DefenderApiTest, MissingRolesGet403WithTheServiceMessage) {
  std::string nw = token(k_northwind);
  auto r = call("POST", "/api/advancedhunting/run", nw, R"({"Query":"AlertInfo | take 1"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  Json b = body_of(r);
  EXPECT_EQ(b["error"]["code"], "Forbidden");
  EXPECT_EQ(b["error"]["message"],
            "Missing application roles. API required roles: AdvancedHunting.Read.All, application roles: Incident.Read.All");
  EXPECT_TRUE(util::is_guid(b["error"]["target"].get<std::string>()));
  auto list = call("GET", "/api/incidents", nw);
  ASSERT_EQ(list->status, 200);
  std::string id = std::to_string(body_of(list)["value"][0]["incidentId"].get<int64_t>());
  auto p = call("PATCH", "/api/incidents/" + id, nw, R"({"status":"Resolved"})");
  EXPECT_EQ(p->status, 403);
  EXPECT_EQ(body_of(p)["error"]["message"],
            "Missing application roles. API required roles: Incident.ReadWrite.All, application roles: Incident.Read.All");
}

TEST_F(DefenderApiTest, ListPagesWalkEveryIncidentOnceNewestFirst) {
  emulator->stop();
  start(scenario_with(230));
  std::string t = token(k_fabrikam);
  auto first = call("GET", "/api/incidents", t);
  Json b = body_of(first);
  EXPECT_EQ(b["@odata.context"], "https://api.security.microsoft.com/api/$metadata#Incidents");
  EXPECT_EQ(b["value"].size(), 100u);
  EXPECT_TRUE(b.contains("@odata.nextLink"));
  int pages = 0;
  auto all = list_all(t, "/api/incidents?$top=40", &pages);
  EXPECT_EQ(pages, 6);
  ASSERT_EQ(all.size(), 230u);
  std::set<int64_t> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    ids.insert(all[i]["incidentId"].get<int64_t>());
    if (i > 0) {
      auto prev = util::parse_rfc3339(all[i - 1]["lastUpdateTime"].get<std::string>());
      auto cur = util::parse_rfc3339(all[i]["lastUpdateTime"].get<std::string>());
      EXPECT_GE(*prev, *cur);
    }
  }
  EXPECT_EQ(ids.size(), 230u);
  auto last = body_of(call("GET", "/api/incidents?$top=40&$skip=200", t));
  EXPECT_EQ(last["value"].size(), 30u);
  EXPECT_FALSE(last.contains("@odata.nextLink"));
}

TEST_F(DefenderApiTest, FiltersMatchAClientSideCheck) {
  emulator->stop();
  start(scenario_with(150));
  std::string t = token(k_fabrikam);
  auto all = list_all(t, "/api/incidents");
  ASSERT_EQ(all.size(), 150u);
  std::string mid = all[all.size() / 2]["createdTime"];
  auto mid_t = *util::parse_rfc3339(mid);
  std::string cutoff = util::format_rfc3339(mid_t, 0);
  auto cutoff_t = *util::parse_rfc3339(cutoff);
  std::string upn;
  for (const auto& i : all)
    if (i["assignedTo"].is_string()) upn = i["assignedTo"];
  ASSERT_FALSE(upn.empty());
  struct Case {
    std::string filter;
    std::function<bool(const Json&)> expect;
  };
  std::vector<Case> cases = {
      {"status eq 'Active'", [](const Json& i) { return i["status"] == "Active"; }},
      {"status ne 'Resolved' and createdTime gt " + cutoff,
       [&](const Json& i) { return i["status"] != "Resolved" && *util::parse_rfc3339(i["createdTime"].get<std::string>()) > cutoff_t; }},
      {"(assignedTo eq '" + upn + "' or status eq 'InProgress') and lastUpdateTime ge " + cutoff,
       [&](const Json& i) {
         return (i["assignedTo"] == upn || i["status"] == "InProgress") &&
                *util::parse_rfc3339(i["lastUpdateTime"].get<std::string>()) >= cutoff_t;
       }},
      {"createdTime le " + cutoff, [&](const Json& i) { return *util::parse_rfc3339(i["createdTime"].get<std::string>()) <= cutoff_t; }},
  };
  for (const auto& c : cases) {
    std::set<int64_t> want, got;
    for (const auto& i : all)
      if (c.expect(i)) want.insert(i["incidentId"].get<int64_t>());
    for (const auto& i : list_all(t, "/api/incidents?$top=25&$filter=" + q(c.filter))) got.insert(i["incidentId"].get<int64_t>());
    EXPECT_FALSE(want.empty()) << c.filter;
    EXPECT_EQ(got, want) << c.filter;
  }
}

TEST_F(DefenderApiTest, BadTopAndFiltersAre400) {
  std::string t = token(k_fabrikam);
  auto r = call("GET", "/api/incidents?$top=101", t);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r)["error"]["code"], "BadRequest");
  r = call("GET", "/api/incidents?$filter=" + q("severity eq 'High'"), t);
  EXPECT_EQ(r->status, 400);
  Json b = body_of(r);
  EXPECT_EQ(b["error"]["code"], "ODataError");
  EXPECT_EQ(b["error"]["message"].get<std::string>().rfind("Invalid OData URI query", 0), 0u);
  EXPECT_NE(b["error"]["message"].get<std::string>().find("severity"), std::string::npos);
  EXPECT_EQ(call("GET", "/api/incidents?$filter=" + q("status eq"), t)->status, 400);
  EXPECT_EQ(call("GET", "/api/incidents?$skip=-1", t)->status, 400);
}

TEST_F(DefenderApiTest, TenantsSeeOnlyTheirOwnIncidents) {
  std::string fab = token(k_fabrikam);
  std::string nw = token(k_northwind);
  auto f = list_all(fab, "/api/incidents");
  auto n = list_all(nw, "/api/incidents");
  ASSERT_EQ(f.size(), 25u);
  ASSERT_EQ(n.size(), 25u);
  std::set<int64_t> fids;
  for (const auto& i : f) fids.insert(i["incidentId"].get<int64_t>());
  EXPECT_NE(Json(f).dump(), Json(n).dump());
  int checked = 0;
  for (const auto& i : n) {
    int64_t id = i["incidentId"];
    if (fids.count(id)) continue;
    auto r = call("GET", "/api/incidents/" + std::to_string(id), fab);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(body_of(r)["error"]["code"], "ResourceNotFound");
    auto own = call("GET", "/api/incidents/" + std::to_string(id), nw);
    EXPECT_EQ(own->status, 200);
    EXPECT_EQ(body_of(own)["incidentId"], id);
    if (++checked == 3) break;
  }
  EXPECT_EQ(checked, 3);
}

TEST_F(DefenderApiTest, FaultRulesAimAtOneTenantThroughItsToken) {
  // The API routes have no tenant in the path: a rule's tenant matches the bearer token's tid.
  std::string fab = token(k_fabrikam);
  std::string nw = token(k_northwind);
  control("POST", "/_emulator/faults",
          {{"route", "api"}, {"tenant", k_northwind}, {"count", 2}, {"status", 429}, {"retry_after", 7}});
  auto f = call("GET", "/api/incidents?$top=1", fab);
  EXPECT_EQ(f->status, 200) << f->body;
  EXPECT_FALSE(f->has_header("X-Emulator-Fault"));
  for (int i = 0; i < 2; ++i) {
    auto n = call("GET", "/api/incidents?$top=1", nw);
    EXPECT_EQ(n->status, 429);
    EXPECT_EQ(n->get_header_value("Retry-After"), "7");
    EXPECT_TRUE(n->has_header("X-Emulator-Fault"));
  }
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", nw)->status, 200) << "the rule is used up";
  // A call without a token matches no tenant's rule and gets the service's own 401.
  control("POST", "/_emulator/faults", {{"route", "api"}, {"tenant", k_northwind}, {"count", 1}, {"status", 503}});
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", "")->status, 401);
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", nw)->status, 503);
}

TEST_F(DefenderApiTest, PatchAcceptsBothDeterminationSpellingsAndRejectsBadInput) {
  std::string t = token(k_fabrikam);
  auto all = list_all(t, "/api/incidents");
  std::string id = std::to_string(all.back()["incidentId"].get<int64_t>());
  std::string path = "/api/incidents/" + id;
  auto r = call("PATCH", path, t,
                R"({"status":"Resolved","assignedTo":"secop2@fabrikam.onmicrosoft.com","classification":"TruePositive",)"
                R"("determination":"CompromisedAccount","tags":["pen test"],"comment":"pen testing"})");
  ASSERT_EQ(r->status, 200) << r->body;
  Json b = body_of(r);
  EXPECT_EQ(b["@odata.context"], "https://api.security.microsoft.com/api/$metadata#Incidents/$entity");
  EXPECT_EQ(b["status"], "Resolved");
  EXPECT_EQ(b["determination"], "CompromisedUser");
  EXPECT_EQ(b["tags"], Json::array({"pen test"}));
  ASSERT_EQ(b["comments"].size(), 1u);
  EXPECT_EQ(b["comments"][0]["comment"], "pen testing");
  EXPECT_EQ(b["comments"][0]["createdBy"], k_app);
  EXPECT_GT(*util::parse_rfc3339(b["lastUpdateTime"].get<std::string>()),
            *util::parse_rfc3339(all.back()["lastUpdateTime"].get<std::string>()));
  ASSERT_FALSE(b["alerts"].empty());
  // Now the most recently updated: first in the list.
  EXPECT_EQ(std::to_string(body_of(call("GET", "/api/incidents?$top=1", t))["value"][0]["incidentId"].get<int64_t>()), id);
  for (auto [given, stored] : std::vector<std::pair<std::string, std::string>>{
           {"CompromisedUser", "CompromisedUser"}, {"ConfirmedActivity", "ConfirmedUserActivity"},
           {"ConfirmedUserActivity", "ConfirmedUserActivity"}, {"NoEnoughDataToValidate", "InsufficientData"},
           {"InsufficientData", "InsufficientData"}}) {
    auto p = call("PATCH", path, t, Json{{"determination", given}}.dump());
    EXPECT_EQ(body_of(p)["determination"], stored) << given;
  }
  auto g = body_of(call("GET", path, t));
  EXPECT_EQ(g["determination"], "InsufficientData");
  EXPECT_EQ(g["comments"].size(), 1u);
  for (auto [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"status":"Closed"})", "status"}, {R"({"classification":"Bogus"})", "classification"},
           {R"({"determination":"Maybe"})", "determination"}, {R"({"tags":"x"})", "tags"},
           {R"({"Status":"Resolved"})", "Status"}, {R"({"severity":"High"})", "severity"}}) {
    auto p = call("PATCH", path, t, body);
    EXPECT_EQ(p->status, 400) << body;
    Json e = body_of(p);
    EXPECT_EQ(e["error"]["code"], "InvalidInput") << body;
    EXPECT_NE(e["error"]["message"].get<std::string>().find("'" + field + "'"), std::string::npos) << e.dump();
  }
  EXPECT_EQ(body_of(call("GET", path, t))["status"], "Resolved");
  EXPECT_EQ(call("PATCH", "/api/incidents/1", t, R"({"status":"Resolved"})")->status, 404);
  EXPECT_EQ(call("PATCH", path, t, "status=Resolved", "application/x-www-form-urlencoded")->status, 400);
}

TEST_F(DefenderApiTest, HuntingAnswersOverTheTenantsTables) {
  std::string t = token(k_fabrikam);
  std::set<std::string> alert_ids;
  for (const auto& i : list_all(t, "/api/incidents"))
    for (const auto& a : i["alerts"]) alert_ids.insert(a["alertId"].get<std::string>());
  auto r = call("POST", "/api/advancedhunting/run", t, R"({"Query":"AlertInfo | project AlertId, Timestamp"})");
  ASSERT_EQ(r->status, 200) << r->body;
  Json b = body_of(r);
  EXPECT_TRUE(b.contains("Stats"));
  EXPECT_EQ(b["Schema"], Json::parse(R"([{"Name":"AlertId","Type":"String"},{"Name":"Timestamp","Type":"DateTime"}])"));
  std::set<std::string> got;
  for (const auto& row : b["Results"]) got.insert(row["AlertId"].get<std::string>());
  EXPECT_EQ(got, alert_ids);
  auto c = body_of(call("POST", "/api/advancedhunting/run", t,
                        R"x({"Query":"DeviceProcessEvents | where Timestamp > ago(30d) | summarize n = count()"})x"));
  EXPECT_GT(c["Results"][0]["n"].get<int64_t>(), 0);
  auto missing = call("POST", "/api/advancedhunting/run", t, R"({"query":"AlertInfo"})");
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(body_of(missing)["error"]["code"], "InvalidRequestBody");
  EXPECT_EQ(body_of(missing)["error"]["message"], "Missing query.");
  auto bad = call("POST", "/api/advancedhunting/run", t, R"({"Query":"AlertInfo | where NoSuchColumn == 1"})");
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(body_of(bad)["error"]["code"], "BadRequest");
  EXPECT_NE(body_of(bad)["error"]["message"].get<std::string>().find("NoSuchColumn"), std::string::npos);
}

TEST_F(DefenderApiTest, QuotasAnswer429WithRetryAfterPerTenant) {
  emulator->stop();
  start(scenario_with(25, {{"incidents_per_minute", 3}, {"hunting_per_minute", 100}, {"hunting_per_hour", 2}}));
  std::string fab = token(k_fabrikam);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", "/api/incidents?$top=1", fab)->status, 200);
  auto r = call("GET", "/api/incidents?$top=1", fab);
  ASSERT_EQ(r->status, 429);
  int retry = std::stoi(r->get_header_value("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  Json b = body_of(r);
  EXPECT_EQ(b["error"]["code"], "429");
  EXPECT_EQ(b["error"]["message"], "API calls quota exceeded! maximum allowed 3 per 00:01:00");
  EXPECT_TRUE(util::is_guid(b["error"]["target"].get<std::string>()));
  // Another tenant has its own window.
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", token(k_northwind))->status, 200);
  control("POST", "/_emulator/clock", {{"advance_seconds", 61}});
  EXPECT_EQ(call("GET", "/api/incidents?$top=1", fab)->status, 200);
  std::string body = R"({"Query":"AlertInfo | take 1"})";
  EXPECT_EQ(call("POST", "/api/advancedhunting/run", fab, body)->status, 200);
  EXPECT_EQ(call("POST", "/api/advancedhunting/run", fab, body)->status, 200);
  auto h = call("POST", "/api/advancedhunting/run", fab, body);
  ASSERT_EQ(h->status, 429);
  EXPECT_EQ(body_of(h)["error"]["message"], "API calls quota exceeded! maximum allowed 2 per 01:00:00");
  EXPECT_GT(std::stoi(h->get_header_value("Retry-After")), 60);
}

TEST_F(DefenderApiTest, SameSeedGivesTheSameData) {
  auto strip_times = [](std::string s) {
    return std::regex_replace(s, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)"), "T");
  };
  auto a = Json(list_all(token(k_fabrikam), "/api/incidents")).dump();
  emulator->stop();
  start(identity.scenario());
  auto b = Json(list_all(token(k_fabrikam), "/api/incidents")).dump();
  EXPECT_EQ(strip_times(a), strip_times(b));
  Json other = identity.scenario();
  other["seed"] = 8;
  emulator->stop();
  start(other);
  auto c = Json(list_all(token(k_fabrikam), "/api/incidents")).dump();
  EXPECT_NE(strip_times(a), strip_times(c));
}
