#include <xdr/sync/api_feed.hpp>

namespace xdr::sync {

ApiIncidentFeed::ApiIncidentFeed(ApiFeedOptions options) : m_options(std::move(options)) {
  if (!m_options.transport || !m_options.tokens) throw Fatal("ApiIncidentFeed needs a transport and a token provider");
  if (!m_options.budget) m_options.budget = std::make_shared<api::QuotaBudget>();
}

std::string ApiIncidentFeed::api() const { return m_options.dialect == api::Dialect::legacy ? "legacy" : "graph"; }

FeedOrder ApiIncidentFeed::order() const {
  return m_options.dialect == api::Dialect::legacy ? FeedOrder::newest_first : FeedOrder::unordered;
}

Result<api::IncidentsClient> ApiIncidentFeed::client_for(const fleet::TenantRef& tenant) const {
  const std::string& tenant_id = tenant.tenant_id;
  api::ClientOptions options;
  options.tenant = tenant_id;
  options.dialect = m_options.dialect;
  if (m_options.tenant_endpoints) {
    XDR_TRY_ASSIGN(options.endpoints, m_options.tenant_endpoints(tenant));
  } else {
    options.endpoints = m_options.endpoints;
  }
  options.budget = m_options.budget;
  options.max_throttle_retries = m_options.max_throttle_retries;
  options.max_retry_after = m_options.max_retry_after;
  TenantTokenProvider tokens = m_options.tokens;
  return api::IncidentsClient(m_options.transport,
                              [tokens, tenant_id](const std::string& resource) { return tokens(tenant_id, resource); },
                              std::move(options));
}

api::ListOptions ApiIncidentFeed::list_options(std::optional<TimePoint> since) const {
  api::ListOptions list;
  if (since) list.filter.last_update_time(api::FilterOp::ge, *since);
  list.page_size = m_options.page_size;
  list.expand_alerts = true;
  return list;
}

Result<std::string> ApiIncidentFeed::first_page_url(const fleet::TenantRef& tenant, std::optional<TimePoint> since) const {
  XDR_TRY_ASSIGN(api::IncidentsClient client, client_for(tenant));
  return client.first_page_url(list_options(since));
}

Status ApiIncidentFeed::list_updated_since(const fleet::TenantRef& tenant, std::optional<TimePoint> since,
                                           const std::function<Status(std::vector<api::Incident>&&)>& on_page) {
  XDR_TRY_ASSIGN(api::IncidentsClient client, client_for(tenant));
  Status stopped_by_sink;
  auto listed = client.list(list_options(since), [&](std::vector<api::Incident>& page) {
    stopped_by_sink = on_page(std::move(page));
    return stopped_by_sink.has_value();
  });
  if (!stopped_by_sink) return stopped_by_sink;
  if (!listed) return tl::unexpected(listed.error());
  return {};
}

} // namespace xdr::sync
