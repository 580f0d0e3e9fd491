#pragma once
// What the API commands (incidents, hunt) share: the --api / --api-base / --graph-base / --region flags,
// building the clients' options and token provider from the Context, and reporting their errors (with the
// consent link when the tenant has not consented or the app lacks a permission).

#include <string>

#include <CLI/CLI.hpp>

#include <cli/context.hpp>
#include <cli/output.hpp>
#include <xdr/api/client.hpp>
#include <xdr/api/endpoints.hpp>
#include <xdr/fleet/fan_out.hpp>

namespace xdr::cli {

struct ApiFlags {
  std::string api = "legacy"; // legacy | graph (hunt: also mde)
  std::string api_base;       // XDR_API_BASE
  std::string graph_base;     // XDR_GRAPH_BASE
  std::string region;
};

// Adds --api, --api-base, --graph-base and --region to `app`.
void add_api_flags(CLI::App& app, ApiFlags& flags, bool with_mde);

// The client options (tenant, endpoints, dialect) and a token provider over the Context's AuthClient for the
// tenant. Errors: no tenant (config), a bad base URL or region (config), no credential (config).
struct ApiSetup {
  api::ClientOptions options;
  api::TokenProvider tokens;
  std::shared_ptr<http::Transport> transport;
};
Result<ApiSetup> api_setup(Context& ctx, const ApiFlags& flags, api::Dialect dialect, const char* command);

// The endpoints of `tenant` in a run over many tenants: its registry region's hosts unless the run's --region
// decides (see api::TenantEndpoints). Errors (config) name the tenant, its registry region and the fix.
Result<api::ApiEndpoints> tenant_endpoints(const api::TenantEndpoints& endpoints, const fleet::TenantRef& tenant);

// Prints `error` like Context::report and, when the tenant has not consented or the token lacks a
// permission, the consent link to send to the customer's administrator. Returns the exit code.
int report_api_error(Context& ctx, const Error& error);

// The --output format of this run (table when the global option is unknown to the API commands).
OutputFormat output_format(const Context& ctx);

} // namespace xdr::cli
