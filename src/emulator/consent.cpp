// The admin-consent pages: the v1 link from Microsoft's partner guide
// (/common/oauth2/authorize?prompt=consent&client_id=...&response_type=code&sso_reload=true),
// the v2 /{tenant}/v2.0/adminconsent endpoint and the legacy /{tenant}/adminconsent one.
// An administrator picks the tenant, sees the app and its permissions, and accepts or declines;
// accepting creates the app's service principal in that tenant and grants the roles.

#include <variant>

#include <emulator/service.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::emulator {
namespace {

enum class Flow { v1, v2, legacy };

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&': out += "&amp;"; break;
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&#39;"; break;
    default: out += c;
    }
  }
  return out;
}

const char* k_style = R"(<style>
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
.card{max-width:440px;margin:48px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 16px} .muted{color:#605e5c;font-size:13px}
ul{padding-left:20px} li{margin:6px 0} .perm{font-weight:600} .res{color:#605e5c;font-size:13px}
label{display:block;margin:16px 0 4px;font-weight:600} select,input[type=text]{width:100%;padding:6px;font-size:15px}
.buttons{margin-top:24px;display:flex;gap:8px;justify-content:flex-end}
button{padding:8px 24px;font-size:15px;border:1px solid #8a8886;background:#fff;cursor:pointer}
button.primary{background:#0067b8;color:#fff;border-color:#0067b8}
.error{border-left:4px solid #a80000;padding-left:12px}
</style>)";

void send_page(httplib::Response& res, int status, const std::string& title, const std::string& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store, no-cache");
  res.set_header("X-Frame-Options", "DENY");
  res.set_content("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
                      "</title>" + k_style + "</head><body><div class=\"card\">" + body + "</div></body></html>",
                  "text/html; charset=utf-8");
}

void error_page(httplib::Response& res, int code, const std::string& message) {
  send_page(res, 400, "Sign in",
            "<h1>Sign in</h1><div class=\"error\"><p id=\"error-code\">AADSTS" + std::to_string(code) +
                "</p><p id=\"error-message\">" + html_escape(message) + "</p></div>");
}

struct ConsentRequest {
  Flow flow = Flow::v1;
  std::string path_tenant; // "common", "organizations", a GUID or a domain
  std::string client_id;
  std::string redirect_uri;
  std::string state;
  std::string scope; // v2
};

// Resource keys the consent covers: v2 from the scope, otherwise everything the app asks for.
std::variant<std::vector<std::string>, std::string> consent_resources(const App& app, const ConsentRequest& cr) {
  std::vector<std::string> keys;
  if (cr.flow != Flow::v2) {
    for (const auto& [k, roles] : app.required_roles) keys.push_back(k);
    return keys;
  }
  for (auto s : util::split(cr.scope, ' ')) {
    if (s.empty()) continue;
    std::string sc(s);
    size_t slash = sc.rfind('/');
    std::string res_uri = slash == std::string::npos ? sc : sc.substr(0, slash);
    const Resource* r = find_resource(res_uri);
    if (!r) return "The scope '" + sc + "' is not a resource this directory knows.";
    if (!app.required_roles.count(r->key))
      return "The app '" + app.display_name + "' does not request permissions on " + r->display_name + ".";
    if (std::find(keys.begin(), keys.end(), r->key) == keys.end()) keys.push_back(r->key);
  }
  if (keys.empty()) return std::string("The request must include a 'scope' parameter ending in /.default.");
  return keys;
}

std::string with_params(const std::string& uri, const util::FormFields& params) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + util::encode_form(params);
}

ConsentRequest read_request(const httplib::Request& req, Flow flow, const std::string& tenant) {
  auto get = [&](const char* k) { return req.has_param(k) ? req.get_param_value(k) : std::string(); };
  ConsentRequest cr;
  cr.flow = flow;
  cr.path_tenant = tenant;
  cr.client_id = util::to_lower(get("client_id"));
  cr.redirect_uri = get("redirect_uri");
  cr.state = get("state");
  cr.scope = get("scope");
  return cr;
}

// Validates what can be shown on a page; returns an error page when the request cannot go on.
const App* check_request(Emulator::Impl& im, httplib::Response& res, ConsentRequest& cr) {
  if (cr.client_id.empty()) {
    error_page(res, 900144, "The request body must contain the following parameter: 'client_id'.");
    return nullptr;
  }
  auto it = im.dir->apps.find(cr.client_id);
  if (it == im.dir->apps.end()) {
    error_page(res, 700016,
               "Application with identifier '" + cr.client_id +
                   "' was not found in the directory. This can happen if the application has not been installed by "
                   "the administrator of the tenant or consented to by any user in the tenant.");
    return nullptr;
  }
  const App& app = it->second;
  if (cr.redirect_uri.empty()) cr.redirect_uri = app.redirect_uris.front();
  if (std::find(app.redirect_uris.begin(), app.redirect_uris.end(), cr.redirect_uri) == app.redirect_uris.end()) {
    error_page(res, 50011,
               "The redirect URI '" + cr.redirect_uri + "' specified in the request does not match the redirect URIs "
               "configured for the application '" + app.client_id + "'. Make sure the redirect URI sent in the request "
               "matches one added to your application in the Azure portal.");
    return nullptr;
  }
  if (cr.flow == Flow::v2 && util::iequals(cr.path_tenant, "common")) {
    error_page(res, 90130,
               "The /common endpoint is not supported for admin consent: use the tenant id, a verified domain or "
               "/organizations.");
    return nullptr;
  }
  if (!util::iequals(cr.path_tenant, "common") && !util::iequals(cr.path_tenant, "organizations") &&
      !im.dir->find_tenant(cr.path_tenant)) {
    error_page(res, 90002, "Tenant '" + cr.path_tenant + "' not found. Check to make sure you have the correct tenant ID.");
    return nullptr;
  }
  return &app;
}

void show_page(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, Flow flow) {
  ConsentRequest cr = read_request(req, flow, req.matches[1]);
  std::shared_lock lock(im.dir->mutex);
  const App* app = check_request(im, res, cr);
  if (!app) return;
  auto resources = consent_resources(*app, cr);
  if (std::holds_alternative<std::string>(resources)) {
    res.status = 302;
    res.set_header("Location", with_params(cr.redirect_uri, {{"error", "invalid_request"},
                                                            {"error_description", std::get<std::string>(resources)},
                                                            {"state", cr.state}}));
    return;
  }
  std::string perms;
  for (const auto& key : std::get<std::vector<std::string>>(resources)) {
    const Resource* r = find_resource(key);
    for (const auto& role : app->required_roles.at(key))
      perms += "<li><span class=\"perm\">" + html_escape(role) + "</span><br><span class=\"res\">" +
               html_escape(r->display_name) + " &middot; application permission</span></li>";
  }
  std::string tenant_field;
  const Tenant* fixed = util::iequals(cr.path_tenant, "common") || util::iequals(cr.path_tenant, "organizations")
                            ? nullptr
                            : im.dir->find_tenant(cr.path_tenant);
  if (fixed) {
    tenant_field = "<p class=\"muted\">Signed in as <b>" + html_escape(fixed->admin_upn) + "</b>, administrator of <b>" +
                   html_escape(fixed->display_name) + "</b></p><input type=\"hidden\" name=\"tenant\" value=\"" +
                   fixed->tenant_id + "\">";
  } else if (im.dir->tenants.size() <= 200) {
    tenant_field = "<label for=\"tenant\">Sign in as the administrator of</label><select id=\"tenant\" name=\"tenant\">";
    for (const auto& [id, t] : im.dir->tenants)
      tenant_field += "<option value=\"" + id + "\">" + html_escape(t.display_name) + " (" + html_escape(t.domains.front()) +
                      ")</option>";
    tenant_field += "</select>";
  } else {
    tenant_field = "<label for=\"tenant\">Sign in as the administrator of (tenant id or domain)</label>"
                   "<input type=\"text\" id=\"tenant\" name=\"tenant\" autocomplete=\"off\">";
  }
  std::string hidden;
  auto h = [&](const char* name, const std::string& value) {
    hidden += "<input type=\"hidden\" name=\"" + std::string(name) + "\" value=\"" + html_escape(value) + "\">";
  };
  h("client_id", cr.client_id);
  h("redirect_uri", cr.redirect_uri);
  h("state", cr.state);
  h("scope", cr.scope);
  std::string body = "<h1>Permissions requested</h1><p class=\"muted\">Accept for your organization</p>"
                     "<p><b id=\"app-name\">" + html_escape(app->display_name) + "</b><br><span class=\"muted\">App id " +
                     app->client_id + "</span></p><p>This app would like to:</p><ul id=\"permissions\">" + perms +
                     "</ul><form method=\"post\" id=\"consent-form\">" + hidden + tenant_field +
                     "<p class=\"muted\">Accepting creates the app in your organization and grants these permissions "
                     "to it; you can revoke them later in Enterprise applications.</p><div class=\"buttons\">"
                     "<button type=\"submit\" name=\"decision\" value=\"cancel\" id=\"cancel\">Cancel</button>"
                     "<button type=\"submit\" name=\"decision\" value=\"accept\" id=\"accept\" class=\"primary\">Accept</button>"
                     "</div></form>";
  send_page(res, 200, "Permissions requested", body);
}

void submit(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, Flow flow) {
  auto form = util::parse_form(req.body);
  if (!form) {
    error_page(res, 900144, "The consent form data is malformed.");
    return;
  }
  ConsentRequest cr;
  cr.flow = flow;
  cr.path_tenant = req.matches[1];
  cr.client_id = util::to_lower(util::form_get(*form, "client_id").value_or(""));
  cr.redirect_uri = util::form_get(*form, "redirect_uri").value_or("");
  cr.state = util::form_get(*form, "state").value_or("");
  cr.scope = util::form_get(*form, "scope").value_or("");
  std::string decision = util::form_get(*form, "decision").value_or("");
  std::string tenant_in(util::trim(util::form_get(*form, "tenant").value_or("")));

  std::unique_lock lock(im.dir->mutex);
  const App* app = check_request(im, res, cr);
  if (!app) return;
  util::FormFields params;
  if (decision != "accept") {
    if (flow == Flow::v1) {
      params = {{"error", "access_denied"}, {"error_description", "the user canceled the authentication"}};
    } else if (flow == Flow::v2) {
      params = {{"admin_consent", "True"},
                {"error", "consent_required"},
                {"error_description", "AADSTS65004: User declined to consent to access the app."}};
    } else {
      params = {{"error", "permission_denied"}, {"error_description", "The admin canceled the request"}};
    }
    if (!cr.state.empty()) params.emplace_back("state", cr.state);
    res.status = 302;
    res.set_header("Location", with_params(cr.redirect_uri, params));
    return;
  }
  Tenant* tenant = im.dir->find_tenant(tenant_in);
  if (!tenant) {
    error_page(res, 90002, "Tenant '" + tenant_in + "' not found. Check to make sure you have the correct tenant ID.");
    return;
  }
  bool fixed = !util::iequals(cr.path_tenant, "common") && !util::iequals(cr.path_tenant, "organizations");
  if (fixed && im.dir->find_tenant(cr.path_tenant) != tenant) {
    error_page(res, 90002, "The signed-in administrator does not belong to tenant '" + cr.path_tenant + "'.");
    return;
  }
  auto resources = consent_resources(*app, cr);
  if (std::holds_alternative<std::string>(resources)) {
    error_page(res, 70011, std::get<std::string>(resources));
    return;
  }
  std::string client_id = app->client_id;
  for (const auto& key : std::get<std::vector<std::string>>(resources)) {
    auto granted = im.dir->grant(tenant->tenant_id, client_id, key, app->required_roles.at(key));
    if (!granted) {
      error_page(res, 65005, granted.error().message);
      return;
    }
  }
  if (flow == Flow::v1) {
    params = {{"code", util::base64url_encode(crypto::random_bytes(48))},
              {"session_state", crypto::random_guid()}};
    if (!cr.state.empty()) params.emplace_back("state", cr.state);
    params.emplace_back("admin_consent", "True");
  } else if (flow == Flow::v2) {
    params = {{"admin_consent", "True"}, {"tenant", tenant->tenant_id}, {"scope", cr.scope}};
    if (!cr.state.empty()) params.emplace_back("state", cr.state);
  } else {
    params = {{"tenant", tenant->tenant_id}};
    if (!cr.state.empty()) params.emplace_back("state", cr.state);
    params.emplace_back("admin_consent", "True");
  }
  res.status = 302;
  res.set_header("Location", with_params(cr.redirect_uri, params));
}

} // namespace

void install_consent_routes(Emulator::Impl& im) {
  const std::string seg = "([^/]+)";
  auto& s = *im.server;
  s.route("GET", "/" + seg + "/oauth2/authorize", [&im](const httplib::Request& req, httplib::Response& res) {
    show_page(im, req, res, Flow::v1);
  });
  s.route("POST", "/" + seg + "/oauth2/authorize", [&im](const httplib::Request& req, httplib::Response& res) {
    submit(im, req, res, Flow::v1);
  });
  s.route("GET", "/" + seg + "/v2.0/adminconsent", [&im](const httplib::Request& req, httplib::Response& res) {
    show_page(im, req, res, Flow::v2);
  });
  s.route("POST", "/" + seg + "/v2.0/adminconsent", [&im](const httplib::Request& req, httplib::Response& res) {
    submit(im, req, res, Flow::v2);
  });
  s.route("GET", "/" + seg + "/adminconsent", [&im](const httplib::Request& req, httplib::Response& res) {
    show_page(im, req, res, Flow::legacy);
  });
  s.route("POST", "/" + seg + "/adminconsent", [&im](const httplib::Request& req, httplib::Response& res) {
    submit(im, req, res, Flow::legacy);
  });
}

} // namespace xdr::emulator
