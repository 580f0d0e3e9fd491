#pragma once
// The checks `doctor` (one tenant, step by step) and `tenants check` (every tenant, in parallel) share:
// roles present against roles needed, and the Defender XDR API probe.

#include <optional>
#include <string>
#include <vector>

#include <cli/context.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/util/json.hpp>

namespace xdr::cli {

// The roles of a token for one resource against what the configured features need.
struct RoleCheck {
  std::vector<std::string> present;
  std::vector<std::string> needed;
  std::vector<std::string> missing;
};

// Compares the "roles" claim of `claims` with the settings' required roles for `alias` (or its `uri`).
RoleCheck check_roles(const Settings& settings, const std::string& alias, const std::string& uri, const Json& claims);

// The portal name of a resource's API permissions ("Microsoft Threat Protection" for xdr).
std::string permission_api_name(const std::string& alias);

// How the Defender XDR API answered GET {api_base}/api/incidents?$top=1.
struct ApiProbe {
  enum class Outcome { ok, warn, fail };
  Outcome outcome = Outcome::fail;
  std::string detail;              // "GET {url}: 200, the token is accepted (1 incident(s) on the first page)"
  std::vector<std::string> notes;  // the service's message or advice
  std::optional<int> http_status;  // nullopt: unreachable
  // The probe as an error for a fan-out envelope (kind from the status: transport, unauthorized, forbidden,
  // rate_limited, invalid_response, server). Only meaningful when outcome is not ok.
  Error error() const;
};

// Sends the probe with `token`; never fails (an unreachable API is a failed probe).
ApiProbe probe_defender_api(http::Transport& transport, const std::string& api_base, const std::string& token);

// The Defender XDR API base: `flag`, else XDR_API_BASE from the environment, else the cloud's.
std::string defender_api_base(const std::string& flag, const auth::Environment& env, auth::Cloud cloud);

} // namespace xdr::cli
