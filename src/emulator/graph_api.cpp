// Graph security (graph.microsoft.com/v1.0/security/...): incidents, alerts_v2 and runHuntingQuery over the
// same per-tenant data as the legacy Defender XDR API, in Graph's camelCase dialect, errors and permissions.

#include <limits>
#include <algorithm>
#include <set>

#include <emulator/kql/kql.hpp>
#include <emulator/kql/render.hpp>
#include <emulator/graph_render.hpp>
#include <emulator/odata_filter.hpp>
#include <emulator/resource_server.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

const std::string k_metadata = "https://graph.microsoft.com/v1.0/$metadata#";
constexpr int64_t k_incident_page = 50;    // default and largest incidents page
constexpr int64_t k_alert_page = 100;      // default alerts_v2 page
constexpr int64_t k_alert_page_max = 2000; // largest alerts_v2 page
constexpr int64_t k_default_app_limit = 130'000; // per app across all tenants, per 10 seconds

// ---- enums: the stored (legacy) spelling <-> Graph's camelCase ----

const std::vector<std::string> k_status = {"active", "resolved", "inProgress", "redirected", "unknownFutureValue",
                                           "awaitingAction"};
const std::vector<std::string> k_severity = {"unknown", "informational", "low", "medium", "high", "unknownFutureValue"};
const std::vector<std::string> k_classification = {"unknown", "falsePositive", "truePositive",
                                                   "informationalExpectedActivity", "unknownFutureValue"};
const std::vector<std::string> k_determination = {
    "unknown",         "apt",       "malware",         "securityPersonnel",   "securityTesting",
    "unwantedSoftware", "other",    "multiStagedAttack", "compromisedUser",   "phishing",
    "maliciousUserActivity", "clean", "insufficientData", "confirmedUserActivity", "lineOfBusinessApplication",
    "unknownFutureValue"};
const std::vector<std::string> k_alert_status = {"unknown", "new", "inProgress", "resolved", "unknownFutureValue"};
const std::vector<std::string> k_service_source = {
    "unknown", "microsoftDefenderForEndpoint", "microsoftDefenderForIdentity", "microsoftDefenderForCloudApps",
    "microsoftDefenderForOffice", "microsoft365Defender", "azureAdIdentityProtection", "microsoftAppGovernance",
    "dataLossPrevention", "unknownFutureValue", "microsoftDefenderForCloud"};

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}
std::string upper_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// Legacy value -> Graph member: "NotAvailable" / "UnSpecified" / "Unknown" are Graph's "unknown".
std::string to_graph(const std::string& legacy) {
  if (legacy == "NotAvailable" || legacy == "UnSpecified" || legacy == "Unknown" || legacy.empty()) return "unknown";
  return lower_first(legacy);
}

int64_t rank(const std::vector<std::string>& members, const std::string& graph_value) {
  auto it = std::find(members.begin(), members.end(), graph_value);
  return it == members.end() ? 0 : it - members.begin();
}

std::string graph_service_source(const std::string& legacy) {
  if (legacy == "MicrosoftDefenderForEndpoint") return "microsoftDefenderForEndpoint";
  if (legacy == "MicrosoftCloudAppSecurity") return "microsoftDefenderForCloudApps";
  if (legacy == "OfficeATP") return "microsoftDefenderForOffice";
  return "unknown";
}

std::string graph_detection_source(const std::string& legacy) {
  if (legacy == "WindowsDefenderAv") return "antivirus";
  if (legacy == "WindowsDefenderAtp") return "microsoftDefenderForEndpoint";
  if (legacy == "AutomatedInvestigation") return "automatedInvestigation";
  if (legacy == "MCAS") return "microsoftDefenderForCloudApps";
  if (legacy == "OfficeATP") return "microsoftDefenderForOffice";
  return "unknown";
}

std::string web_url(const std::string& kind, const std::string& id, const std::string& tid) {
  return "https://security.microsoft.com/" + kind + "/" + id + "?tid=" + tid;
}

// ---- rendering ----

OrderedJson base_evidence(const char* type, const OrderedJson& alert) {
  OrderedJson e;
  e["@odata.type"] = std::string("#microsoft.graph.security.") + type;
  e["createdDateTime"] = alert["creationTime"];
  e["verdict"] = alert["status"] == "Resolved" ? "unknown" : "suspicious";
  e["remediationStatus"] = "none";
  e["remediationStatusDetails"] = nullptr;
  e["roles"] = OrderedJson::array();
  e["detailedRoles"] = OrderedJson::array();
  e["tags"] = OrderedJson::array();
  return e;
}

OrderedJson user_account(const OrderedJson& entity) {
  OrderedJson u;
  u["accountName"] = entity["accountName"];
  u["domainName"] = entity["domainName"];
  u["userSid"] = entity["userSid"];
  u["azureAdUserId"] = entity["aadUserId"];
  u["userPrincipalName"] = entity["userPrincipalName"];
  u["displayName"] = entity["accountName"];
  return u;
}

OrderedJson file_details(const OrderedJson& entity) {
  OrderedJson f;
  f["sha1"] = entity["sha1"];
  f["sha256"] = entity["sha256"];
  f["fileName"] = entity["fileName"];
  f["filePath"] = entity["filePath"];
  f["fileSize"] = nullptr;
  f["filePublisher"] = nullptr;
  f["signer"] = nullptr;
  f["issuer"] = nullptr;
  return f;
}

// The evidence[] of a Graph alert, from the legacy alert's devices and entities.
OrderedJson evidence_of(const OrderedJson& alert) {
  OrderedJson out = OrderedJson::array();
  for (const auto& d : alert["devices"]) {
    OrderedJson e = base_evidence("deviceEvidence", alert);
    e["firstSeenDateTime"] = d["firstSeen"];
    e["mdeDeviceId"] = d["mdatpDeviceId"];
    e["azureAdDeviceId"] = d["aadDeviceId"];
    e["deviceDnsName"] = d["deviceDnsName"];
    e["osPlatform"] = d["osPlatform"];
    e["osBuild"] = d["osBuild"];
    e["version"] = d["version"];
    e["healthStatus"] = lower_first(d["healthStatus"].get<std::string>());
    e["riskScore"] = lower_first(d["riskScore"].get<std::string>());
    e["rbacGroupId"] = d["rbacGroupId"];
    e["rbacGroupName"] = d["rbacGroupName"];
    e["onboardingStatus"] = "onboarded";
    e["defenderAvStatus"] = "updated";
    e["ipInterfaces"] = OrderedJson::array();
    e["loggedOnUsers"] = OrderedJson::array();
    e["vmMetadata"] = nullptr;
    e["roles"] = OrderedJson::array({"compromised"});
    out.push_back(std::move(e));
  }
  for (const auto& en : alert["entities"]) {
    std::string type = en["entityType"].get<std::string>();
    if (type == "User") {
      OrderedJson e = base_evidence("userEvidence", alert);
      e["userAccount"] = user_account(en);
      out.push_back(std::move(e));
    } else if (type == "File") {
      OrderedJson e = base_evidence("fileEvidence", alert);
      e["detectionStatus"] = "detected";
      e["mdeDeviceId"] = en["deviceId"];
      e["fileDetails"] = file_details(en);
      out.push_back(std::move(e));
    } else if (type == "Process") {
      OrderedJson e = base_evidence("processEvidence", alert);
      e["processId"] = en["processId"];
      e["parentProcessId"] = en["parentProcessId"];
      e["processCommandLine"] = en["processCommandLine"];
      e["processCreationDateTime"] = en["processCreationTime"];
      e["parentProcessCreationDateTime"] = en["parentProcessCreationTime"];
      e["detectionStatus"] = "detected";
      e["mdeDeviceId"] = en["deviceId"];
      e["imageFile"] = file_details(en);
      e["userAccount"] = nullptr;
      out.push_back(std::move(e));
    } else if (type == "Ip") {
      OrderedJson e = base_evidence("ipEvidence", alert);
      e["ipAddress"] = en["ipAddress"];
      e["countryLetterCode"] = nullptr;
      out.push_back(std::move(e));
    } else if (type == "Url") {
      OrderedJson e = base_evidence("urlEvidence", alert);
      e["url"] = en["url"];
      out.push_back(std::move(e));
    } else if (type == "MailBox") {
      OrderedJson e = base_evidence("mailboxEvidence", alert);
      e["primaryAddress"] = en["mailboxAddress"];
      e["displayName"] = en["mailboxDisplayName"];
      OrderedJson u = user_account(en);
      u["displayName"] = en["mailboxDisplayName"];
      e["userAccount"] = std::move(u);
      out.push_back(std::move(e));
    } else if (type == "MailMessage") {
      OrderedJson e = base_evidence("analyzedMessageEvidence", alert);
      e["networkMessageId"] = nullptr;
      e["recipientEmailAddress"] = en["recipient"];
      e["subject"] = en["subject"];
      e["p1Sender"] = {{"emailAddress", en["sender"]}, {"displayName", nullptr}, {"domainName", nullptr}};
      e["deliveryAction"] = en["deliveryAction"].is_string() ? OrderedJson(lower_first(en["deliveryAction"].get<std::string>()))
                                                             : OrderedJson(nullptr);
      out.push_back(std::move(e));
    }
  }
  return out;
}

OrderedJson graph_alert(const OrderedJson& a, const std::string& tid) {
  std::string id = a["alertId"].get<std::string>();
  std::string incident = std::to_string(a["incidentId"].get<int64_t>());
  OrderedJson j;
  j["@odata.type"] = "#microsoft.graph.security.alert";
  j["id"] = id;
  j["providerAlertId"] = id;
  j["incidentId"] = incident;
  j["status"] = lower_first(a["status"].get<std::string>());
  j["severity"] = lower_first(a["severity"].get<std::string>());
  j["classification"] = a["classification"].is_string() ? to_graph(a["classification"].get<std::string>()) : "unknown";
  j["determination"] = a["determination"].is_string() ? to_graph(a["determination"].get<std::string>()) : "unknown";
  j["serviceSource"] = graph_service_source(a["serviceSource"].get<std::string>());
  j["detectionSource"] = graph_detection_source(a["detectionSource"].get<std::string>());
  j["detectorId"] = a["detectorId"];
  j["tenantId"] = tid;
  j["title"] = a["title"];
  j["description"] = a["description"];
  j["recommendedActions"] = "Review the evidence and the affected assets; contain affected devices and reset "
                            "credentials of affected users as needed.";
  j["category"] = a["category"];
  j["assignedTo"] = a["assignedTo"];
  j["alertWebUrl"] = web_url("alerts", id, tid);
  j["incidentWebUrl"] = web_url("incidents", incident, tid);
  j["actorDisplayName"] = a["actorName"];
  j["threatDisplayName"] = a["threatFamilyName"];
  j["threatFamilyName"] = a["threatFamilyName"];
  j["mitreTechniques"] = a["mitreTechniques"];
  j["createdDateTime"] = a["creationTime"];
  j["lastUpdateDateTime"] = a["lastUpdatedTime"];
  j["resolvedDateTime"] = a["resolvedTime"];
  j["firstActivityDateTime"] = a["firstActivity"];
  j["lastActivityDateTime"] = a["lastActivity"];
  j["comments"] = OrderedJson::array();
  j["evidence"] = evidence_of(a);
  return j;
}

OrderedJson graph_comments(const Incident& inc) {
  OrderedJson out = OrderedJson::array();
  for (const auto& c : inc.comments) {
    OrderedJson g;
    g["comment"] = c.value("comment", OrderedJson());
    g["createdByDisplayName"] = c.value("createdBy", OrderedJson());
    g["createdDateTime"] = c.value("createdTime", OrderedJson());
    out.push_back(std::move(g));
  }
  return out;
}

} // namespace

OrderedJson graph_incident(const TenantData& data, const Incident& inc, bool with_alerts) {
  const std::string& tid = data.profile().tenant_id;
  std::string id = std::to_string(inc.id);
  OrderedJson j;
  j["@odata.type"] = "#microsoft.graph.security.incident";
  j["id"] = id;
  j["incidentWebUrl"] = web_url("incidents", id, tid);
  j["redirectIncidentId"] = nullptr;
  j["tenantId"] = tid;
  j["displayName"] = inc.name;
  j["createdDateTime"] = format_ticks(inc.created);
  j["lastUpdateDateTime"] = format_ticks(inc.last_update);
  j["assignedTo"] = inc.assigned_to ? OrderedJson(*inc.assigned_to) : OrderedJson(nullptr);
  j["classification"] = to_graph(inc.classification);
  j["determination"] = to_graph(inc.determination);
  j["status"] = to_graph(inc.status);
  j["severity"] = to_graph(inc.severity);
  j["customTags"] = inc.tags;
  j["systemTags"] = OrderedJson::array();
  j["comments"] = graph_comments(inc);
  j["description"] = inc.name + ". Review the alerts and the affected assets.";
  j["summary"] = nullptr;
  j["resolvingComment"] = nullptr;
  if (with_alerts) {
    OrderedJson alerts = OrderedJson::array();
    for (const auto& a : data.render_alerts(inc)) alerts.push_back(graph_alert(a, tid));
    j["alerts"] = std::move(alerts);
  }
  return j;
}

namespace {

// ---- request plumbing ----

void graph_ok(httplib::Response& res, const OrderedJson& body) { send_body(res, 200, safe_dump(body)); }

// Authorizes for the Graph surface and counts the call against the app's limit across tenants.
std::optional<Caller> graph_caller(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                   const std::vector<std::string>& roles) {
  graph_request_id(req, res);
  auto caller = authorize(im, req, res, Surface::graph, roles);
  if (!caller) return std::nullopt;
  auto over = take_quota(im, "graph-app/" + caller->appid, {{10, k_default_app_limit, "graph_per_10_seconds"}});
  if (over) {
    res.set_header("Retry-After", std::to_string(over->retry_after));
    send_graph_error(im, req, res, 429, "TooManyRequests",
                     "Too many requests: the application exceeded " + std::to_string(over->limit) + " requests per " +
                         std::to_string(over->window_seconds) + " seconds across all tenants. Retry after " +
                         std::to_string(over->retry_after) + " seconds.");
    return std::nullopt;
  }
  return caller;
}

struct Paging {
  int64_t top = 0;  // page size
  int64_t skip = 0;
  bool count = false;
  bool expand_alerts = false;
};

// Reads $top, $skip, $count (and $expand when `expandable`); nullopt (400 written) on a bad value.
std::optional<Paging> read_paging(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                  int64_t default_top, int64_t max_top, bool expandable) {
  Paging p;
  p.top = default_top;
  auto bad = [&](const std::string& message) {
    send_graph_error(im, req, res, 400, "BadRequest", message);
    return std::nullopt;
  };
  if (req.has_param("$top")) {
    auto t = parse_count(req.get_param_value("$top"));
    if (!t || *t == 0) return bad("Invalid value '" + req.get_param_value("$top") + "' for $top: give a positive integer.");
    p.top = std::min(*t, max_top);
  }
  if (req.has_param("$skip")) {
    auto s = parse_count(req.get_param_value("$skip"));
    if (!s) return bad("Invalid value '" + req.get_param_value("$skip") + "' for $skip: give a non-negative integer.");
    p.skip = *s;
  }
  if (req.has_param("$count")) {
    std::string c = req.get_param_value("$count");
    if (c != "true" && c != "false") return bad("Invalid value '" + c + "' for $count: give true or false.");
    p.count = c == "true";
  }
  if (req.has_param("$expand")) {
    std::string e = req.get_param_value("$expand");
    if (!expandable || e != "alerts")
      return bad("Could not find a property named '" + e + "' to expand" +
                 (expandable ? std::string(" (expandable: alerts).") : std::string(".")));
    p.expand_alerts = true;
  }
  return p;
}

// The absolute URL of the next page: the same query with $skip advanced.
std::string next_link(Emulator::Impl& im, const httplib::Request& req, int64_t next_skip) {
  std::string q;
  auto add = [&q](const std::string& k, const std::string& v) {
    q += (q.empty() ? "?" : "&") + k + "=" + util::url_encode(v);
  };
  for (const char* k : {"$filter", "$top", "$count", "$expand"})
    if (req.has_param(k)) add(k, req.get_param_value(k));
  add("$skip", std::to_string(next_skip));
  return im.base_url(req) + req.path + q;
}

// ---- incidents ----

const std::vector<ODataField>& incident_fields() {
  static const std::vector<ODataField> f = {
      {"assignedTo", ODataKind::string, {}},
      {"classification", ODataKind::enumeration, k_classification},
      {"createdDateTime", ODataKind::datetime, {}},
      {"determination", ODataKind::enumeration, k_determination},
      {"lastUpdateDateTime", ODataKind::datetime, {}},
      {"severity", ODataKind::enumeration, k_severity},
      {"status", ODataKind::enumeration, k_status},
  };
  return f;
}

ODataOperand incident_field(const Incident& inc, size_t field) {
  switch (field) {
    case 0: return {inc.assigned_to, 0};
    case 1: return {std::nullopt, rank(k_classification, to_graph(inc.classification))};
    case 2: return {std::nullopt, inc.created};
    case 3: return {std::nullopt, rank(k_determination, to_graph(inc.determination))};
    case 4: return {std::nullopt, inc.last_update};
    case 5: return {std::nullopt, rank(k_severity, to_graph(inc.severity))};
    default: return {std::nullopt, rank(k_status, to_graph(inc.status))};
  }
}

void handle_incidents(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = graph_caller(im, req, res, {"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"});
  if (!caller) return;
  auto paging = read_paging(im, req, res, k_incident_page, k_incident_page, true);
  if (!paging) return;
  std::optional<ODataFilter> filter;
  if (req.has_param("$filter")) {
    auto f = parse_odata_filter(req.get_param_value("$filter"), incident_fields());
    if (!f) return send_graph_error(im, req, res, 400, "BadRequest", f.error().message);
    filter = std::move(*f);
  }
  auto data = tenant_data(im, caller->tid);
  OrderedJson body;
  body["@odata.context"] = k_metadata + "security/incidents" + (paging->expand_alerts ? "(alerts())" : "");
  OrderedJson value = OrderedJson::array();
  int64_t matched = 0;
  bool more = false;
  {
    std::shared_lock lock(data->mutex);
    for (size_t idx : data->order) {
      const Incident& inc = data->incidents[idx];
      if (filter && !filter->matches([&](size_t f) { return incident_field(inc, f); })) continue;
      int64_t n = matched++;
      if (n < paging->skip) continue;
      if (static_cast<int64_t>(value.size()) >= paging->top) {
        more = true;
        if (!paging->count) break;
        continue;
      }
      value.push_back(graph_incident(*data, inc, paging->expand_alerts));
    }
  }
  if (paging->count) body["@odata.count"] = matched;
  body["value"] = std::move(value);
  if (more) body["@odata.nextLink"] = next_link(im, req, paging->skip + paging->top);
  graph_ok(res, body);
}

// The incident named in the path; writes Graph's 404 and returns nullopt when it is not the caller's.
std::optional<size_t> find_graph_incident(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                          const TenantData& data) {
  std::string text = req.matches[1];
  auto id = parse_count(text);
  if (id) {
    std::shared_lock lock(data.mutex);
    auto it = data.by_id.find(*id);
    if (it != data.by_id.end()) return it->second;
  }
  send_graph_error(im, req, res, 404, "NotFound", "Incident " + text + " was not found.");
  return std::nullopt;
}

void handle_incident(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = graph_caller(im, req, res, {"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"});
  if (!caller) return;
  auto paging = read_paging(im, req, res, 1, 1, true);
  if (!paging) return;
  auto data = tenant_data(im, caller->tid);
  auto idx = find_graph_incident(im, req, res, *data);
  if (!idx) return;
  OrderedJson body;
  body["@odata.context"] = k_metadata + "security/incidents/$entity";
  std::shared_lock lock(data->mutex);
  OrderedJson incident = graph_incident(*data, data->incidents[*idx], paging->expand_alerts);
  for (auto& [k, v] : incident.items()) body[k] = std::move(v);
  graph_ok(res, body);
}

// A JSON object body, or nullopt with Graph's 400 written.
std::optional<Json> json_body(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  if (!util::istarts_with(req.get_header_value("Content-Type"), "application/json")) {
    send_graph_error(im, req, res, 400, "BadRequest", "The request body must be JSON: send Content-Type: application/json.");
    return std::nullopt;
  }
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    send_graph_error(im, req, res, 400, "BadRequest", "The request body is not a JSON object.");
    return std::nullopt;
  }
  return body;
}

void handle_incident_patch(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = graph_caller(im, req, res, {"SecurityIncident.ReadWrite.All"});
  if (!caller) return;
  auto body = json_body(im, req, res);
  if (!body) return;
  auto data = tenant_data(im, caller->tid);
  auto idx = find_graph_incident(im, req, res, *data);
  if (!idx) return;
  // Validate everything first: a rejected update changes nothing.
  auto invalid = [&](const std::string& field, const std::string& value, const std::vector<std::string>& allowed) {
    send_graph_error(im, req, res, 400, "BadRequest",
                     "Invalid value '" + value + "' for property '" + field + "': expected one of " +
                         util::join(allowed, ", ") + ".");
  };
  std::optional<std::string> status, classification, determination;
  std::optional<std::optional<std::string>> assigned;
  std::optional<std::vector<std::string>> tags;
  auto member = [](const Json& v, const std::vector<std::string>& allowed) -> std::optional<std::string> {
    if (!v.is_string()) return std::nullopt;
    std::string s = v.get<std::string>();
    if (s == "unknownFutureValue" || std::find(allowed.begin(), allowed.end(), s) == allowed.end()) return std::nullopt;
    return s;
  };
  for (const auto& [k, v] : body->items()) {
    if (k == "@odata.type") continue;
    if (k == "status") {
      static const std::vector<std::string> ok = {"active", "resolved", "inProgress", "redirected"};
      auto m = member(v, ok);
      if (!m) return invalid(k, v.is_string() ? v.get<std::string>() : v.dump(), ok);
      status = upper_first(*m);
    } else if (k == "classification") {
      static const std::vector<std::string> ok = {"unknown", "falsePositive", "truePositive", "informationalExpectedActivity"};
      auto m = member(v, ok);
      if (!m) return invalid(k, v.is_string() ? v.get<std::string>() : v.dump(), ok);
      classification = upper_first(*m);
    } else if (k == "determination") {
      std::vector<std::string> ok(k_determination.begin(), k_determination.end() - 1);
      auto m = member(v, ok);
      if (!m) return invalid(k, v.is_string() ? v.get<std::string>() : v.dump(), ok);
      determination = *m == "unknown" ? "NotAvailable" : upper_first(*m);
    } else if (k == "assignedTo") {
      if (v.is_null()) assigned.emplace(std::nullopt);
      else if (v.is_string() && v.get<std::string>().size() <= 256) assigned.emplace(v.get<std::string>());
      else return send_graph_error(im, req, res, 400, "BadRequest", "The property 'assignedTo' must be a string or null.");
    } else if (k == "customTags") {
      std::vector<std::string> t;
      bool ok = v.is_array();
      if (ok)
        for (const auto& e : v) {
          if (!e.is_string()) ok = false;
          else t.push_back(e.get<std::string>());
        }
      if (!ok) return send_graph_error(im, req, res, 400, "BadRequest", "The property 'customTags' must be an array of strings.");
      tags = std::move(t);
    } else {
      bool known = std::any_of(incident_fields().begin(), incident_fields().end(),
                               [&](const ODataField& f) { return f.name == k; }) ||
                   k == "id" || k == "displayName" || k == "comments" || k == "tenantId" || k == "description";
      return send_graph_error(
          im, req, res, 400, "BadRequest",
          known ? "The property '" + k + "' cannot be updated (updatable: status, assignedTo, classification, "
                                         "determination, customTags)."
                : "The property '" + k + "' does not exist on type 'microsoft.graph.security.incident'. Make sure to "
                                         "only use property names that are defined by the type.");
    }
  }
  OrderedJson out;
  out["@odata.context"] = k_metadata + "security/incidents/$entity";
  std::unique_lock lock(data->mutex);
  Incident& inc = data->incidents[*idx];
  if (status) inc.status = *status;
  if (classification) inc.classification = *classification;
  if (determination) inc.determination = *determination;
  if (assigned) inc.assigned_to = *assigned;
  if (tags) inc.tags = *tags;
  inc.last_update = std::max(ticks_of(im.now()), inc.last_update + 1);
  data->touch(*idx);
  OrderedJson incident = graph_incident(*data, inc, false);
  for (auto& [k, v] : incident.items()) out[k] = std::move(v);
  graph_ok(res, out);
}

void handle_incident_comment(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = graph_caller(im, req, res, {"SecurityIncident.ReadWrite.All"});
  if (!caller) return;
  auto body = json_body(im, req, res);
  if (!body) return;
  std::string comment = string_member(*body, "comment");
  if (comment.empty())
    return send_graph_error(im, req, res, 400, "BadRequest", "The property 'comment' is required and must be a non-empty string.");
  auto data = tenant_data(im, caller->tid);
  auto idx = find_graph_incident(im, req, res, *data);
  if (!idx) return;
  OrderedJson out;
  out["@odata.context"] = k_metadata + "Collection(microsoft.graph.security.alertComment)";
  std::unique_lock lock(data->mutex);
  Incident& inc = data->incidents[*idx];
  int64_t now = std::max(ticks_of(im.now()), inc.last_update + 1);
  inc.comments.push_back({{"comment", comment}, {"createdBy", caller->appid}, {"createdTime", format_ticks(now)}});
  inc.last_update = now;
  data->touch(*idx);
  out["value"] = graph_comments(inc);
  graph_ok(res, out);
}

// ---- alerts_v2 ----

const std::vector<ODataField>& alert_fields() {
  static const std::vector<ODataField> f = {
      {"assignedTo", ODataKind::string, {}},
      {"classification", ODataKind::enumeration, k_classification},
      {"createdDateTime", ODataKind::datetime, {}},
      {"determination", ODataKind::enumeration, k_determination},
      {"lastUpdateDateTime", ODataKind::datetime, {}},
      {"severity", ODataKind::enumeration, k_severity},
      {"status", ODataKind::enumeration, k_alert_status},
      {"serviceSource", ODataKind::enumeration, k_service_source},
      {"incidentId", ODataKind::string, {}},
  };
  return f;
}

ODataOperand alert_field(const Incident& inc, const AlertFacts& a, size_t field) {
  bool resolved = inc.status == "Resolved";
  switch (field) {
    case 0: return {inc.assigned_to, 0};
    case 1: return {std::nullopt, rank(k_classification, resolved ? to_graph(inc.classification) : "unknown")};
    case 2: return {std::nullopt, a.created};
    case 3: return {std::nullopt, rank(k_determination, resolved ? to_graph(inc.determination) : "unknown")};
    case 4: return {std::nullopt, a.updated};
    case 5: return {std::nullopt, rank(k_severity, to_graph(a.severity))};
    case 6:
      return {std::nullopt, rank(k_alert_status, resolved ? "resolved" : inc.status == "InProgress" ? "inProgress" : "new")};
    case 7: return {std::nullopt, rank(k_service_source, graph_service_source(a.service_source))};
    default: return {std::to_string(inc.id), 0};
  }
}

void handle_alerts(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = graph_caller(im, req, res, {"SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"});
  if (!caller) return;
  auto paging = read_paging(im, req, res, k_alert_page, k_alert_page_max, false);
  if (!paging) return;
  std::optional<ODataFilter> filter;
  if (req.has_param("$filter")) {
    auto f = parse_odata_filter(req.get_param_value("$filter"), alert_fields());
    if (!f) return send_graph_error(im, req, res, 400, "BadRequest", f.error().message);
    filter = std::move(*f);
  }
  auto data = tenant_data(im, caller->tid);
  OrderedJson body;
  body["@odata.context"] = k_metadata + "security/alerts_v2";
  OrderedJson value = OrderedJson::array();
  int64_t matched = 0;
  bool more = false;
  {
    std::shared_lock lock(data->mutex);
    for (size_t idx : data->order) {
      const Incident& inc = data->incidents[idx];
      std::vector<AlertFacts> facts = data->alert_facts(inc);
      std::vector<bool> take(facts.size(), false);
      bool any = false;
      for (size_t a = 0; a < facts.size(); ++a) {
        if (filter && !filter->matches([&](size_t f) { return alert_field(inc, facts[a], f); })) continue;
        int64_t n = matched++;
        if (n < paging->skip) continue;
        if (static_cast<int64_t>(value.size()) + std::count(take.begin(), take.end(), true) >= paging->top) {
          more = true;
          continue;
        }
        take[a] = any = true;
      }
      if (any) {
        OrderedJson rendered = data->render_alerts(inc);
        for (size_t a = 0; a < facts.size(); ++a)
          if (take[a]) value.push_back(graph_alert(rendered[a], caller->tid));
      }
      if (more && !paging->count) break;
    }
  }
  if (paging->count) body["@odata.count"] = matched;
  body["value"] = std::move(value);
  if (more) body["@odata.nextLink"] = next_link(im, req, paging->skip + paging->top);
  graph_ok(res, body);
}

// ---- runHuntingQuery ----

// The catalog with every table's rows limited to Timestamp >= `from` (tables without Timestamp unchanged).
std::shared_ptr<const kql::Catalog> windowed(const kql::Catalog& catalog, int64_t from, int64_t to) {
  auto out = std::make_shared<kql::Catalog>();
  for (const auto& name : catalog.names()) {
    auto table = catalog.find(name);
    int ts = table->find_column("Timestamp");
    if (ts < 0 || table->schema[static_cast<size_t>(ts)].type != kql::Type::datetime) {
      out->add(name, table);
      continue;
    }
    auto rows = std::make_shared<std::vector<size_t>>();
    for (size_t r = 0; r < table->row_count; ++r) {
      const kql::Value& v = table->at(r, static_cast<size_t>(ts));
      if (v.is_datetime() && v.as_datetime().ticks >= from && v.as_datetime().ticks < to) rows->push_back(table->selection ? (*table->selection)[r] : r);
    }
    kql::Table t;
    t.schema = table->schema;
    t.columns = table->columns;
    t.row_count = rows->size();
    t.selection = std::move(rows);
    out->add(name, std::move(t));
  }
  return out;
}

void handle_run_hunting(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  auto caller = graph_caller(im, req, res, {"ThreatHunting.Read.All"});
  if (!caller) return;
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return send_graph_error(im, req, res, 400, "BadRequest", "The request body is not a JSON object.");
  std::string query = string_member(body, "Query");
  if (query.empty())
    return send_graph_error(im, req, res, 400, "BadRequest", "Missing query: send {\"Query\": \"<KQL>\"}.");
  // Timespan: an ISO 8601 duration back from now ("P7D"), or an interval "start/end" of two RFC 3339 times
  // (the documented format is not confirmed, so both are accepted).
  util::TimePoint now = im.now();
  int64_t from = ticks_of(now) - int64_t{24 * 30 * 3600} * kql::k_ticks_per_second;
  int64_t to = std::numeric_limits<int64_t>::max();
  if (body.contains("Timespan") && !body["Timespan"].is_null()) {
    std::string text = string_member(body, "Timespan");
    size_t slash = text.find('/');
    bool ok = false;
    if (slash != std::string::npos) {
      auto a = util::parse_rfc3339(std::string_view(text).substr(0, slash));
      auto b = util::parse_rfc3339(std::string_view(text).substr(slash + 1));
      if (a && b && *a < *b) {
        from = ticks_of(*a);
        to = ticks_of(*b);
        ok = true;
      }
    } else if (auto d = util::parse_iso_duration(text); d && d->count() > 0) {
      from = ticks_of(now) - d->count() * kql::k_ticks_per_second;
      ok = true;
    }
    if (!ok)
      return send_graph_error(im, req, res, 400, "BadRequest",
                              "Invalid Timespan '" + (text.empty() ? body["Timespan"].dump() : text) +
                                  "': give an ISO 8601 duration such as P7D or PT12H, or an interval START/END.");
  }
  auto data = tenant_data(im, caller->tid);
  auto catalog = windowed(*data->catalog(), from, to);
  kql::QueryOptions o;
  o.now = now;
  o.deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  o.max_rows = 100'000;
  auto result = kql::run(query, *catalog, o);
  if (!result) return send_graph_error(im, req, res, 400, "BadRequest", result.error().message);
  graph_ok(res, kql::to_graph_json(*result));
}

} // namespace

void Emulator::Impl::install_graph_routes() {
  auto route = [this](void (*h)(Emulator::Impl&, const httplib::Request&, httplib::Response&)) {
    return [this, h](const httplib::Request& req, httplib::Response& res) { h(*this, req, res); };
  };
  server->route("GET", "/v1.0/security/incidents", route(handle_incidents));
  server->route("GET", "/v1.0/security/incidents/([^/]+)", route(handle_incident));
  server->route("PATCH", "/v1.0/security/incidents/([^/]+)", route(handle_incident_patch));
  server->route("POST", "/v1.0/security/incidents/([^/]+)/comments", route(handle_incident_comment));
  server->route("GET", "/v1.0/security/alerts_v2", route(handle_alerts));
  server->route("POST", "/v1.0/security/runHuntingQuery", route(handle_run_hunting));
}

} // namespace xdr::emulator
