// `xdrpartner consent-url`: the links a customer's administrator opens to let the app in.

#include <memory>

#include <cli/commands/commands.hpp>
#include <xdr/auth/consent.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

struct ConsentUrlOptions {
  std::string redirect_uri = "https://portal.azure.com";
  std::string state;
  std::vector<std::string> resources;
  bool v1_only = false;
  bool v2_only = false;
};

int run_consent_url(Context& ctx, const ConsentUrlOptions& o) {
  auto settings = ctx.settings();
  if (!settings) return ctx.report(settings.error());
  const Settings& s = **settings;
  if (s.client_id.empty())
    return ctx.usage("consent-url needs the app's client ID: pass --client-id, set AZURE_CLIENT_ID, or put "
                     "\"client_id\" in the config file");
  if (!util::is_guid(s.client_id))
    return ctx.usage("client ID '" + s.client_id + "' is not a GUID: use the app's Application (client) ID");
  if (o.v1_only && o.v2_only) return ctx.usage("--v1 and --v2 exclude each other");

  const std::string v1 = auth::v1_consent_link(s.authority_host, s.client_id);
  struct V2Link {
    std::string resource;
    std::string url;
  };
  std::vector<V2Link> v2;
  const std::vector<std::string>& resources = o.resources.empty() ? s.resources : o.resources;
  for (const auto& r : resources) {
    auto uri = auth::resolve_resource(r, s.cloud);
    if (!uri) return ctx.usage("resource '" + r + "': " + uri.error().message);
    auth::AdminConsentOptions options;
    options.tenant = s.tenant;
    options.resource = *uri;
    options.redirect_uri = o.redirect_uri;
    options.state = o.state;
    v2.push_back({*uri, auth::v2_admin_consent_link(s.authority_host, s.client_id, options)});
  }
  const std::string tenant = s.tenant.empty() ? std::string("organizations") : s.tenant;

  auto& out = ctx.io().out;
  if (ctx.json_output()) {
    Json j = Json::object();
    j["client_id"] = s.client_id;
    if (!o.v2_only) j["v1"] = v1;
    if (!o.v1_only) {
      Json links = Json::array();
      for (const auto& l : v2)
        links.push_back({{"tenant", tenant}, {"resource", l.resource}, {"redirect_uri", o.redirect_uri}, {"url", l.url}});
      j["v2"] = links;
    }
    out << j.dump(2) << "\n";
    return k_exit_ok;
  }
  if (o.v1_only) {
    out << v1 << "\n";
    return k_exit_ok;
  }
  if (o.v2_only) {
    for (const auto& l : v2) out << l.url << "\n";
    return k_exit_ok;
  }
  out << "Consent link from Microsoft's Defender XDR partner guide (v1; an administrator of the customer tenant "
         "opens it and approves):\n"
      << v1 << "\n";
  for (const auto& l : v2) {
    out << "\nAdmin-consent link (v2; tenant " << tenant << ", scope " << auth::default_scope(l.resource)
        << ", redirect to " << o.redirect_uri << "):\n"
        << l.url << "\n";
  }
  if (s.tenant.empty())
    out << "\nNo tenant given: the v2 link uses 'organizations'. Pass --tenant with the customer's tenant ID to "
           "send the administrator straight to the right tenant.\n";
  return k_exit_ok;
}

} // namespace

Command add_consent_url(CLI::App& root, Context& ctx) {
  auto o = std::make_shared<ConsentUrlOptions>();
  CLI::App* app = root.add_subcommand("consent-url", "Print the admin-consent links for the app");
  app->add_option("--redirect-uri", o->redirect_uri, "Where the v2 link returns (must be registered on the app)")
      ->capture_default_str();
  app->add_option("--state", o->state, "Opaque value echoed back to the redirect URI (v2 link)");
  app->add_option("--resource", o->resources, "xdr | mde | graph | URI, repeatable (default: the configured resources, xdr)");
  app->add_flag("--v1", o->v1_only, "Print only the partner-guide v1 link (one line)");
  app->add_flag("--v2", o->v2_only, "Print only the v2 admin-consent link(s)");
  app->footer("The v1 link is exactly the one in Microsoft's partner guide:\n"
              "  https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=<id>"
              "&response_type=code&sso_reload=true\n"
              "Examples:\n"
              "  xdrpartner consent-url --client-id 6a3c9f2e-4b1d-4e8a-9c7b-2d5e8f1a3b6c --v1\n"
              "  xdrpartner consent-url --tenant 3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e --state onboarding-42\n" +
              std::string(k_exit_codes_help));
  return {app, [&ctx, o] { return run_consent_url(ctx, *o); }};
}

} // namespace xdr::cli
