#pragma once
// Where the API calls go: cloud (auth::Cloud, whose per-cloud hosts this builds on) and region to the
// documented hosts, with overrides for the emulator.
//
// Global: https://api.security.microsoft.com; regional Defender XDR hosts us/eu/uk as written in the XDR
// "supported APIs" page (api-us.security.microsoft.com ...), au and swa as written in the shared
// "improve request performance" page (au.api.security.microsoft.com ...); MDE regional api-xx.securitycenter.
// GCC: api-gcc.security.microsoft.us; GCC High and DoD: api-gov.security.microsoft.us. Graph:
// graph.microsoft.com (global, GCC), graph.microsoft.us (GCC High), dod-graph.microsoft.us (DoD).
// Tokens are always asked for the cloud's resource (a regional host takes the global audience).

#include <optional>
#include <string>
#include <string_view>

#include <xdr/api/model.hpp>
#include <xdr/auth/cloud.hpp>
#include <xdr/util/result.hpp>

namespace xdr::api {

enum class Region { none, us, eu, uk, au, swa };

// Parses "us", "eu", "uk", "au", "swa" or "" / "none" (no region); any case.
Result<Region> parse_region(std::string_view text);
std::string_view to_string(Region region);

struct EndpointOverrides {
  std::string api_base;   // Defender XDR / MDE base (e.g. the emulator's URL); empty: the cloud's
  std::string graph_base; // Graph base; empty: api_base when that is set (the emulator serves both), else the cloud's
};

// Bases without a trailing slash, and the token resources for them.
struct ApiEndpoints {
  std::string xdr_base;   // "https://api.security.microsoft.com"; incidents at {xdr_base}/api/incidents
  std::string mde_base;   // "https://api.securitycenter.microsoft.com"
  std::string graph_base; // "https://graph.microsoft.com"; incidents at {graph_base}/v1.0/security/incidents
  std::string xdr_resource;
  std::string mde_resource;
  std::string graph_resource;

  // The base and token resource of a dialect.
  const std::string& base(Dialect dialect) const { return dialect == Dialect::legacy ? xdr_base : graph_base; }
  const std::string& resource(Dialect dialect) const { return dialect == Dialect::legacy ? xdr_resource : graph_resource; }
};

// Errors (config) on a region outside the global cloud and on an override that is not an absolute
// http(s) URL without query or fragment.
Result<ApiEndpoints> resolve_endpoints(auth::Cloud cloud, Region region = Region::none,
                                       const EndpointOverrides& overrides = {});

// Where each tenant's calls go in a run over many tenants (sync, tenants check, --all-tenants). The run's
// region (--region), when given, is every tenant's, "none" included; otherwise the region a tenant is
// registered with picks its regional Defender XDR / MDE host, and a tenant without one gets the cloud's host.
// Overrides (the emulator, which serves every region) win over any region; Graph has no regional hosts; the
// token resources are the cloud's whatever the host. Immutable once made, so shared by the fan-out's workers.
class TenantEndpoints {
public:
  // `run_region`: the run's --region text; empty: not given. Errors (config): it is not a region, a region
  // outside the global cloud, an override that is not a base URL.
  static Result<TenantEndpoints> create(auth::Cloud cloud, std::string_view run_region,
                                        const EndpointOverrides& overrides = {});
  // The run's endpoints: its --region's hosts, else the cloud's (what a tenant without a region gets).
  const ApiEndpoints& run() const { return m_run; }
  // True when the run's --region decides every tenant's host.
  bool run_region_given() const { return m_run_region_given; }
  // The endpoints of a tenant registered with `registry_region` (free text: "eu", "EU"; "" or "none": none).
  // Errors (config), unless the run's region decides: a text that is not a region (never taken as global),
  // or a region outside the run's cloud. The message names the value and the regions; the caller names
  // the tenant.
  Result<ApiEndpoints> for_tenant(std::string_view registry_region) const;

private:
  TenantEndpoints() = default;

  auth::Cloud m_cloud = auth::Cloud::global;
  EndpointOverrides m_overrides;
  bool m_run_region_given = false;
  ApiEndpoints m_run;
};

// Reads XDR_API_BASE and XDR_GRAPH_BASE from `env` into overrides (explicit values win).
EndpointOverrides overrides_from_environment(const auth::Environment& env, EndpointOverrides explicit_values = {});

} // namespace xdr::api
