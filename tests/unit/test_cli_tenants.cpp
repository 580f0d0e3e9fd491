// xdrpartner tenants and report: the registry in the store, CSV import errors, parallel checks with their
// envelopes, exit codes, progress bar and Ctrl-C, against a FakeTransport.

#include <gtest/gtest.h>

#include <cli/output.hpp>
#include <xdr/fleet/fan_out.hpp>
#include <xdr/store/sqlite_store.hpp>

#include "cli_test_support.hpp"
#include "store_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

const std::string k_other = "0ddba11d-0000-4000-8000-0000000000aa"; // a tenant that has not consented

class CliTenants : public ::testing::Test {
protected:
  void SetUp() override {
    db = dir.file("partner.db");
    h.env["AZURE_CLIENT_ID"] = k_app;
    h.env["AZURE_CLIENT_SECRET"] = k_secret_value;
    h.env["XDR_DB"] = db;
    h.serve_discovery("contoso.onmicrosoft.com");
    h.serve_token(k_tenant, 200, CliHarness::token_response(h.make_token()));
    h.serve_token(k_other, 400,
                  entra_error("invalid_grant", 65001, "The user or administrator has not consented to use the application."));
    h.router.set("https://api.security.microsoft.com/api/incidents?$top=1", 200, R"({"value":[]})");
    const Json other = {{"issuer", k_authority + "/" + k_other + "/v2.0"},
                        {"token_endpoint", k_authority + "/" + k_other + "/oauth2/v2.0/token"}};
    h.router.set(k_authority + "/" + k_other + "/v2.0/.well-known/openid-configuration", 200, other.dump());
  }

  // Runs with `is_terminal` and `cancel` set, which the harness leaves at their defaults.
  CliResult run_with(const std::vector<std::string>& args, bool terminal, fleet::CancelToken* cancel) {
    return h.run_with(args, {.terminal = terminal, .cancel = cancel});
  }

  std::string write_csv(const std::string& text) { return dir.write("tenants.csv", text); }

  TempDir dir;
  std::string db;
  CliHarness h;
};

TEST_F(CliTenants, AddResolvesADomainToItsGuidAndListShowsIt) {
  auto r = h.run({"tenants", "add", "contoso.onmicrosoft.com", "--name", "Contoso", "--label", "env=prod", "--region", "eu"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("added tenant " + k_tenant + " (Contoso, contoso.onmicrosoft.com) in " + db), std::string::npos) << r.out;
  EXPECT_EQ(file_mode(db), 0600u);
  auto list = h.run({"--output", "json", "tenants", "list"});
  ASSERT_EQ(list.code, 0) << list.err;
  Json j = Json::parse(list.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["tenant_id"], k_tenant);
  EXPECT_EQ(j[0]["domain"], "contoso.onmicrosoft.com");
  EXPECT_EQ(j[0]["labels"]["env"], "prod");
  EXPECT_EQ(j[0]["region"], "eu");
  EXPECT_EQ(j[0]["enabled"], true);
  EXPECT_EQ(j[0]["last_check_at"], nullptr);

  auto again = h.run({"tenants", "add", k_tenant});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("already registered"), std::string::npos);
}

TEST_F(CliTenants, AnUnknownTenantIsNotAdded) {
  h.router.set(k_authority + "/nowhere.example/v2.0/.well-known/openid-configuration", 400,
               entra_error("invalid_tenant", 90002, "Tenant 'nowhere.example' not found."));
  auto r = h.run({"tenants", "add", "nowhere.example"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("AADSTS90002"), std::string::npos) << r.err;
  EXPECT_EQ(h.run({"--output", "json", "tenants", "list"}).out, "[]\n");
  EXPECT_EQ(h.run({"tenants", "add", "common"}).code, 2);
}

TEST_F(CliTenants, ImportErrorsNameTheLineAndImportNothing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tenant,name,cloud,region,labels\n" + k_other + ",A,global,eu,env=x\n" + k_tenant + ",B,mars,eu,\n", ":3: cloud 'mars'"},
      {"tenant,name\n" + k_other + ",\"unclosed\n", ":2: a quoted field is not closed"},
      {"tenant,name,labels\n" + k_other + ",A,novalue\n", ":2: label 'novalue' is not KEY=VALUE"},
      {"tenant,colour\n", ":1: unknown column 'colour'"},
      {"name,cloud\nA,global\n", ":1: the header has no 'tenant' column"},
      {"tenant,name\n" + k_other + ",A,extra\n", ":2: expected 2 fields as in the header, found 3"},
      {"tenant,name\n" + k_other + ",A\n" + k_other + ",B\n", ":3: tenant " + k_other + " is already on line 2"},
      {"tenant,name\n,A\n", ":2: the tenant is empty"},
  };
  for (const auto& [text, expected] : cases) {
    const std::string file = write_csv(text);
    auto r = h.run({"tenants", "import", file});
    EXPECT_EQ(r.code, 2) << text;
    EXPECT_NE(r.err.find(file + expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was imported"), std::string::npos) << r.err;
  }
  EXPECT_EQ(h.run({"--output", "json", "tenants", "list"}).out, "[]\n");
  auto missing = h.run({"tenants", "import", dir.file("none.csv")});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("cannot read " + dir.file("none.csv")), std::string::npos);
}

TEST_F(CliTenants, ImportAddsAndUpdatesInOneGo) {
  ASSERT_EQ(h.run({"tenants", "add", k_tenant, "--name", "Old"}).code, 0);
  const std::string file = write_csv("\xEF\xBB\xBFtenant,name,cloud,region,labels\r\n"
                                     "# customers of the EU desk\r\n"
                                     "contoso.onmicrosoft.com,\"Contoso, Ltd\",global,eu,env=prod;tier=gold\r\n" +
                                     k_other + ",Other,gcc,us,\r\n");
  auto r = h.run({"tenants", "import", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("imported 2 tenant(s) from " + file + ": 1 added, 1 updated"), std::string::npos) << r.out;
  Json j = Json::parse(h.run({"--output", "json", "tenants", "list"}).out);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["name"], "Contoso, Ltd");
  EXPECT_EQ(j[0]["labels"]["tier"], "gold");
  EXPECT_EQ(j[1]["cloud"], "gcc");
}

TEST_F(CliTenants, CheckRunsEveryEnabledTenantRecordsResultsAndExitsPartial) {
  ASSERT_EQ(h.run({"tenants", "add", k_tenant, "--name", "Contoso"}).code, 0);
  ASSERT_EQ(h.run({"tenants", "add", k_other, "--name", "Other"}).code, 0) << "a GUID is checked through discovery too";
  auto r = run_with({"tenants", "check"}, false, nullptr);
  EXPECT_EQ(r.code, cli::k_exit_partial) << r.out << r.err;
  EXPECT_NE(r.out.find("ok               Contoso (" + k_tenant + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("consent_missing  Other (" + k_other + ")"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("consent link for the customer's administrator: " + k_authority + "/" + k_other +
                       "/v2.0/adminconsent?client_id=" + k_app),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("2 tenant(s) in"), std::string::npos);
  EXPECT_EQ(r.err, "") << "no progress bar when stderr is not a terminal";
  EXPECT_EQ(r.out.find(k_secret_value), std::string::npos);

  Json list = Json::parse(h.run({"--output", "json", "tenants", "list"}).out);
  EXPECT_EQ(list[0]["last_check_status"], "ok");
  EXPECT_EQ(list[1]["last_check_status"], "consent_missing");
  EXPECT_NE(list[1]["consent_url"].get<std::string>().find("/" + k_other + "/v2.0/adminconsent"), std::string::npos);
  EXPECT_EQ(list[1]["last_check_at"], cli::format_time(h.clock->now()));

  // Disabled tenants are skipped: only Contoso remains, and all is well.
  ASSERT_EQ(h.run({"tenants", "disable", "Other"}).code, 0);
  auto json = run_with({"--output", "json", "tenants", "check"}, false, nullptr);
  EXPECT_EQ(json.code, 0) << json.out;
  Json doc = Json::parse(json.out);
  ASSERT_EQ(doc["tenants"].size(), 1u);
  EXPECT_EQ(doc["tenants"][0]["status"], "ok");
  EXPECT_EQ(doc["summary"]["exit_code"], 0);
}

TEST_F(CliTenants, CheckFlagsMissingRolesAsForbidden) {
  h.serve_token(k_tenant, 200, CliHarness::token_response(h.make_token({"Incident.Read.All"})));
  ASSERT_EQ(h.run({"tenants", "add", k_tenant, "--name", "Contoso"}).code, 0);
  auto r = run_with({"--output", "json", "tenants", "check"}, false, nullptr);
  EXPECT_EQ(r.code, cli::k_exit_partial);
  Json doc = Json::parse(r.out);
  EXPECT_EQ(doc["tenants"][0]["status"], "forbidden");
  EXPECT_NE(doc["tenants"][0]["detail"].get<std::string>().find("lacks AdvancedHunting.Read.All"), std::string::npos);
}

TEST_F(CliTenants, CheckDrawsAProgressBarOnATerminal) {
  ASSERT_EQ(h.run({"tenants", "add", k_tenant}).code, 0);
  ASSERT_EQ(h.run({"tenants", "add", k_other}).code, 0);
  auto r = run_with({"tenants", "check"}, true, nullptr);
  EXPECT_NE(r.err.find("\r["), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/2 tenants"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\r"), std::string::npos) << "the bar stays on stderr";
}

TEST_F(CliTenants, CheckAfterCtrlCStartsNothingAndSaysSo) {
  ASSERT_EQ(h.run({"tenants", "add", k_tenant}).code, 0);
  fleet::CancelToken cancel;
  cancel.cancel();
  const size_t before = h.router.transport->requests().size();
  auto r = run_with({"tenants", "check"}, false, &cancel);
  EXPECT_EQ(r.code, fleet::k_exit_cancelled);
  EXPECT_NE(r.out.find("cancelled"), std::string::npos);
  EXPECT_NE(r.out.find("Stopped by Ctrl-C"), std::string::npos);
  EXPECT_EQ(h.router.transport->requests().size(), before) << "no request after Ctrl-C";
  Json list = Json::parse(h.run({"--output", "json", "tenants", "list"}).out);
  EXPECT_EQ(list[0]["last_check_at"], nullptr) << "a tenant not checked keeps its previous result";
}

TEST_F(CliTenants, RemoveEnableDisableByNameOrDomain) {
  ASSERT_EQ(h.run({"tenants", "add", "contoso.onmicrosoft.com", "--name", "Contoso"}).code, 0);
  EXPECT_EQ(h.run({"tenants", "disable", "contoso.onmicrosoft.com"}).code, 0);
  EXPECT_EQ(Json::parse(h.run({"--output", "json", "tenants", "list"}).out)[0]["enabled"], false);
  EXPECT_EQ(h.run({"tenants", "enable", "CONTOSO"}).code, 0);
  EXPECT_EQ(h.run({"--output", "json", "tenants", "list", "--enabled"}).out.find(k_tenant) != std::string::npos, true);
  auto unknown = h.run({"tenants", "remove", "fabrikam"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("no registered tenant 'fabrikam'"), std::string::npos);
  EXPECT_EQ(h.run({"tenants", "remove", k_tenant}).code, 0);
  EXPECT_EQ(h.run({"--output", "json", "tenants", "list"}).out, "[]\n");
}

TEST_F(CliTenants, ReportCountsIncidentsPerTenantAndShowsHealth) {
  {
    auto store = store::SqliteStore::open(db);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->add_tenants({tenant(k_fabrikam, "Fabrikam"), tenant(k_northwind, "Northwind")},
                                      store::OnExisting::fail));
    ASSERT_TRUE((*store)->upsert_incidents(k_fabrikam, "legacy",
                                           {make_incident(k_fabrikam, 1, 100), make_incident(k_fabrikam, 2, 101),
                                            make_incident(k_fabrikam, 3, 102)},
                                           at(102)));
    ASSERT_TRUE((*store)->record_sync_run(k_fabrikam, "legacy", at(200), "ok"));
    ASSERT_TRUE((*store)->record_check(k_northwind, {at(300), "consent_missing", "AADSTS65001", "https://consent.example"}));
  }
  auto r = h.run({"--output", "json", "report", "--db", db});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  ASSERT_EQ(j["tenants"].size(), 2u);
  const Json& fabrikam = j["tenants"][0];
  EXPECT_EQ(fabrikam["incidents"]["total"], 3);
  EXPECT_EQ(fabrikam["incidents"]["by_severity"]["high"], 2);
  EXPECT_EQ(fabrikam["incidents"]["by_status"]["resolved"], 1);
  EXPECT_EQ(fabrikam["sync"][0]["watermark"], cli::format_time(at(102)));
  EXPECT_EQ(j["tenants"][1]["health"]["consent_url"], "https://consent.example");

  auto table = h.run({"report", "--db", db});
  ASSERT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("Fabrikam   3      2     1"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("Northwind: consent missing; send this link to its administrator: https://consent.example"),
            std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("2 tenant(s), 3 incident(s)"), std::string::npos);
}

TEST_F(CliTenants, TheDefaultDatabaseIsPrivate) {
  h.env.erase("XDR_DB");
  h.env["HOME"] = dir.file("home");
  ASSERT_EQ(h.run({"tenants", "list"}).code, 0);
  const std::string path = dir.file("home/.local/share/xdrpartner/xdrpartner.db");
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(file_mode(dir.file("home/.local/share/xdrpartner")), 0700u);
  h.env["XDG_DATA_HOME"] = dir.file("data");
  ASSERT_EQ(h.run({"tenants", "list"}).code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.file("data/xdrpartner/xdrpartner.db")));
  h.env.erase("HOME");
  h.env.erase("XDG_DATA_HOME");
  auto none = h.run({"tenants", "list"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--db PATH"), std::string::npos);
}

TEST_F(CliTenants, ACorruptDatabaseIsNamed) {
  const std::string garbage(4096, 'z');
  h.env["XDR_DB"] = dir.write("bad.db", garbage);
  auto r = h.run({"tenants", "list"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(dir.file("bad.db") + " is not an xdrpartner database"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(dir.file("bad.db")), garbage);
}

} // namespace
} // namespace xdr::testing::cli_test
