// `xdrpartner tenants add|list|remove|import|enable|disable|check`: the registry of customer tenants in the
// store, and their health checked in parallel through the fan-out engine.

#include <fstream>
#include <memory>
#include <sstream>

#include <cli/api_support.hpp>
#include <cli/commands/commands.hpp>
#include <cli/discovery.hpp>
#include <cli/fleet_output.hpp>
#include <cli/output.hpp>
#include <cli/tenant_checks.hpp>
#include <xdr/api/endpoints.hpp>
#include <xdr/fleet/fan_out.hpp>
#include <xdr/fleet/progress.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

constexpr const char* k_clouds_help = "global | gcc | gcc-high | dod (default global)";

Result<std::map<std::string, std::string>> labels_from_flags(const std::vector<std::string>& flags) {
  std::map<std::string, std::string> labels;
  for (const auto& f : flags) {
    XDR_TRY_ASSIGN(auto label, store::parse_label(f));
    labels[label.first] = label.second;
  }
  return labels;
}

Result<std::string> checked_cloud(const std::string& text) {
  const std::string cloud = text.empty() ? std::string("global") : util::to_lower(text);
  if (!auth::parse_cloud(cloud))
    return fail(ErrorKind::config, "cloud '" + text + "' is not known: use global, gcc, gcc-high or dod");
  return cloud;
}

// A registry region: "" (none: the cloud's host) or a known region in lower case ("EU" gives "eu"). Errors
// (config) on any other text, so a typo never sends a tenant's calls to the global host unnoticed.
Result<std::string> checked_region(const std::string& text) {
  auto region = api::parse_region(text);
  if (!region)
    return fail(ErrorKind::config, "region '" + text + "' is not known: use us, eu, uk, au or swa, or none for the "
                                   "cloud's global host");
  if (*region == api::Region::none) return std::string();
  return std::string(api::to_string(*region));
}

// A warning when `tenant`'s region has no host in its cloud (only the global cloud has regions): runs across
// tenants fail it, naming the fix, until its region is none. Registered all the same, as before regions
// were checked.
std::optional<std::string> region_warning(const store::Tenant& tenant) {
  if (tenant.region.empty() || auth::parse_cloud(tenant.cloud) == auth::Cloud::global) return std::nullopt;
  return "warning: region " + tenant.region + " exists only in the global cloud; the " + tenant.cloud +
         " cloud has one API host, so runs across tenants will fail tenant " + tenant.tenant_id +
         " until: xdrpartner tenants set " + tenant.tenant_id + " --region none";
}

// The GUID of a tenant given as GUID or domain, through its OpenID configuration.
Result<TenantDiscovery> resolve_tenant(Context& ctx, const std::string& text) {
  XDR_TRY_ASSIGN(const Settings* s, ctx.settings());
  if (auto ok = auth::validate_tenant_for_client_credentials(text); !ok)
    return fail(ErrorKind::config, "tenant '" + text + "': " + ok.error().message);
  return discover_tenant(*ctx.transport(), s->authority_host, text, s->cloud, ctx.io().clock->now());
}

// A registered tenant named by GUID, domain or name (no network).
Result<store::Tenant> find_registered(store::Store& db, const std::string& text) {
  if (util::is_guid(text)) {
    XDR_TRY_ASSIGN(auto found, db.find_tenant(text));
    if (found) return *found;
  } else {
    XDR_TRY_ASSIGN(auto all, db.list_tenants());
    std::vector<store::Tenant> matches;
    for (auto& t : all)
      if (util::iequals(t.domain, text) || util::iequals(t.name, text)) matches.push_back(std::move(t));
    if (matches.size() == 1) return matches.front();
    if (matches.size() > 1)
      return fail(ErrorKind::config, "'" + text + "' names " + std::to_string(matches.size()) +
                                         " registered tenants: give the tenant ID instead (see 'xdrpartner tenants list')");
  }
  return fail(ErrorKind::not_found,
              "no registered tenant '" + text + "': see 'xdrpartner tenants list', or add it with 'tenants add'");
}

Json tenant_json(const store::Tenant& t) {
  Json labels = Json::object();
  for (const auto& [k, v] : t.labels) labels[k] = v;
  Json j = {{"tenant_id", t.tenant_id}, {"name", t.name},     {"domain", t.domain},       {"cloud", t.cloud},
            {"region", t.region},       {"labels", labels},   {"enabled", t.enabled},
            {"added_at", t.added_at ? format_time(*t.added_at) : std::string()},
            {"last_check_at", t.last_check_at ? Json(format_time(*t.last_check_at)) : Json(nullptr)},
            {"last_check_status", t.last_check_status},
            {"last_check_detail", t.last_check_detail}};
  if (!t.consent_url.empty()) j["consent_url"] = t.consent_url;
  return j;
}

// ---- add -------------------------------------------------------------------------------------------

struct AddOptions {
  std::string tenant;
  std::string name;
  std::string cloud;
  std::string region;
  std::vector<std::string> labels;
};

int run_add(Context& ctx, const AddOptions& o) {
  auto labels = labels_from_flags(o.labels);
  if (!labels) return ctx.usage(labels.error().message);
  auto cloud = checked_cloud(o.cloud);
  if (!cloud) return ctx.usage(cloud.error().message);
  auto region = checked_region(o.region);
  if (!region) return ctx.usage(region.error().message);
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  auto discovery = resolve_tenant(ctx, o.tenant);
  if (!discovery) return ctx.report(discovery.error());

  store::Tenant t;
  t.tenant_id = discovery->tenant_id;
  t.domain = util::is_guid(o.tenant) ? std::string() : util::to_lower(o.tenant);
  t.name = !o.name.empty() ? o.name : !t.domain.empty() ? t.domain : t.tenant_id;
  t.cloud = *cloud;
  t.region = *region;
  t.labels = *labels;
  if (auto added = (*db)->add_tenants({t}, store::OnExisting::fail); !added) return ctx.report(added.error());
  if (auto warning = region_warning(t)) ctx.io().err << *warning << "\n";
  auto stored = (*db)->find_tenant(t.tenant_id);
  if (!stored || !*stored) return ctx.report(stored ? Error(ErrorKind::storage, "the tenant vanished") : stored.error());
  if (ctx.json_output()) {
    ctx.io().out << tenant_json(**stored).dump(2) << "\n";
  } else {
    ctx.io().out << "added tenant " << t.tenant_id << " (" << t.name
                 << (t.domain.empty() || t.domain == t.name ? std::string() : ", " + t.domain) << ") in "
                 << ctx.db_path() << "\n  next: xdrpartner tenants check\n";
  }
  return k_exit_ok;
}

// ---- list ------------------------------------------------------------------------------------------

struct ListOptions {
  std::vector<std::string> labels;
  bool enabled_only = false;
};

int run_list(Context& ctx, const ListOptions& o) {
  auto labels = labels_from_flags(o.labels);
  if (!labels) return ctx.usage(labels.error().message);
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  store::TenantFilter filter;
  filter.labels = *labels;
  filter.enabled_only = o.enabled_only;
  auto tenants = (*db)->list_tenants(filter);
  if (!tenants) return ctx.report(tenants.error());
  auto& out = ctx.io().out;
  if (ctx.json_output()) {
    Json j = Json::array();
    for (const auto& t : *tenants) j.push_back(tenant_json(t));
    out << j.dump(2) << "\n";
    return k_exit_ok;
  }
  if (tenants->empty()) {
    out << "no tenants" << (filter.labels.empty() && !filter.enabled_only ? "" : " match") << " in " << ctx.db_path()
        << "\n  add one with: xdrpartner tenants add TENANT-ID-or-DOMAIN [--name NAME] [--label K=V]\n";
    return k_exit_ok;
  }
  std::vector<std::vector<std::string>> rows{
      {"TENANT ID", "NAME", "DOMAIN", "CLOUD", "REGION", "LABELS", "ENABLED", "LAST CHECK"}};
  for (const auto& t : *tenants) {
    std::string check = t.last_check_at ? t.last_check_status + " " + format_time(*t.last_check_at) : "never";
    rows.push_back({t.tenant_id, t.name, t.domain.empty() ? "-" : t.domain, t.cloud, t.region.empty() ? "-" : t.region,
                    t.labels.empty() ? "-" : store::format_labels(t.labels), t.enabled ? "yes" : "no", check});
  }
  print_table(out, rows);
  return k_exit_ok;
}

// ---- remove, enable, disable -----------------------------------------------------------------------

int run_remove(Context& ctx, const std::string& text) {
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  auto t = find_registered(**db, text);
  if (!t) return ctx.report(t.error());
  if (auto removed = (*db)->remove_tenant(t->tenant_id); !removed) return ctx.report(removed.error());
  if (ctx.json_output())
    ctx.io().out << Json{{"removed", t->tenant_id}, {"name", t->name}}.dump(2) << "\n";
  else
    ctx.io().out << "removed tenant " << t->tenant_id << " (" << t->name << ") with its synced incidents\n";
  return k_exit_ok;
}

int run_set_enabled(Context& ctx, const std::string& text, bool enabled) {
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  auto t = find_registered(**db, text);
  if (!t) return ctx.report(t.error());
  if (auto done = (*db)->set_tenant_enabled(t->tenant_id, enabled); !done) return ctx.report(done.error());
  if (ctx.json_output())
    ctx.io().out << Json{{"tenant_id", t->tenant_id}, {"enabled", enabled}}.dump(2) << "\n";
  else
    ctx.io().out << (enabled ? "enabled" : "disabled") << " tenant " << t->tenant_id << " (" << t->name << ")"
                 << (enabled ? "\n" : ": check and sync skip it\n");
  return k_exit_ok;
}

// ---- set -------------------------------------------------------------------------------------------

struct SetOptions {
  std::string tenant;
  std::string region;
};

// Changes a registered tenant's region in place: its labels, enabled flag, checks and synced data are kept.
int run_set(Context& ctx, const SetOptions& o) {
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  auto t = find_registered(**db, o.tenant);
  if (!t) return ctx.report(t.error());
  auto region = checked_region(o.region);
  if (!region) return ctx.usage(region.error().message);
  t->region = *region;
  if (auto updated = (*db)->add_tenants({*t}, store::OnExisting::update); !updated) return ctx.report(updated.error());
  if (auto warning = region_warning(*t)) ctx.io().err << *warning << "\n";
  if (ctx.json_output())
    ctx.io().out << tenant_json(*t).dump(2) << "\n";
  else
    ctx.io().out << "tenant " << t->tenant_id << " (" << t->name << "): region "
                 << (t->region.empty() ? std::string("none (the cloud's global host)") : t->region) << "\n";
  return k_exit_ok;
}

// ---- import ----------------------------------------------------------------------------------------

// One CSV record (RFC 4180 quoting; a quoted field may not span lines). Errors on an unterminated quote.
Result<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && util::trim(field).empty()) {
      quoted = true;
      was_quoted = true;
      field.clear();
    } else if (c == ',') {
      fields.push_back(was_quoted ? field : std::string(util::trim(field)));
      field.clear();
      was_quoted = false;
    } else {
      field += c;
    }
  }
  if (quoted) return fail(ErrorKind::config, "a quoted field is not closed");
  fields.push_back(was_quoted ? field : std::string(util::trim(field)));
  return fields;
}

int run_import(Context& ctx, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return ctx.report(Error(ErrorKind::config, "cannot read " + file + ": check the path and its permissions"));
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());

  const std::vector<std::string> known = {"tenant", "name", "cloud", "region", "labels"};
  std::map<std::string, size_t> column;
  std::vector<store::Tenant> tenants;
  std::map<std::string, size_t> line_of; // tenant id -> first line, for duplicates
  std::string line;
  size_t number = 0;
  auto at = [&](const std::string& message) {
    return ctx.report(Error(ErrorKind::config, file + ":" + std::to_string(number) + ": " + message +
                                                   "; nothing was imported"));
  };
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3); // a UTF-8 BOM from spreadsheets
    if (util::trim(line).empty() || util::trim(line).front() == '#') continue;
    auto fields = split_csv(line);
    if (!fields) return at(fields.error().message);
    if (column.empty()) {
      for (size_t i = 0; i < fields->size(); ++i) {
        const std::string name = util::to_lower((*fields)[i]);
        if (std::find(known.begin(), known.end(), name) == known.end())
          return at("unknown column '" + (*fields)[i] + "' in the header (columns: tenant,name,cloud,region,labels)");
        column[name] = i;
      }
      if (!column.count("tenant")) return at("the header has no 'tenant' column (columns: tenant,name,cloud,region,labels)");
      continue;
    }
    if (fields->size() != column.size())
      return at("expected " + std::to_string(column.size()) + " fields as in the header, found " +
                std::to_string(fields->size()));
    auto get = [&](const char* name) {
      auto it = column.find(name);
      return it == column.end() ? std::string() : (*fields)[it->second];
    };
    const std::string given = get("tenant");
    if (given.empty()) return at("the tenant is empty");
    auto cloud = checked_cloud(get("cloud"));
    if (!cloud) return at(cloud.error().message);
    auto region = checked_region(get("region"));
    if (!region) return at(region.error().message);
    auto labels = store::parse_labels(get("labels"));
    if (!labels) return at(labels.error().message);
    store::Tenant t;
    if (util::is_guid(given)) {
      t.tenant_id = util::to_lower(given);
    } else {
      auto discovery = resolve_tenant(ctx, given);
      if (!discovery) return at("tenant '" + given + "': " + discovery.error().message);
      t.tenant_id = discovery->tenant_id;
      t.domain = util::to_lower(given);
    }
    if (auto seen = line_of.find(t.tenant_id); seen != line_of.end())
      return at("tenant " + t.tenant_id + " is already on line " + std::to_string(seen->second));
    line_of[t.tenant_id] = number;
    t.name = get("name").empty() ? (t.domain.empty() ? t.tenant_id : t.domain) : get("name");
    t.cloud = *cloud;
    t.region = *region;
    t.labels = *labels;
    tenants.push_back(std::move(t));
  }
  if (in.bad()) return ctx.report(Error(ErrorKind::config, "cannot read " + file + " to the end"));
  if (column.empty()) return ctx.report(Error(ErrorKind::config, file + " is empty: it needs the header tenant,name,cloud,region,labels"));

  size_t updated = 0;
  for (const auto& t : tenants) {
    auto existing = (*db)->find_tenant(t.tenant_id);
    if (!existing) return ctx.report(existing.error());
    updated += existing->has_value();
  }
  if (auto added = (*db)->add_tenants(tenants, store::OnExisting::update); !added) return ctx.report(added.error());
  for (const auto& t : tenants)
    if (auto warning = region_warning(t)) ctx.io().err << file << ":" << line_of[t.tenant_id] << ": " << *warning << "\n";
  if (ctx.json_output())
    ctx.io().out << Json{{"imported", tenants.size()}, {"added", tenants.size() - updated}, {"updated", updated}}.dump(2)
                 << "\n";
  else
    ctx.io().out << "imported " << tenants.size() << " tenant(s) from " << file << ": " << tenants.size() - updated
                 << " added, " << updated << " updated\n";
  return k_exit_ok;
}

// ---- check -----------------------------------------------------------------------------------------

struct CheckOptions {
  std::vector<std::string> labels;
  size_t concurrency = 0;
  std::string api_base;
  std::string region; // empty: each tenant's registry region
};

int run_check(Context& ctx, const CheckOptions& o) {
  auto labels = labels_from_flags(o.labels);
  if (!labels) return ctx.usage(labels.error().message);
  if (auto region = api::parse_region(o.region); !region) return ctx.usage(region.error().message);
  auto settings = ctx.settings();
  if (!settings) return ctx.report(settings.error());
  const Settings& s = **settings;
  // Each tenant is probed at its registry region's host, unless --region decides for all (--api-base wins).
  auto endpoints =
      api::TenantEndpoints::create(s.cloud, o.region, api::overrides_from_environment(ctx.io().env, {o.api_base, {}}));
  if (!endpoints) return ctx.report(endpoints.error());
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  store::TenantFilter filter;
  filter.labels = *labels;
  filter.enabled_only = true;
  auto tenants = (*db)->list_tenants(filter);
  if (!tenants) return ctx.report(tenants.error());
  if (tenants->empty()) {
    ctx.io().out << "no enabled tenants to check in " << ctx.db_path()
                 << "\n  add one with: xdrpartner tenants add TENANT-ID-or-DOMAIN\n";
    return k_exit_ok;
  }
  auto client = ctx.auth_client();
  if (!client) return ctx.report(client.error());
  auth::AuthClient& auth = **client;
  auto transport = ctx.transport();
  const std::string xdr_uri = *auth::resolve_resource("xdr", s.cloud);

  // Per tenant: a fresh token per resource (a cached one proves neither the credential nor the consent),
  // the roles it carries against what the features need, then the Defender XDR API with the xdr token.
  auto check = [&](const fleet::TenantRef& tenant, fleet::TenantScope&) -> Result<fleet::Outcome> {
    XDR_TRY_ASSIGN(api::ApiEndpoints hosts, tenant_endpoints(*endpoints, tenant));
    std::optional<std::string> xdr_token;
    std::vector<std::string> notes;
    for (const auto& alias : s.resources) {
      const std::string uri = *auth::resolve_resource(alias, s.cloud);
      auto token = auth.refresh_token(tenant.tenant_id, alias);
      if (!token) return tl::unexpected(token.error());
      if (token->refresh_error) return tl::unexpected(*token->refresh_error);
      Json claims = Json::object();
      if (auto decoded = jwt::decode(token->value().reveal())) claims = decoded->payload;
      const RoleCheck roles = check_roles(s, alias, uri, claims);
      if (!roles.missing.empty())
        return fail(ErrorKind::forbidden,
                    alias + " token lacks " + util::join(roles.missing, ", ") + " (present: " +
                        (roles.present.empty() ? std::string("none") : util::join(roles.present, ", ")) +
                        "); add the application permission(s) under " + permission_api_name(alias) +
                        " and have the customer's administrator consent again");
      notes.push_back(alias + " roles " + (roles.present.empty() ? std::string("none") : util::join(roles.present, ", ")));
      if (uri == xdr_uri) xdr_token = std::string(token->value().reveal());
    }
    if (xdr_token) {
      const ApiProbe probe = probe_defender_api(*transport, hosts.xdr_base, *xdr_token);
      if (probe.outcome != ApiProbe::Outcome::ok) return tl::unexpected(probe.error());
      notes.push_back("Defender XDR API answers 200 at " + hosts.xdr_base);
    }
    return fleet::Outcome{"token ok; " + util::join(notes, "; ")};
  };

  std::vector<fleet::TenantRef> refs;
  for (const auto& t : *tenants) refs.push_back({t.tenant_id, t.name, t.cloud, t.region});
  fleet::FanOutOptions options;
  options.concurrency = o.concurrency;
  options.cloud = std::string(auth::to_string(s.cloud));
  fleet::ProgressBar progress(ctx.io().err, refs.size(), ctx.stderr_is_terminal());
  fleet::CancelToken never;
  const fleet::CancelToken& cancel = ctx.io().cancel ? *ctx.io().cancel : never;
  Json envelopes = Json::array();
  store::Store& registry = **db;
  auto on_envelope = [&](const fleet::Envelope& e) {
    std::string consent_url;
    if (e.status != fleet::EnvelopeStatus::cancelled) {
      if (e.status == fleet::EnvelopeStatus::consent_missing) {
        auth::AdminConsentOptions consent;
        consent.tenant = e.tenant.tenant_id;
        consent.resource = xdr_uri;
        consent_url = auth.admin_consent_link(consent);
      }
      store::CheckRecord record{ctx.io().clock->now(), std::string(fleet::to_string(e.status)), e.detail, consent_url};
      if (auto saved = registry.record_check(e.tenant.tenant_id, record); !saved)
        ctx.io().err << "warning: the check of " << e.tenant.tenant_id << " was not recorded: " << saved.error().message
                     << "\n";
    }
    if (ctx.json_output()) {
      Json j = envelope_json(e);
      if (!consent_url.empty()) j["consent_url"] = consent_url;
      envelopes.push_back(std::move(j));
    } else {
      progress.finish();
      print_envelope(ctx.io().out, e);
      if (!consent_url.empty())
        ctx.io().out << "                 consent link for the customer's administrator: " << consent_url << "\n";
    }
    progress.add(e);
  };
  const fleet::Summary summary = fleet::fan_out(refs, check, options, cancel, on_envelope);
  progress.finish();
  if (ctx.json_output())
    ctx.io().out << Json{{"tenants", envelopes}, {"summary", summary_json(summary)}}.dump(2) << "\n";
  else
    print_summary(ctx.io().out, summary);
  return summary.exit_code();
}

} // namespace

void add_tenants(CLI::App& root, Context& ctx, std::vector<Command>& commands) {
  CLI::App* group = root.add_subcommand("tenants", "The registry of customer tenants: add, list, import, check");
  group->require_subcommand(1);
  group->footer("Examples:\n"
                "  xdrpartner tenants add fabrikam.onmicrosoft.com --name Fabrikam --label env=prod --region eu\n"
                "  xdrpartner tenants set Fabrikam --region uk\n"
                "  xdrpartner tenants import customers.csv\n"
                "  xdrpartner tenants check\n"
                "A tenant's region (us, eu, uk, au, swa) sends its calls in runs across tenants (check, sync,\n"
                "--all-tenants) to that regional Defender API host, unless the run gives --region (which wins for\n"
                "every tenant) or --api-base / XDR_API_BASE (the emulator, which wins over any region).\n"
                "The registry lives in the store (--db PATH, env XDR_DB, default ~/.local/share/xdrpartner/xdrpartner.db).\n"
                "See docs/cli/tenants.md.\n" +
                std::string(k_exit_codes_help));

  auto add = std::make_shared<AddOptions>();
  CLI::App* a = group->add_subcommand("add", "Register a tenant (a domain is resolved to its tenant ID)");
  a->add_option("tenant", add->tenant, "Tenant ID (GUID) or domain, e.g. fabrikam.onmicrosoft.com")->required();
  a->add_option("--name", add->name, "The customer's name (default: the domain or ID)");
  a->add_option("--cloud", add->cloud, k_clouds_help);
  a->add_option("--region", add->region,
                 "us | eu | uk | au | swa | none (default): the tenant's regional Defender API host in runs across "
                 "tenants (global cloud)");
  a->add_option("--label", add->labels, "KEY=VALUE, repeatable (select tenants with --label on list and check)");
  commands.push_back({a, [&ctx, add] { return run_add(ctx, *add); }});

  auto list = std::make_shared<ListOptions>();
  CLI::App* l = group->add_subcommand("list", "List the registered tenants");
  l->add_option("--label", list->labels, "Only tenants with this KEY=VALUE label, repeatable (all must match)");
  l->add_flag("--enabled", list->enabled_only, "Only enabled tenants");
  commands.push_back({l, [&ctx, list] { return run_list(ctx, *list); }});

  auto target = std::make_shared<std::string>();
  CLI::App* r = group->add_subcommand("remove", "Remove a tenant and its synced incidents from the store");
  r->add_option("tenant", *target, "Tenant ID, domain or name as registered")->required();
  commands.push_back({r, [&ctx, target] { return run_remove(ctx, *target); }});

  auto enable_target = std::make_shared<std::string>();
  CLI::App* e = group->add_subcommand("enable", "Enable a tenant (check and sync include it)");
  e->add_option("tenant", *enable_target, "Tenant ID, domain or name as registered")->required();
  commands.push_back({e, [&ctx, enable_target] { return run_set_enabled(ctx, *enable_target, true); }});

  auto disable_target = std::make_shared<std::string>();
  CLI::App* d = group->add_subcommand("disable", "Disable a tenant (check and sync skip it; its data is kept)");
  d->add_option("tenant", *disable_target, "Tenant ID, domain or name as registered")->required();
  commands.push_back({d, [&ctx, disable_target] { return run_set_enabled(ctx, *disable_target, false); }});

  auto set = std::make_shared<SetOptions>();
  CLI::App* st = group->add_subcommand("set", "Change a registered tenant's region (its data and labels are kept)");
  st->add_option("tenant", set->tenant, "Tenant ID, domain or name as registered")->required();
  st->add_option("--region", set->region, "us | eu | uk | au | swa | none: its regional Defender API host")->required();
  commands.push_back({st, [&ctx, set] { return run_set(ctx, *set); }});

  auto file = std::make_shared<std::string>();
  CLI::App* i = group->add_subcommand("import", "Register or update tenants from a CSV file, all or none");
  i->add_option("file", *file, "CSV with the header tenant,name,cloud,region,labels (labels: k=v;k2=v2)")->required();
  commands.push_back({i, [&ctx, file] { return run_import(ctx, *file); }});

  auto check = std::make_shared<CheckOptions>();
  CLI::App* c = group->add_subcommand("check", "Check every enabled tenant in parallel: token, roles, API, consent");
  c->add_option("--label", check->labels, "Only tenants with this KEY=VALUE label, repeatable");
  c->add_option("--concurrency", check->concurrency, "Tenants checked at once (default: 2 x CPUs, within 8..16)")
      ->check(CLI::Range(1, 256));
  c->add_option("--api-base", check->api_base,
                "Defender XDR API base URL (default: the cloud's, or XDR_API_BASE; the emulator's URL for tests); "
                "wins over any region");
  c->add_option("--region", check->region,
                "us | eu | uk | au | swa | none: probe every tenant at this regional host (default: each tenant's "
                "registry region)");
  c->footer("Exit codes: 0 every tenant ok, 3 some tenants failed (each line says why), 130 stopped by Ctrl-C,\n"
            "1 a service or store failure, 2 a usage or configuration error.");
  commands.push_back({c, [&ctx, check] { return run_check(ctx, *check); }});
}

} // namespace xdr::cli
