#include <emulator/directory.hpp>

#include <fstream>
#include <sstream>

#include <xdr/util/base64.hpp>
#include <xdr/util/random.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

bool valid_domain(std::string_view d) {
  if (d.size() < 3 || d.size() > 253 || d.find('.') == std::string_view::npos) return false;
  for (std::string_view label : util::split(d, '.')) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  }
  return true;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Fatal("cannot read " + path + " (named in the scenario)");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string strip_slash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return util::to_lower(s);
}

} // namespace

const std::vector<Resource>& known_resources() {
  static const std::vector<Resource> resources = {
      {"xdr", "8ee8fdad-f234-4243-8f3b-15c294843740", "Microsoft Threat Protection",
       {"https://api.security.microsoft.com"},
       {"Incident.Read.All", "Incident.ReadWrite.All", "AdvancedHunting.Read.All", "CustomDetections.ReadWrite.All"}},
      {"mde", "fc780465-2017-40d4-a0c5-307022471b92", "WindowsDefenderATP",
       {"https://api.securitycenter.microsoft.com", "https://securitycenter.onmicrosoft.com/windowsatpservice"},
       {"Alert.Read.All", "Alert.ReadWrite.All", "Machine.Read.All", "Machine.ReadWrite.All", "Machine.Isolate",
        "AdvancedQuery.Read.All", "Ti.ReadWrite.All", "Vulnerability.Read.All"}},
      {"graph", "00000003-0000-0000-c000-000000000000", "Microsoft Graph",
       {"https://graph.microsoft.com"},
       {"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All", "SecurityAlert.Read.All",
        "SecurityAlert.ReadWrite.All", "ThreatHunting.Read.All"}},
  };
  return resources;
}

const Resource* find_resource(std::string_view id) {
  std::string want = strip_slash(id);
  for (const auto& r : known_resources()) {
    if (want == r.key || want == r.app_id) return &r;
    for (const auto& uri : r.identifier_uris)
      if (want == strip_slash(uri)) return &r;
  }
  return nullptr;
}

Json Directory::default_scenario() {
  const std::string app = "6a3c9f2e-4b1d-4e8a-9c7b-2d5e8f1a3b6c";
  Json all_xdr = {{"client_id", app}, {"resource", "xdr"},
                  {"roles", {"Incident.Read.All", "Incident.ReadWrite.All", "AdvancedHunting.Read.All"}}};
  Json mde = {{"client_id", app}, {"resource", "mde"}, {"roles", {"AdvancedQuery.Read.All", "Alert.Read.All"}}};
  Json graph_roles = {"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All", "SecurityAlert.Read.All",
                     "ThreatHunting.Read.All"};
  Json graph = {{"client_id", app}, {"resource", "graph"}, {"roles", graph_roles}};
  return {
      {"seed", 7},
      {"apps",
       {{{"client_id", app},
         {"display_name", "Contoso MSSP"},
         {"secrets", {{{"generate", true}, {"expires", "2030-01-01T00:00:00Z"}}}},
         {"redirect_uris", {"https://portal.azure.com", "http://localhost:8400/onboarding/callback"}},
         {"required_roles",
          {{"xdr", {"Incident.Read.All", "Incident.ReadWrite.All", "AdvancedHunting.Read.All"}},
           {"mde", {"AdvancedQuery.Read.All", "Alert.Read.All"}},
           {"graph", graph_roles}}}}}},
      {"tenants",
       {{{"tenant_id", "3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e"},
         {"domain", "fabrikam.onmicrosoft.com"},
         {"display_name", "Fabrikam"},
         {"consents", {all_xdr, mde, graph}}},
        {{"tenant_id", "7c4e1a9b-2d3f-4a5b-9c6d-8e7f0a1b2c3d"},
         {"domain", "northwind.onmicrosoft.com"},
         {"display_name", "Northwind Traders"},
         {"consents", {{{"client_id", app}, {"resource", "xdr"}, {"roles", {"Incident.Read.All"}}}}}},
        {{"tenant_id", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"},
         {"domain", "tailspin.onmicrosoft.com"},
         {"display_name", "Tailspin Toys"},
         {"consents", Json::array()}}}},
  };
}

std::unique_ptr<Directory> Directory::from_scenario(const Json& scenario, const std::string& base_dir) {
  auto dir = std::make_unique<Directory>();
  dir->scenario = scenario;
  if (!scenario.is_object()) throw Fatal("the scenario must be a JSON object");
  dir->seed = scenario.value("seed", uint64_t{7});
  dir->strict_jti = scenario.value("strict_jti", false);
  if (scenario.contains("token")) {
    const Json& t = scenario["token"];
    dir->token.lifetime_seconds = t.value("lifetime_seconds", int64_t{3900});
    if (dir->token.lifetime_seconds < 60 || dir->token.lifetime_seconds > 86400 * 7)
      throw Fatal("token.lifetime_seconds must be between 60 and 604800");
    if (t.contains("refresh_in")) dir->token.refresh_in = t["refresh_in"].get<int64_t>();
  }
  for (const Json& app : scenario.value("apps", Json::array())) {
    auto s = dir->add_app(app, base_dir);
    if (!s) throw Fatal("scenario: " + s.error().message);
  }
  for (const Json& tenant : scenario.value("tenants", Json::array())) {
    auto s = dir->add_tenant(tenant);
    if (!s) throw Fatal("scenario: " + s.error().message);
  }
  int initial_keys = scenario.value("signing_keys", 2);
  for (int i = 0; i < std::max(initial_keys, 1); ++i) dir->add_signing_key();
  return dir;
}

void Directory::add_signing_key() {
  int gen = key_generation++;
  std::string label = "xdr-emulator/seed-" + std::to_string(seed) + "/signing-key-" + std::to_string(gen);
  auto sk = std::make_shared<SigningKey>();
  sk->key = crypto::RsaPrivateKey::generate_deterministic(label, 2048);
  crypto::CertificateOptions opts;
  opts.common_name = "accounts.accesscontrol.windows.net";
  opts.valid_days = 5 * 365;
  opts.serial = crypto::sha256(label).substr(0, 16);
  opts.not_before = util::parse_rfc3339("2025-01-01T00:00:00Z");
  auto cert = crypto::make_certificate(sk->key, opts);
  if (!cert) throw Fatal(cert.error().message);
  sk->certificate = *cert;
  sk->kid = util::base64url_encode(cert->thumbprint_sha1());
  sk->x5c = util::base64_encode(cert->der());
  keys.push_back(std::move(sk));
}

std::string Directory::rotate_keys(bool drop_old) {
  if (drop_old) keys.clear();
  add_signing_key();
  return keys.back()->kid;
}

std::string Directory::object_id_for(const std::string& tenant_id, const std::string& client_id) const {
  util::DeterministicRng rng(seed, "sp/" + tenant_id + "/" + client_id);
  return rng.guid();
}

const Tenant* Directory::find_tenant(std::string_view segment) const {
  if (util::is_guid(segment)) {
    auto it = tenants.find(util::to_lower(segment));
    return it == tenants.end() ? nullptr : &it->second;
  }
  auto d = domain_index.find(util::to_lower(segment));
  if (d == domain_index.end()) return nullptr;
  auto it = tenants.find(d->second);
  return it == tenants.end() ? nullptr : &it->second;
}

Tenant* Directory::find_tenant(std::string_view segment) {
  return const_cast<Tenant*>(static_cast<const Directory*>(this)->find_tenant(segment));
}

Status Directory::add_tenant(const Json& spec) {
  if (!spec.is_object()) return fail(ErrorKind::invalid_request, "a tenant must be a JSON object");
  Tenant t;
  t.tenant_id = util::to_lower(spec.value("tenant_id", std::string()));
  if (t.tenant_id.empty()) {
    util::DeterministicRng rng(seed, "tenant/" + spec.value("domain", std::string()) + "/" + std::to_string(tenants.size()));
    t.tenant_id = rng.guid();
  }
  if (!util::is_guid(t.tenant_id)) return fail(ErrorKind::invalid_request, "tenant_id '" + t.tenant_id + "' is not a GUID");
  t.display_name = spec.value("display_name", std::string("Tenant ") + t.tenant_id.substr(0, 8));
  if (spec.contains("domain")) t.domains.push_back(util::to_lower(spec["domain"].get<std::string>()));
  for (const Json& d : spec.value("domains", Json::array())) t.domains.push_back(util::to_lower(d.get<std::string>()));
  if (t.domains.empty()) t.domains.push_back("tenant-" + t.tenant_id.substr(0, 8) + ".onmicrosoft.com");
  for (const auto& d : t.domains)
    if (!valid_domain(d)) return fail(ErrorKind::invalid_request, "domain '" + d + "' is not a valid DNS name");
  t.admin_upn = spec.value("admin", "admin@" + t.domains.front());
  if (spec.contains("provisioned")) {
    for (const Json& r : spec["provisioned"]) {
      const Resource* res = find_resource(r.get<std::string>());
      if (!res) return fail(ErrorKind::invalid_request, "unknown resource '" + r.get<std::string>() + "'");
      t.provisioned.insert(res->key);
    }
  } else {
    for (const auto& r : known_resources()) t.provisioned.insert(r.key);
  }
  t.data = spec.value("data", Json::object());
  // Validate everything before changing anything: a refused tenant leaves the directory as it was.
  for (const auto& d : t.domains) {
    auto it = domain_index.find(d);
    if (it != domain_index.end() && it->second != t.tenant_id)
      return fail(ErrorKind::invalid_request, "domain '" + d + "' already belongs to tenant " + it->second);
  }
  struct Grant {
    std::string client_id, resource;
    std::vector<std::string> roles;
  };
  std::vector<Grant> grants;
  for (const Json& c : spec.value("consents", Json::array())) {
    if (!c.is_object()) return fail(ErrorKind::invalid_request, "a consent must be a JSON object");
    Grant g{util::to_lower(c.value("client_id", std::string())), c.value("resource", std::string("xdr")), {}};
    for (const Json& r : c.value("roles", Json::array())) {
      if (!r.is_string()) return fail(ErrorKind::invalid_request, "roles must be strings");
      g.roles.push_back(r.get<std::string>());
    }
    XDR_TRY(check_grant(g.client_id, g.resource, g.roles));
    grants.push_back(std::move(g));
  }
  if (auto old = tenants.find(t.tenant_id); old != tenants.end())
    for (const auto& d : old->second.domains) domain_index.erase(d);
  for (const auto& d : t.domains) domain_index[d] = t.tenant_id;
  std::string id = t.tenant_id;
  tenants[id] = std::move(t);
  for (const auto& g : grants) XDR_TRY(grant(id, g.client_id, g.resource, g.roles));
  return {};
}

Status Directory::check_grant(const std::string& client_id, const std::string& resource,
                              const std::vector<std::string>& roles) const {
  if (!util::is_guid(client_id)) return fail(ErrorKind::invalid_request, "client_id '" + client_id + "' is not a GUID");
  const Resource* r = find_resource(resource);
  if (!r) return fail(ErrorKind::invalid_request, "unknown resource '" + resource + "'");
  for (const auto& role : roles) {
    if (std::find(r->app_roles.begin(), r->app_roles.end(), role) == r->app_roles.end())
      return fail(ErrorKind::invalid_request, "'" + role + "' is not an application permission of " + r->display_name);
  }
  return {};
}

Status Directory::add_app(const Json& spec, const std::string& base_dir) {
  if (!spec.is_object()) return fail(ErrorKind::invalid_request, "an app must be a JSON object");
  App app;
  app.client_id = util::to_lower(spec.value("client_id", std::string()));
  if (!util::is_guid(app.client_id))
    return fail(ErrorKind::invalid_request, "client_id '" + app.client_id + "' is not a GUID");
  app.display_name = spec.value("display_name", std::string("App ") + app.client_id.substr(0, 8));
  app.disabled = spec.value("disabled", false);
  util::DeterministicRng rng(seed, "app/" + app.client_id);
  int n = 0;
  for (const Json& s : spec.value("secrets", Json::array())) {
    AppSecret secret;
    secret.id = s.value("id", rng.guid());
    if (s.contains("value")) {
      secret.value = s["value"].get<std::string>();
    } else if (s.contains("value_env")) {
      const char* v = std::getenv(s["value_env"].get<std::string>().c_str());
      if (!v || !*v) return fail(ErrorKind::config, "secret environment variable " + s["value_env"].get<std::string>() + " is not set");
      secret.value = v;
    } else if (s.contains("value_file")) {
      std::string path = s["value_file"].get<std::string>();
      if (!path.empty() && path[0] != '/') path = base_dir + "/" + path;
      secret.value = std::string(util::trim(read_file(path)));
    } else if (s.value("generate", false)) {
      // Filled in by the emulator at start (written to the state directory), never committed.
      secret.value = "";
    } else {
      return fail(ErrorKind::invalid_request, "a secret needs value, value_env, value_file or generate");
    }
    auto exp = util::parse_rfc3339(s.value("expires", std::string("2099-01-01T00:00:00Z")));
    if (!exp) return fail(ErrorKind::invalid_request, "secret expiry is not an RFC 3339 time");
    secret.expires = *exp;
    app.secrets.push_back(std::move(secret));
    ++n;
  }
  for (const Json& c : spec.value("certificates", Json::array())) {
    std::string pem;
    if (c.contains("pem_text")) {
      pem = c["pem_text"].get<std::string>();
    } else {
      std::string path = c.value("pem", std::string());
      if (!path.empty() && path[0] != '/') path = base_dir + "/" + path;
      pem = read_file(path);
    }
    auto cert = crypto::Certificate::from_pem(pem);
    if (!cert) return fail(ErrorKind::invalid_request, "certificate for app " + app.client_id + ": " + cert.error().message);
    app.certificates.push_back({*cert, cert->thumbprint_sha1(), cert->thumbprint_sha256()});
  }
  for (const Json& r : spec.value("redirect_uris", Json::array())) app.redirect_uris.push_back(r.get<std::string>());
  if (app.redirect_uris.empty()) app.redirect_uris.push_back("https://portal.azure.com");
  if (spec.contains("required_roles")) {
    for (const auto& [res, roles] : spec["required_roles"].items()) {
      const Resource* r = find_resource(res);
      if (!r) return fail(ErrorKind::invalid_request, "unknown resource '" + res + "'");
      for (const Json& role : roles) app.required_roles[r->key].push_back(role.get<std::string>());
    }
  } else {
    app.required_roles["xdr"] = {"Incident.Read.All", "AdvancedHunting.Read.All"};
  }
  apps[app.client_id] = std::move(app);
  return {};
}

Status Directory::grant(const std::string& tenant_id, const std::string& client_id, const std::string& resource,
                        const std::vector<std::string>& roles) {
  auto t = tenants.find(tenant_id);
  if (t == tenants.end()) return fail(ErrorKind::not_found, "no tenant " + tenant_id);
  XDR_TRY(check_grant(client_id, resource, roles));
  const Resource* r = find_resource(resource);
  ServicePrincipal& sp = t->second.service_principals[client_id];
  if (sp.object_id.empty()) sp.object_id = object_id_for(tenant_id, client_id);
  auto& set = sp.roles[r->key];
  set.insert(roles.begin(), roles.end());
  return {};
}

} // namespace xdr::emulator
