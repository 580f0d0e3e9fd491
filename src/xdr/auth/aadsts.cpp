#include <xdr/auth/aadsts.hpp>

#include <cctype>
#include <charconv>

#include <xdr/auth/consent.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::auth {

namespace {

constexpr std::string_view k_said_marker = "Entra ID said: \"";
// When ESTS throttles (90055, 50196) without a Retry-After header, wait this long.
constexpr std::chrono::seconds k_default_throttle_wait{60};

std::string str_member(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

long long code_from_description(std::string_view d) {
  auto pos = d.find("AADSTS");
  if (pos == std::string_view::npos) return 0;
  pos += 6;
  long long v = 0;
  auto [p, ec] = std::from_chars(d.data() + pos, d.data() + d.size(), v);
  return ec == std::errc() && p != d.data() + pos ? v : 0;
}

// The quoted name after "parameter: '" in a 900144 description.
std::string missing_parameter(std::string_view d) {
  auto pos = d.find("parameter: '");
  if (pos == std::string_view::npos) return {};
  pos += 12;
  auto end = d.find('\'', pos);
  if (end == std::string_view::npos || end - pos > 64) return {};
  return std::string(d.substr(pos, end - pos));
}

std::string q(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string authority_text(const TokenErrorContext& c) {
  std::string t = std::string(c.authority_host);
  if (!c.cloud.empty()) t += " (cloud " + std::string(c.cloud) + ")";
  return t;
}

ErrorKind kind_for_status(int status) {
  if (status == 401) return ErrorKind::unauthorized;
  if (status == 403) return ErrorKind::forbidden;
  if (status == 404) return ErrorKind::not_found;
  if (status == 408) return ErrorKind::timeout;
  if (status == 429) return ErrorKind::rate_limited;
  if (status >= 500) return ErrorKind::server;
  return ErrorKind::invalid_request;
}

struct Advice {
  ErrorKind kind;
  std::string text;
};

// The advice for a known AADSTS code; nullopt for codes we have no advice for.
std::optional<Advice> advice_for(long long code, const EntraError& e, const TokenErrorContext& c) {
  const std::string app = q(c.client_id);
  const std::string tenant = q(c.tenant);
  switch (code) {
  case 700016:
    return Advice{ErrorKind::forbidden,
                  "the app " + app + " is not consented in tenant " + tenant +
                      " (it has no service principal there); send this consent link to an administrator of the "
                      "tenant: " + v1_consent_link(c.authority_host, c.client_id) +
                      " — or check the tenant ID if this is the wrong tenant"};
  case 7000215:
    return Advice{ErrorKind::unauthorized,
                  "wrong secret for app " + app + ": use the secret's Value, not its Secret ID (Entra admin center > "
                  "App registrations > the app > Certificates & secrets; the Value is shown only when the secret is "
                  "created, so create a new one if it was not copied)"};
  case 7000222:
    return Advice{ErrorKind::unauthorized,
                  "the client secret of app " + app + " has expired: create a new secret (App registrations > "
                  "Certificates & secrets) and update the configuration, or use a certificate credential instead"};
  case 7000218:
    return Advice{ErrorKind::unauthorized,
                  "the request carried no client credential: configure a client secret (AZURE_CLIENT_SECRET or a "
                  "secret file) or a certificate (AZURE_CLIENT_CERTIFICATE_PATH)"};
  case 90002:
    return Advice{ErrorKind::not_found,
                  "tenant " + tenant + " was not found by " + authority_text(c) +
                      ": check the tenant ID or domain, and that the tenant is in this cloud (commercial and GCC "
                      "tenants sign in at login.microsoftonline.com: --cloud global or gcc; GCC High and DoD tenants "
                      "at login.microsoftonline.us: --cloud gcc-high or dod)"};
  case 900023:
    return Advice{ErrorKind::invalid_request,
                  "tenant " + tenant + " is not a valid tenant identifier: use the customer's tenant ID (a GUID) or "
                  "its domain (e.g. contoso.onmicrosoft.com)"};
  case 500011:
    return Advice{ErrorKind::not_found,
                  "Defender XDR (or the resource " + q(c.resource) + ") is not provisioned in the tenant " + tenant +
                      ": its service principal does not exist there; check the resource (xdr, mde or graph, and the "
                      "cloud), and that the tenant has Microsoft Defender XDR licensed and turned on"};
  case 50001:
    return Advice{ErrorKind::not_found,
                  "the resource " + q(c.resource) + " was not found or is disabled in tenant " + tenant +
                      ": check the resource URI (xdr, mde or graph)"};
  case 500014:
    return Advice{ErrorKind::forbidden,
                  "the service principal of the resource " + q(c.resource) + " is disabled in tenant " + tenant +
                      ": an administrator of the tenant must enable it (Enterprise applications)"};
  case 70011:
  case 1002012:
    return Advice{ErrorKind::invalid_request,
                  "the scope for resource " + q(c.resource) + " is not valid: client credentials need exactly "
                  "one resource followed by /.default (e.g. https://api.security.microsoft.com/.default)"};
  case 700022:
    return Advice{ErrorKind::invalid_request,
                  "the scope names more than one resource: request one token per resource, each with "
                  "<resource>/.default"};
  case 901002:
    return Advice{ErrorKind::invalid_request,
                  "the v2 token endpoint does not take 'resource': send scope=<resource>/.default, or use the v1 "
                  "endpoint"};
  case 900144: {
    std::string p = missing_parameter(e.description);
    return Advice{ErrorKind::invalid_request,
                  "the token request is missing the parameter " + (p.empty() ? std::string("named below") : q(p)) +
                      ": this is a client bug or a proxy that rewrote the request body"};
  }
  case 70003:
    return Advice{ErrorKind::invalid_request,
                  "the token endpoint does not accept grant_type=client_credentials here: check that the authority "
                  "host " + std::string(c.authority_host) + " is an Entra ID endpoint"};
  case 700027:
    return Advice{ErrorKind::unauthorized,
                  "the client assertion's signature was not accepted: the certificate used is not one uploaded to "
                  "app " + app + " (or it was removed); upload the certificate's public part (App registrations > "
                  "Certificates & secrets) or use the key of a certificate that is uploaded"};
  case 700024:
    return Advice{ErrorKind::unauthorized,
                  "the client assertion is outside its valid time range: check this machine's clock (time zone "
                  "and NTP synchronisation)"};
  case 9001023:
    return Advice{ErrorKind::invalid_request,
                  "client credentials do not work on /common, /organizations or /consumers: use the customer's "
                  "tenant ID or domain"};
  case 7000112:
    return Advice{ErrorKind::forbidden,
                  "the app " + app + " is disabled in tenant " + tenant +
                      ": an administrator of the tenant must enable it (Enterprise applications > the app > "
                      "Properties > Enabled for users to sign in)"};
  case 90055:
  case 50196:
    return Advice{ErrorKind::rate_limited,
                  "Entra ID is throttling token requests for tenant " + tenant +
                      ": wait before asking again, and reuse cached tokens instead of requesting one per call"};
  default:
    return std::nullopt;
  }
}

} // namespace

long long EntraError::code() const {
  if (!codes.empty()) return codes.front();
  return code_from_description(description);
}

std::optional<EntraError> parse_entra_error(std::string_view body) {
  auto j = util::parse_json(body);
  if (!j || !j->is_object()) return std::nullopt;
  auto err = j->find("error");
  if (err == j->end() || !err->is_string()) return std::nullopt;
  EntraError e;
  e.error = err->get<std::string>();
  e.description = str_member(*j, "error_description");
  e.trace_id = str_member(*j, "trace_id");
  e.correlation_id = str_member(*j, "correlation_id");
  e.timestamp = str_member(*j, "timestamp");
  e.error_uri = str_member(*j, "error_uri");
  if (auto codes = j->find("error_codes"); codes != j->end() && codes->is_array()) {
    for (const auto& c : *codes)
      if (c.is_number_integer()) e.codes.push_back(c.get<long long>());
  }
  return e;
}

std::string first_line(std::string_view description) {
  auto end = description.find_first_of("\r\n");
  return std::string(util::trim(description.substr(0, end)));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, util::TimePoint now) {
  std::string_view v = util::trim(value);
  if (v.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(v.front()))) {
    long long s = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (ec != std::errc() || p != v.data() + v.size()) return std::nullopt;
    return std::chrono::seconds(std::min<long long>(s, 86400)); // a day at most: beyond is a broken server
  }
  auto when = util::parse_http_date(v);
  if (!when) return std::nullopt;
  auto diff = std::chrono::duration_cast<std::chrono::seconds>(*when - now);
  return diff.count() > 0 ? std::min(diff, std::chrono::seconds(86400)) : std::chrono::seconds(0);
}

Error map_token_error(const http::Response& response, const TokenErrorContext& c, util::TimePoint now) {
  std::optional<std::chrono::seconds> retry_after;
  if (auto h = response.headers.get("retry-after")) retry_after = parse_retry_after(*h, now);

  auto parsed = parse_entra_error(response.body);
  if (!parsed) {
    // Not Entra's JSON: a proxy, a captive portal, a load balancer page or a truncated body.
    Error e(response.status == 429 || response.status >= 500 ? kind_for_status(response.status)
                                                              : ErrorKind::invalid_response,
            "the token endpoint " + std::string(c.token_endpoint) + " answered HTTP " +
                std::to_string(response.status) + " with " + util::describe_body(response.body) +
                " instead of an Entra ID error; check the authority host and any proxy between here and it");
    e.http_status = response.status;
    if (auto rid = response.headers.get("x-ms-request-id")) e.request_id = *rid;
    e.retry_after = retry_after;
    return e;
  }

  const EntraError& ee = *parsed;
  const long long code = ee.code();
  std::string line = first_line(ee.description);
  std::optional<Advice> advice = advice_for(code, ee, c);

  Error e;
  e.http_status = response.status;
  e.code = code != 0 ? "AADSTS" + std::to_string(code) : ee.error;
  e.request_id = !ee.trace_id.empty() ? ee.trace_id : response.headers.get("x-ms-request-id").value_or("");
  e.retry_after = retry_after;

  if (advice) {
    e.kind = advice->kind;
    e.message = advice->text;
  } else {
    e.kind = ee.error == "invalid_client" ? ErrorKind::unauthorized : kind_for_status(response.status);
    e.message = "Entra ID refused the token request for tenant " + q(c.tenant) + " (" +
                (code != 0 ? e.code + ", " : std::string()) + ee.error + ", HTTP " +
                std::to_string(response.status) + ")";
  }
  // The HTTP status wins for throttling and outages, whatever the code.
  if (response.status == 429) e.kind = ErrorKind::rate_limited;
  if (response.status >= 500 && e.kind != ErrorKind::rate_limited) e.kind = ErrorKind::server;
  if (ee.error == "invalid_client" && e.kind != ErrorKind::rate_limited && e.kind != ErrorKind::server)
    e.kind = ErrorKind::unauthorized;
  if (e.kind == ErrorKind::rate_limited && !e.retry_after) e.retry_after = k_default_throttle_wait;

  if (!line.empty()) e.message += "; " + std::string(k_said_marker) + line + "\"";
  if (!ee.trace_id.empty()) {
    e.message += " (trace ID " + ee.trace_id;
    if (!ee.correlation_id.empty()) e.message += ", correlation ID " + ee.correlation_id;
    e.message += ")";
  }
  return e;
}

bool is_consent_missing(const Error& error) {
  return error.code == "AADSTS700016" || error.code == "AADSTS65001";
}

std::string_view entra_summary(const Error& error) {
  std::string_view m = error.message;
  auto pos = m.find(k_said_marker);
  if (pos == std::string_view::npos) return {};
  pos += k_said_marker.size();
  auto end = m.rfind('"');
  return m.substr(pos, end == std::string_view::npos || end < pos ? std::string_view::npos : end - pos);
}

std::string describe_error(const Error& error) {
  std::string out = "error: " + error.message + "\n";
  out += "  kind: " + std::string(to_string(error.kind)) + "\n";
  if (!error.code.empty()) out += "  code: " + error.code + "\n";
  if (error.http_status) out += "  HTTP status: " + std::to_string(*error.http_status) + "\n";
  if (!error.request_id.empty()) out += "  trace ID: " + error.request_id + " (quote it to Microsoft support)\n";
  if (error.retry_after) out += "  retry after: " + std::to_string(error.retry_after->count()) + " s\n";
  if (is_consent_missing(error)) out += "  next step: an administrator of the tenant must open the consent link\n";
  return out;
}

} // namespace xdr::auth
