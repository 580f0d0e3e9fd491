// `xdrpartner doctor`: checks, in order, everything a partner app needs to reach one customer tenant.

#include <algorithm>
#include <memory>

#include <cli/commands/commands.hpp>
#include <cli/discovery.hpp>
#include <cli/output.hpp>
#include <cli/tenant_checks.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/validate/token_validator.hpp>

namespace xdr::cli {

namespace {

constexpr std::chrono::seconds k_max_clock_skew{300};

enum class Status { ok, warn, fail, skip };

std::string_view label(Status s) {
  switch (s) {
  case Status::ok: return "[ OK ]";
  case Status::warn: return "[WARN]";
  case Status::fail: return "[FAIL]";
  case Status::skip: return "[SKIP]";
  }
  return "[ ?? ]";
}

std::string_view status_name(Status s) {
  switch (s) {
  case Status::ok: return "ok";
  case Status::warn: return "warning";
  case Status::fail: return "failed";
  case Status::skip: return "skipped";
  }
  return "unknown";
}

// Prints each check as it completes (table) or collects them (json).
class Report {
public:
  Report(std::ostream& out, bool json) : m_out(out), m_json(json) {}

  void add(std::string name, Status status, std::string detail, std::vector<std::string> notes = {}) {
    if (status == Status::fail) m_failed = true;
    if (m_json) {
      Json j = {{"check", name}, {"status", std::string(status_name(status))}, {"detail", detail}};
      if (!notes.empty()) j["notes"] = notes;
      m_checks.push_back(std::move(j));
      return;
    }
    m_out << label(status) << " " << name << ": " << detail << "\n";
    for (const auto& n : notes) m_out << "       " << n << "\n";
    m_out.flush();
  }

  bool failed() const { return m_failed; }

  void finish() {
    if (m_json) {
      m_out << Json{{"ok", !m_failed}, {"checks", m_checks}}.dump(2) << "\n";
    } else {
      m_out << (m_failed ? "\nSome checks failed: fix the first [FAIL] above and run doctor again.\n"
                         : "\nAll checks passed.\n");
    }
  }

private:
  std::ostream& m_out;
  bool m_json;
  bool m_failed = false;
  Json m_checks = Json::array();
};

struct DoctorOptions {
  std::vector<std::string> resources;
  std::string api_base; // Defender XDR API base; default: the cloud's (XDR_API_BASE in the environment)
};

// GET {api_base}/api/incidents?$top=1 with the tenant's token: is the API there, and does it take the token?
void check_defender_api(Report& report, http::Transport& transport, const std::string& api_base,
                        const std::string& token) {
  const ApiProbe probe = probe_defender_api(transport, api_base, token);
  const Status status = probe.outcome == ApiProbe::Outcome::ok     ? Status::ok
                        : probe.outcome == ApiProbe::Outcome::warn ? Status::warn
                                                                   : Status::fail;
  report.add("Defender XDR API", status, probe.detail, probe.notes);
}

int run_doctor(Context& ctx, const DoctorOptions& o) {
  auto& out = ctx.io().out;
  Report report(out, ctx.json_output());
  const auto now = ctx.io().clock->now();

  // 1. Configuration.
  auto settings = ctx.settings();
  if (!settings) {
    report.add("configuration", Status::fail, settings.error().message);
    report.finish();
    return k_exit_failure;
  }
  const Settings& s = **settings;
  if (s.tenant.empty())
    return ctx.usage("doctor needs the customer's tenant: --tenant ID-or-domain (or AZURE_TENANT_ID)");
  if (auto ok = auth::validate_tenant_for_client_credentials(s.tenant); !ok)
    return ctx.usage("--tenant '" + s.tenant + "': " + ok.error().message);
  const std::vector<std::string>& resources = o.resources.empty() ? s.resources : o.resources;
  for (const auto& r : resources)
    if (!auth::resolve_resource(r, s.cloud)) return ctx.usage("--resource '" + r + "' is not xdr, mde, graph or a URI");

  auto credential = ctx.credential();
  std::string config_detail = "client " + (s.client_id.empty() ? std::string("(none)") : s.client_id) + ", authority " +
                              s.authority_host + " (cloud " + std::string(auth::to_string(s.cloud)) + ")";
  if (credential) {
    config_detail += ", credential: " + describe_source(s);
    if (s.credential_source == CredentialSource::certificate_file || s.credential_source == CredentialSource::certificate_env)
      config_detail += " (" + (*credential)->description() + ")";
    report.add("configuration", Status::ok, config_detail);
  } else {
    report.add("configuration", Status::fail, config_detail, {credential.error().message});
  }

  std::optional<std::string> xdr_token; // for the Defender API check (step 7)

  // 2. Authority reachable, tenant known.
  auto transport = ctx.transport();
  auto discovery = discover_tenant(*transport, s.authority_host, s.tenant, s.cloud, now);
  if (!discovery) {
    report.add("authority", Status::fail, "tenant " + s.tenant + " at " + s.authority_host,
               {discovery.error().message});
    for (const char* name : {"clock skew", "token", "roles", "token validation"})
      report.add(name, Status::skip, "needs a reachable authority that knows the tenant");
  } else {
    report.add("authority", Status::ok,
               "tenant " + s.tenant + (util::iequals(s.tenant, discovery->tenant_id) ? std::string()
                                                                                       : " is " + discovery->tenant_id) +
                   " (" + discovery->metadata_url + ")");
    // 3. Clock skew against the authority's Date header.
    if (!discovery->date) {
      report.add("clock skew", Status::skip, "the authority sent no Date header to compare with");
    } else {
      const auto skew = std::chrono::duration_cast<std::chrono::seconds>(now - *discovery->date);
      const int64_t secs = skew.count();
      const std::string text = secs == 0 ? std::string("local clock matches the authority's (±1 s)")
                                         : "local clock is " + std::to_string(secs < 0 ? -secs : secs) + " s " +
                                               (secs > 0 ? "ahead of" : "behind") + " the authority";
      if (std::chrono::abs(skew) > k_max_clock_skew)
        report.add("clock skew", Status::warn, text,
                   {"more than 5 min: tokens and client assertions may look expired or not yet valid; synchronise "
                    "this machine's clock (NTP)"});
      else
        report.add("clock skew", Status::ok, text);
    }

    // 4-6. Per resource: token, roles, validation.
    auto client = credential ? ctx.auth_client() : Result<auth::AuthClient*>(tl::unexpected(credential.error()));
    std::string no_client = "no usable credential (see configuration)";
    if (credential && !client) {
      // E.g. a token cache file other users can read.
      report.add("token client", Status::fail, client.error().message);
      no_client = "the token client could not be set up (see above)";
    }
    for (const auto& alias : resources) {
      const std::string uri = *auth::resolve_resource(alias, s.cloud);
      const bool is_xdr = uri == *auth::resolve_resource("xdr", s.cloud);
      const std::string suffix = " (" + alias + ")";
      if (!client) {
        report.add("token" + suffix, Status::skip, no_client);
        continue;
      }
      // A fresh request proves the credential and the consent now; a cached token proves neither.
      auto token = (*client)->refresh_token(s.tenant, alias);
      if (!token || token->refresh_error) {
        const Error e = token ? *token->refresh_error : token.error();
        std::vector<std::string> notes{e.message};
        if (!e.code.empty()) notes.push_back("code " + e.code);
        if (auth::is_consent_missing(e)) {
          notes.push_back("consent link (partner guide): " + (*client)->consent_link());
          auth::AdminConsentOptions consent;
          consent.tenant = discovery->tenant_id;
          consent.resource = uri;
          notes.push_back("admin-consent link (v2): " + (*client)->admin_consent_link(consent));
        }
        report.add("token" + suffix, Status::fail, "no token for " + uri + " in tenant " + s.tenant, notes);
        report.add("roles" + suffix, Status::skip, "needs a token");
        report.add("token validation" + suffix, Status::skip, "needs a token");
        continue;
      }
      report.add("token" + suffix, Status::ok,
                 "got a token for " + uri + " (" + std::string(auth::to_string(s.endpoint)) + " endpoint, expires " +
                     format_relative(token->expires_on(), now) + ")");
      if (is_xdr) xdr_token = std::string(token->value().reveal());

      Json claims = Json::object();
      if (auto decoded = jwt::decode(token->value().reveal())) claims = decoded->payload;
      const RoleCheck role_check = check_roles(s, alias, uri, claims);
      const std::vector<std::string>& roles = role_check.present;
      const std::vector<std::string>& needed = role_check.needed;
      const std::vector<std::string>& missing = role_check.missing;
      const std::string present = roles.empty() ? std::string("none") : util::join(roles, ", ");
      if (!missing.empty()) {
        report.add("roles" + suffix, Status::fail, "missing " + util::join(missing, ", ") + " (present: " + present + ")",
                   {"add the application permission(s) under API permissions > " + permission_api_name(alias) +
                        " > Application permissions, grant admin consent in the partner tenant, then have the "
                        "customer's administrator consent again: " + (*client)->consent_link()});
      } else if (roles.empty()) {
        report.add("roles" + suffix, Status::warn, "the token carries no roles",
                   {"the app is in the tenant but no application permission of this API is granted; the API will "
                    "answer 403"});
      } else {
        report.add("roles" + suffix, Status::ok,
                   "present: " + present + (needed.empty() ? std::string() : " (needed: " + util::join(needed, ", ") + ")"));
      }

      if (alias == "graph" || util::istarts_with(uri, "https://graph.")) {
        report.add("token validation" + suffix, Status::skip,
                   "Microsoft Graph tokens are meant for Graph only and cannot be validated by third parties");
        continue;
      }
      validate::ValidationOptions options;
      options.authority = s.authority_host;
      std::string tid = util::to_lower(claim_string(claims, "tid"));
      if (util::is_guid(tid)) options.expected_tenant = tid;
      options.accepted_audiences = {uri};
      options.require_roles_or_scopes = false;
      auto keys = std::make_shared<validate::KeyStore>(transport, validate::KeyStoreOptions{}, ctx.io().clock);
      validate::TokenValidator validator(keys, options, ctx.io().clock);
      auto valid = validator.validate(token->value().reveal());
      if (valid) {
        report.add("token validation" + suffix, Status::ok,
                   "signature (key " + valid->header.kid + "), issuer " + valid->issuer + ", audience and lifetime "
                   "verified against the tenant's published keys");
      } else {
        report.add("token validation" + suffix, Status::fail,
                   std::string(validate::to_string(valid.error().reason)) + ": " + valid.error().message);
      }
    }
  }

  // 7. The Defender API itself, with the tenant's token.
  if (xdr_token) {
    const std::string api_base = defender_api_base(o.api_base, ctx.io().env, s.cloud);
    check_defender_api(report, *ctx.transport(), api_base, *xdr_token);
  } else {
    report.add("Defender XDR API", Status::skip, "needs a Defender XDR token (see above)");
  }
  report.finish();
  return report.failed() ? k_exit_failure : k_exit_ok;
}

} // namespace

Command add_doctor(CLI::App& root, Context& ctx) {
  auto o = std::make_shared<DoctorOptions>();
  CLI::App* app = root.add_subcommand("doctor", "Check configuration, authority, clock, token, roles and keys for a tenant");
  app->add_option("--resource", o->resources,
                  "xdr | mde | graph | URI to check, repeatable (default: the configured resources, xdr)");
  app->add_option("--api-base", o->api_base,
                  "Defender XDR API base URL (default: the cloud's, or XDR_API_BASE; the emulator's URL for tests)");
  app->footer("Checks, in order: configuration; authority reachable and tenant known (OpenID configuration);\n"
              "clock skew against the authority's Date header (warns above 5 min); a token per resource; roles\n"
              "present vs needed (Incident.Read.All, AdvancedHunting.Read.All by default, or \"required_roles\" in\n"
              "the config file); the token validated against the tenant's keys; GET /api/incidents?$top=1 on the\n"
              "Defender XDR API with the token (--api-base for the emulator).\n"
              "A missing consent prints the consent link to send to the customer's administrator.\n"
              "Example:\n"
              "  xdrpartner doctor --tenant fabrikam.onmicrosoft.com --client-secret-file ~/.config/xdrpartner/secret\n"
              "Exit codes: 0 all checks passed (warnings allowed), 1 a check failed, 2 a usage error.");
  return {app, [&ctx, o] { return run_doctor(ctx, *o); }};
}

} // namespace xdr::cli
