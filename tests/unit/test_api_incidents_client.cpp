// IncidentsClient over a FakeTransport: exact requests (URLs, OData encoding, headers, bodies) for both
// dialects, paging, client-side filters, update checks, 429 handling and error messages.

#include <gtest/gtest.h>

#include <xdr/api/incidents_client.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/time.hpp>

#include "api_test_data.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

namespace xdr::api {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

std::string incident_json(int id, const char* severity = "High", const char* status = "Active") {
  return R"({"incidentId":)" + std::to_string(id) + R"(,"incidentName":"i)" + std::to_string(id) +
         R"(","createdTime":"2026-01-01T00:00:00Z","lastUpdateTime":"2026-01-02T00:00:00Z","assignedTo":null,)"
         R"("classification":"Unknown","determination":"NotAvailable","status":")" + status + R"(","severity":")" +
         severity + R"(","tags":[],"comments":[],"alerts":[]})";
}

std::string page_json(const std::vector<std::string>& incidents, const std::string& next_link = "") {
  std::string body = R"({"@odata.context":"https://api.security.microsoft.com/api/$metadata#Incidents","value":[)";
  for (size_t i = 0; i < incidents.size(); ++i) body += (i ? "," : "") + incidents[i];
  body += "]";
  if (!next_link.empty()) body += R"(,"@odata.nextLink":")" + next_link + "\"";
  return body + "}";
}

struct ApiIncidents : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::vector<std::string> token_resources;
  std::vector<std::chrono::milliseconds> sleeps;

  ClientOptions options(Dialect dialect) {
    ClientOptions o;
    o.tenant = "fabrikam.onmicrosoft.com";
    o.dialect = dialect;
    o.endpoints = resolve_endpoints(auth::Cloud::global).value();
    QuotaBudgetOptions q;
    q.clock = clock;
    q.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      clock->advance(std::chrono::duration_cast<std::chrono::seconds>(d + std::chrono::milliseconds(999)));
    };
    o.budget = std::make_shared<QuotaBudget>(q);
    return o;
  }
  IncidentsClient client(Dialect dialect) {
    return IncidentsClient(transport,
                           [this](const std::string& resource) -> Result<std::string> {
                             token_resources.push_back(resource);
                             return std::string("tok-") + (resource.find("graph") != std::string::npos ? "graph" : "xdr");
                           },
                           options(dialect));
  }
};

TEST_F(ApiIncidents, LegacyListFollowsNextLinkThenSkip) {
  const std::string next = "https://api.security.microsoft.com/api/incidents?$top=2&$skip=2";
  transport->push(200, page_json({incident_json(9), incident_json(8)}, next));
  transport->push(200, page_json({incident_json(7), incident_json(6)}));
  transport->push(200, page_json({incident_json(5)}));
  auto c = client(Dialect::legacy);
  ListOptions o;
  o.page_size = 2;
  o.filter.status({IncidentStatus::active}).created_time(FilterOp::gt, util::parse_rfc3339("2021-04-01T00:00:00Z").value());
  std::vector<size_t> sizes;
  std::vector<std::string> ids;
  auto summary = c.list(o, [&](std::vector<Incident>& page) {
    sizes.push_back(page.size());
    for (auto& i : page) ids.push_back(i.incident_id);
    return true;
  });
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->pages, 3u);
  EXPECT_EQ(summary->incidents, 5u);
  EXPECT_FALSE(summary->stopped);
  EXPECT_TRUE(summary->client_side_filters.empty());
  EXPECT_EQ(ids, (std::vector<std::string>{"9", "8", "7", "6", "5"}));
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::string first = "https://api.security.microsoft.com/api/incidents?$filter=status%20eq%20%27Active%27%20and%20"
                            "createdTime%20gt%202021-04-01T00%3A00%3A00Z&$top=2";
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].url, first);
  EXPECT_EQ(requests[1].url, next);
  EXPECT_EQ(requests[2].url, first + "&$skip=4"); // past the followed link's page, not that page again
  for (const auto& r : requests) {
    EXPECT_EQ(r.headers.get("authorization"), "Bearer tok-xdr");
    EXPECT_EQ(r.headers.get("accept"), "application/json");
    EXPECT_TRUE(r.body.empty());
  }
  EXPECT_EQ(token_resources, std::vector<std::string>(3, "https://api.security.microsoft.com"));
  EXPECT_EQ(c.list_all(ListOptions{}).error().kind, ErrorKind::transport); // nothing scripted left
}

TEST_F(ApiIncidents, SeverityOnLegacyIsFilteredClientSideAndSaysSo) {
  std::vector<std::string> full;
  for (int i = 0; i < 100; ++i) full.push_back(incident_json(1000 - i, i % 3 == 0 ? "High" : "Low"));
  transport->push(200, page_json(full));
  transport->push(200, page_json({incident_json(1, "High"), incident_json(2, "Medium")}));
  auto c = client(Dialect::legacy);
  ListOptions o;
  o.filter.severity({Severity::high});
  ListSummary summary;
  auto all = c.list_all(o, &summary);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 35u);
  for (const auto& i : *all) EXPECT_EQ(i.severity, Severity::high);
  EXPECT_EQ(summary.filtered_out, 67u);
  ASSERT_EQ(summary.client_side_filters.size(), 1u);
  EXPECT_NE(summary.client_side_filters[0].find("applied client-side"), std::string::npos);
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url, "https://api.security.microsoft.com/api/incidents?$top=100");
  EXPECT_EQ(requests[1].url, "https://api.security.microsoft.com/api/incidents?$top=100&$skip=100");
}

TEST_F(ApiIncidents, LimitAndSinkStopPaging) {
  transport->push(200, page_json({incident_json(3), incident_json(2)}, "https://api.security.microsoft.com/api/incidents?$skip=2"));
  auto c = client(Dialect::legacy);
  ListOptions o;
  o.limit = 2;
  auto summary = c.list(o, [](std::vector<Incident>&) { return true; });
  ASSERT_TRUE(summary);
  EXPECT_TRUE(summary->stopped);
  EXPECT_EQ(transport->requests().at(0).url, "https://api.security.microsoft.com/api/incidents?$top=2");
  EXPECT_EQ(transport->count(), 1u);

  transport->push(200, page_json({incident_json(3)}, "https://api.security.microsoft.com/api/incidents?$skip=1"));
  auto stopped = c.list(ListOptions{}, [](std::vector<Incident>&) { return false; });
  ASSERT_TRUE(stopped);
  EXPECT_TRUE(stopped->stopped);
  EXPECT_EQ(transport->count(), 2u);
}

TEST_F(ApiIncidents, NextLinkToAnotherHostIsRefused) {
  transport->push(200, page_json({incident_json(3)}, "https://evil.example.com/api/incidents?$skip=1"));
  auto c = client(Dialect::legacy);
  auto r = c.list_all(ListOptions{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("refusing to send the tenant's token"), std::string::npos);
  EXPECT_EQ(transport->count(), 1u);
}

TEST_F(ApiIncidents, GraphListRequest) {
  transport->push(200, testing::read_api_data("graph_list_incidents.json"));
  auto c = client(Dialect::graph);
  ListOptions o;
  o.filter.severity({Severity::high, Severity::medium}).assigned_to("o'brien@contoso.com");
  ListSummary summary;
  auto all = c.list_all(o, &summary);
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->at(0).tenant_id, "b3c1b5fc-828c-45fa-a1e1-10d74f6d6e9c");
  EXPECT_TRUE(summary.client_side_filters.empty());
  auto r = transport->requests().at(0);
  EXPECT_EQ(r.url, "https://graph.microsoft.com/v1.0/security/incidents?$filter=%28severity%20eq%20%27high%27%20or%20"
                   "severity%20eq%20%27medium%27%29%20and%20assignedTo%20eq%20%27o%27%27brien%40contoso.com%27"
                   "&$top=100&$expand=alerts");
  EXPECT_EQ(r.headers.get("authorization"), "Bearer tok-graph");
  EXPECT_EQ(token_resources, std::vector<std::string>{"https://graph.microsoft.com"});
}

TEST_F(ApiIncidents, GetAndNotFound) {
  transport->push(200, testing::read_api_data("legacy_update_incident_response.json"));
  transport->push(404, R"({"error":{"code":"ResourceNotFound","message":"Incident 5 was not found","target":"t-1"}})");
  auto c = client(Dialect::legacy);
  auto inc = c.get("924521");
  ASSERT_TRUE(inc) << inc.error().message;
  EXPECT_EQ(inc->incident_id, "924521");
  EXPECT_EQ(inc->tenant_id, "fabrikam.onmicrosoft.com");
  EXPECT_EQ(transport->requests().at(0).url, "https://api.security.microsoft.com/api/incidents/924521");
  auto missing = c.get("5");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_EQ(missing.error().code, "ResourceNotFound");
  EXPECT_EQ(missing.error().request_id, "t-1");
  EXPECT_EQ(missing.error().http_status, 404);
  EXPECT_EQ(missing.error().message, "GET /api/incidents/5 for tenant fabrikam.onmicrosoft.com failed with 404 Not Found: "
                                     "ResourceNotFound: Incident 5 was not found (no such resource in this tenant)");
  auto bad = c.get("12; DROP");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::config);
  EXPECT_EQ(transport->count(), 2u);
}

TEST_F(ApiIncidents, LegacyUpdateSendsTheDocumentedBody) {
  transport->push(200, testing::read_api_data("legacy_update_incident_response.json"));
  auto c = client(Dialect::legacy);
  IncidentPatch p;
  p.status = IncidentStatus::resolved;
  p.assigned_to = "secop2@contoso.com";
  p.classification = Classification::true_positive;
  p.determination = Determination::malware;
  p.tags = std::vector<std::string>{"Yossi's playground", "Don't mess with the Zohan"};
  p.comment = "pen testing";
  auto inc = c.update("924521", p);
  ASSERT_TRUE(inc) << inc.error().message;
  EXPECT_EQ(inc->status, IncidentStatus::resolved);
  auto r = transport->requests().at(0);
  EXPECT_EQ(r.method, "PATCH");
  EXPECT_EQ(r.url, "https://api.security.microsoft.com/api/incidents/924521");
  EXPECT_EQ(r.headers.get("content-type"), "application/json");
  EXPECT_EQ(r.headers.get("authorization"), "Bearer tok-xdr");
  // The body is the "Request data example" of Microsoft's update-incident page, key for key.
  EXPECT_EQ(Json::parse(r.body), Json::parse(testing::read_api_data("legacy_update_incident_request.json")));
  EXPECT_EQ(r.body, R"({"status":"Resolved","assignedTo":"secop2@contoso.com","classification":"TruePositive",)"
                    R"("determination":"Malware","tags":["Yossi's playground","Don't mess with the Zohan"],"comment":"pen testing"})");
}

TEST_F(ApiIncidents, GraphUpdatePatchesThenPostsTheComment) {
  const std::string incident = R"({"id":"2972395","status":"resolved","classification":"truePositive",
    "determination":"malware","customTags":["x"],"comments":[]})";
  transport->push(200, incident);
  transport->push(200, R"J({"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Collection(microsoft.graph.security.alertComment)",
    "value":[{"comment":"checked","createdByDisplayName":"Contoso MSSP","createdDateTime":"2026-01-01T00:00:00Z"}]})J");
  auto c = client(Dialect::graph);
  IncidentPatch p;
  p.status = IncidentStatus::resolved;
  p.assigned_to = "";
  p.classification = Classification::true_positive;
  p.determination = Determination::compromised_user;
  p.tags = std::vector<std::string>{"x"};
  p.comment = "checked";
  auto inc = c.update("2972395", p);
  ASSERT_TRUE(inc) << inc.error().message;
  ASSERT_EQ(inc->comments.size(), 1u);
  EXPECT_EQ(inc->comments[0].comment, "checked");
  EXPECT_EQ(inc->comments[0].created_by, "Contoso MSSP");
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "PATCH");
  EXPECT_EQ(requests[0].url, "https://graph.microsoft.com/v1.0/security/incidents/2972395");
  EXPECT_EQ(requests[0].body, R"({"status":"resolved","assignedTo":null,"classification":"truePositive",)"
                              R"("determination":"compromisedUser","customTags":["x"]})");
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].url, "https://graph.microsoft.com/v1.0/security/incidents/2972395/comments");
  EXPECT_EQ(requests[1].headers.get("content-type"), "application/json");
  EXPECT_EQ(requests[1].body, R"({"@odata.type":"microsoft.graph.security.alertComment","comment":"checked"})");
}

TEST_F(ApiIncidents, PatchIsCheckedBeforeSending) {
  auto c = client(Dialect::legacy);
  IncidentPatch p;
  p.classification = Classification::false_positive;
  p.determination = Determination::malware;
  auto r = c.update("1", p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::config);
  EXPECT_EQ(r.error().message, "determination Malware does not belong to classification FalsePositive: use one of "
                               "Clean, InsufficientData, Other");
  IncidentPatch awaiting;
  awaiting.status = IncidentStatus::awaiting_action;
  EXPECT_FALSE(c.update("1", awaiting));
  EXPECT_TRUE(check_patch(awaiting, Dialect::graph));
  IncidentPatch apt;
  apt.determination = Determination::apt;
  EXPECT_NE(c.update("1", apt).error().message.find("deprecated"), std::string::npos);
  EXPECT_FALSE(c.update("1", IncidentPatch{}));
  IncidentPatch empty_tag;
  empty_tag.tags = std::vector<std::string>{"ok", " "};
  EXPECT_FALSE(c.update("1", empty_tag));
  EXPECT_EQ(transport->count(), 0u);
}

TEST_F(ApiIncidents, A429WaitsForRetryAfterThenSucceeds) {
  transport->push(429, R"({"error":{"code":"429","message":"API calls quota exceeded! maximum allowed 50 per 00:01:00","target":"x"}})",
                  {{"Retry-After", "7"}});
  transport->push(200, page_json({incident_json(1)}));
  auto c = client(Dialect::legacy);
  const auto before = clock->now();
  auto all = c.list_all(ListOptions{});
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(transport->count(), 2u);
  ASSERT_EQ(sleeps.size(), 1u);
  EXPECT_GE(sleeps[0], std::chrono::milliseconds(7000));
  EXPECT_LE(sleeps[0], std::chrono::milliseconds(7001));
  EXPECT_GE(clock->now() - before, std::chrono::seconds(7));
}

TEST_F(ApiIncidents, PersistentThrottlingIsARateLimitedError) {
  for (int i = 0; i < 4; ++i)
    transport->push(429, R"({"error":{"code":"429","message":"API calls quota exceeded! maximum allowed 1500 per 01:00:00","target":"x"}})",
                    {{"Retry-After", "2"}});
  auto c = client(Dialect::legacy);
  auto r = c.get("1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(r.error().retry_after, std::chrono::seconds(2));
  EXPECT_EQ(transport->count(), 4u); // the first try and 3 retries
  EXPECT_NE(r.error().message.find("maximum allowed 1500 per 01:00:00"), std::string::npos);
}

TEST_F(ApiIncidents, ErrorsNeverCarryTheToken) {
  transport->push(401, R"({"error":{"code":"Unauthorized","message":"Unauthorized request","target":"x"}})");
  transport->push(200, "<html><body>Service Unavailable</body></html>");
  auto c = client(Dialect::legacy);
  auto r = c.get("1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::unauthorized);
  EXPECT_EQ(r.error().message.find("tok-"), std::string::npos);
  auto html = c.get("1");
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().kind, ErrorKind::invalid_response);
  EXPECT_NE(html.error().message.find("HTML"), std::string::npos);
  EXPECT_EQ(html.error().message.find("tok-"), std::string::npos);
}

TEST_F(ApiIncidents, TokenFailureNamesTheTenantAndResource) {
  IncidentsClient c(transport, [](const std::string&) -> Result<std::string> {
    return fail(ErrorKind::forbidden, "AADSTS700016: not consented");
  }, options(Dialect::legacy));
  auto r = c.get("1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::forbidden);
  EXPECT_EQ(r.error().message, "getting a token for https://api.security.microsoft.com in tenant fabrikam.onmicrosoft.com "
                               "failed: AADSTS700016: not consented");
  EXPECT_EQ(transport->count(), 0u);
}

} // namespace
} // namespace xdr::api
