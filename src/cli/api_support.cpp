#include <cli/api_support.hpp>

#include <xdr/api/endpoints.hpp>
#include <xdr/api/quota.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

void add_api_flags(CLI::App& app, ApiFlags& flags, bool with_mde) {
  const char* g = "API";
  if (with_mde) {
    app.add_option("--api", flags.api, "legacy (Defender XDR advancedhunting/run, default) | mde (advancedqueries/run) | graph (runHuntingQuery)")
        ->check(CLI::IsMember({"legacy", "mde", "graph"}, CLI::ignore_case))
        ->group(g);
  } else {
    app.add_option("--api", flags.api, "legacy (Defender XDR API /api/incidents, default) | graph (/v1.0/security/incidents)")
        ->check(CLI::IsMember({"legacy", "graph"}, CLI::ignore_case))
        ->group(g);
  }
  app.add_option("--api-base", flags.api_base,
                 "Defender API base URL, e.g. the emulator's (env XDR_API_BASE; default: the cloud's host)")
      ->group(g);
  app.add_option("--graph-base", flags.graph_base,
                 "Graph base URL (env XDR_GRAPH_BASE; default: --api-base when given, else the cloud's Graph host)")
      ->group(g);
  app.add_option("--region", flags.region,
                 "us | eu | uk | au | swa | none: the regional Defender API host (global cloud); across tenants it "
                 "wins over each tenant's registry region (--api-base wins over both)")
      ->group(g);
}

Result<ApiSetup> api_setup(Context& ctx, const ApiFlags& flags, api::Dialect dialect, const char* command) {
  XDR_TRY_ASSIGN(const Settings* s, ctx.settings());
  if (s->tenant.empty())
    return fail(ErrorKind::config, std::string(command) + " needs the customer's tenant: --tenant ID-or-domain (or AZURE_TENANT_ID)");
  XDR_TRY_ASSIGN(api::Region region, api::parse_region(flags.region));
  api::EndpointOverrides overrides = api::overrides_from_environment(ctx.io().env, {flags.api_base, flags.graph_base});
  XDR_TRY_ASSIGN(api::ApiEndpoints endpoints, api::resolve_endpoints(s->cloud, region, overrides));
  XDR_TRY_ASSIGN(auth::AuthClient * auth, ctx.auth_client());
  ApiSetup setup;
  setup.options.tenant = s->tenant;
  setup.options.dialect = dialect;
  setup.options.endpoints = std::move(endpoints);
  api::QuotaBudgetOptions quota;
  quota.clock = ctx.io().clock;
  setup.options.budget = std::make_shared<api::QuotaBudget>(quota);
  const std::string tenant = s->tenant;
  setup.tokens = [auth, tenant](const std::string& resource) -> Result<std::string> {
    auto token = auth->get_token(tenant, resource);
    if (!token) return fail(token.error());
    return std::string(token->value().reveal());
  };
  setup.transport = ctx.transport();
  return setup;
}

Result<api::ApiEndpoints> tenant_endpoints(const api::TenantEndpoints& endpoints, const fleet::TenantRef& tenant) {
  auto resolved = endpoints.for_tenant(tenant.region);
  if (resolved) return resolved;
  const std::string who = tenant.name.empty() || tenant.name == tenant.tenant_id
                              ? tenant.tenant_id
                              : tenant.name + " (" + tenant.tenant_id + ")";
  // A known region outside the run's cloud is fixed by dropping it; an unknown one by naming the right one.
  const std::string example = api::parse_region(tenant.region) ? "none" : "eu";
  return fail(ErrorKind::config, "tenant " + who + ": " + resolved.error().message +
                                     "; nothing was sent rather than guess its host. Fix its registration, e.g. "
                                     "xdrpartner tenants set " + tenant.tenant_id + " --region " + example +
                                     ", or give this run --region to send every tenant to one host");
}

int report_api_error(Context& ctx, const Error& error) {
  const int code = ctx.report(error);
  const bool forbidden = error.kind == ErrorKind::forbidden && error.http_status == 403;
  if (forbidden) {
    if (auto auth = ctx.auth_client()) {
      ctx.io().err << "  to grant the permission: add it to the app (API permissions > Application permissions), grant "
                      "admin consent in the partner tenant, then have the customer's administrator open the consent "
                      "link again: "
                   << (*auth)->consent_link() << "\n";
    }
  }
  return code;
}

OutputFormat output_format(const Context& ctx) {
  return parse_output_format(ctx.options().output).value_or(OutputFormat::table);
}

} // namespace xdr::cli
