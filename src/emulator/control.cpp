// The control API under /_emulator/, answered on loopback only (docs/emulator.md): change the
// directory at run time, rotate keys, move the clock, inject faults, read the request log.

#include <emulator/resource_server.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

void control_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

std::optional<Json> body_json(const httplib::Request& req, httplib::Response& res) {
  if (req.body.empty()) return Json::object();
  Json j = Json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    control_error(res, 400, "the body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

Json tenant_json(const Tenant& t) {
  Json sps = Json::object();
  for (const auto& [cid, sp] : t.service_principals) {
    Json roles = Json::object();
    for (const auto& [res, set] : sp.roles) roles[res] = Json(std::vector<std::string>(set.begin(), set.end()));
    sps[cid] = {{"object_id", sp.object_id}, {"roles", roles}};
  }
  return {{"tenant_id", t.tenant_id},
          {"display_name", t.display_name},
          {"domains", t.domains},
          {"admin", t.admin_upn},
          {"provisioned", std::vector<std::string>(t.provisioned.begin(), t.provisioned.end())},
          {"service_principals", sps},
          {"data", t.data}};
}

Json app_json(const App& a) {
  Json secrets = Json::array();
  for (const auto& s : a.secrets) secrets.push_back({{"id", s.id}, {"expires", util::format_rfc3339(s.expires, 0)}});
  Json certs = Json::array();
  for (const auto& c : a.certificates)
    certs.push_back({{"x5t", util::hex_encode(c.sha1, true)}, {"subject", c.certificate.subject()}});
  return {{"client_id", a.client_id}, {"display_name", a.display_name}, {"disabled", a.disabled},
          {"secrets", secrets},       {"certificates", certs},          {"redirect_uris", a.redirect_uris},
          {"required_roles", a.required_roles}};
}

} // namespace

void Emulator::Impl::install_control_routes() {
  auto guard = [this](Handler h) {
    return [this, h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
      if (!is_loopback(req.remote_addr)) {
        control_error(res, 403, "the control API answers on loopback only");
        return;
      }
      // A web page can reach loopback too: refuse foreign Host names (DNS rebinding) and
      // bodies that are not declared JSON (no-preflight cross-site POSTs).
      if (!is_our_host(req.get_header_value("Host"))) {
        control_error(res, 403, "the control API answers only to Host 127.0.0.1, ::1, localhost or a --hostname");
        return;
      }
      if (!req.body.empty() && !util::istarts_with(req.get_header_value("Content-Type"), "application/json")) {
        control_error(res, 415, "the control API takes Content-Type: application/json");
        return;
      }
      try {
        h(req, res);
      } catch (const std::exception& e) {
        control_error(res, 400, std::string("bad control request: ") + e.what());
      }
    };
  };
  auto& s = *server;

  s.route("GET", "/_emulator/state", guard([this](const httplib::Request&, httplib::Response& res) {
    std::shared_lock lock(dir->mutex);
    Json tenants = Json::array(), apps = Json::array(), keys = Json::array();
    for (const auto& [id, t] : dir->tenants) tenants.push_back(tenant_json(t));
    for (const auto& [id, a] : dir->apps) apps.push_back(app_json(a));
    for (const auto& k : dir->keys) keys.push_back(k->kid);
    send_json(res, 200, {{"seed", dir->seed}, {"tenants", tenants}, {"apps", apps}, {"keys", keys},
                         {"signing_kid", dir->signing_key()->kid}, {"clock_offset_seconds", dir->clock_offset_seconds.load()},
                         {"now", util::format_rfc3339(now())}});
  }));

  s.route("POST", "/_emulator/tenants", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    std::unique_lock lock(dir->mutex);
    Json specs = body->contains("tenants") ? (*body)["tenants"] : Json::array({*body});
    Json out = Json::array();
    for (const Json& spec : specs) {
      auto ok = dir->add_tenant(spec);
      if (!ok) return control_error(res, 400, ok.error().message);
      std::string id = util::to_lower(spec.value("tenant_id", std::string()));
      const Tenant* t = id.empty() ? nullptr : dir->find_tenant(id);
      if (!t && spec.contains("domain")) t = dir->find_tenant(spec["domain"].get<std::string>());
      if (t) out.push_back(tenant_json(*t));
    }
    send_json(res, 201, specs.size() == 1 && !out.empty() ? out[0] : Json{{"tenants", out}});
  }));

  s.route("GET", "/_emulator/tenants/([^/]+)", guard([this](const httplib::Request& req, httplib::Response& res) {
    std::shared_lock lock(dir->mutex);
    const Tenant* t = dir->find_tenant(req.matches[1].str());
    if (!t) return control_error(res, 404, "no tenant " + req.matches[1].str());
    send_json(res, 200, tenant_json(*t));
  }));

  s.route("DELETE", "/_emulator/tenants/([^/]+)", guard([this](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(dir->mutex);
    Tenant* t = dir->find_tenant(req.matches[1].str());
    if (!t) return control_error(res, 404, "no tenant " + req.matches[1].str());
    for (const auto& d : t->domains) dir->domain_index.erase(d);
    dir->tenants.erase(t->tenant_id);
    res.status = 204;
  }));

  // Grant consent: creates the service principal, adds roles. {"client_id", "resource", "roles": [...]}
  s.route("POST", "/_emulator/tenants/([^/]+)/consents", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    std::unique_lock lock(dir->mutex);
    Tenant* t = dir->find_tenant(req.matches[1].str());
    if (!t) return control_error(res, 404, "no tenant " + req.matches[1].str());
    std::vector<std::string> roles;
    for (const Json& r : body->value("roles", Json::array())) roles.push_back(r.get<std::string>());
    std::string cid = util::to_lower(body->value("client_id", std::string()));
    if (body->value("replace", false)) {
      auto sp = t->service_principals.find(cid);
      const Resource* r = find_resource(body->value("resource", std::string("xdr")));
      if (sp != t->service_principals.end() && r) sp->second.roles.erase(r->key);
    }
    auto ok = dir->grant(t->tenant_id, cid, body->value("resource", std::string("xdr")), roles);
    if (!ok) return control_error(res, 400, ok.error().message);
    send_json(res, 200, tenant_json(*t));
  }));

  // Data churn: {"create": N, "update": M} creates N incidents and moves M others' lastUpdateTime, now.
  s.route("POST", "/_emulator/tenants/([^/]+)/churn", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    std::string tid;
    {
      std::shared_lock lock(dir->mutex);
      const Tenant* t = dir->find_tenant(req.matches[1].str());
      if (!t) return control_error(res, 404, "no tenant " + req.matches[1].str());
      tid = t->tenant_id;
    }
    auto number = [&](const char* k) -> std::optional<int64_t> {
      auto v = body->find(k);
      if (v == body->end()) return 0;
      if (!v->is_number_integer()) return std::nullopt;
      return v->get<int64_t>();
    };
    auto create = number("create"), update = number("update");
    if (!create || !update) return control_error(res, 400, "create and update must be integers");
    auto r = churn_tenant(*this, tid, *create, *update);
    if (!r) return control_error(res, 400, r.error().message);
    send_json(res, 200, {{"tenant_id", tid}, {"created", r->created}, {"updated", r->updated}, {"now", util::format_rfc3339(now())}});
  }));

  // Revoke: the whole service principal, or with ?resource=R[&role=X] only roles.
  s.route("DELETE", "/_emulator/tenants/([^/]+)/consents/([^/]+)", guard([this](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(dir->mutex);
    Tenant* t = dir->find_tenant(req.matches[1].str());
    if (!t) return control_error(res, 404, "no tenant " + req.matches[1].str());
    auto sp = t->service_principals.find(util::to_lower(req.matches[2].str()));
    if (sp == t->service_principals.end()) return control_error(res, 404, "the app has no service principal in this tenant");
    if (!req.has_param("resource")) {
      t->service_principals.erase(sp);
    } else {
      const Resource* r = find_resource(req.get_param_value("resource"));
      if (!r) return control_error(res, 400, "unknown resource " + req.get_param_value("resource"));
      if (req.has_param("role")) {
        sp->second.roles[r->key].erase(req.get_param_value("role"));
      } else {
        sp->second.roles.erase(r->key);
      }
    }
    send_json(res, 200, tenant_json(*t));
  }));

  s.route("POST", "/_emulator/apps", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    std::unique_lock lock(dir->mutex);
    auto ok = dir->add_app(*body, state_dir);
    if (!ok) return control_error(res, 400, ok.error().message);
    send_json(res, 201, app_json(dir->apps.at(util::to_lower((*body)["client_id"].get<std::string>()))));
  }));

  s.route("DELETE", "/_emulator/apps/([^/]+)", guard([this](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(dir->mutex);
    if (!dir->apps.erase(util::to_lower(req.matches[1].str()))) return control_error(res, 404, "no app " + req.matches[1].str());
    res.status = 204;
  }));

  auto set_disabled = [this](bool disabled) {
    return [this, disabled](const httplib::Request& req, httplib::Response& res) {
      std::unique_lock lock(dir->mutex);
      auto it = dir->apps.find(util::to_lower(req.matches[1].str()));
      if (it == dir->apps.end()) return control_error(res, 404, "no app " + req.matches[1].str());
      it->second.disabled = disabled;
      send_json(res, 200, app_json(it->second));
    };
  };
  s.route("POST", "/_emulator/apps/([^/]+)/disable", guard(set_disabled(true)));
  s.route("POST", "/_emulator/apps/([^/]+)/enable", guard(set_disabled(false)));

  // Expire secrets: all of them, or {"index": N}.
  s.route("POST", "/_emulator/apps/([^/]+)/secrets/expire", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    std::unique_lock lock(dir->mutex);
    auto it = dir->apps.find(util::to_lower(req.matches[1].str()));
    if (it == dir->apps.end()) return control_error(res, 404, "no app " + req.matches[1].str());
    auto past = now() - std::chrono::hours(1);
    if (body->contains("index")) {
      size_t i = (*body)["index"].get<size_t>();
      if (i >= it->second.secrets.size()) return control_error(res, 400, "no secret at that index");
      it->second.secrets[i].expires = past;
    } else {
      for (auto& sec : it->second.secrets) sec.expires = past;
    }
    send_json(res, 200, app_json(it->second));
  }));

  // Key rotation: {"drop_old": false} publishes a new signing key and keeps the old ones.
  s.route("POST", "/_emulator/keys/rotate", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    std::unique_lock lock(dir->mutex);
    std::string previous = dir->signing_key()->kid;
    std::string kid = dir->rotate_keys(body->value("drop_old", false));
    Json keys = Json::array();
    for (const auto& k : dir->keys) keys.push_back(k->kid);
    send_json(res, 200, {{"signing_kid", kid}, {"previous_kid", previous}, {"keys", keys}});
  }));

  s.route("DELETE", "/_emulator/keys/([^/]+)", guard([this](const httplib::Request& req, httplib::Response& res) {
    std::unique_lock lock(dir->mutex);
    std::string kid = req.matches[1].str();
    if (dir->keys.size() <= 1) return control_error(res, 400, "the last signing key cannot be removed");
    auto n = std::erase_if(dir->keys, [&](const auto& k) { return k->kid == kid; });
    if (!n) return control_error(res, 404, "no key " + kid);
    res.status = 204;
  }));

  s.route("POST", "/_emulator/clock", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    if (body->contains("offset_seconds")) dir->clock_offset_seconds = (*body)["offset_seconds"].get<int64_t>();
    if (body->contains("advance_seconds")) dir->clock_offset_seconds += (*body)["advance_seconds"].get<int64_t>();
    send_json(res, 200, {{"offset_seconds", dir->clock_offset_seconds.load()}, {"now", util::format_rfc3339(now())}});
  }));

  // Fault rules: {"route": "token", "tenant": "...", "count": 2, "status": 429, "retry_after": 3,
  //               "delay_ms": 0, "drop": false, "body": "..."}
  s.route("POST", "/_emulator/faults", guard([this](const httplib::Request& req, httplib::Response& res) {
    auto body = body_json(req, res);
    if (!body) return;
    FaultRule r;
    r.route = body->value("route", std::string());
    r.tenant = body->value("tenant", std::string());
    r.method = body->value("method", std::string());
    r.remaining = body->value("count", int64_t{1});
    r.status = body->value("status", 0);
    if (body->contains("retry_after")) r.retry_after = (*body)["retry_after"].get<int64_t>();
    r.body = body->value("body", std::string());
    r.delay_ms = body->value("delay_ms", int64_t{0});
    r.drop = body->value("drop", false);
    if (r.route.empty()) return control_error(res, 400, "a fault rule needs a route (a route name, '*', or a path prefix)");
    if (r.status == 0 && r.delay_ms == 0 && !r.drop)
      return control_error(res, 400, "a fault rule needs a status, a delay_ms or drop");
    if (r.status != 0 && (r.status < 100 || r.status > 599)) return control_error(res, 400, "status must be 100..599");
    r.id = faults.add(r);
    send_json(res, 201, r.to_json());
  }));
  s.route("GET", "/_emulator/faults", guard([this](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"faults", faults.to_json()}});
  }));
  s.route("DELETE", "/_emulator/faults", guard([this](const httplib::Request&, httplib::Response& res) {
    faults.clear();
    res.status = 204;
  }));
  s.route("DELETE", "/_emulator/faults/([0-9]+)", guard([this](const httplib::Request& req, httplib::Response& res) {
    if (!faults.remove(std::stoull(req.matches[1].str()))) return control_error(res, 404, "no such fault rule");
    res.status = 204;
  }));

  s.route("GET", "/_emulator/requests", guard([this](const httplib::Request& req, httplib::Response& res) {
    uint64_t since = req.has_param("since") ? std::stoull(req.get_param_value("since")) : 0;
    send_json(res, 200, log.to_json(since));
  }));
  s.route("DELETE", "/_emulator/requests", guard([this](const httplib::Request&, httplib::Response& res) {
    log.clear();
    res.status = 204;
  }));
}

} // namespace xdr::emulator
