// HuntingClient over a FakeTransport (requests of the three APIs, streamed rows, split by time), QuotaBudget
// with a FakeClock, and the endpoint table.

#include <gtest/gtest.h>

#include <xdr/api/endpoints.hpp>
#include <xdr/api/hunting_client.hpp>
#include <xdr/api/quota.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/time.hpp>

#include "api_test_data.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

namespace xdr::api {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

util::TimePoint at(const char* text) { return util::parse_rfc3339(text).value(); }

struct ApiHunting : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();

  HuntingClient client(HuntingApi api) {
    HuntingClientOptions o;
    o.api = api;
    o.client.tenant = "fabrikam.onmicrosoft.com";
    o.client.endpoints = resolve_endpoints(auth::Cloud::global).value();
    QuotaBudgetOptions q;
    q.clock = clock;
    q.sleep = [this](std::chrono::milliseconds d) { clock->advance(std::chrono::duration_cast<std::chrono::seconds>(d) + std::chrono::seconds(1)); };
    o.client.budget = std::make_shared<QuotaBudget>(q);
    o.clock = clock;
    return HuntingClient(transport, [](const std::string& r) -> Result<std::string> { return "tok:" + r; }, o);
  }
};

TEST_F(ApiHunting, LegacyRunStreamsTheDocumentedExample) {
  transport->push(200, testing::read_api_data("legacy_advanced_hunting_response.json"));
  auto c = client(HuntingApi::xdr);
  std::vector<HuntingColumn> schema_seen;
  std::vector<std::string> files;
  const std::string query = "DeviceProcessEvents | where InitiatingProcessFileName =~ \"powershell.exe\" | project "
                            "Timestamp, FileName, InitiatingProcessFileName | order by Timestamp desc | limit 2";
  auto s = c.run({query, ""}, [&](HuntingRow& row) {
        EXPECT_EQ(schema_seen.size(), 3u); // the schema came first
        files.push_back(row[1].text);
        return true;
      }, [&](const std::vector<HuntingColumn>& schema) { schema_seen = schema; });
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->rows, 2u);
  EXPECT_EQ(files, (std::vector<std::string>{"conhost.exe", "conhost.exe"}));
  auto r = transport->requests().at(0);
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://api.security.microsoft.com/api/advancedhunting/run");
  EXPECT_EQ(r.headers.get("authorization"), "Bearer tok:https://api.security.microsoft.com");
  EXPECT_EQ(r.headers.get("content-type"), "application/json");
  // The "Query" example of Microsoft's advanced hunting page, as sent.
  EXPECT_EQ(r.body, R"({"Query":"DeviceProcessEvents | where InitiatingProcessFileName =~ \"powershell.exe\" | project )"
                    R"(Timestamp, FileName, InitiatingProcessFileName | order by Timestamp desc | limit 2"})");
}

TEST_F(ApiHunting, MdeAndGraphRequests) {
  transport->push(200, testing::read_api_data("legacy_advanced_hunting_response.json"));
  transport->push(200, testing::read_api_data("graph_run_hunting_query.json"));
  auto mde = client(HuntingApi::mde);
  ASSERT_TRUE(mde.run({"DeviceProcessEvents", ""}, [](HuntingRow&) { return true; }));
  auto graph = client(HuntingApi::graph);
  auto s = graph.run({"DeviceProcessEvents", "P90D"}, [](HuntingRow&) { return true; });
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->schema.at(0), (HuntingColumn{"Timestamp", "DateTime"}));
  auto requests = transport->requests();
  EXPECT_EQ(requests[0].url, "https://api.securitycenter.microsoft.com/api/advancedqueries/run");
  EXPECT_EQ(requests[0].headers.get("authorization"), "Bearer tok:https://api.securitycenter.microsoft.com");
  EXPECT_EQ(requests[0].body, R"({"Query":"DeviceProcessEvents"})");
  EXPECT_EQ(requests[1].url, "https://graph.microsoft.com/v1.0/security/runHuntingQuery");
  EXPECT_EQ(requests[1].headers.get("authorization"), "Bearer tok:https://graph.microsoft.com");
  EXPECT_EQ(requests[1].body, R"({"Query":"DeviceProcessEvents","Timespan":"P90D"})");
}

TEST_F(ApiHunting, LegacyTimespanBecomesATimestampFilter) {
  auto c = client(HuntingApi::xdr);
  clock->set(at("2026-01-08T00:00:00Z"));
  auto body = c.request_body({"DeviceLogonEvents | where ActionType == \"LogonFailed\" | count", "P7D"}, std::nullopt);
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ(Json::parse(*body)["Query"], "DeviceLogonEvents | where Timestamp >= datetime(2026-01-01T00:00:00Z) and "
                                         "Timestamp < datetime(2026-01-08T00:00:00Z) | where ActionType == \"LogonFailed\" | count");
  EXPECT_FALSE(c.request_body({"let x = 1; T", "P1D"}, std::nullopt));
  EXPECT_FALSE(c.request_body({"T", "seven days"}, std::nullopt));
  EXPECT_FALSE(c.request_body({"  ", ""}, std::nullopt));
}

TEST(ApiHuntingWindow, RestrictIgnoresPipesInStrings) {
  auto q = restrict_query_to_window("AlertInfo", at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z"));
  EXPECT_EQ(q.value(), "AlertInfo | where Timestamp >= datetime(2026-01-01T00:00:00Z) and Timestamp < datetime(2026-01-02T00:00:00Z)");
  EXPECT_FALSE(restrict_query_to_window("union A, B | count", at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")));
  EXPECT_FALSE(restrict_query_to_window("print \"a|b\"", at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")));
}

std::string rows_body(size_t n, const char* first_column = "Timestamp") {
  std::string body = std::string(R"({"Schema":[{"Name":")") + first_column + R"(","Type":"DateTime"}],"Results":[)";
  for (size_t i = 0; i < n; ++i) body += std::string(i ? "," : "") + R"({")" + first_column + R"(":"2026-01-01T00:00:00Z"})";
  return body + "]}";
}

TEST_F(ApiHunting, SplitByTimeHalvesWindowsThatHitTheCaps) {
  auto c = client(HuntingApi::xdr);
  // Whole window: the result-size 400; first half: exactly the (test) cap; then small answers.
  transport->push(400, R"({"error":{"code":"BadRequest","message":"Query execution has exceeded the allowed result size. Optimize your query by limiting the number of results and try again","target":"x"}})");
  transport->push(200, rows_body(5));
  transport->push(200, rows_body(2));
  transport->push(200, rows_body(3));
  transport->push(200, rows_body(4));
  SplitOptions split;
  split.start = at("2026-01-01T00:00:00Z");
  split.end = at("2026-01-05T00:00:00Z");
  split.row_cap = 5;
  size_t rows = 0;
  auto s = c.run_split({"DeviceProcessEvents | project Timestamp", ""}, split, [&](HuntingRow&) {
    ++rows;
    return true;
  });
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(rows, 9u);
  EXPECT_EQ(s->rows, 9u);
  EXPECT_EQ(s->requests, 5u);
  ASSERT_EQ(s->windows.size(), 3u);
  EXPECT_EQ(s->windows[0], std::make_pair(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:00Z")));
  EXPECT_EQ(s->windows[1], std::make_pair(at("2026-01-02T00:00:00Z"), at("2026-01-03T00:00:00Z")));
  EXPECT_EQ(s->windows[2], std::make_pair(at("2026-01-03T00:00:00Z"), at("2026-01-05T00:00:00Z")));
  auto requests = transport->requests();
  EXPECT_EQ(Json::parse(requests[0].body)["Query"],
            "DeviceProcessEvents | where Timestamp >= datetime(2026-01-01T00:00:00Z) and Timestamp < "
            "datetime(2026-01-05T00:00:00Z) | project Timestamp");
  EXPECT_EQ(Json::parse(requests[1].body)["Query"],
            "DeviceProcessEvents | where Timestamp >= datetime(2026-01-01T00:00:00Z) and Timestamp < "
            "datetime(2026-01-03T00:00:00Z) | project Timestamp");
  EXPECT_EQ(Json::parse(requests[2].body)["Query"],
            "DeviceProcessEvents | where Timestamp >= datetime(2026-01-01T00:00:00Z) and Timestamp < "
            "datetime(2026-01-02T00:00:00Z) | project Timestamp");
}

TEST_F(ApiHunting, SplitOnGraphUsesTheTimespanAndChecksSchemas) {
  auto c = client(HuntingApi::graph);
  transport->push(200, rows_body(5));
  transport->push(200, rows_body(1));
  transport->push(200, rows_body(1, "Other"));
  SplitOptions split;
  split.start = at("2026-01-01T00:00:00Z");
  split.end = at("2026-01-03T00:00:00Z");
  split.row_cap = 5;
  auto s = c.run_split({"DeviceProcessEvents", ""}, split, [](HuntingRow&) { return true; });
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("different schemas: Timestamp:DateTime vs Other:DateTime"), std::string::npos)
      << s.error().message;
  auto requests = transport->requests();
  EXPECT_EQ(requests[0].body, R"({"Query":"DeviceProcessEvents","Timespan":"2026-01-01T00:00:00Z/2026-01-03T00:00:00Z"})");
  EXPECT_EQ(requests[1].body, R"({"Query":"DeviceProcessEvents","Timespan":"2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"})");
}

TEST_F(ApiHunting, SplitGivesUpOnATinyWindow) {
  auto c = client(HuntingApi::graph);
  transport->set_handler([](const http::Request&) -> Result<http::Response> {
    http::Response r;
    r.status = 200;
    r.body = rows_body(3);
    return r;
  });
  SplitOptions split;
  split.start = at("2026-01-01T00:00:00Z");
  split.end = at("2026-01-01T00:10:00Z");
  split.row_cap = 3;
  auto s = c.run_split({"T", ""}, split, [](HuntingRow&) { return true; });
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("narrow the query"), std::string::npos);
  EXPECT_LT(transport->count(), 20u);
}

TEST(ApiQuota, WaitsInsteadOfExceedingTheDocumentedLimits) {
  auto clock = std::make_shared<FakeClock>();
  std::chrono::milliseconds slept{0};
  QuotaBudgetOptions o;
  o.clock = clock;
  o.sleep = [&](std::chrono::milliseconds d) {
    slept += d;
    clock->set(clock->now() + d);
  };
  QuotaBudget budget(o);
  for (int i = 0; i < 45; ++i) EXPECT_EQ(budget.acquire("t1", QuotaApi::hunting), std::chrono::milliseconds(0));
  EXPECT_EQ(budget.acquire("t2", QuotaApi::hunting), std::chrono::milliseconds(0)); // tenants are separate
  EXPECT_EQ(budget.acquire("t1", QuotaApi::incidents), std::chrono::milliseconds(0)); // so are APIs
  EXPECT_GT(budget.wait_time("t1", QuotaApi::hunting), std::chrono::seconds(59));
  const auto waited = budget.acquire("t1", QuotaApi::hunting); // the 46th within a minute
  EXPECT_GE(waited, std::chrono::seconds(60));
  EXPECT_LE(waited, std::chrono::milliseconds(60'001));
  budget.block("t1", QuotaApi::incidents, std::chrono::seconds(30));
  EXPECT_GE(budget.acquire("t1", QuotaApi::incidents), std::chrono::seconds(30));
}

TEST(ApiQuota, HourlyWindowAndScaling) {
  auto clock = std::make_shared<FakeClock>();
  QuotaBudgetOptions o;
  o.clock = clock;
  o.incidents = QuotaLimits::incidents().scaled(0.02); // 1 per minute, 30 per hour
  ASSERT_EQ(o.incidents.windows.at(0).calls, 1);
  ASSERT_EQ(o.incidents.windows.at(1).calls, 30);
  o.sleep = [&](std::chrono::milliseconds d) { clock->set(clock->now() + d); };
  QuotaBudget budget(o);
  const auto start = clock->now();
  for (int i = 0; i < 31; ++i) budget.acquire("t", QuotaApi::incidents);
  // 30 calls a minute apart, then the 31st waits for the first to leave the hour.
  EXPECT_GE(clock->now() - start, std::chrono::seconds(3600));
  EXPECT_LE(clock->now() - start, std::chrono::seconds(3601));
}

TEST(ApiEndpoints, CloudsRegionsAndOverrides) {
  auto global = resolve_endpoints(auth::Cloud::global).value();
  EXPECT_EQ(global.xdr_base, "https://api.security.microsoft.com");
  EXPECT_EQ(global.graph_base, "https://graph.microsoft.com");
  EXPECT_EQ(global.base(Dialect::legacy), "https://api.security.microsoft.com");
  EXPECT_EQ(resolve_endpoints(auth::Cloud::global, Region::eu).value().xdr_base, "https://api-eu.security.microsoft.com");
  EXPECT_EQ(resolve_endpoints(auth::Cloud::global, Region::us).value().mde_base, "https://api-us.securitycenter.microsoft.com");
  auto au = resolve_endpoints(auth::Cloud::global, Region::au).value();
  EXPECT_EQ(au.xdr_base, "https://au.api.security.microsoft.com");
  EXPECT_EQ(au.xdr_resource, "https://api.security.microsoft.com");
  EXPECT_EQ(resolve_endpoints(auth::Cloud::global, Region::swa).value().xdr_base, "https://swa.api.security.microsoft.com");
  EXPECT_EQ(resolve_endpoints(auth::Cloud::gcc).value().xdr_base, "https://api-gcc.security.microsoft.us");
  auto high = resolve_endpoints(auth::Cloud::gcc_high).value();
  EXPECT_EQ(high.xdr_base, "https://api-gov.security.microsoft.us");
  EXPECT_EQ(high.graph_base, "https://graph.microsoft.us");
  EXPECT_EQ(resolve_endpoints(auth::Cloud::dod).value().graph_base, "https://dod-graph.microsoft.us");
  EXPECT_FALSE(resolve_endpoints(auth::Cloud::gcc_high, Region::eu));
  auto emu = resolve_endpoints(auth::Cloud::global, Region::none, {"https://127.0.0.1:8443/", ""}).value();
  EXPECT_EQ(emu.xdr_base, "https://127.0.0.1:8443");
  EXPECT_EQ(emu.graph_base, "https://127.0.0.1:8443");
  EXPECT_EQ(emu.xdr_resource, "https://api.security.microsoft.com");
  auto both = resolve_endpoints(auth::Cloud::global, Region::none, {"https://127.0.0.1:1", "https://127.0.0.1:2"}).value();
  EXPECT_EQ(both.graph_base, "https://127.0.0.1:2");
  EXPECT_FALSE(resolve_endpoints(auth::Cloud::global, Region::none, {"127.0.0.1:8443", ""}));
  EXPECT_FALSE(resolve_endpoints(auth::Cloud::global, Region::none, {"https://h/x?y=1", ""}));
  EXPECT_EQ(parse_region("EU").value(), Region::eu);
  EXPECT_FALSE(parse_region("mars"));
  auth::Environment env = [](std::string_view n) -> std::optional<std::string> {
    if (n == "XDR_API_BASE") return "https://127.0.0.1:9";
    return std::nullopt;
  };
  EXPECT_EQ(overrides_from_environment(env).api_base, "https://127.0.0.1:9");
  EXPECT_EQ(overrides_from_environment(env, {"https://x", ""}).api_base, "https://x");
}

TEST(ApiEndpoints, TenantEndpointsTakeTheRunsRegionElseTheTenantsElseTheCloudsHost) {
  auto per_tenant = TenantEndpoints::create(auth::Cloud::global, "").value();
  EXPECT_FALSE(per_tenant.run_region_given());
  EXPECT_EQ(per_tenant.run().xdr_base, "https://api.security.microsoft.com");
  auto eu = per_tenant.for_tenant("EU").value();
  EXPECT_EQ(eu.xdr_base, "https://api-eu.security.microsoft.com");
  EXPECT_EQ(eu.mde_base, "https://api-eu.securitycenter.microsoft.com");
  EXPECT_EQ(eu.graph_base, "https://graph.microsoft.com") << "Graph has no regional hosts";
  EXPECT_EQ(eu.xdr_resource, "https://api.security.microsoft.com") << "a regional host takes the global audience";
  EXPECT_EQ(per_tenant.for_tenant("").value().xdr_base, "https://api.security.microsoft.com");
  EXPECT_EQ(per_tenant.for_tenant("none").value().xdr_base, "https://api.security.microsoft.com");
  auto mars = per_tenant.for_tenant("mars");
  ASSERT_FALSE(mars) << "never silently global";
  EXPECT_EQ(mars.error().kind, ErrorKind::config);
  EXPECT_EQ(mars.error().message, "registry region 'mars' is not a region (us, eu, uk, au, swa; none: the global host)");

  auto us = TenantEndpoints::create(auth::Cloud::global, "us").value();
  EXPECT_TRUE(us.run_region_given());
  EXPECT_EQ(us.for_tenant("eu").value().xdr_base, "https://api-us.security.microsoft.com");
  EXPECT_EQ(us.for_tenant("mars").value().xdr_base, "https://api-us.security.microsoft.com") << "the run's region decides";
  auto none = TenantEndpoints::create(auth::Cloud::global, "none").value();
  EXPECT_TRUE(none.run_region_given());
  EXPECT_EQ(none.for_tenant("uk").value().xdr_base, "https://api.security.microsoft.com");
  EXPECT_FALSE(TenantEndpoints::create(auth::Cloud::global, "moon"));

  auto emulator = TenantEndpoints::create(auth::Cloud::global, "", {"https://127.0.0.1:8443", ""}).value();
  EXPECT_EQ(emulator.for_tenant("au").value().xdr_base, "https://127.0.0.1:8443") << "the emulator serves every region";
  EXPECT_FALSE(emulator.for_tenant("mars")) << "a bad registry region fails against the emulator too";

  auto gcc = TenantEndpoints::create(auth::Cloud::gcc, "").value();
  EXPECT_EQ(gcc.for_tenant("").value().xdr_base, "https://api-gcc.security.microsoft.us");
  auto regional_gcc = gcc.for_tenant("eu");
  ASSERT_FALSE(regional_gcc);
  EXPECT_NE(regional_gcc.error().message.find("exists only in the global cloud"), std::string::npos);
  EXPECT_FALSE(TenantEndpoints::create(auth::Cloud::gcc, "eu"));
}

} // namespace
} // namespace xdr::api
