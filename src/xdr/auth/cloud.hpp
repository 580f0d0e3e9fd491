#pragma once
// Microsoft clouds (global, GCC, GCC High, DoD): their Entra ID login host and the Defender XDR,
// MDE and Graph hosts; resource aliases; tenant checks for the client-credentials grant.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <xdr/util/result.hpp>

namespace xdr::auth {

enum class Cloud { global, gcc, gcc_high, dod };

struct CloudEndpoints {
  Cloud cloud = Cloud::global;
  std::string_view name;       // "global", "gcc", "gcc-high", "dod"
  std::string_view login_host; // "https://login.microsoftonline.com"
  std::string_view xdr_api;    // Defender XDR API base and token resource
  std::string_view mde_api;    // Defender for Endpoint API base and token resource
  std::string_view graph_api;  // Microsoft Graph base and token resource
};

// The hosts of `cloud` (Microsoft's US Government pages; gov token audiences are the API hosts).
const CloudEndpoints& endpoints(Cloud cloud);
std::string_view to_string(Cloud cloud);
// Parses "global" (also "public", "commercial"), "gcc", "gcc-high" ("gcchigh"), "dod"; any case.
Result<Cloud> parse_cloud(std::string_view name);

// Reads one environment variable; nullopt when unset. Tests pass a map-backed function.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;
// The real process environment.
Environment process_environment();

// Normalises an authority host override such as "https://127.0.0.1:8443/" to
// "https://127.0.0.1:8443". Errors when it is not https://host[:port] (no path, query or userinfo).
Result<std::string> normalize_authority_host(std::string_view host);

// The authority host to use: `override_host` when not empty, else AZURE_AUTHORITY_HOST from
// `env` when set, else the cloud's login host. Errors on a malformed override.
Result<std::string> resolve_authority_host(Cloud cloud, std::string_view override_host, const Environment& env);

// Refuses "common", "organizations" and "consumers" (a client-credentials token belongs to one
// tenant), the all-zero GUID, and anything that is neither a GUID nor a DNS name.
Status validate_tenant_for_client_credentials(std::string_view tenant);

// Maps "xdr", "mde" or "graph" to the cloud's resource URI; any other value must be an absolute
// https:// URI (or an api:// URI, or an application GUID) and is returned unchanged.
Result<std::string> resolve_resource(std::string_view alias_or_uri, Cloud cloud);
// Same, without allocating when `alias_or_uri` is already a URI: returns a view of the cloud's
// constant for an alias, or of `alias_or_uri` itself. Errors like resolve_resource.
Result<std::string_view> resolve_resource_view(std::string_view alias_or_uri, Cloud cloud);

// The v2 scope for `resource`: resource + "/.default" (so "https://x/" gives "https://x//.default").
std::string default_scope(std::string_view resource);

} // namespace xdr::auth
