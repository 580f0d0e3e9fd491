// `xdrpartner token get`: a client-credentials token for one customer tenant and resource.

#include <memory>

#include <cli/commands/commands.hpp>
#include <cli/output.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

struct TokenGetOptions {
  std::string resource = "xdr";
  std::string endpoint;
  bool raw = false;
  bool force_refresh = false;
};

int run_token_get(Context& ctx, const TokenGetOptions& o) {
  auto settings = ctx.settings();
  if (!settings) return ctx.report(settings.error());
  const Settings& s = **settings;
  if (s.tenant.empty())
    return ctx.usage("token get needs the customer's tenant: --tenant ID-or-domain (or AZURE_TENANT_ID)");
  std::optional<auth::EndpointVersion> endpoint;
  if (!o.endpoint.empty()) {
    auto v = auth::parse_endpoint_version(o.endpoint);
    if (!v) return ctx.usage("--endpoint '" + o.endpoint + "': use v1 or v2");
    endpoint = *v;
  }
  auto resource = auth::resolve_resource(o.resource, s.cloud);
  if (!resource) return ctx.usage("--resource '" + o.resource + "': " + resource.error().message);

  auto client = ctx.auth_client();
  if (!client) return ctx.report(client.error());
  auto result = o.force_refresh ? (*client)->refresh_token(s.tenant, o.resource, endpoint)
                                : (*client)->get_token(s.tenant, o.resource, endpoint);
  if (!result) return ctx.report(result.error());
  // Asked to refresh, a stale token is not an answer: the refresh itself failed.
  if (o.force_refresh && result->refresh_error) return ctx.report(*result->refresh_error);
  if (result->refresh_error)
    ctx.io().err << "warning: refreshing the token failed, a still-valid cached token is used: "
                 << result->refresh_error->message << "\n";

  auto& out = ctx.io().out;
  if (o.raw) {
    out << result->value().reveal() << "\n";
    return k_exit_ok;
  }

  const auto now = ctx.io().clock->now();
  Json claims = Json::object();
  if (auto decoded = jwt::decode(result->value().reveal())) claims = decoded->payload;
  const std::string tid = claim_string(claims, "tid");
  std::string app = claim_string(claims, "appid");
  if (app.empty()) app = claim_string(claims, "azp");
  const std::vector<std::string> roles = claim_roles(claims);
  const auth::EndpointVersion used = endpoint.value_or(s.endpoint);
  const int64_t expires_in = std::chrono::duration_cast<std::chrono::seconds>(result->expires_on() - now).count();

  if (ctx.json_output()) {
    Json j = {{"tenant", s.tenant},
              {"tenant_id", tid},
              {"resource", *resource},
              {"audience", claim_audience(claims)},
              {"app_id", app},
              {"roles", roles},
              {"token_version", claim_string(claims, "ver")},
              {"endpoint", std::string(auth::to_string(used))},
              {"expires_on", format_time(result->expires_on())},
              {"expires_in_seconds", expires_in},
              {"from_cache", result->from_cache}};
    out << j.dump(2) << "\n";
    return k_exit_ok;
  }
  std::vector<std::pair<std::string, std::string>> fields;
  fields.emplace_back("tenant", tid.empty() || util::iequals(tid, s.tenant) ? s.tenant : s.tenant + " (" + tid + ")");
  fields.emplace_back("resource", *resource);
  fields.emplace_back("audience", claims.empty() ? "(the token is not a JWT)" : claim_audience(claims));
  if (!app.empty()) fields.emplace_back("app", app);
  fields.emplace_back("roles", roles.empty() ? std::string("(none: no application permission of this resource is "
                                                           "granted to the app in this tenant)")
                                             : util::join(roles, ", "));
  if (auto ver = claim_string(claims, "ver"); !ver.empty()) fields.emplace_back("token version", ver);
  fields.emplace_back("endpoint", std::string(auth::to_string(used)));
  fields.emplace_back("expires", format_time_with_relative(result->expires_on(), now));
  fields.emplace_back("from cache", result->from_cache ? "yes" : "no (new token from Entra ID)");
  print_fields(out, fields);
  return k_exit_ok;
}

} // namespace

Command add_token_get(CLI::App& token, Context& ctx) {
  auto o = std::make_shared<TokenGetOptions>();
  CLI::App* app = token.add_subcommand("get", "Get an app-only access token for a customer tenant");
  app->add_option("--resource", o->resource, "xdr | mde | graph | URI (default xdr: https://api.security.microsoft.com)");
  app->add_option("--endpoint", o->endpoint, "v1 (resource=) or v2 (scope=.../.default, default)")
      ->check(CLI::IsMember({"v1", "v2"}));
  app->add_flag("--raw", o->raw, "Print only the token on standard output (for pipes and scripts)");
  app->add_flag("--force-refresh", o->force_refresh, "Ask Entra ID even when a cached token is still fresh");
  app->footer("Without --raw a summary is printed (tenant, audience, roles, expiry, from cache or not); the token "
              "itself is printed only with --raw.\n"
              "Examples:\n"
              "  xdrpartner token get --tenant fabrikam.onmicrosoft.com\n"
              "  xdrpartner token get --tenant 3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e --endpoint v1 --resource mde\n"
              "  TOKEN=$(xdrpartner token get --tenant fabrikam.onmicrosoft.com --raw)\n" +
              std::string(k_exit_codes_help));
  return {app, [&ctx, o] { return run_token_get(ctx, *o); }};
}

} // namespace xdr::cli
