// `xdrpartner token validate`: what a resource server would decide about a token.

#include <algorithm>
#include <memory>

#include <cli/commands/commands.hpp>
#include <cli/discovery.hpp>
#include <cli/output.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/validate/token_validator.hpp>

namespace xdr::cli {

namespace {

struct TokenValidateOptions {
  std::string token;
  std::vector<std::string> audiences;
  std::vector<std::string> required_roles;
};

void print_roles_diff(std::ostream& out, const std::vector<std::string>& required, const std::vector<std::string>& present) {
  std::vector<std::string> have, missing;
  for (const auto& r : required) {
    (std::find(present.begin(), present.end(), r) != present.end() ? have : missing).push_back(r);
  }
  out << "required roles:\n";
  out << "  present: " << (have.empty() ? std::string("(none)") : util::join(have, ", ")) << "\n";
  out << "  missing: " << (missing.empty() ? std::string("(none)") : util::join(missing, ", ")) << "\n";
}

int run_token_validate(Context& ctx, const TokenValidateOptions& o) {
  auto text = read_token_argument(o.token, ctx.io().in);
  if (!text) return ctx.usage(text.error().message);
  auto settings = ctx.settings();
  if (!settings) return ctx.report(settings.error());
  const Settings& s = **settings;
  const auto now = ctx.io().clock->now();

  validate::ValidationOptions options;
  options.authority = s.authority_host;
  options.required_roles = o.required_roles;
  if (o.audiences.empty()) {
    for (const char* alias : {"xdr", "mde"}) options.accepted_audiences.insert(*auth::resolve_resource(alias, s.cloud));
  } else {
    for (const auto& a : o.audiences) {
      auto uri = auth::resolve_resource(a, s.cloud);
      if (!uri) return ctx.usage("--audience '" + a + "': " + uri.error().message);
      options.accepted_audiences.insert(*uri);
    }
  }
  auto transport = ctx.transport();
  if (!s.tenant.empty()) {
    std::string tenant_id = util::to_lower(s.tenant);
    if (!util::is_guid(tenant_id)) {
      auto found = discover_tenant(*transport, s.authority_host, s.tenant, s.cloud, now);
      if (!found) {
        Error e = found.error();
        if (e.kind == ErrorKind::not_found) e.kind = ErrorKind::config;
        return ctx.report(e);
      }
      tenant_id = found->tenant_id;
    }
    options.expected_tenant = tenant_id;
  }

  auto keys = std::make_shared<validate::KeyStore>(transport, validate::KeyStoreOptions{}, ctx.io().clock);
  validate::TokenValidator validator(keys, options, ctx.io().clock);
  auto result = validator.validate(*text);
  auto& out = ctx.io().out;

  if (!result) {
    const validate::ValidationError& e = result.error();
    if (ctx.json_output()) {
      Json j = {{"valid", false}, {"reason", std::string(validate::to_string(e.reason))}, {"message", e.message}};
      if (!e.tenant_id.empty()) j["tenant_id"] = e.tenant_id;
      if (!e.app_id.empty()) j["app_id"] = e.app_id;
      if (!o.required_roles.empty() || e.reason == validate::Reason::missing_roles) {
        j["roles_present"] = e.present_roles;
        j["roles_missing"] = e.missing_roles;
      }
      out << j.dump(2) << "\n";
    } else {
      out << "valid:   no\n";
      out << "reason:  " << validate::to_string(e.reason) << "\n";
      out << "message: " << e.message << "\n";
      if (!e.tenant_id.empty()) out << "tenant:  " << e.tenant_id << "\n";
      if (!o.required_roles.empty() && (e.reason == validate::Reason::missing_roles || !e.present_roles.empty()))
        print_roles_diff(out, o.required_roles, e.present_roles);
    }
    // A key fetch that failed for a network or configuration reason is not the token's fault.
    if (e.reason == validate::Reason::key_fetch_failed && e.key_error) ctx.io().err << auth::describe_error(*e.key_error);
    return k_exit_failure;
  }

  const validate::ValidatedToken& t = *result;
  if (ctx.json_output()) {
    Json j = {{"valid", true},
              {"tenant_id", t.tenant_id},
              {"app_id", t.app_id},
              {"audience", t.audience},
              {"issuer", t.issuer},
              {"version", std::string(validate::to_string(t.version))},
              {"kid", t.header.kid},
              {"roles", t.roles},
              {"expires_on", format_time(t.expires)}};
    if (!o.required_roles.empty()) {
      j["roles_present"] = o.required_roles;
      j["roles_missing"] = Json::array();
    }
    out << j.dump(2) << "\n";
    return k_exit_ok;
  }
  print_fields(out, {{"valid", "yes (signature, issuer, audience, lifetime" +
                                   std::string(o.required_roles.empty() ? "" : ", roles") + ")"},
                     {"tenant", t.tenant_id},
                     {"app", t.app_id},
                     {"audience", t.audience},
                     {"issuer", t.issuer},
                     {"version", std::string(validate::to_string(t.version))},
                     {"signing key", t.header.kid},
                     {"roles", t.roles.empty() ? std::string("(none)") : util::join(t.roles, ", ")},
                     {"expires", format_time_with_relative(t.expires, now)}});
  if (!o.required_roles.empty()) print_roles_diff(out, o.required_roles, t.roles);
  return k_exit_ok;
}

} // namespace

Command add_token_validate(CLI::App& token, Context& ctx) {
  auto o = std::make_shared<TokenValidateOptions>();
  CLI::App* app = token.add_subcommand(
      "validate", "Validate a token as a resource server would (keys from the authority's OpenID configuration)");
  app->add_option("token", o->token, "The token, or '-' (or nothing) to read standard input");
  app->add_option("--audience", o->audiences,
                  "Accepted audience: xdr | mde | URI | client ID, repeatable (default: the xdr and mde APIs)");
  app->add_option("--require-role", o->required_roles, "Application role the token must carry, repeatable");
  app->footer("Keys come from the v1 or v2 metadata of the token's version (--authority-host picks the authority);\n"
              "with --tenant only that tenant's tokens are accepted. On failure the reason code and a sentence\n"
              "are printed (e.g. bad_signature, expired, wrong_audience, missing_roles).\n"
              "Examples:\n"
              "  xdrpartner token get --tenant fabrikam.onmicrosoft.com --raw | xdrpartner token validate - "
              "--require-role Incident.Read.All\n"
              "  xdrpartner token validate --tenant 3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e --audience xdr < token.txt\n"
              "Exit codes: 0 valid, 1 invalid (or the keys could not be fetched), 2 a usage or configuration error.");
  return {app, [&ctx, o] { return run_token_validate(ctx, *o); }};
}

} // namespace xdr::cli
