// incidents list / hunt across registry tenants (--all-tenants, --tenants-label) against a FakeTransport that
// answers per tenant (by the token's tid): rows merged with TenantId/TenantName, one CSV header, a schema
// mismatch refused per tenant, throttling retried, exit codes, the per-tenant summary and where it goes.

#include <gtest/gtest.h>

#include <set>

#include <cli/tenant_fan_out.hpp>
#include <xdr/fleet/fan_out.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/store/sqlite_store.hpp>

#include "api_test_data.hpp"
#include "cli_test_support.hpp"
#include "store_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

const std::string k_api = "https://api.security.microsoft.com";
const std::string k_beta = "b0000000-0000-4000-8000-00000000000b";
const std::string k_gamma = "d0000000-0000-4000-8000-00000000000d";
const std::string k_unconsented = "e0000000-0000-4000-8000-00000000000e";

const std::string k_schema = R"([{"Name":"DeviceName","Type":"String"},{"Name":"Count","Type":"Int64"}])";

// A legacy hunting answer with `n` rows named after `prefix`.
std::string hunting_body(const std::string& prefix, int n, const std::string& schema = k_schema) {
  Json rows = Json::array();
  for (int i = 0; i < n; ++i) rows.push_back({{"DeviceName", prefix + "-" + std::to_string(i)}, {"Count", i}});
  return R"({"Schema":)" + schema + R"(,"Results":)" + rows.dump() + "}";
}

// A legacy incidents page with `n` incidents numbered from `first`.
std::string incidents_body(int first, int n) {
  Json list = Json::parse(read_api_data("legacy_list_incidents.json"));
  Json value = Json::array();
  for (int i = 0; i < n; ++i) {
    Json inc = list["value"][0];
    inc["incidentId"] = first + i;
    value.push_back(inc);
  }
  return Json{{"value", value}}.dump();
}

struct Answer {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class CliTenantFanOut : public ::testing::Test {
protected:
  void SetUp() override {
    db = dir.file("partner.db");
    h.env["AZURE_CLIENT_ID"] = k_app;
    h.env["AZURE_CLIENT_SECRET"] = k_secret_value;
    h.env["XDR_DB"] = db;
    h.env["COLUMNS"] = "200";
    for (const auto& id : {k_tenant, k_beta, k_gamma}) h.serve_token(id, 200, CliHarness::token_response(token_for(id)));
    h.serve_token(k_unconsented, 400,
                  entra_error("invalid_grant", 65001, "The user or administrator has not consented to use the application."));
    // The API answers per tenant (the token's tid) from scripts; everything else goes to the router.
    api = std::make_shared<FakeTransport>();
    api->set_handler([this](const http::Request& request) -> Result<http::Response> {
      if (request.url.rfind(k_api, 0) != 0) return h.router.transport->send(request);
      const std::string auth = request.headers.get("authorization").value_or("");
      auto decoded = jwt::decode(auth.substr(auth.find(' ') + 1));
      if (!decoded) return tl::unexpected(Error(ErrorKind::transport, "no token"));
      const std::string tid = decoded->payload.value("tid", "");
      std::lock_guard lock(m_mutex);
      auto& script = m_scripts[{tid, request.url}];
      http::Response r;
      if (script.empty()) {
        r.status = 404;
        r.body = R"({"error":{"code":"NotFound","message":"no script"}})";
        return r;
      }
      Answer a = script.front();
      if (script.size() > 1) script.erase(script.begin());
      if (a.status < 0) return tl::unexpected(Error(ErrorKind::transport, "connection reset by peer"));
      r.status = a.status;
      r.body = a.body;
      for (const auto& [k, v] : a.headers) r.headers.set(k, v);
      return r;
    });
    auto store = store::SqliteStore::open(db);
    ASSERT_TRUE(store) << store.error().message;
    // No registry region: every tenant's calls go to the global host the scripts answer at
    // (test_cli_tenant_regions.cpp covers regions).
    std::vector<store::Tenant> tenants{tenant(k_tenant, "Contoso", {{"env", "prod"}}), tenant(k_beta, "Beta", {{"env", "prod"}}),
                                       tenant(k_gamma, "Gamma", {{"env", "test"}}),
                                       tenant(k_unconsented, "Unconsented", {{"env", "test"}})};
    for (auto& t : tenants) t.region.clear();
    ASSERT_TRUE((*store)->add_tenants(tenants, store::OnExisting::fail));
  }

  std::string token_for(const std::string& tid) {
    Json claims = validate::test_env::v1_claims(*h.clock, tid);
    claims["roles"] = {"Incident.Read.All", "AdvancedHunting.Read.All"};
    return validate::test_env::sign(claims, validate::test_env::test_key(1), k_kid);
  }
  // The answers `tenant` gets at `url`, in order; the last one repeats.
  void script(const std::string& tenant, const std::string& url, std::vector<Answer> answers) {
    std::lock_guard lock(m_mutex);
    m_scripts[{tenant, url}] = std::move(answers);
  }
  void disable(const std::string& id) {
    auto store = store::SqliteStore::open(db);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->set_tenant_enabled(id, false));
  }
  size_t api_requests(const std::string& url) const {
    size_t n = 0;
    for (const auto& r : api->requests()) n += r.url == url;
    return n;
  }

  CliResult run_with(const std::vector<std::string>& args, bool terminal = false, fleet::CancelToken* cancel = nullptr) {
    return h.run_with(args, {.transport = api, .terminal = terminal, .cancel = cancel});
  }

  TempDir dir;
  std::string db;
  CliHarness h;
  std::shared_ptr<FakeTransport> api;
  std::mutex m_mutex;
  std::map<std::pair<std::string, std::string>, std::vector<Answer>> m_scripts;
};

const std::string k_hunt = k_api + "/api/advancedhunting/run";
const std::string k_list = k_api + "/api/incidents?$top=100";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST_F(CliTenantFanOut, HuntNdjsonMergesEveryTenantWithTenantColumnsFirst) {
  disable(k_unconsented);
  script(k_tenant, k_hunt, {{200, hunting_body("contoso", 3)}});
  script(k_beta, k_hunt, {{200, hunting_body("beta", 2)}});
  script(k_gamma, k_hunt, {{200, hunting_body("gamma", 0)}});
  auto r = run_with({"--output", "ndjson", "hunt", "--all-tenants", "--concurrency", "3", "T"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  std::map<std::string, std::set<std::string>> by_tenant;
  for (const auto& line : lines_of(r.out)) {
    OrderedJson row = OrderedJson::parse(line);
    auto it = row.begin();
    ASSERT_EQ(it.key(), "TenantId") << line;
    ASSERT_EQ((++it).key(), "TenantName") << line;
    EXPECT_EQ((++it).key(), "DeviceName") << line;
    by_tenant[row["TenantName"].get<std::string>() + "/" + row["TenantId"].get<std::string>()].insert(
        row["DeviceName"].get<std::string>());
  }
  EXPECT_EQ(by_tenant["Contoso/" + k_tenant], (std::set<std::string>{"contoso-0", "contoso-1", "contoso-2"}));
  EXPECT_EQ(by_tenant["Beta/" + k_beta], (std::set<std::string>{"beta-0", "beta-1"}));
  EXPECT_EQ(by_tenant.size(), 2u) << "Gamma has no rows";
  // The summary is on stderr, stdout stays rows only.
  EXPECT_NE(r.err.find("ok               Contoso (" + k_tenant + ")  3 rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("ok               Gamma (" + k_gamma + ")  0 rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 tenant(s) in"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("\r"), std::string::npos) << "no progress bar when stderr is not a terminal";
}

TEST_F(CliTenantFanOut, HuntCsvHasOneHeaderAndRefusesATenantWithOtherColumns) {
  disable(k_unconsented);
  script(k_tenant, k_hunt, {{200, hunting_body("contoso", 2)}});
  script(k_beta, k_hunt, {{200, hunting_body("beta", 2)}});
  script(k_gamma, k_hunt, {{200, hunting_body("gamma", 2, R"([{"Name":"DeviceName","Type":"String"}])")}});
  // One at a time, in registry order, so the first schema is Contoso's.
  auto r = run_with({"--output", "csv", "hunt", "--all-tenants", "--concurrency", "1", "T"});
  EXPECT_EQ(r.code, fleet::k_exit_partial) << r.out << r.err;
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  EXPECT_EQ(lines[0], "TenantId,TenantName,DeviceName,Count\r");
  size_t headers = 0;
  for (const auto& l : lines) headers += l.rfind("TenantId,", 0) == 0;
  EXPECT_EQ(headers, 1u);
  EXPECT_NE(r.out.find(k_beta + ",Beta,beta-1,1\r\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("gamma-"), std::string::npos) << "the mismatching tenant's rows are left out";
  EXPECT_NE(r.err.find("error            Gamma (" + k_gamma + ")  0 rows"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its columns (TenantId:string, TenantName:string, DeviceName:String) differ"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Some tenants failed (exit code 3)"), std::string::npos);
}

TEST_F(CliTenantFanOut, HuntTableThenSummaryWithStatusesRetriesAndConsentLink) {
  script(k_tenant, k_hunt, {{429, R"({"error":{"code":"TooManyRequests","message":"slow down"}})", {{"Retry-After", "0"}}},
                            {200, hunting_body("contoso", 1)}});
  script(k_beta, k_hunt, {{503, R"({"error":{"code":"ServiceUnavailable","message":"down"}})", {{"Retry-After", "0"}}}});
  script(k_gamma, k_hunt, {{403, R"({"error":{"code":"Forbidden","message":"Missing application roles."}})"}});
  auto r = run_with({"hunt", "--all-tenants", "T"});
  EXPECT_EQ(r.code, fleet::k_exit_partial) << r.out << r.err;
  const size_t table = r.out.find("TenantId");
  const size_t summary = r.out.find("Tenants:");
  ASSERT_NE(table, std::string::npos) << r.out;
  ASSERT_NE(summary, std::string::npos) << r.out;
  EXPECT_LT(table, summary) << "the summary follows the table";
  EXPECT_NE(r.out.find("1 row(s) from 4 tenant(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok               Contoso (" + k_tenant + ")  1 rows, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms, 1 retry"), std::string::npos) << "the 429 was retried once: " << r.out;
  EXPECT_NE(r.out.find("unreachable      Beta (" + k_beta + ")  0 rows, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms, 2 retries, HTTP 503"), std::string::npos) << "three attempts, two retries: " << r.out;
  EXPECT_NE(r.out.find("forbidden        Gamma (" + k_gamma + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("consent_missing  Unconsented (" + k_unconsented + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("consent link for the customer's administrator: " + k_authority + "/" + k_unconsented +
                       "/v2.0/adminconsent?client_id=" + k_app),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find(k_secret_value), std::string::npos);
}

TEST_F(CliTenantFanOut, HuntJsonIsOneDocumentWithEnvelopesAndSummary) {
  disable(k_unconsented);
  script(k_tenant, k_hunt, {{200, hunting_body("contoso", 2)}});
  script(k_beta, k_hunt, {{200, hunting_body("beta", 1)}});
  script(k_gamma, k_hunt, {{-1, ""}});
  auto r = run_with({"--output", "json", "hunt", "--tenants-label", "env=prod", "T"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["schema"][0], (Json{{"name", "TenantId"}, {"type", "string"}}));
  EXPECT_EQ(doc["results"].size(), 3u);
  EXPECT_EQ(doc["tenants"].size(), 2u) << "only the env=prod tenants";
  EXPECT_EQ(doc["summary"]["exit_code"], 0);
  EXPECT_EQ(doc["summary"]["rows"], 3);

  auto all = run_with({"--output", "json", "hunt", "--all-tenants", "T"});
  EXPECT_EQ(all.code, fleet::k_exit_partial);
  Json d = Json::parse(all.out);
  bool found = false;
  for (const auto& e : d["tenants"])
    if (e["tenant_id"] == k_gamma) {
      found = true;
      EXPECT_EQ(e["status"], "unreachable");
      EXPECT_EQ(e["retries"], 2) << "connection errors are retried too";
      EXPECT_NE(e["detail"].get<std::string>().find("connection reset"), std::string::npos);
    }
  EXPECT_TRUE(found);
}

TEST_F(CliTenantFanOut, IncidentsCarryTheirTenantAndCsvHasOneHeader) {
  disable(k_unconsented);
  script(k_tenant, k_list, {{200, incidents_body(100, 3)}});
  script(k_beta, k_list, {{200, incidents_body(200, 2)}});
  script(k_gamma, k_list, {{200, incidents_body(300, 0)}});
  auto nd = run_with({"--output", "ndjson", "incidents", "list", "--all-tenants"});
  ASSERT_EQ(nd.code, 0) << nd.out << nd.err;
  std::map<std::string, std::set<std::string>> ids;
  for (const auto& line : lines_of(nd.out)) {
    Json j = Json::parse(line);
    EXPECT_EQ(j["tenantName"], j["tenantId"] == k_tenant ? "Contoso" : "Beta") << line;
    ids[j["tenantId"]].insert(j["id"].get<std::string>());
  }
  EXPECT_EQ(ids[k_tenant], (std::set<std::string>{"100", "101", "102"}));
  EXPECT_EQ(ids[k_beta], (std::set<std::string>{"200", "201"}));

  auto csv = run_with({"--output", "csv", "incidents", "list", "--all-tenants"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  const auto lines = lines_of(csv.out);
  ASSERT_EQ(lines.size(), 6u) << csv.out;
  EXPECT_EQ(lines[0].rfind("id,tenant_id,tenant_name,name,", 0), 0u) << lines[0];
  EXPECT_NE(csv.out.find("201," + k_beta + ",Beta,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.err.find("ok               Gamma (" + k_gamma + ")  0 rows"), std::string::npos) << csv.err;

  auto table = run_with({"incidents", "list", "--tenants-label", "env=prod"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("TENANT   ID", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("5 incident(s) from 2 tenant(s)"), std::string::npos) << table.out;
}

TEST_F(CliTenantFanOut, SelectionErrorsAndEmptySelections) {
  auto both = run_with({"hunt", "--tenant", k_tenant, "--all-tenants", "T"});
  EXPECT_EQ(both.code, 2) << both.err;
  EXPECT_NE(both.err.find("give one or the other"), std::string::npos) << both.err;
  auto bad = run_with({"incidents", "list", "--tenants-label", "novalue"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  auto none = run_with({"hunt", "--tenants-label", "env=none", "T"});
  EXPECT_EQ(none.code, 0) << none.err;
  EXPECT_NE(none.err.find("no enabled registry tenant matches"), std::string::npos);
  EXPECT_EQ(api_requests(k_hunt), 0u);
}

TEST_F(CliTenantFanOut, ProgressBarOnATerminalAndCtrlCStartsNothing) {
  disable(k_unconsented);
  for (const auto& id : {k_tenant, k_beta, k_gamma}) script(id, k_hunt, {{200, hunting_body("x", 1)}});
  auto bar = run_with({"--output", "ndjson", "hunt", "--all-tenants", "T"}, true);
  EXPECT_EQ(bar.code, 0);
  EXPECT_NE(bar.err.find("/3 tenants"), std::string::npos) << bar.err;
  EXPECT_EQ(bar.out.find("\r"), std::string::npos);

  fleet::CancelToken cancel;
  cancel.cancel();
  const size_t before = api_requests(k_hunt);
  auto r = run_with({"hunt", "--all-tenants", "T"}, false, &cancel);
  EXPECT_EQ(r.code, fleet::k_exit_cancelled);
  EXPECT_NE(r.out.find("cancelled"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Stopped by Ctrl-C"), std::string::npos) << r.out;
  EXPECT_EQ(api_requests(k_hunt), before);
}

TEST(TenantBudgets, OneBudgetPerTenantSharedWithTheEngine) {
  auto clock = std::make_shared<FakeClock>();
  api::QuotaBudgetOptions options;
  options.clock = clock;
  options.sleep = [clock](std::chrono::milliseconds d) { clock->advance(std::chrono::duration_cast<std::chrono::seconds>(d)); };
  cli::TenantBudgets budgets(api::QuotaApi::hunting, options);
  EXPECT_EQ(budgets.for_tenant("a"), budgets.for_tenant("a"));
  EXPECT_NE(budgets.for_tenant("a"), budgets.for_tenant("b"));
  // The engine's throttled() blocks the same api budget the client draws from.
  auto engine = budgets.provider()("a");
  engine->throttled(std::chrono::seconds(30));
  const auto blocked = budgets.for_tenant("a")->wait_time("a", api::QuotaApi::hunting);
  EXPECT_GE(blocked, std::chrono::seconds(30));
  EXPECT_LE(blocked, std::chrono::seconds(31));
  EXPECT_EQ(budgets.for_tenant("b")->wait_time("b", api::QuotaApi::hunting), std::chrono::milliseconds(0));
  // The documented limit (45 per minute) applies per tenant.
  for (int i = 0; i < 45; ++i) budgets.for_tenant("b")->acquire("b", api::QuotaApi::hunting);
  EXPECT_GT(budgets.for_tenant("b")->wait_time("b", api::QuotaApi::hunting), std::chrono::milliseconds(0));
  EXPECT_EQ(budgets.for_tenant("c")->wait_time("c", api::QuotaApi::hunting), std::chrono::milliseconds(0));
  fleet::CancelToken cancel;
  cancel.cancel();
  EXPECT_FALSE(budgets.provider()("a")->acquire(cancel)) << "a cancelled run does not wait for the quota";
}

TEST(FleetRowWriter, CsvHeaderOnceAndColumnsMustMatch) {
  std::ostringstream out;
  cli::FleetRowWriter writer(out, cli::OutputFormat::csv);
  EXPECT_FALSE(writer.accept_columns({{"TenantId", "string"}, {"A", "Int64"}}));
  EXPECT_FALSE(writer.accept_columns({{"TenantId", "string"}, {"A", "Int64"}}));
  writer.write("t1", {"t1", "1"}, {});
  auto mismatch = writer.accept_columns({{"TenantId", "string"}, {"A", "String"}});
  ASSERT_TRUE(mismatch);
  EXPECT_NE(mismatch->find("A:String"), std::string::npos);
  EXPECT_EQ(out.str(), "TenantId,A\r\nt1,1\r\n");
}

TEST(FleetRowWriter, TableRowsAreGroupedByTenant) {
  std::ostringstream out;
  cli::FleetRowWriter writer(out, cli::OutputFormat::table);
  writer.write("b", {"b", "1"}, {});
  writer.write("a", {"a", "1"}, {});
  writer.write("b", {"b", "2"}, {});
  EXPECT_EQ(writer.table_rows(), (std::vector<std::vector<std::string>>{{"b", "1"}, {"b", "2"}, {"a", "1"}}));
  EXPECT_EQ(out.str(), "") << "table rows wait for the end";
}

} // namespace
} // namespace xdr::testing::cli_test
