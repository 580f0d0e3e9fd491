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

// Reads XDR_API_BASE and XDR_GRAPH_BASE from `env` into overrides (explicit values win).
EndpointOverrides overrides_from_environment(const auth::Environment& env, EndpointOverrides explicit_values = {});

} // namespace xdr::api
