// The legacy Defender XDR resource API (api.security.microsoft.com/api/...): a resource server that
// validates the emulator's own tokens, partitions data by the token's tenant, and enforces per-tenant quotas.

#include <algorithm>
#include <deque>
#include <set>

#include <emulator/defender_data.hpp>
#include <emulator/kql/kql.hpp>
#include <emulator/kql/render.hpp>
#include <emulator/resource_server.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

constexpr int64_t k_default_result_bytes = 124LL * 1024 * 1024;
const std::string k_odata_base = "https://api.security.microsoft.com/api/$metadata#Incidents";

void send_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_defender_error(res, status, code, message);
}

std::string window_name(int64_t seconds) { return seconds == 60 ? "00:01:00" : "01:00:00"; }

// Counts a call against the tenant's quota `api`; false (429 written) when a window is full.
bool defender_quota(Emulator::Impl& im, httplib::Response& res, const std::string& tid, const std::string& api,
                    int64_t per_minute) {
  auto over = take_quota(im, tid + "/" + api,
                         {{60, per_minute, api + "_per_minute"}, {3600, 1500, api + "_per_hour"}});
  if (!over) return true;
  res.set_header("Retry-After", std::to_string(over->retry_after));
  send_error(res, 429, "429",
             "API calls quota exceeded! maximum allowed " + std::to_string(over->limit) + " per " +
                 window_name(over->window_seconds));
  return false;
}

bool take_quota(Emulator::Impl& im, httplib::Response& res, const std::string& tid, const std::string& api) {
  return defender_quota(im, res, tid, api, api == "incidents" ? 50 : 45);
}

std::optional<int64_t> parse_int(const std::string& s) { return parse_count(s); }

void handle_list(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, Surface::xdr, {"Incident.Read.All", "Incident.ReadWrite.All"});
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
  // The page is assembled from each incident's cached serialization: rendering is the expensive part.
  std::vector<std::shared_ptr<const std::string>> page;
  bool more = false;
  {
    std::shared_lock lock(data->mutex);
    int64_t matched = 0;
    for (size_t idx : data->order) {
      const Incident& inc = data->incidents[idx];
      if (pred && !pred(inc)) continue;
      if (matched++ < skip) continue;
      if (static_cast<int64_t>(page.size()) >= top) {
        more = true;
        break;
      }
      page.push_back(data->rendered_text(idx));
    }
  }
  size_t bytes = 64;
  for (const auto& t : page) bytes += t->size() + 1;
  std::string body;
  body.reserve(bytes + 512);
  body += "{\"@odata.context\":" + Json(k_odata_base).dump() + ",\"value\":[";
  for (size_t i = 0; i < page.size(); ++i) {
    if (i) body += ',';
    body += *page[i];
  }
  body += ']';
  if (more && top > 0) {
    std::string q;
    auto add = [&q](const std::string& k, const std::string& v) {
      q += (q.empty() ? "?" : "&") + k + "=" + util::url_encode(v);
    };
    if (req.has_param("$filter")) add("$filter", req.get_param_value("$filter"));
    if (req.has_param("$top")) add("$top", std::to_string(top));
    add("$skip", std::to_string(skip + top));
    body += ",\"@odata.nextLink\":" + safe_dump(Json(im.base_url(req) + req.path + q));
  }
  body += '}';
  send_body(res, 200, std::move(body));
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
  auto caller = authorize(im, req, res, Surface::xdr, {"Incident.Read.All", "Incident.ReadWrite.All"});
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
  send_body(res, 200, safe_dump(body));
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
  auto caller = authorize(im, req, res, Surface::xdr, {"Incident.ReadWrite.All"});
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
  send_body(res, 200, safe_dump(out));
}

// Runs the body's {"Query"} over the tenant's tables; nullopt (400 written) when the body or the query is bad.
std::optional<kql::QueryResult> run_hunting(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                            const std::string& tid) {
  Json body = Json::parse(req.body, nullptr, false);
  std::string query = string_member(body, "Query");
  if (query.empty()) {
    send_error(res, 400, "InvalidRequestBody", "Missing query.");
    return std::nullopt;
  }
  auto data = tenant_data(im, tid);
  auto catalog = data->catalog();
  kql::QueryOptions o;
  o.now = im.now();
  o.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  o.max_rows = 100'000;
  auto result = kql::run(query, *catalog, o);
  if (!result) {
    send_error(res, 400, "BadRequest", result.error().message);
    return std::nullopt;
  }
  return std::move(*result);
}

void handle_hunting(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, Surface::xdr, {"AdvancedHunting.Read.All"});
  if (!caller || !take_quota(im, res, caller->tid, "hunting")) return;
  auto result = run_hunting(im, req, res, caller->tid);
  if (!result) return;
  send_body(res, 200, safe_dump(kql::to_defender_json(*result)));
}

// Defender for Endpoint's advanced queries: the MDE audience, AdvancedQuery.Read.All, its own quota, and the
// documented result-size cap (124 MB; `limits.advancedqueries_result_bytes` in the scenario scales it).
void handle_advanced_queries(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = authorize(im, req, res, Surface::mde, {"AdvancedQuery.Read.All"});
  if (!caller || !defender_quota(im, res, caller->tid, "advancedqueries", 45)) return;
  auto result = run_hunting(im, req, res, caller->tid);
  if (!result) return;
  int64_t cap = k_default_result_bytes;
  {
    std::shared_lock lock(im.dir->mutex);
    const Json& s = im.dir->scenario;
    Json limits = s.is_object() ? s.value("limits", Json::object()) : Json::object();
    if (limits.is_object()) {
      auto v = limits.find("advancedqueries_result_bytes");
      if (v != limits.end() && v->is_number_integer() && v->get<int64_t>() > 0) cap = v->get<int64_t>();
    }
  }
  OrderedJson out;
  OrderedJson full = kql::to_defender_json(*result);
  out["Schema"] = std::move(full["Schema"]);
  out["Results"] = std::move(full["Results"]);
  std::string text = safe_dump(out);
  if (static_cast<int64_t>(text.size()) > cap)
    return send_error(res, 400, "BadRequest",
                      "Query execution has exceeded the allowed result size. Optimize your query by limiting the "
                      "number of results and try again");
  send_body(res, 200, std::move(text));
}

} // namespace

void Emulator::Impl::install_defender_routes() {
  defender = std::make_shared<DefenderState>(options.render_cache_mb << 20);
  server->route("GET", "/api/incidents", [this](const httplib::Request& req, httplib::Response& res) { handle_list(*this, req, res); });
  server->route("GET", "/api/incidents/([^/]+)",
              [this](const httplib::Request& req, httplib::Response& res) { handle_get(*this, req, res); });
  server->route("PATCH", "/api/incidents/([^/]+)",
                [this](const httplib::Request& req, httplib::Response& res) { handle_patch(*this, req, res); });
  server->route("POST", "/api/advancedhunting/run",
               [this](const httplib::Request& req, httplib::Response& res) { handle_hunting(*this, req, res); });
  for (const char* path : {"/api/advancedqueries/run", "/api/v1.0/advancedqueries/run"})
    server->route("POST", path, [this](const httplib::Request& req, httplib::Response& res) {
      handle_advanced_queries(*this, req, res);
    });
  install_graph_routes();
}

} // namespace xdr::emulator
