#include <emulator/service.hpp>

#include <thread>

#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

bool secret_field(std::string_view k) {
  return k == "client_secret" || k == "client_assertion" || k == "assertion" || k == "code" || k == "password" ||
         k == "access_token" || k == "refresh_token" || k == "id_token";
}

Json masked_fields(const util::FormFields& fields) {
  Json out = Json::object();
  for (const auto& [k, v] : fields) out[k] = secret_field(k) ? Json("***") : Json(v);
  return out;
}

bool expects_body(const httplib::Request& req) {
  if (req.has_header("Transfer-Encoding")) return true;
  std::string length = req.get_header_value("Content-Length");
  return !length.empty() && length != "0";
}

} // namespace

void send_json(httplib::Response& res, int status, const Json& body) { send_body(res, status, safe_dump(body)); }

void send_body(httplib::Response& res, int status, std::string body) {
  constexpr size_t k_stream_above = 64 * 1024;
  res.status = status;
  if (body.size() <= k_stream_above || status >= 400) {
    res.set_content(body, "application/json; charset=utf-8");
    return;
  }
  auto shared = std::make_shared<const std::string>(std::move(body));
  res.set_content_provider(shared->size(), "application/json; charset=utf-8",
                           [shared](size_t offset, size_t length, httplib::DataSink& sink) {
                             return sink.write(shared->data() + offset, length);
                           });
}

std::string string_member(const Json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_loopback(const std::string& addr) {
  return addr == "127.0.0.1" || addr == "::1" || addr == "::ffff:127.0.0.1" || util::istarts_with(addr, "127.");
}

// ---- request log ----

void RequestLog::add(const LoggedRequest& e) {
  Json j = {{"time", e.time}, {"method", e.method}, {"path", e.path},   {"query", e.query},
            {"form", e.form}, {"headers", e.headers}, {"route", e.route}, {"tenant", e.tenant},
            {"status", e.status}, {"remote", e.remote}};
  std::string text = safe_dump(j);
  std::lock_guard lock(m_mutex);
  m_entries.emplace_back(m_next++, std::move(text));
  while (m_entries.size() > k_cap) m_entries.pop_front();
}

Json RequestLog::to_json(uint64_t since) const {
  std::lock_guard lock(m_mutex);
  Json arr = Json::array();
  for (const auto& [seq, text] : m_entries) {
    if (seq <= since) continue;
    Json j = Json::parse(text, nullptr, false);
    j["seq"] = seq;
    arr.push_back(std::move(j));
  }
  return {{"requests", arr}, {"next", m_next}};
}

void RequestLog::clear() {
  std::lock_guard lock(m_mutex);
  m_entries.clear();
}

// ---- fault rules ----

Json FaultRule::to_json() const {
  Json j = {{"id", id},       {"route", route},        {"tenant", tenant}, {"method", method},
            {"remaining", remaining}, {"status", status}, {"delay_ms", delay_ms}, {"drop", drop}, {"hits", hits}};
  if (retry_after) j["retry_after"] = *retry_after;
  if (!body.empty()) j["body"] = body;
  return j;
}

uint64_t FaultRules::add(FaultRule rule) {
  std::lock_guard lock(m_mutex);
  rule.id = m_next++;
  m_rules.push_back(rule);
  m_count = m_rules.size();
  return rule.id;
}

std::optional<FaultRule> FaultRules::take(std::string_view route, std::string_view path, std::string_view tenant,
                                          std::string_view method) {
  std::lock_guard lock(m_mutex);
  for (auto& r : m_rules) {
    if (r.remaining == 0) continue;
    bool route_ok = r.route.empty() || r.route == "*" || r.route == route ||
                    (route.size() > r.route.size() && route.substr(0, r.route.size()) == r.route &&
                     route[r.route.size()] == '_') ||
                    (!r.route.empty() && r.route[0] == '/' && path.substr(0, r.route.size()) == r.route);
    if (!route_ok) continue;
    if (!r.tenant.empty() && !util::iequals(r.tenant, tenant)) continue;
    if (!r.method.empty() && !util::iequals(r.method, method)) continue;
    if (r.remaining > 0) --r.remaining;
    ++r.hits;
    return r;
  }
  return std::nullopt;
}

Json FaultRules::to_json() const {
  std::lock_guard lock(m_mutex);
  Json arr = Json::array();
  for (const auto& r : m_rules) arr.push_back(r.to_json());
  return arr;
}

void FaultRules::clear() {
  std::lock_guard lock(m_mutex);
  m_rules.clear();
  m_count = 0;
}

bool FaultRules::remove(uint64_t id) {
  std::lock_guard lock(m_mutex);
  bool removed = std::erase_if(m_rules, [id](const FaultRule& r) { return r.id == id; }) > 0;
  m_count = m_rules.size();
  return removed;
}

// ---- routes ----

Route classify(std::string_view method, std::string_view path) {
  (void)method;
  if (path.substr(0, 11) == "/_emulator/" || path == "/_emulator") return {"control", ""};
  if (path.substr(0, 5) == "/api/") return {"api", ""};
  if (path.substr(0, 6) == "/v1.0/" || path.substr(0, 6) == "/beta/") return {"graph", ""};
  if (path == "/common/discovery/instance") return {"instance", "common"};
  auto parts = util::split(path.substr(path.empty() ? 0 : 1), '/');
  if (parts.size() < 2) return {"other", ""};
  std::string tenant(parts[0]);
  std::string rest(path.substr(1 + parts[0].size()));
  if (rest == "/oauth2/token") return {"token_v1", tenant};
  if (rest == "/oauth2/v2.0/token") return {"token_v2", tenant};
  if (rest == "/.well-known/openid-configuration") return {"openid_v1", tenant};
  if (rest == "/v2.0/.well-known/openid-configuration") return {"openid_v2", tenant};
  if (rest == "/discovery/keys") return {"keys_v1", tenant};
  if (rest == "/discovery/v2.0/keys") return {"keys_v2", tenant};
  if (rest == "/oauth2/authorize") return {"authorize_v1", tenant};
  if (rest == "/v2.0/adminconsent") return {"adminconsent_v2", tenant};
  if (rest == "/adminconsent") return {"adminconsent_legacy", tenant};
  return {"other", tenant};
}

void Emulator::Impl::log_request(const httplib::Request& req, const httplib::Response& res) {
    Route route = classify(req.method, req.path);
    if (route.name == "control") return;
    // Bytes that did not parse as a request line (the unread body of a fault-answered request,
    // read after the client closed): not a request anyone sent.
    if (req.method.empty()) return;
    LoggedRequest e;
    e.time = util::format_rfc3339(now());
    e.method = req.method;
    e.path = req.path;
    e.query = Json::object();
    for (const auto& [k, v] : req.params) e.query[k] = secret_field(k) ? Json("***") : Json(v);
    e.form = Json::object();
    if (util::istarts_with(req.get_header_value("Content-Type"), "application/x-www-form-urlencoded")) {
      if (auto f = util::parse_form(req.body)) e.form = masked_fields(*f);
    }
    e.headers = Json::object();
    for (const char* h : {"Content-Type", "User-Agent", "client-request-id", "x-client-SKU", "x-client-sku",
                          "x-client-VER", "x-ms-lib-capability", "x-ms-client-request-id"}) {
      if (req.has_header(h)) e.headers[util::to_lower(h)] = req.get_header_value(h);
    }
    if (req.has_header("Authorization")) {
      // Only a known scheme is kept; everything after it, or a value without one, is masked.
      std::string a = req.get_header_value("Authorization");
      std::string auth_scheme = a.substr(0, a.find_first_of(" \t"));
      bool known = util::iequals(auth_scheme, "Bearer") || util::iequals(auth_scheme, "Basic");
      e.headers["authorization"] = known && auth_scheme.size() < a.size() ? auth_scheme + " ***" : std::string("***");
    }
    e.route = route.name;
    e.tenant = route.tenant;
    e.status = res.status;
    e.remote = req.remote_addr;
    log.add(e);
}

namespace {

// The `tid` claim of the request's bearer token, unverified; empty when there is none.
std::string bearer_tenant(const httplib::Request& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (!util::istarts_with(auth, "Bearer ")) return {};
  auto token = jwt::decode(std::string_view(auth).substr(7));
  if (!token) return {};
  auto tid = token->payload.find("tid");
  return tid != token->payload.end() && tid->is_string() ? tid->get<std::string>() : std::string();
}

} // namespace

void Emulator::Impl::install_routes() {
  // Fault rules apply before routing: "the next N calls of route R answer S", delays, drops.
  server->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (faults.empty()) return httplib::Server::HandlerResponse::Unhandled;
    Route route = classify(req.method, req.path);
    if (route.name == "control") return httplib::Server::HandlerResponse::Unhandled;
    // The resource APIs have no tenant in the path: their tenant is the bearer token's `tid`, read here
    // without verification (the route itself checks the token), so a rule can fault one tenant's calls.
    std::string tenant = route.tenant.empty() ? bearer_tenant(req) : route.tenant;
    auto rule = faults.take(route.name, req.path, tenant, req.method);
    if (!rule) return httplib::Server::HandlerResponse::Unhandled;
    if (rule->delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(rule->delay_ms));
    if (rule->drop) {
      // Promise a body, then fail to write it: the client sees the connection die mid-response.
      res.set_header("X-Emulator-Fault", std::to_string(rule->id));
      res.set_content_provider(
          1024, "application/json", [](size_t, size_t, httplib::DataSink&) { return false; }, nullptr);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (rule->status == 0) return httplib::Server::HandlerResponse::Unhandled;
    // Answering before routing leaves the request body unread: on a keep-alive connection those
    // bytes would be parsed as the next request, and the client's next request on it (a retry)
    // would get a 400. Close the connection after this answer instead.
    if (expects_body(req)) res.set_header("Connection", "close");
    res.status = rule->status;
    res.set_header("X-Emulator-Fault", std::to_string(rule->id));
    if (rule->retry_after) res.set_header("Retry-After", std::to_string(*rule->retry_after));
    if (!rule->body.empty()) {
      res.set_content(rule->body, "application/json; charset=utf-8");
    } else {
      res.set_content(fault_body(route.name, rule->status, rule->retry_after), "application/json; charset=utf-8");
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  // Every answer carries a Date from the emulator's clock, so clients can measure clock skew
  // (and a clock offset set through the control API shows up as skew). The request is logged here,
  // before the answer is written, so a client that has its answer always finds its request logged.
  server->set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Date", util::format_http_date(now()));
    log_request(req, res);
  });


  // The request log: what every client sent, secrets masked.

  // Errors httplib raises itself (bad request line, body too large, no route) in the service's dialect.
  server->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    Route route = classify(req.method, req.path);
    if (res.status == 413) res.status = 400;
    res.set_content(fault_body(route.name, res.status, std::nullopt), "application/json; charset=utf-8");
    return httplib::Server::HandlerResponse::Handled;
  }));

  // Any exception left in a handler is a bug; answer it in the route's dialect, never crash.
  server->set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
    Route route = classify(req.method, req.path);
    res.status = 500;
    res.set_content(fault_body(route.name, 500, std::nullopt), "application/json; charset=utf-8");
  });

  install_entra_routes();
  install_control_routes();
  install_defender_routes();
}

} // namespace xdr::emulator
