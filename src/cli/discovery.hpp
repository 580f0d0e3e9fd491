#pragma once
// Tenant discovery through the authority's OpenID configuration: is the tenant known, what is its
// ID (a domain resolves to a GUID), and what Date did the authority send (for the clock check).

#include <optional>
#include <string>

#include <xdr/auth/cloud.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::cli {

struct TenantDiscovery {
  std::string metadata_url;
  std::string tenant_id;                 // the GUID in the metadata's token_endpoint
  std::optional<util::TimePoint> date;   // the response's Date header, when sent
};

// GETs "{authority}/{tenant}/v2.0/.well-known/openid-configuration". Errors: the transport's error
// (unreachable), an Entra error mapped with advice (AADSTS90002: unknown tenant, kind not_found),
// or invalid_response when the document names no token endpoint with a tenant GUID.
Result<TenantDiscovery> discover_tenant(http::Transport& transport, const std::string& authority,
                                        const std::string& tenant, auth::Cloud cloud, util::TimePoint now);

} // namespace xdr::cli
