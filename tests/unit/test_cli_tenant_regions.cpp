// Runs across tenants send each tenant's Defender calls to the host of its registry region: incidents list and
// hunt --all-tenants, sync and tenants check, against a FakeTransport that records every API request with the
// tenant of its token. --region sends every tenant to one host, XDR_API_BASE (the emulator) wins over any
// region, and a registry region that is not a region fails that tenant alone, naming the fix. tenants add,
// import and set keep the registry's regions valid.

#include <gtest/gtest.h>

#include <set>

#include <xdr/jwt/token.hpp>
#include <xdr/store/sqlite_store.hpp>

#include "api_test_data.hpp"
#include "cli_test_support.hpp"
#include "store_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

const std::string k_global = "https://api.security.microsoft.com";
const std::string k_eu = "https://api-eu.security.microsoft.com";
const std::string k_uk = "https://api-uk.security.microsoft.com";
const std::string k_us = "https://api-us.security.microsoft.com";
const std::string k_emulator = "https://127.0.0.1:8443";

const std::string k_beta = "b0000000-0000-4000-8000-00000000000b";
const std::string k_gamma = "d0000000-0000-4000-8000-00000000000d";
const std::string k_mars = "f0000000-0000-4000-8000-00000000000f";

const std::string k_list = "/api/incidents?$top=100";
const std::string k_probe = "/api/incidents?$top=1";
const std::string k_hunt = "/api/advancedhunting/run";

// A legacy incidents page with one incident numbered `id`.
std::string incidents_body(int id) {
  Json list = Json::parse(read_api_data("legacy_list_incidents.json"));
  Json inc = list["value"][0];
  inc["incidentId"] = id;
  return Json{{"value", Json::array({inc})}}.dump();
}

std::string hunting_body() {
  return R"({"Schema":[{"Name":"DeviceName","Type":"String"}],"Results":[{"DeviceName":"pc-1"}]})";
}

using Urls = std::vector<std::string>;

class CliTenantRegions : public ::testing::Test {
protected:
  void SetUp() override {
    db = dir.file("partner.db");
    h.env["AZURE_CLIENT_ID"] = k_app;
    h.env["AZURE_CLIENT_SECRET"] = k_secret_value;
    h.env["XDR_DB"] = db;
    h.env["COLUMNS"] = "200";
    for (const auto& id : {k_tenant, k_beta, k_gamma, k_mars}) h.serve_token(id, 200, CliHarness::token_response(token_for(id)));
    // Every request that is not Entra's is an API call: recorded under the token's tenant and answered by path,
    // whatever the host (the test asserts the hosts).
    api = std::make_shared<FakeTransport>();
    api->set_handler([this](const http::Request& request) -> Result<http::Response> {
      if (request.url.rfind(k_authority, 0) == 0) return h.router.transport->send(request);
      const std::string auth = request.headers.get("authorization").value_or("");
      auto decoded = jwt::decode(auth.substr(auth.find(' ') + 1));
      if (!decoded) return tl::unexpected(Error(ErrorKind::transport, "no token"));
      const std::string tid = decoded->payload.value("tid", "");
      {
        std::lock_guard lock(m_mutex);
        m_seen[tid].push_back(request.url);
      }
      const std::string path = request.url.substr(request.url.find("/api/"));
      http::Response r;
      r.status = 200;
      if (path == k_probe)
        r.body = R"({"value":[]})";
      else if (path.rfind("/api/incidents?", 0) == 0)
        r.body = incidents_body(tid == k_tenant ? 1 : tid == k_beta ? 2 : 3);
      else if (path == k_hunt)
        r.body = hunting_body();
      else
        r.status = 404;
      return r;
    });
    // Contoso in the EU, Beta without a region, Gamma in the UK, and Mars with a region written before regions
    // were checked (add refuses it now, so it goes straight into the store).
    auto store = store::SqliteStore::open(db);
    ASSERT_TRUE(store) << store.error().message;
    std::vector<store::Tenant> tenants{tenant(k_tenant, "Contoso"), tenant(k_beta, "Beta"), tenant(k_gamma, "Gamma"),
                                       tenant(k_mars, "Mars")};
    tenants[0].region = "eu";
    tenants[1].region = "";
    tenants[2].region = "UK";
    tenants[3].region = "mars";
    ASSERT_TRUE((*store)->add_tenants(tenants, store::OnExisting::fail));
  }

  std::string token_for(const std::string& tid) {
    Json claims = validate::test_env::v1_claims(*h.clock, tid);
    claims["roles"] = {"Incident.Read.All", "AdvancedHunting.Read.All"};
    return validate::test_env::sign(claims, validate::test_env::test_key(1), k_kid);
  }

  // The API URLs requested with `tenant`'s token, in order.
  Urls seen(const std::string& tenant) {
    std::lock_guard lock(m_mutex);
    auto it = m_seen.find(tenant);
    return it == m_seen.end() ? Urls{} : it->second;
  }
  void forget() {
    std::lock_guard lock(m_mutex);
    m_seen.clear();
  }

  CliResult run_with(const std::vector<std::string>& args) {
    return h.run_with(args, {.transport = api, .terminal = false});
  }

  // The Mars envelope's error names the tenant, its bad value and the fix.
  static void expect_mars_error(const std::string& text) {
    const size_t line = text.find("Mars (" + k_mars + ")");
    ASSERT_NE(line, std::string::npos) << text;
    const std::string rest = text.substr(text.rfind('\n', line) + 1);
    EXPECT_EQ(rest.rfind("error", 0), 0u) << rest;
    EXPECT_NE(rest.find("tenant Mars (" + k_mars + "): registry region 'mars' is not a region (us, eu, uk, au, swa; "
                        "none: the global host); nothing was sent"),
              std::string::npos)
        << rest;
    EXPECT_NE(rest.find("xdrpartner tenants set " + k_mars + " --region eu"), std::string::npos) << rest;
  }

  TempDir dir;
  std::string db;
  CliHarness h;
  std::shared_ptr<FakeTransport> api;
  std::mutex m_mutex;
  std::map<std::string, Urls> m_seen;
};

TEST_F(CliTenantRegions, IncidentsListCallsEachTenantAtItsRegionsHost) {
  auto r = run_with({"incidents", "list", "--all-tenants"});
  EXPECT_EQ(r.code, 3) << "Mars failed, the others are complete\n" << r.out << r.err;
  EXPECT_EQ(seen(k_tenant), Urls{k_eu + k_list});
  EXPECT_EQ(seen(k_beta), Urls{k_global + k_list}) << "no region: the global host";
  EXPECT_EQ(seen(k_gamma), Urls{k_uk + k_list}) << "registered as UK";
  EXPECT_EQ(seen(k_mars), Urls{}) << "an unknown region is never taken as global";
  expect_mars_error(r.out);
  EXPECT_NE(r.out.find("3 incident(s) from 4 tenant(s)"), std::string::npos) << r.out;

  // A regional host takes the global audience: the EU tenant's token is asked for the global resource.
  size_t token_requests = 0;
  for (const auto& request : h.router.transport->requests()) {
    if (request.url != k_authority + "/" + k_tenant + "/oauth2/v2.0/token") continue;
    ++token_requests;
    EXPECT_NE(request.body.find("scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default"), std::string::npos)
        << request.body;
  }
  EXPECT_EQ(token_requests, 1u);
}

TEST_F(CliTenantRegions, TheRunsRegionSendsEveryTenantToOneHost) {
  auto us = run_with({"incidents", "list", "--all-tenants", "--region", "us"});
  EXPECT_EQ(us.code, 0) << us.out << us.err;
  for (const auto& id : {k_tenant, k_beta, k_gamma, k_mars}) EXPECT_EQ(seen(id), Urls{k_us + k_list}) << id;

  forget();
  auto none = run_with({"incidents", "list", "--all-tenants", "--region", "none"});
  EXPECT_EQ(none.code, 0) << none.out << none.err;
  for (const auto& id : {k_tenant, k_beta, k_gamma, k_mars}) EXPECT_EQ(seen(id), Urls{k_global + k_list}) << id;

  auto bad = run_with({"incidents", "list", "--all-tenants", "--region", "moon"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(bad.err.find("unknown region 'moon'"), std::string::npos) << bad.err;
}

TEST_F(CliTenantRegions, TheEmulatorsBaseWinsOverAnyRegionButABadRegionStillFails) {
  h.env["XDR_API_BASE"] = k_emulator;
  auto r = run_with({"incidents", "list", "--all-tenants"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  for (const auto& id : {k_tenant, k_beta, k_gamma}) EXPECT_EQ(seen(id), Urls{k_emulator + k_list}) << id;
  EXPECT_EQ(seen(k_mars), Urls{});
  expect_mars_error(r.out);

  forget();
  auto flag = run_with({"incidents", "list", "--all-tenants", "--api-base", "https://127.0.0.1:9443", "--region", "uk"});
  EXPECT_EQ(flag.code, 0) << flag.out << flag.err;
  for (const auto& id : {k_tenant, k_beta, k_gamma, k_mars}) EXPECT_EQ(seen(id), Urls{"https://127.0.0.1:9443" + k_list}) << id;
}

TEST_F(CliTenantRegions, HuntCallsEachTenantAtItsRegionsHost) {
  auto r = run_with({"--output", "ndjson", "hunt", "--all-tenants", "DeviceInfo | take 1"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_EQ(seen(k_tenant), Urls{k_eu + k_hunt});
  EXPECT_EQ(seen(k_beta), Urls{k_global + k_hunt});
  EXPECT_EQ(seen(k_gamma), Urls{k_uk + k_hunt});
  EXPECT_EQ(seen(k_mars), Urls{});
  expect_mars_error(r.err); // ndjson: rows on stdout, the summary on stderr
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3) << r.out;
}

TEST_F(CliTenantRegions, SyncStoresEachTenantFromItsRegionsHost) {
  auto r = run_with({"sync"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_EQ(seen(k_tenant), Urls{k_eu + k_list});
  EXPECT_EQ(seen(k_beta), Urls{k_global + k_list});
  EXPECT_EQ(seen(k_gamma), Urls{k_uk + k_list});
  EXPECT_EQ(seen(k_mars), Urls{});
  expect_mars_error(r.out);
  auto store = store::SqliteStore::open(db);
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->incidents(k_tenant)->size(), 1u);
  EXPECT_EQ((*store)->incidents(k_gamma)->size(), 1u);
  EXPECT_EQ((*store)->incidents(k_mars)->size(), 0u);

  forget();
  auto uk = run_with({"sync", "--region", "uk"});
  EXPECT_EQ(uk.code, 0) << uk.out << uk.err;
  for (const auto& id : {k_tenant, k_beta, k_gamma, k_mars}) {
    ASSERT_EQ(seen(id).size(), 1u) << id;
    EXPECT_EQ(seen(id)[0].rfind(k_uk + "/api/incidents?", 0), 0u) << seen(id)[0];
  }
}

TEST_F(CliTenantRegions, CheckProbesEachTenantAtItsRegionsHost) {
  auto r = run_with({"tenants", "check"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_EQ(seen(k_tenant), Urls{k_eu + k_probe});
  EXPECT_EQ(seen(k_beta), Urls{k_global + k_probe});
  EXPECT_EQ(seen(k_gamma), Urls{k_uk + k_probe});
  EXPECT_EQ(seen(k_mars), Urls{});
  expect_mars_error(r.out);
  EXPECT_NE(r.out.find("Defender XDR API answers 200 at " + k_eu), std::string::npos) << r.out;

  forget();
  auto au = run_with({"tenants", "check", "--region", "au"});
  EXPECT_EQ(au.code, 0) << au.out << au.err;
  for (const auto& id : {k_tenant, k_beta, k_gamma, k_mars})
    EXPECT_EQ(seen(id), Urls{"https://au.api.security.microsoft.com" + k_probe}) << id;
}

TEST_F(CliTenantRegions, TheFixTheErrorNamesWorks) {
  auto set = run_with({"tenants", "set", k_mars, "--region", "eu"});
  ASSERT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out, "tenant " + k_mars + " (Mars): region eu\n");
  auto r = run_with({"incidents", "list", "--all-tenants"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(seen(k_mars), Urls{k_eu + k_list});
}

TEST_F(CliTenantRegions, ARegionInACloudWithoutRegionsFailsThatTenantWithTheFix) {
  const std::string gcc = "a1000000-0000-4000-8000-0000000000a1";
  {
    auto store = store::SqliteStore::open(db);
    ASSERT_TRUE(store);
    store::Tenant t = tenant(gcc, "Agency");
    t.cloud = "gcc";
    t.region = "us";
    ASSERT_TRUE((*store)->add_tenants({t}, store::OnExisting::fail));
  }
  auto r = run_with({"--cloud", "gcc", "incidents", "list", "--all-tenants"});
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("tenant Agency (" + gcc + "): region us exists only in the global cloud"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("xdrpartner tenants set " + gcc + " --region none"), std::string::npos) << r.out;
  EXPECT_EQ(seen(gcc), Urls{});
}

TEST_F(CliTenantRegions, AddImportAndSetAcceptOnlyRegions) {
  h.serve_discovery("contoso.onmicrosoft.com");
  h.env["XDR_DB"] = dir.file("fresh.db");
  auto mars = run_with({"tenants", "add", "contoso.onmicrosoft.com", "--region", "mars"});
  EXPECT_EQ(mars.code, 2) << mars.err;
  EXPECT_NE(mars.err.find("region 'mars' is not known: use us, eu, uk, au or swa, or none"), std::string::npos) << mars.err;
  auto list = [&] {
    std::map<std::string, Json> by_id;
    for (const auto& t : Json::parse(run_with({"--output", "json", "tenants", "list"}).out)) by_id[t["tenant_id"]] = t;
    return by_id;
  };
  auto added = run_with({"tenants", "add", "contoso.onmicrosoft.com", "--region", "EU", "--label", "env=prod"});
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_EQ(added.err, "");
  const std::string csv = dir.write("regions.csv", "tenant,name,region\n" + k_beta + ",Beta,uk\n" + k_gamma + ",Gamma,moon\n");
  auto imported = run_with({"tenants", "import", csv});
  EXPECT_EQ(imported.code, 2) << imported.err;
  EXPECT_NE(imported.err.find("regions.csv:3: region 'moon' is not known"), std::string::npos) << imported.err;
  EXPECT_EQ(list().size(), 1u) << "the bad file imported nothing";

  // A region in a cloud without regions is registered as before, with a warning naming the fix.
  const std::string good = dir.write("good.csv", "tenant,name,cloud,region\n" + k_beta + ",Beta,global,Uk\n" + k_gamma +
                                                     ",Gamma,gcc,us\n");
  auto warned = run_with({"tenants", "import", good});
  ASSERT_EQ(warned.code, 0) << warned.err;
  EXPECT_NE(warned.err.find("good.csv:3: warning: region us exists only in the global cloud; the gcc cloud has one "
                            "API host, so runs across tenants will fail tenant " + k_gamma +
                            " until: xdrpartner tenants set " + k_gamma + " --region none"),
            std::string::npos)
      << warned.err;
  auto tenants = list();
  ASSERT_EQ(tenants.size(), 3u);
  EXPECT_EQ(tenants[k_tenant]["region"], "eu") << "stored as the region's name";
  EXPECT_EQ(tenants[k_beta]["region"], "uk");
  EXPECT_EQ(tenants[k_gamma]["region"], "us");

  auto moved = run_with({"tenants", "set", "Contoso.onmicrosoft.com", "--region", "swa"});
  ASSERT_EQ(moved.code, 0) << moved.err;
  auto bad = run_with({"tenants", "set", k_beta, "--region", "mars"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  tenants = list();
  EXPECT_EQ(tenants[k_tenant]["region"], "swa");
  EXPECT_EQ(tenants[k_tenant]["labels"], (Json{{"env", "prod"}})) << "set changes the region only";
  EXPECT_EQ(tenants[k_beta]["region"], "uk") << "a refused region changes nothing";
  ASSERT_EQ(run_with({"tenants", "set", k_beta, "--region", "none"}).code, 0);
  EXPECT_EQ(list()[k_beta]["region"], "");
}

} // namespace
} // namespace xdr::testing::cli_test
