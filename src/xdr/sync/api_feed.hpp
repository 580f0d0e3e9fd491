#pragma once
// The IncidentFeed over the Defender XDR (legacy) or Graph security incidents API: one IncidentsClient per
// tenant call, all drawing from one shared per-tenant quota budget, so a fleet-wide sync waits for each
// tenant's allowance instead of earning 429s.
//
// The order is declared as the services serve it, not as asked: the legacy API documents newest first
// (lastUpdateTime desc) and filters `lastUpdateTime ge X`; the Graph security API filters
// `lastUpdateDateTime ge X` and promises no order ($orderby is not honoured by every implementation; the
// emulator ignores it), so the watermark moves with a run's last page only on both.

#include <functional>
#include <memory>
#include <string>

#include <xdr/api/client.hpp>
#include <xdr/api/incidents_client.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/sync/sync_engine.hpp>

namespace xdr::sync {

// A bearer token for (tenant, resource URI); never logged.
using TenantTokenProvider = std::function<Result<std::string>(const std::string& tenant_id, const std::string& resource)>;

struct ApiFeedOptions {
  api::Dialect dialect = api::Dialect::legacy;
  api::ApiEndpoints endpoints;               // from api::resolve_endpoints
  // A tenant's own endpoints (its registry region's host: api::TenantEndpoints); an error fails that
  // tenant's run before any request is sent. Null: `endpoints` for every tenant.
  std::function<Result<api::ApiEndpoints>(const fleet::TenantRef&)> tenant_endpoints;
  std::shared_ptr<http::Transport> transport;
  TenantTokenProvider tokens;
  // Shared by every tenant (keyed by tenant inside) and by every round of `sync --watch`; null: a budget
  // with the documented limits made by the feed.
  std::shared_ptr<api::QuotaBudget> budget;
  int page_size = 100;                       // $top (Graph serves at most 50 a page whatever is asked)
  int max_throttle_retries = 3;              // 429s retried per call after Retry-After
  std::chrono::seconds max_retry_after{300}; // a longer Retry-After fails the tenant's run at once
};

class ApiIncidentFeed final : public IncidentFeed {
public:
  // Throws xdr::Fatal when the transport or the token provider is missing.
  explicit ApiIncidentFeed(ApiFeedOptions options);

  // "legacy" or "graph".
  std::string api() const override;
  // newest_first (legacy) or unordered (Graph); see the header comment.
  FeedOrder order() const override;
  // Lists the tenant's incidents with alerts (Graph: $expand=alerts) updated at or after `since`, page by page,
  // from the tenant's endpoints.
  Status list_updated_since(const fleet::TenantRef& tenant, std::optional<TimePoint> since,
                            const std::function<Status(std::vector<api::Incident>&&)>& on_page) override;

  // The first request's URL for a tenant and `since` (what the request log shows). Errors: as the tenant's
  // endpoints.
  Result<std::string> first_page_url(const fleet::TenantRef& tenant, std::optional<TimePoint> since) const;
  const std::shared_ptr<api::QuotaBudget>& budget() const { return m_options.budget; }

private:
  Result<api::IncidentsClient> client_for(const fleet::TenantRef& tenant) const;
  api::ListOptions list_options(std::optional<TimePoint> since) const;

  ApiFeedOptions m_options;
};

} // namespace xdr::sync
