// ApiIncidentFeed over a FakeTransport: the incremental $filter per dialect, the declared order, pages handed
// on with each incident under the tenant, the sink's error stopping the paging, and the shared per-tenant
// quota budget; then sync_tenant over it end to end into a fake-free SQLite store.

#include <gtest/gtest.h>

#include <filesystem>

#include <xdr/api/endpoints.hpp>
#include <xdr/store/sqlite_store.hpp>
#include <xdr/sync/api_feed.hpp>
#include <xdr/util/time.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

namespace xdr::sync {
namespace {

using testing::FakeClock;
using testing::FakeTransport;

const std::string k_fabrikam = "3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e";
const std::string k_northwind = "7c4e1a9b-2d3f-4a5b-9c6d-8e7f0a1b2c3d";

fleet::TenantRef ref(const std::string& tenant_id, const std::string& region = "") {
  fleet::TenantRef tenant;
  tenant.tenant_id = tenant_id;
  tenant.region = region;
  return tenant;
}

std::string incident_json(int id, const char* updated) {
  return R"({"incidentId":)" + std::to_string(id) + R"(,"incidentName":"i)" + std::to_string(id) +
         R"(","createdTime":"2026-01-01T00:00:00Z","lastUpdateTime":")" + updated +
         R"(","assignedTo":null,"classification":"Unknown","determination":"NotAvailable","status":"Active",)"
         R"("severity":"High","tags":[],"comments":[],"alerts":[]})";
}

std::string page_json(const std::vector<std::string>& incidents) {
  std::string body = R"({"@odata.context":"https://api.security.microsoft.com/api/$metadata#Incidents","value":[)";
  for (size_t i = 0; i < incidents.size(); ++i) body += (i ? "," : "") + incidents[i];
  return body + "]}";
}

struct ApiFeed : ::testing::Test {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::vector<std::pair<std::string, std::string>> token_calls; // (tenant, resource)
  std::vector<std::chrono::milliseconds> sleeps;

  ApiFeedOptions options(api::Dialect dialect, api::QuotaLimits limits = api::QuotaLimits::incidents()) {
    ApiFeedOptions o;
    o.dialect = dialect;
    o.endpoints = api::resolve_endpoints(auth::Cloud::global).value();
    o.transport = transport;
    o.tokens = [this](const std::string& tenant, const std::string& resource) -> Result<std::string> {
      token_calls.emplace_back(tenant, resource);
      return std::string("tok");
    };
    api::QuotaBudgetOptions q;
    q.incidents = limits;
    q.clock = clock;
    q.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      clock->advance(std::chrono::duration_cast<std::chrono::seconds>(d + std::chrono::milliseconds(999)));
    };
    o.budget = std::make_shared<api::QuotaBudget>(q);
    o.page_size = 2;
    return o;
  }
  // Every request is answered with an empty page.
  void answer_empty_pages() {
    transport->set_handler([](const http::Request&) -> Result<http::Response> {
      http::Response r;
      r.status = 200;
      r.body = page_json({});
      return r;
    });
  }
};

TEST_F(ApiFeed, LegacyAsksFromSinceNewestFirstAndHandsOnEveryPage) {
  ApiIncidentFeed feed(options(api::Dialect::legacy));
  EXPECT_EQ(feed.api(), "legacy");
  EXPECT_EQ(feed.order(), FeedOrder::newest_first);
  transport->push(200, page_json({incident_json(9, "2026-01-05T00:00:00Z"), incident_json(8, "2026-01-04T00:00:00Z")}));
  transport->push(200, page_json({incident_json(7, "2026-01-03T00:00:00Z")}));
  const auto since = util::parse_rfc3339("2026-01-02T23:55:00.5Z").value();
  std::vector<std::vector<std::string>> pages;
  auto done = feed.list_updated_since(ref(k_fabrikam), since, [&](std::vector<api::Incident>&& page) -> Status {
    pages.emplace_back();
    for (const auto& i : page) {
      EXPECT_EQ(i.tenant_id, k_fabrikam);
      pages.back().push_back(i.incident_id);
    }
    return {};
  });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{{"9", "8"}, {"7"}}));
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  const std::string first = "https://api.security.microsoft.com/api/incidents?$filter=lastUpdateTime%20ge%20"
                            "2026-01-02T23%3A55%3A00.5Z&$top=2";
  EXPECT_EQ(requests[0].url, first);
  EXPECT_EQ(feed.first_page_url(ref(k_fabrikam), since).value(), first);
  EXPECT_EQ(requests[1].url, first + "&$skip=2");
  EXPECT_EQ(requests[0].headers.get("authorization"), "Bearer tok");
  ASSERT_EQ(token_calls.size(), 2u);
  EXPECT_EQ(token_calls[0], std::make_pair(k_fabrikam, std::string("https://api.security.microsoft.com")));
}

TEST_F(ApiFeed, GraphFiltersOnLastUpdateDateTimeWithAlertsAndPromisesNoOrder) {
  ApiIncidentFeed feed(options(api::Dialect::graph));
  EXPECT_EQ(feed.api(), "graph");
  EXPECT_EQ(feed.order(), FeedOrder::unordered);
  const std::string url = feed.first_page_url(ref(k_fabrikam), util::parse_rfc3339("2026-01-02T00:00:00Z").value()).value();
  EXPECT_EQ(url, "https://graph.microsoft.com/v1.0/security/incidents?$filter=lastUpdateDateTime%20ge%20"
                 "2026-01-02T00%3A00%3A00Z&$top=2&$expand=alerts");
  EXPECT_EQ(feed.first_page_url(ref(k_fabrikam), std::nullopt).value(),
            "https://graph.microsoft.com/v1.0/security/incidents?$top=2&$expand=alerts");
}

TEST_F(ApiFeed, TheSinksErrorStopsPagingAndIsReturned) {
  ApiIncidentFeed feed(options(api::Dialect::legacy));
  transport->push(200, page_json({incident_json(9, "2026-01-05T00:00:00Z"), incident_json(8, "2026-01-04T00:00:00Z")}));
  auto done = feed.list_updated_since(ref(k_fabrikam), std::nullopt, [](std::vector<api::Incident>&&) -> Status {
    return fail(ErrorKind::storage, "disk full");
  });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, ErrorKind::storage);
  EXPECT_EQ(transport->count(), 1u);
}

TEST_F(ApiFeed, TheServicesErrorIsReturned) {
  ApiIncidentFeed feed(options(api::Dialect::legacy));
  transport->push(403, R"({"error":{"code":"Forbidden","message":"Missing application roles."}})");
  auto done = feed.list_updated_since(ref(k_fabrikam), std::nullopt, [](std::vector<api::Incident>&&) -> Status { return {}; });
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().kind, ErrorKind::forbidden);
}

TEST_F(ApiFeed, EveryTenantHasItsOwnBudgetSharedAcrossCalls) {
  // One call per minute per tenant: the second tenant does not wait for the first, the first's second call does.
  ApiIncidentFeed feed(options(api::Dialect::legacy, api::QuotaLimits{{{1, std::chrono::seconds(60)}}}));
  answer_empty_pages();
  auto none = [](std::vector<api::Incident>&&) -> Status { return {}; };
  ASSERT_TRUE(feed.list_updated_since(ref(k_fabrikam), std::nullopt, none));
  ASSERT_TRUE(feed.list_updated_since(ref(k_northwind), std::nullopt, none));
  EXPECT_TRUE(sleeps.empty());
  ASSERT_TRUE(feed.list_updated_since(ref(k_fabrikam), std::nullopt, none));
  ASSERT_EQ(sleeps.size(), 1u);
  EXPECT_GT(sleeps[0], std::chrono::seconds(50));
}

TEST_F(ApiFeed, EachTenantIsListedAtItsOwnEndpoints) {
  // The feed asks for each tenant's endpoints; the CLI gives its registry region's (api::TenantEndpoints).
  ApiFeedOptions o = options(api::Dialect::legacy);
  auto hosts = api::TenantEndpoints::create(auth::Cloud::global, "").value();
  std::vector<std::string> asked;
  o.tenant_endpoints = [&](const fleet::TenantRef& tenant) {
    asked.push_back(tenant.tenant_id + ":" + tenant.region);
    return hosts.for_tenant(tenant.region);
  };
  ApiIncidentFeed feed(std::move(o));
  answer_empty_pages();
  auto none = [](std::vector<api::Incident>&&) -> Status { return {}; };
  ASSERT_TRUE(feed.list_updated_since(ref(k_fabrikam, "eu"), std::nullopt, none));
  ASSERT_TRUE(feed.list_updated_since(ref(k_northwind), std::nullopt, none));
  auto mars = feed.list_updated_since(ref(k_northwind, "mars"), std::nullopt, none);
  ASSERT_FALSE(mars);
  EXPECT_EQ(mars.error().kind, ErrorKind::config);
  EXPECT_NE(mars.error().message.find("'mars'"), std::string::npos);
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u) << "nothing is sent for a tenant without endpoints";
  EXPECT_EQ(requests[0].url, "https://api-eu.security.microsoft.com/api/incidents?$top=2");
  EXPECT_EQ(requests[1].url, "https://api.security.microsoft.com/api/incidents?$top=2");
  EXPECT_EQ(feed.first_page_url(ref(k_fabrikam, "uk"), std::nullopt).value(),
            "https://api-uk.security.microsoft.com/api/incidents?$top=2");
  EXPECT_EQ(asked, (std::vector<std::string>{k_fabrikam + ":eu", k_northwind + ":", k_northwind + ":mars",
                                             k_fabrikam + ":uk"}));
  // The token is asked for the global audience whatever the host.
  for (const auto& call : token_calls) EXPECT_EQ(call.second, "https://api.security.microsoft.com");
}

TEST_F(ApiFeed, SyncTenantOverTheFeedMovesTheWatermarkWithTheLastPageOnly) {
  const auto path = std::filesystem::temp_directory_path() / ("test-sync-api-feed-" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  auto db = store::SqliteStore::open(path.string());
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE((*db)->add_tenants({store::Tenant{k_fabrikam, "Fabrikam"}}, store::OnExisting::fail));
  ApiIncidentFeed feed(options(api::Dialect::legacy));
  transport->push(200, page_json({incident_json(9, "2026-01-05T00:00:00Z"), incident_json(8, "2026-01-04T00:00:00Z")}));
  transport->push(503, R"({"error":{"code":"ServiceUnavailable","message":"try later"}})");
  clock->set(util::parse_rfc3339("2026-02-01T00:00:00Z").value()); // after the data: no cap at the run's start
  SyncOptions o;
  o.clock = clock;
  auto failed = sync_tenant(**db, feed, k_fabrikam, o);
  ASSERT_FALSE(failed);
  // The first page is kept, but the watermark did not move: the next run asks for everything again.
  EXPECT_EQ((*db)->incidents(k_fabrikam)->size(), 2u);
  EXPECT_FALSE((*db)->watermark(k_fabrikam, "legacy").value());
  transport->push(200, page_json({incident_json(9, "2026-01-05T00:00:00Z"), incident_json(8, "2026-01-04T00:00:00Z")}));
  transport->push(200, page_json({incident_json(7, "2026-01-03T00:00:00Z")}));
  auto ok = sync_tenant(**db, feed, k_fabrikam, o);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ((*db)->incidents(k_fabrikam)->size(), 3u);
  EXPECT_EQ((*db)->watermark(k_fabrikam, "legacy").value(), util::parse_rfc3339("2026-01-05T00:00:00Z"));
  auto requests = transport->requests();
  EXPECT_EQ(requests[2].url.find("$filter"), std::string::npos); // the failed run left no watermark
  db->reset();
  std::filesystem::remove(path);
  std::filesystem::remove(path.string() + "-wal");
  std::filesystem::remove(path.string() + "-shm");
}

} // namespace
} // namespace xdr::sync
