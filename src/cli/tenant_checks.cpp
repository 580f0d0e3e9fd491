#include <cli/tenant_checks.hpp>

#include <algorithm>

#include <cli/output.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

RoleCheck check_roles(const Settings& settings, const std::string& alias, const std::string& uri, const Json& claims) {
  RoleCheck check;
  check.present = claim_roles(claims);
  if (auto it = settings.required_roles.find(alias); it != settings.required_roles.end()) check.needed = it->second;
  else if (auto by_uri = settings.required_roles.find(uri); by_uri != settings.required_roles.end())
    check.needed = by_uri->second;
  for (const auto& r : check.needed)
    if (std::find(check.present.begin(), check.present.end(), r) == check.present.end()) check.missing.push_back(r);
  return check;
}

std::string permission_api_name(const std::string& alias) {
  if (alias == "xdr") return "Microsoft Threat Protection";
  if (alias == "mde") return "WindowsDefenderATP";
  if (alias == "graph") return "Microsoft Graph";
  return alias;
}

Error ApiProbe::error() const {
  Error e(ErrorKind::server, detail + (notes.empty() || notes.front().empty() ? std::string() : ": " + notes.front()));
  if (!http_status) {
    e.kind = ErrorKind::transport;
    return e;
  }
  e.http_status = http_status;
  switch (*http_status) {
  case 200: e.kind = ErrorKind::invalid_response; break;
  case 401: e.kind = ErrorKind::unauthorized; break;
  case 403: e.kind = ErrorKind::forbidden; break;
  case 429: e.kind = ErrorKind::rate_limited; break;
  default: break;
  }
  return e;
}

ApiProbe probe_defender_api(http::Transport& transport, const std::string& api_base, const std::string& token) {
  ApiProbe probe;
  http::Request request;
  request.method = "GET";
  std::string base = api_base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  request.url = base + "/api/incidents?$top=1";
  request.headers.set("Authorization", "Bearer " + token);
  request.headers.set("Accept", "application/json");
  auto response = transport.send(request);
  const std::string where = "GET " + base + "/api/incidents?$top=1";
  if (!response) {
    probe.detail = where + ": unreachable";
    probe.notes = {response.error().message};
    return probe;
  }
  probe.http_status = response->status;
  std::string message;
  Json body = Json::parse(response->body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_object())
    message = body["error"].value("message", std::string());
  switch (response->status) {
  case 200: {
    size_t n = body.is_object() && body.contains("value") && body["value"].is_array() ? body["value"].size() : 0;
    if (!body.is_object() || !body.contains("value")) {
      probe.detail = where + ": 200 but not an incidents page (received " + util::describe_body(response->body) + ")";
    } else {
      probe.outcome = ApiProbe::Outcome::ok;
      probe.detail = where + ": 200, the token is accepted (" + std::to_string(n) + " incident(s) on the first page)";
    }
    return probe;
  }
  case 401:
    probe.detail = where + ": 401, the API refused the token";
    probe.notes = {message.empty() ? "check the token's audience (it must be the Defender XDR API)" : message};
    return probe;
  case 403:
    probe.detail = where + ": 403, the token lacks a permission";
    probe.notes = {message.empty() ? "grant Incident.Read.All and consent again" : message};
    return probe;
  case 429:
    probe.outcome = ApiProbe::Outcome::warn;
    probe.detail = where + ": 429, throttled" +
                   (response->headers.get("retry-after") ? "; retry after " + *response->headers.get("retry-after") + " s"
                                                         : std::string());
    probe.notes = {message};
    return probe;
  default:
    probe.detail = where + ": HTTP " + std::to_string(response->status);
    probe.notes = {message.empty() ? util::describe_body(response->body) : message};
    return probe;
  }
}

std::string defender_api_base(const std::string& flag, const auth::Environment& env, auth::Cloud cloud) {
  if (!flag.empty()) return flag;
  if (env) {
    if (auto v = env("XDR_API_BASE"); v && !v->empty()) return *v;
  }
  return std::string(auth::endpoints(cloud).xdr_api);
}

} // namespace xdr::cli
