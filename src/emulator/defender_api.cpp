// The legacy Defender XDR resource API (api.security.microsoft.com/api/...): a resource server that
// validates the emulator's own tokens, partitions data by the token's tenant, and enforces per-tenant quotas.

#include <algorithm>
#include <deque>
#include <set>

#include <emulator/defender_data.hpp>
#include <emulator/kql/kql.hpp>
#include <emulator/kql/render.hpp>
#include <emulator/service.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {

struct DefenderState {
  DefenderDataStore store;
  std::mutex quota_mutex;
  std::map<std::string, std::deque<int64_t>> calls; // "tenant/api" -> call times (unix seconds), last hour
};

namespace {

constexpr int64_t k_skew_seconds = 300;
const std::string k_odata_base = "https://api.security.microsoft.com/api/$metadata#Incidents";

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_json(res, status, Json{{"error", {{"code", code}, {"message", message}, {"target", crypto::random_guid()}}}});
}

void send_unauthorized(httplib::Response& res, const std::string& message) {
  res.set_header("WWW-Authenticate", "Bearer");
  send_error(res, 401, "Unauthorized", message);
}

struct Caller {
  std::string tid;
  std::string appid;
  std::vector<std::string> roles;
};

bool xdr_audience(const std::string& aud) {
  return aud == "https://api.security.microsoft.com" || aud == "https://api.security.microsoft.com/";
}

// Validates the bearer token and the caller's roles; on failure the response is written and nullopt returned.
std::optional<Caller> authorize(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                const std::vector<std::string>& accepted_roles) {
  std::string auth = req.get_header_value("Authorization");
  if (auth.empty()) {
    send_unauthorized(res, "Authorization header is missing: send 'Authorization: Bearer <access token>'.");
    return std::nullopt;
  }
  if (!util::istarts_with(auth, "Bearer ")) {
    send_unauthorized(res, "Authorization header must use the Bearer scheme: 'Authorization: Bearer <access token>'.");
    return std::nullopt;
  }
  std::string token(util::trim(std::string_view(auth).substr(7)));
  auto decoded = jwt::decode(token);
  if (!decoded) {
    send_unauthorized(res, "The access token is malformed (" + decoded.error().message + "); request a new token.");
    return std::nullopt;
  }
  const Json& h = decoded->header;
  const Json& p = decoded->payload;
  if (string_member(h, "alg") != "RS256") {
    send_unauthorized(res, "The access token must be signed with RS256 by the token service.");
    return std::nullopt;
  }
  std::string kid = string_member(h, "kid");
  std::shared_ptr<const SigningKey> key;
  {
    std::shared_lock lock(im.dir->mutex);
    for (const auto& k : im.dir->keys)
      if (k->kid == kid) key = k;
  }
  if (!key || !key->certificate.public_key().verify(crypto::SignatureAlg::rs256, decoded->signing_input,
                                                     decoded->signature)) {
    send_unauthorized(res, "The access token signature is invalid (unknown key or tampered token); request a new token.");
    return std::nullopt;
  }
  int64_t now = util::to_unix(im.now());
  auto exp = p.find("exp");
  auto nbf = p.find("nbf");
  if (exp == p.end() || !exp->is_number_integer() || exp->get<int64_t>() + k_skew_seconds < now) {
    send_unauthorized(res, "The access token has expired (or has no valid exp); request a new token.");
    return std::nullopt;
  }
  if (nbf != p.end() && (!nbf->is_number_integer() || nbf->get<int64_t>() - k_skew_seconds > now)) {
    send_unauthorized(res, "The access token is not valid yet (nbf is in the future); check the clock.");
    return std::nullopt;
  }
  Caller c;
  c.tid = string_member(p, "tid");
  c.appid = string_member(p, "appid");
  if (c.tid.empty() || string_member(p, "iss") != "https://sts.windows.net/" + c.tid + "/") {
    send_unauthorized(res, "The access token's issuer is not https://sts.windows.net/{tid}/ for its tenant.");
    return std::nullopt;
  }
  {
    std::shared_lock lock(im.dir->mutex);
    if (!im.dir->tenants.count(c.tid)) {
      send_unauthorized(res, "The access token's tenant " + c.tid + " is not known to this service.");
      return std::nullopt;
    }
  }
  std::string aud = string_member(p, "aud");
  if (!xdr_audience(aud)) {
    send_unauthorized(res, "The access token's audience '" + aud +
                               "' is not accepted: request a token for https://api.security.microsoft.com.");
    return std::nullopt;
  }
  if (auto r = p.find("roles"); r != p.end() && r->is_array())
    for (const auto& role : *r)
      if (role.is_string()) c.roles.push_back(role.get<std::string>());
  bool ok = std::any_of(accepted_roles.begin(), accepted_roles.end(), [&](const std::string& want) {
    return std::find(c.roles.begin(), c.roles.end(), want) != c.roles.end();
  });
  if (!ok) {
    send_error(res, 403, "Forbidden",
               "Missing application roles. API required roles: " + accepted_roles.front() +
                   ", application roles: " + util::join(c.roles, ","));
    return std::nullopt;
  }
  return c;
}

std::string window_name(int64_t seconds) { return seconds == 60 ? "00:01:00" : "01:00:00"; }

// Counts a call against the tenant's quota; false (429 written) when a window is full.
bool take_quota(Emulator::Impl& im, httplib::Response& res, const std::string& tid, const std::string& api) {
  int64_t per_minute = api == "incidents" ? 50 : 45;
  int64_t per_hour = 1500;
  {
    std::shared_lock lock(im.dir->mutex);
    const Json& q = im.dir->scenario.is_object() ? im.dir->scenario.value("quotas", Json::object()) : Json::object();
    if (q.is_object()) {
      auto m = q.find(api + "_per_minute");
      if (m != q.end() && m->is_number_integer() && m->get<int64_t>() > 0) per_minute = m->get<int64_t>();
      auto h = q.find(api + "_per_hour");
      if (h != q.end() && h->is_number_integer() && h->get<int64_t>() > 0) per_hour = h->get<int64_t>();
    }
  }
  int64_t now = util::to_unix(im.now());
  std::lock_guard lock(im.defender->quota_mutex);
  auto& calls = im.defender->calls[tid + "/" + api];
  while (!calls.empty() && calls.front() <= now - 3600) calls.pop_front();
  auto in_minute = static_cast<int64_t>(std::count_if(calls.begin(), calls.end(), [&](int64_t t) { return t > now - 60; }));
  int64_t limit = 0, window = 0, retry = 0;
  if (in_minute >= per_minute) {
    limit = per_minute;
    window = 60;
    // The call that frees the window is the in_minute-per_minute+1'th oldest within it.
    auto first = std::find_if(calls.begin(), calls.end(), [&](int64_t t) { return t > now - 60; });
    retry = *(first + (in_minute - per_minute)) + 60 - now;
  } else if (static_cast<int64_t>(calls.size()) >= per_hour) {
    limit = per_hour;
    window = 3600;
    retry = calls[calls.size() - static_cast<size_t>(per_hour)] + 3600 - now;
  }
  if (limit > 0) {
    retry = std::max<int64_t>(retry, 1);
    res.set_header("Retry-After", std::to_string(retry));
    send_error(res, 429, "429",
               "API calls quota exceeded! maximum allowed " + std::to_string(limit) + " per " + window_name(window));
    return false;
  }
  calls.push_back(now);
  return true;
}

std::shared_ptr<TenantData> tenant_data(Emulator::Impl& im, const std::string& tid) {
  TenantProfile profile;
  uint64_t seed = 0;
  {
    std::shared_lock lock(im.dir->mutex);
    const Tenant& t = im.dir->tenants.at(tid);
    seed = im.dir->seed;
    profile.tenant_id = tid;
    profile.domain = t.domains.empty() ? tid + ".onmicrosoft.com" : t.domains.front();
    if (t.data.is_object()) {
      auto n = t.data.find("incidents");
      if (n != t.data.end() && n->is_number_integer())
        profile.incidents = std::clamp<int64_t>(n->get<int64_t>(), 0, k_max_incidents);
    }
  }
  return im.defender->store.get(seed, profile, im.now());
}

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

void handle_list(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, {"Incident.Read.All", "Incident.ReadWrite.All"});
  if (!caller || !take_quota(im, res, caller->tid, "incidents")) return;
  int64_t top = 100, skip = 0;
  if (req.has_param("$top")) {
    auto t = parse_int(req.get_param_value("$top"));
    if (!t) return send_error(res, 400, "ODataError", "Invalid OData URI query: $top must be a non-negative integer.");
    if (*t > 100) return send_error(res, 400, "BadRequest", "The $top value " + std::to_string(*t) + " exceeds the maximum page size of 100.");
    top = *t;
  }
  if (req.has_param("$skip")) {
    auto s = parse_int(req.get_param_value("$skip"));
    if (!s) return send_error(res, 400, "ODataError", "Invalid OData URI query: $skip must be a non-negative integer.");
    skip = *s;
  }
  IncidentPredicate pred;
  if (req.has_param("$filter")) {
    auto p = parse_incident_filter(req.get_param_value("$filter"));
    if (!p) return send_error(res, 400, "ODataError", p.error().message);
    pred = std::move(*p);
  }
  auto data = tenant_data(im, caller->tid);
  OrderedJson body;
  body["@odata.context"] = k_odata_base;
  OrderedJson value = OrderedJson::array();
  bool more = false;
  {
    std::shared_lock lock(data->mutex);
    int64_t matched = 0;
    for (size_t idx : data->order) {
      const Incident& inc = data->incidents[idx];
      if (pred && !pred(inc)) continue;
      if (matched++ < skip) continue;
      if (static_cast<int64_t>(value.size()) >= top) {
        more = true;
        break;
      }
      value.push_back(data->render(inc));
    }
  }
  body["value"] = std::move(value);
  if (more && top > 0) {
    std::string q;
    auto add = [&q](const std::string& k, const std::string& v) {
      q += (q.empty() ? "?" : "&") + k + "=" + util::url_encode(v);
    };
    if (req.has_param("$filter")) add("$filter", req.get_param_value("$filter"));
    if (req.has_param("$top")) add("$top", std::to_string(top));
    add("$skip", std::to_string(skip + top));
    body["@odata.nextLink"] = im.base_url(req) + req.path + q;
  }
  res.status = 200;
  res.set_content(safe_dump(body), "application/json; charset=utf-8");
}

// Finds the incident named in the path; writes 404 and returns nullopt when absent.
std::optional<size_t> find_incident(const TenantData& data, const std::string& id_text, httplib::Response& res) {
  auto id = parse_int(id_text);
  if (id) {
    auto it = data.by_id.find(*id);
    if (it != data.by_id.end()) return it->second;
  }
  send_error(res, 404, "ResourceNotFound", "Incident " + id_text + " was not found");
  return std::nullopt;
}

void handle_get(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, {"Incident.Read.All", "Incident.ReadWrite.All"});
  if (!caller || !take_quota(im, res, caller->tid, "incidents")) return;
  auto data = tenant_data(im, caller->tid);
  auto idx = find_incident(*data, req.matches[1], res);
  if (!idx) return;
  OrderedJson body;
  body["@odata.context"] = k_odata_base + "/$entity";
  {
    std::shared_lock lock(data->mutex);
    OrderedJson incident = data->render(data->incidents[*idx]);
    for (auto& [k, v] : incident.items()) body[k] = std::move(v);
  }
  res.status = 200;
  res.set_content(safe_dump(body), "application/json; charset=utf-8");
}

// Maps accepted determination spellings to the stored (Graph-aligned) name; nullopt when unknown.
std::optional<std::string> normalize_determination(const std::string& d) {
  if (d == "CompromisedAccount" || d == "CompromisedUser") return "CompromisedUser";
  if (d == "ConfirmedActivity" || d == "ConfirmedUserActivity") return "ConfirmedUserActivity";
  if (d == "NoEnoughDataToValidate" || d == "InsufficientData") return "InsufficientData";
  static const std::set<std::string> plain = {"NotAvailable", "Apt", "Malware", "SecurityPersonnel", "SecurityTesting",
                                              "UnwantedSoftware", "Other", "MultiStagedAttack", "MaliciousUserActivity",
                                              "Phishing", "Clean", "LineOfBusinessApplication"};
  if (plain.count(d)) return d;
  return std::nullopt;
}

void handle_patch(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, {"Incident.ReadWrite.All"});
  if (!caller || !take_quota(im, res, caller->tid, "incidents")) return;
  if (!util::istarts_with(req.get_header_value("Content-Type"), "application/json"))
    return send_error(res, 400, "InvalidRequestBody", "The request body must be JSON: send Content-Type: application/json.");
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return send_error(res, 400, "InvalidRequestBody", "The request body is not a JSON object.");
  auto data = tenant_data(im, caller->tid);
  auto idx = find_incident(*data, req.matches[1], res);
  if (!idx) return;
  // Validate everything first, then apply: a rejected update changes nothing.
  auto invalid = [&res](const std::string& field, const std::string& why) {
    send_error(res, 400, "InvalidInput", "The field '" + field + "' " + why);
  };
  std::optional<std::string> status, classification, determination, comment;
  std::optional<std::optional<std::string>> assigned;
  std::optional<std::vector<std::string>> tags;
  for (const auto& [k, v] : body.items()) {
    if (k == "status") {
      static const std::set<std::string> ok = {"Active", "Resolved", "InProgress", "Redirected"};
      if (!v.is_string() || !ok.count(v.get<std::string>()))
        return invalid(k, "must be one of Active, Resolved, InProgress, Redirected.");
      status = v.get<std::string>();
    } else if (k == "assignedTo") {
      if (v.is_null()) assigned.emplace(std::nullopt);
      else if (v.is_string() && v.get<std::string>().size() <= 256) assigned.emplace(v.get<std::string>());
      else return invalid(k, "must be a user principal name (string) or null.");
    } else if (k == "classification") {
      static const std::set<std::string> ok = {"Unknown", "TruePositive", "InformationalExpectedActivity", "FalsePositive"};
      if (!v.is_string() || !ok.count(v.get<std::string>()))
        return invalid(k, "must be one of TruePositive, InformationalExpectedActivity, FalsePositive, Unknown.");
      classification = v.get<std::string>();
    } else if (k == "determination") {
      auto d = v.is_string() ? normalize_determination(v.get<std::string>()) : std::nullopt;
      if (!d) return invalid(k, "has an unknown value; see the documented determination values.");
      determination = *d;
    } else if (k == "tags") {
      if (!v.is_array()) return invalid(k, "must be an array of strings.");
      std::vector<std::string> t;
      for (const auto& e : v) {
        if (!e.is_string()) return invalid(k, "must be an array of strings.");
        t.push_back(e.get<std::string>());
      }
      tags = t;
    } else if (k == "comment") {
      if (!v.is_string() || v.get<std::string>().empty()) return invalid(k, "must be a non-empty string.");
      comment = v.get<std::string>();
    } else {
      return send_error(res, 400, "InvalidInput",
                        "The field '" + k + "' cannot be updated (updatable: status, assignedTo, classification, "
                        "determination, tags, comment; names are case-sensitive).");
    }
  }
  OrderedJson out;
  out["@odata.context"] = k_odata_base + "/$entity";
  {
    std::unique_lock lock(data->mutex);
    Incident& inc = data->incidents[*idx];
    int64_t now = ticks_of(im.now());
    if (status) inc.status = *status;
    if (assigned) inc.assigned_to = *assigned;
    if (classification) inc.classification = *classification;
    if (determination) inc.determination = *determination;
    if (tags) inc.tags = *tags;
    if (comment)
      inc.comments.push_back({{"comment", *comment}, {"createdBy", caller->appid}, {"createdTime", format_ticks(now)}});
    inc.last_update = std::max(now, inc.last_update + 1);
    data->touch(*idx);
    OrderedJson incident = data->render(inc);
    for (auto& [k, v] : incident.items()) out[k] = std::move(v);
  }
  res.status = 200;
  res.set_content(safe_dump(out), "application/json; charset=utf-8");
}

void handle_hunting(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, {"AdvancedHunting.Read.All"});
  if (!caller || !take_quota(im, res, caller->tid, "hunting")) return;
  Json body = Json::parse(req.body, nullptr, false);
  std::string query = string_member(body, "Query");
  if (query.empty()) return send_error(res, 400, "InvalidRequestBody", "Missing query.");
  auto data = tenant_data(im, caller->tid);
  auto catalog = data->catalog();
  kql::QueryOptions o;
  o.now = im.now();
  o.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  o.max_rows = 100'000;
  auto result = kql::run(query, *catalog, o);
  if (!result) return send_error(res, 400, "BadRequest", result.error().message);
  res.status = 200;
  res.set_content(safe_dump(kql::to_defender_json(*result)), "application/json; charset=utf-8");
}

} // namespace

void Emulator::Impl::install_defender_routes() {
  defender = std::make_shared<DefenderState>();
  server->Get("/api/incidents", [this](const httplib::Request& req, httplib::Response& res) { handle_list(*this, req, res); });
  server->Get("/api/incidents/([^/]+)",
              [this](const httplib::Request& req, httplib::Response& res) { handle_get(*this, req, res); });
  server->Patch("/api/incidents/([^/]+)",
                [this](const httplib::Request& req, httplib::Response& res) { handle_patch(*this, req, res); });
  server->Post("/api/advancedhunting/run",
               [this](const httplib::Request& req, httplib::Response& res) { handle_hunting(*this, req, res); });
}

} // namespace xdr::emulator
