// xdrpartner incidents / hunt against a FakeTransport: output formats (table fits the width, json, ndjson,
// csv with RFC 4180 quoting), argument checks before any request, error reporting.

#include <gtest/gtest.h>

#include <cli/output.hpp>

#include "api_test_data.hpp"
#include "cli_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

const std::string k_api = "https://api.security.microsoft.com";

class CliApi : public ::testing::Test {
protected:
  void SetUp() override {
    h.env["AZURE_CLIENT_ID"] = k_app;
    h.env["AZURE_CLIENT_SECRET"] = k_secret_value;
    h.env["COLUMNS"] = "80";
    h.serve_token(k_tenant, 200, CliHarness::token_response(h.make_token()));
  }
  size_t api_requests() const {
    size_t n = 0;
    for (const auto& r : h.router.transport->requests()) n += r.url.rfind(k_api, 0) == 0 || r.url.find("graph") != std::string::npos;
    return n;
  }
  CliHarness h;
};

TEST_F(CliApi, ListTableFitsTheTerminal) {
  h.router.set(k_api + "/api/incidents?$top=100", 200, read_api_data("legacy_list_incidents.json"));
  h.env["COLUMNS"] = "100";
  auto r = h.run({"incidents", "list", "--tenant", k_tenant});
  ASSERT_EQ(r.code, 0) << r.err;
  h.env["COLUMNS"] = "60";
  auto narrow = h.run({"incidents", "list", "--tenant", k_tenant});
  ASSERT_EQ(narrow.code, 0) << narrow.err;
  std::istringstream narrow_lines(narrow.out);
  std::string narrow_line;
  for (int i = 0; i < 4 && std::getline(narrow_lines, narrow_line); ++i) EXPECT_LE(cli::display_width(narrow_line), 60u) << narrow_line;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<std::string> all;
  while (std::getline(lines, line)) all.push_back(line);
  ASSERT_EQ(all.size(), 5u) << r.out;
  for (size_t i = 0; i < 4; ++i) EXPECT_LE(cli::display_width(all[i]), 100u) << all[i];
  EXPECT_EQ(all[0].rfind("ID      UPDATED (UTC)", 0), 0u) << all[0];
  EXPECT_NE(all[1].find("924565"), std::string::npos);
  EXPECT_NE(all[1].find("2020-09-06 14:46  Medium"), std::string::npos) << r.out;
  EXPECT_NE(all[2].find("'Mimikatz' hacktool"), std::string::npos) << r.out;
  EXPECT_NE(all[2].find("\xE2\x80\xA6"), std::string::npos) << "a long name is cut with an ellipsis";
  EXPECT_EQ(all[4], "3 incident(s) of tenant " + k_tenant + " via the Defender XDR API (1 page(s))");
  const auto req = h.router.transport->requests().back();
  EXPECT_EQ(req.url, k_api + "/api/incidents?$top=100");
  EXPECT_EQ(req.headers.get("authorization").value_or("").rfind("Bearer eyJ", 0), 0u);
}

TEST_F(CliApi, ListFormatsAreExact) {
  h.router.set(k_api + "/api/incidents?$filter=status%20eq%20%27Active%27&$top=2", 200, read_api_data("legacy_list_incidents.json"));
  auto nd = h.run({"--output", "ndjson", "incidents", "list", "--tenant", k_tenant, "--status", "active", "--top", "2"});
  ASSERT_EQ(nd.code, 0) << nd.err;
  std::istringstream lines(nd.out);
  std::string line;
  std::vector<Json> objects;
  while (std::getline(lines, line)) objects.push_back(Json::parse(line));
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0]["id"], "924565");
  EXPECT_EQ(objects[0]["severity"], "medium");
  EXPECT_EQ(objects[0]["comments"][0]["comment"], "test comment for docs");
  EXPECT_EQ(objects[1]["alerts"][0]["devices"][0]["mdatpDeviceId"], "24c222b0b60fe148eeece49ac83910cc6a7ef491");

  auto js = h.run({"--output", "json", "incidents", "list", "--tenant", k_tenant, "--status", "Active", "--top", "2"});
  ASSERT_EQ(js.code, 0) << js.err;
  Json array = Json::parse(js.out);
  ASSERT_TRUE(array.is_array());
  EXPECT_EQ(array.size(), 2u);
  EXPECT_EQ(array[1]["displayName"], "'Mimikatz' hacktool was detected on one endpoint");

  auto csv = h.run({"--output", "csv", "incidents", "list", "--tenant", k_tenant, "--status", "Active", "--top", "2"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out,
            "id,tenant_id,name,status,severity,classification,determination,assigned_to,created,last_update,tags,alerts,comments\r\n"
            "924565," + k_tenant + ",Ransomware activity,active,medium,unknown,unknown,,2020-09-06T14:46:57.0733333Z,"
            "2020-09-06T14:46:57.29Z,,1,1\r\n"
            "924521," + k_tenant + ",'Mimikatz' hacktool was detected on one endpoint,active,low,unknown,unknown,,"
            "2020-09-06T12:18:03.6266667Z,2020-09-06T12:18:03.81Z,,1,0\r\n");
}

TEST_F(CliApi, SeverityOnLegacyIsNamedAsClientSide) {
  h.router.set(k_api + "/api/incidents?$top=100", 200, read_api_data("legacy_list_incidents.json"));
  auto r = h.run({"--output", "ndjson", "incidents", "list", "--tenant", k_tenant, "--severity", "low,informational"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2);
  EXPECT_NE(r.err.find("note: (severity eq 'Low' or severity eq 'Informational') applied client-side"), std::string::npos) << r.err;
}

TEST_F(CliApi, GraphListUsesGraphWithItsFilter) {
  h.router.set("https://graph.microsoft.com/v1.0/security/incidents?$filter=severity%20eq%20%27high%27&$top=100&$expand=alerts",
               200, read_api_data("graph_list_incidents.json"));
  auto r = h.run({"--output", "ndjson", "incidents", "list", "--api", "graph", "--tenant", k_tenant, "--severity", "High"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out)["id"], "2972395");
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(CliApi, ArgumentsAreCheckedBeforeAnyRequest) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"incidents", "list", "--tenant", k_tenant, "--status", "Sleeping"}, "--status 'Sleeping' is not known"},
      {{"incidents", "list", "--tenant", k_tenant, "--since", "last week"}, "--since 'last week'"},
      {{"incidents", "list"}, "needs the customer's tenant"},
      {{"incidents", "update", "1", "--tenant", k_tenant}, "nothing to update"},
      {{"incidents", "update", "1", "--tenant", k_tenant, "--classification", "FalsePositive", "--determination", "Malware"},
       "does not belong to classification FalsePositive"},
      {{"incidents", "update", "1", "--tenant", k_tenant, "--status", "AwaitingAction"}, "only on the Graph security API"},
      {{"incidents", "get", "abc", "--tenant", k_tenant}, "incident id 'abc' is not valid"},
      {{"hunt", "--tenant", k_tenant}, "hunt needs a KQL query"},
      {{"hunt", "--tenant", k_tenant, "T", "--timespan", "a week"}, "timespan 'a week'"},
      {{"hunt", "--tenant", k_tenant, "let x = 1; T", "--timespan", "P1D"}, "starts with a table name"},
      {{"incidents", "list", "--tenant", k_tenant, "--api-base", "127.0.0.1:1"}, "not a usable base URL"},
      {{"incidents", "list", "--tenant", k_tenant, "--region", "mars"}, "unknown region 'mars'"},
  };
  for (const auto& c : cases) {
    auto r = h.run(c.args);
    EXPECT_EQ(r.code, 2) << c.message << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_EQ(api_requests(), 0u);
}

TEST_F(CliApi, UpdateSendsThePatchAndPrintsTheIncident) {
  h.router.set(k_api + "/api/incidents/924521", 200, read_api_data("legacy_update_incident_response.json"));
  auto r = h.run({"incidents", "update", "924521", "--tenant", k_tenant, "--status", "Resolved", "--classification",
                  "TruePositive", "--determination", "Malware", "--assign-to", "secop2@contoso.com", "--tag",
                  "Yossi's playground", "--tag", "Don't mess with the Zohan", "--comment", "pen testing"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto req = h.router.transport->requests().back();
  EXPECT_EQ(req.method, "PATCH");
  EXPECT_EQ(req.headers.get("content-type"), "application/json");
  EXPECT_EQ(Json::parse(req.body), Json::parse(read_api_data("legacy_update_incident_request.json")));
  EXPECT_NE(r.out.find("status:          Resolved"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("determination:   Malware"), std::string::npos);
  EXPECT_NE(r.out.find("alerts (1):"), std::string::npos);
}

TEST_F(CliApi, HuntFormats) {
  h.router.set(k_api + "/api/advancedhunting/run", 200,
               R"({"Schema":[{"Name":"Name","Type":"String"},{"Name":"Count","Type":"Int64"},{"Name":"Extra","Type":"Object"}],
                   "Results":[{"Name":"a, \"quoted\"","Count":3,"Extra":{"k":[1]}},{"Name":"line\nbreak","Count":null,"Extra":null}]})");
  auto csv = h.run({"--output", "csv", "hunt", "--tenant", k_tenant, "T | take 2"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(csv.out, "Name,Count,Extra\r\n\"a, \"\"quoted\"\"\",3,\"{\"\"k\"\":[1]}\"\r\n\"line\nbreak\",,\r\n");
  EXPECT_EQ(h.router.transport->requests().back().body, R"({"Query":"T | take 2"})");

  auto json = h.run({"--output", "json", "hunt", "--tenant", k_tenant, "T | take 2"});
  ASSERT_EQ(json.code, 0) << json.err;
  Json doc = Json::parse(json.out);
  EXPECT_EQ(doc["schema"][1], (Json{{"name", "Count"}, {"type", "Int64"}}));
  EXPECT_EQ(doc["results"][0]["Count"], 3);
  EXPECT_EQ(doc["results"][0]["Extra"]["k"][0], 1);
  EXPECT_TRUE(doc["results"][1]["Count"].is_null());

  auto nd = h.run({"--output", "ndjson", "hunt", "--tenant", k_tenant, "T | take 2"});
  ASSERT_EQ(nd.code, 0);
  EXPECT_EQ(nd.out, "{\"Name\":\"a, \\\"quoted\\\"\",\"Count\":3,\"Extra\":{\"k\":[1]}}\n"
                    "{\"Name\":\"line\\nbreak\",\"Count\":null,\"Extra\":null}\n");

  auto table = h.run({"hunt", "--tenant", k_tenant, "T | take 2"});
  ASSERT_EQ(table.code, 0);
  EXPECT_EQ(table.out, "Name         Count  Extra\n"
                       "a, \"quoted\"  3      {\"k\":[1]}\n"
                       "line break\n"
                       "2 row(s) from tenant " + k_tenant + "\n");
}

TEST_F(CliApi, HuntGraphAndReadsTheQueryFromStandardInput) {
  h.router.set("https://graph.microsoft.com/v1.0/security/runHuntingQuery", 200, read_api_data("graph_run_hunting_query.json"));
  auto r = h.run({"--output", "ndjson", "hunt", "--api", "graph", "--tenant", k_tenant, "-f", "-", "--timespan", "P7D"},
                 "DeviceProcessEvents | take 2\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(h.router.transport->requests().back().body, R"({"Query":"DeviceProcessEvents | take 2\n","Timespan":"P7D"})");
  EXPECT_NE(r.out.find("\"FileName\":\"cmd.exe\""), std::string::npos);
}

TEST_F(CliApi, MissingRoleAddsTheConsentLink) {
  h.router.set(k_api + "/api/advancedhunting/run", 403,
               R"({"error":{"code":"Forbidden","message":"Missing application roles. API required roles: AdvancedHunting.Read.All, application roles: Incident.Read.All","target":"t"}})");
  auto r = h.run({"hunt", "--tenant", k_tenant, "AlertInfo"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Missing application roles"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("/common/oauth2/authorize?prompt=consent&client_id=" + k_app), std::string::npos) << r.err;
}

TEST(CliOutput, CsvQuotingFollowsRfc4180) {
  EXPECT_EQ(cli::csv_field("plain"), "plain");
  EXPECT_EQ(cli::csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(cli::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(cli::csv_field("two\r\nlines"), "\"two\r\nlines\"");
  EXPECT_EQ(cli::csv_field(" padded"), "\" padded\"");
  EXPECT_EQ(cli::csv_line({"a", "", "b,c"}), "a,,\"b,c\"\r\n");
}

TEST(CliOutput, TableShrinksTheWidestColumnsButNeverTheFirst) {
  std::ostringstream out;
  cli::print_table(out, {"ID", "NAME", "NOTE"}, {{"1234567890", std::string(50, 'n'), std::string(30, 'x')}}, 40);
  std::istringstream lines(out.str());
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  EXPECT_EQ(cli::display_width(row), 40u) << row;
  EXPECT_EQ(row.rfind("1234567890  ", 0), 0u);
  EXPECT_EQ(row.substr(row.size() - 3), "\xE2\x80\xA6");
  EXPECT_EQ(cli::terminal_width([](std::string_view) -> std::optional<std::string> { return "57"; }), 57u);
}

} // namespace
} // namespace xdr::testing::cli_test
