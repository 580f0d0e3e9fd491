// Defender for Endpoint's advanced queries (POST /api/advancedqueries/run) over raw HTTPS: the MDE audiences,
// AdvancedQuery.Read.All, its own quota, the result-size cap; and which audience each surface accepts.

#include "resource_api_support.hpp"

using namespace xdr;
using namespace xdr::testing;

namespace {

const std::string k_windowsatp = "https://securitycenter.onmicrosoft.com/windowsatpservice";
const std::string k_query = R"({"Query":"AlertInfo | project AlertId, Timestamp | order by AlertId asc"})";

class MdeApiTest : public ResourceApiTest {
protected:
  std::string v2_token(const std::string& tenant, const std::string& resource) const {
    Json b = body_of(post_form("/" + tenant + "/oauth2/v2.0/token", secret_v2(resource + "/.default")));
    EXPECT_TRUE(b.contains("access_token")) << b.dump();
    return b.value("access_token", std::string());
  }
};

} // namespace

TEST_F(MdeApiTest, AdvancedQueriesAnswerSchemaAndResultsForBothMdeAudiencesAndPaths) {
  Json xdr = body_of(call("POST", "/api/advancedhunting/run", token(k_fabrikam), k_query));
  ASSERT_FALSE(xdr["Results"].empty());
  for (const std::string& t : {token(k_fabrikam, k_mde), v2_token(k_fabrikam, k_windowsatp), v2_token(k_fabrikam, k_mde)}) {
    for (const char* path : {"/api/advancedqueries/run", "/api/v1.0/advancedqueries/run"}) {
      auto r = call("POST", path, t, k_query);
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << path << ": " << r->body;
      Json b = body_of(r);
      EXPECT_FALSE(b.contains("Stats")) << "the MDE answer has Schema and Results only";
      EXPECT_EQ(b["Schema"], xdr["Schema"]);
      EXPECT_EQ(b["Results"], xdr["Results"]) << "same tenant, same tables";
    }
  }
  auto missing = call("POST", "/api/advancedqueries/run", token(k_fabrikam, k_mde), R"({"query":"AlertInfo"})");
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(body_of(missing)["error"]["message"], "Missing query.");
  auto bad = call("POST", "/api/advancedqueries/run", token(k_fabrikam, k_mde), R"({"Query":"AlertInfo | where Nope == 1"})");
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(body_of(bad)["error"]["message"].get<std::string>().find("Nope"), std::string::npos);
}

TEST_F(MdeApiTest, EachSurfaceAcceptsOnlyItsOwnAudience) {
  // A Defender XDR token on the MDE route: what the service answers (its roles are not MDE roles).
  auto r = call("POST", "/api/advancedqueries/run", token(k_fabrikam), k_query);
  ASSERT_EQ(r->status, 403) << r->body;
  Json b = body_of(r);
  EXPECT_EQ(b["error"]["code"], "Forbidden");
  EXPECT_EQ(b["error"]["message"], "Missing application roles. API required roles: AdvancedQuery.Read.All, application roles: ");
  EXPECT_TRUE(util::is_guid(b["error"]["target"].get<std::string>()));
  // MDE tokens on the Defender XDR routes, Graph tokens on either: 401.
  for (const std::string& t : {token(k_fabrikam, k_mde), v2_token(k_fabrikam, k_windowsatp)}) {
    for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/incidents"}, {"POST", "/api/advancedhunting/run"}}) {
      auto x = call(method, path, t, k_query);
      EXPECT_EQ(x->status, 401) << path;
      EXPECT_EQ(body_of(x)["error"]["code"], "Unauthorized");
      EXPECT_EQ(x->get_header_value("WWW-Authenticate"), "Bearer");
    }
  }
  auto g = call("POST", "/api/advancedqueries/run", token(k_fabrikam, k_graph), k_query);
  EXPECT_EQ(g->status, 401);
  EXPECT_EQ(body_of(g)["error"]["code"], "Unauthorized");
  EXPECT_EQ(call("POST", "/api/advancedqueries/run", "", k_query)->status, 401);
}

TEST_F(MdeApiTest, AnMdeTokenWithoutTheRoleIs403NamingIt) {
  // Northwind's service principal exists (Defender XDR consent) but holds no MDE roles: a token without roles.
  auto r = call("POST", "/api/advancedqueries/run", token(k_northwind, k_mde), k_query);
  ASSERT_EQ(r->status, 403) << r->body;
  EXPECT_EQ(body_of(r)["error"]["message"],
            "Missing application roles. API required roles: AdvancedQuery.Read.All, application roles: ");
  control("POST", "/_emulator/tenants/" + k_northwind + "/consents",
          {{"client_id", k_app}, {"resource", "mde"}, {"roles", {"Alert.Read.All"}}});
  auto r2 = call("POST", "/api/advancedqueries/run", token(k_northwind, k_mde), k_query);
  EXPECT_EQ(r2->status, 403);
  EXPECT_EQ(body_of(r2)["error"]["message"],
            "Missing application roles. API required roles: AdvancedQuery.Read.All, application roles: Alert.Read.All");
}

TEST_F(MdeApiTest, AdvancedQueriesHaveTheirOwnPerTenantQuota) {
  emulator->stop();
  start(scenario_with(25, {{"quotas", {{"advancedqueries_per_minute", 2}, {"hunting_per_minute", 5}}}}));
  std::string mde = token(k_fabrikam, k_mde);
  EXPECT_EQ(call("POST", "/api/advancedqueries/run", mde, k_query)->status, 200);
  EXPECT_EQ(call("POST", "/api/v1.0/advancedqueries/run", mde, k_query)->status, 200);
  auto r = call("POST", "/api/advancedqueries/run", mde, k_query);
  ASSERT_EQ(r->status, 429);
  EXPECT_EQ(body_of(r)["error"]["code"], "429");
  EXPECT_EQ(body_of(r)["error"]["message"], "API calls quota exceeded! maximum allowed 2 per 00:01:00");
  int retry = std::stoi(r->get_header_value("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  // The Defender XDR hunting quota is separate.
  EXPECT_EQ(call("POST", "/api/advancedhunting/run", token(k_fabrikam), k_query)->status, 200);
  control("POST", "/_emulator/clock", {{"advance_seconds", 61}});
  EXPECT_EQ(call("POST", "/api/advancedqueries/run", mde, k_query)->status, 200);
}

TEST_F(MdeApiTest, ResultsOverTheSizeCapAre400WithTheServiceMessage) {
  emulator->stop();
  start(scenario_with(25, {{"limits", {{"advancedqueries_result_bytes", 2000}}}}));
  std::string mde = token(k_fabrikam, k_mde);
  auto r = call("POST", "/api/advancedqueries/run", mde, R"({"Query":"DeviceProcessEvents"})");
  ASSERT_EQ(r->status, 400) << r->body.substr(0, 200);
  EXPECT_EQ(body_of(r)["error"]["message"],
            "Query execution has exceeded the allowed result size. Optimize your query by limiting the number of "
            "results and try again");
  auto small = call("POST", "/api/advancedqueries/run", mde, R"({"Query":"DeviceProcessEvents | take 1 | project DeviceName"})");
  EXPECT_EQ(small->status, 200) << small->body;
  EXPECT_LE(small->body.size(), 2000u);
  // The Defender XDR hunting API has no documented size cap: the same query answers.
  EXPECT_EQ(call("POST", "/api/advancedhunting/run", token(k_fabrikam), R"({"Query":"DeviceProcessEvents"})")->status, 200);
}
