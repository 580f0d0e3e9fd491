// Entra ID: token endpoints (v1, v2), OpenID configuration, JWKS, instance discovery and the
// admin-consent pages, answered as the real service answers them (facts doc, section 2).

#include <algorithm>
#include <cmath>
#include <variant>

#include <emulator/service.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

constexpr std::string_view k_jwt_bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr int64_t k_assertion_skew = 300;

struct EntraError {
  int http = 400;
  std::string error;
  int code = 0;
  std::string message;
};

EntraError err(int http, std::string error, int code, std::string message) {
  return {http, std::move(error), code, std::move(message)};
}

std::string trace_id() { return id_random_guid(); }

std::string correlation_of(const httplib::Request& req) {
  std::string c = req.get_header_value("client-request-id");
  return util::is_guid(c) ? util::to_lower(c) : crypto::random_guid();
}

OrderedJson entra_error_json(const EntraError& e, const std::string& trace, const std::string& corr,
                             util::TimePoint now, const std::string& base) {
  // ESTS keeps this key order; nlohmann's default object would sort it.
  std::string ts = util::format_entra_timestamp(now);
  OrderedJson j;
  j["error"] = e.error;
  j["error_description"] = "AADSTS" + std::to_string(e.code) + ": " + e.message + "\r\nTrace ID: " + trace +
                           "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + ts;
  j["error_codes"] = {e.code};
  j["timestamp"] = ts;
  j["trace_id"] = trace;
  j["correlation_id"] = corr;
  j["error_uri"] = base + "/error?code=" + std::to_string(e.code);
  return j;
}

void no_cache_headers(httplib::Response& res, const std::string& trace) {
  res.set_header("Cache-Control", "no-store, no-cache");
  res.set_header("Pragma", "no-cache");
  res.set_header("Expires", "-1");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("x-ms-request-id", trace);
  res.set_header("x-ms-ests-server", "xdr-emulator");
}

void send_entra_error(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, const EntraError& e) {
  std::string trace = trace_id();
  no_cache_headers(res, trace);
  OrderedJson j = entra_error_json(e, trace, correlation_of(req), im.now(), im.base_url(req));
  res.status = e.http;
  res.set_content(safe_dump(j), "application/json; charset=utf-8");
}

bool is_meta_tenant(std::string_view t) {
  return util::iequals(t, "common") || util::iequals(t, "organizations") || util::iequals(t, "consumers");
}

bool valid_tenant_syntax(std::string_view t) {
  if (util::is_guid(t) || is_meta_tenant(t)) return true;
  if (t.size() < 3 || t.size() > 253 || t.find('.') == std::string_view::npos) return false;
  for (char c : t)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  return t.front() != '.' && t.back() != '.';
}

EntraError tenant_not_found(std::string_view t) {
  if (t == "00000000-0000-0000-0000-000000000000")
    return err(400, "invalid_tenant", 90002, "Requested tenant identifier '" + std::string(t) + "' is not valid. Tenant identifiers may not be an empty GUID.");
  return err(400, "invalid_tenant", 90002,
             "Tenant '" + std::string(t) +
                 "' not found. Check to make sure you have the correct tenant ID and are signing into the correct "
                 "cloud. Check with your subscription administrator, this may happen if there are no active "
                 "subscriptions for the tenant.");
}

EntraError malformed_tenant(std::string_view t) {
  return err(400, "invalid_request", 900023,
             "Specified tenant identifier '" + std::string(t) + "' is neither a valid DNS name, nor a valid external domain.");
}

EntraError missing_param(std::string_view name) {
  return err(400, "invalid_request", 900144,
             "The request body must contain the following parameter: '" + std::string(name) + "'.");
}

// A NumericDate claim (integer or float, as Python's time.time() gives); INT64_MIN when it is not
// a number within [0, 2^53], so that no arithmetic on it can overflow.
int64_t claim_seconds(const Json& v) {
  constexpr int64_t k_max = int64_t{1} << 53;
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(k_max) ? int64_t(v.get<uint64_t>()) : INT64_MIN;
  if (v.is_number_integer()) {
    int64_t x = v.get<int64_t>();
    return x >= 0 && x <= k_max ? x : INT64_MIN;
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    return std::isfinite(d) && d >= 0 && d <= double(k_max) ? static_cast<int64_t>(std::floor(d)) : INT64_MIN;
  }
  return INT64_MIN;
}

std::string thumb_hex(std::string_view raw) { return util::hex_encode(raw, true); }

// MSAL Python writes the thumbprint with Python's urlsafe_b64encode, '=' padding included.
std::optional<std::string> decode_thumbprint(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  return util::base64url_decode(text);
}

// Strips "scheme://our-host[:port]" when the host is one of the emulator's names; nullopt otherwise.
std::optional<std::string> our_path(const Emulator::Impl& im, std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(scheme_end + 3);
  size_t slash = rest.find('/');
  std::string_view host = rest.substr(0, slash);
  std::string name(host);
  if (!name.empty() && name.front() == '[') name = name.substr(1, name.find(']') - 1);
  else if (auto c = name.rfind(':'); c != std::string::npos) name = name.substr(0, c);
  bool ours = name == "127.0.0.1" || name == "localhost" || name == "::1" || name == "login.microsoftonline.com";
  for (const auto& h : im.options.hostnames) ours = ours || util::iequals(name, h);
  if (!ours) return std::nullopt;
  return slash == std::string_view::npos ? std::string("/") : std::string(rest.substr(slash));
}

struct TokenRequest {
  bool v2 = false;
  std::string tenant_segment;
  util::FormFields form;
};

struct IssuePlan {
  std::string tid;
  std::string client_id;
  std::string oid;
  std::string aud;
  std::string resource_echo; // v1 "resource" as requested
  std::vector<std::string> roles;
  std::string appidacr;
  std::shared_ptr<const SigningKey> key;
  int64_t lifetime = 3900;
  std::optional<int64_t> refresh_in;
};

// Checks a client assertion (private_key_jwt) against the app's registered certificates.
std::optional<EntraError> check_assertion(Emulator::Impl& im, const App& app, const std::string& assertion,
                                          const std::string& tenant_segment, const std::string& tid,
                                          const std::vector<std::string>& domains, int64_t now) {
  auto decoded = jwt::decode(assertion);
  if (!decoded)
    return err(401, "invalid_client", 50027, "JWT token is invalid or malformed. The client assertion could not be parsed.");
  const Json& h = decoded->header;
  const Json& p = decoded->payload;
  std::string alg = string_member(h, "alg");
  auto sig_alg = jwt::parse_alg(alg);
  if (!sig_alg)
    return err(401, "invalid_client", 700027,
               "Client assertion failed signature validation. (Reason - The algorithm '" + alg +
                   "' is not supported: use RS256 or PS256.)");
  const AppCertificate* cert = nullptr;
  std::string presented;
  if (h.contains("x5t#S256") && h["x5t#S256"].is_string()) {
    auto t = decode_thumbprint(h["x5t#S256"].get<std::string>());
    presented = t ? thumb_hex(*t) : h["x5t#S256"].get<std::string>();
    for (const auto& c : app.certificates)
      if (t && c.sha256 == *t) cert = &c;
  } else if (h.contains("x5t") && h["x5t"].is_string()) {
    auto t = decode_thumbprint(h["x5t"].get<std::string>());
    presented = t ? thumb_hex(*t) : h["x5t"].get<std::string>();
    for (const auto& c : app.certificates)
      if (t && c.sha1 == *t) cert = &c;
  } else {
    return err(401, "invalid_client", 700027,
               "Client assertion failed signature validation. (Reason - The assertion header has neither 'x5t' nor "
               "'x5t#S256': the key cannot be identified.)");
  }
  if (!cert)
    return err(401, "invalid_client", 700027,
               "Client assertion failed signature validation. (Reason - The key was not found., Thumbprint of key "
               "used by client: '" + presented + "', Please visit the Azure Portal, Graph Explorer or directly use "
               "MS Graph to see configured keys for app Id '" + app.client_id + "'. Review the documentation at "
               "https://docs.microsoft.com/en-us/graph/deployments if you are not using the global cloud.)");
  if (!cert->certificate.public_key().verify(*sig_alg, decoded->signing_input, decoded->signature))
    return err(401, "invalid_client", 700027, "Client assertion failed signature validation.");
  if (string_member(p, "iss") != app.client_id || string_member(p, "sub") != app.client_id)
    return err(401, "invalid_client", 700021,
               "Client assertion application identifier doesn't match 'client_id' parameter. Review the "
               "documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .");
  // Audience: this tenant's token endpoint (v1 or v2, by GUID, domain or the segment used), or its issuer.
  std::vector<std::string> accepted;
  std::vector<std::string> segments = {tenant_segment, tid};
  for (const auto& d : domains) segments.push_back(d);
  for (const auto& s : segments) {
    accepted.push_back("/" + s + "/oauth2/v2.0/token");
    accepted.push_back("/" + s + "/oauth2/token");
    accepted.push_back("/" + s + "/v2.0");
    accepted.push_back("/" + s + "/");
  }
  std::vector<std::string> auds;
  if (p.contains("aud") && p["aud"].is_string()) auds.push_back(p["aud"].get<std::string>());
  if (p.contains("aud") && p["aud"].is_array())
    for (const auto& a : p["aud"])
      if (a.is_string()) auds.push_back(a.get<std::string>());
  bool aud_ok = false;
  for (const auto& a : auds) {
    auto path = our_path(im, a);
    if (!path) continue;
    for (const auto& acc : accepted)
      if (util::iequals(*path, acc)) aud_ok = true;
  }
  if (!aud_ok)
    return err(401, "invalid_client", 50027,
               "JWT token is invalid or malformed. The client assertion's audience '" +
                   (auds.empty() ? std::string() : auds.front()) + "' is not the token endpoint of tenant '" + tid + "'.");
  int64_t exp = p.contains("exp") ? claim_seconds(p["exp"]) : INT64_MIN;
  int64_t nbf = p.contains("nbf") ? claim_seconds(p["nbf"]) : (p.contains("iat") ? claim_seconds(p["iat"]) : now);
  if (exp == INT64_MIN || nbf == INT64_MIN)
    return err(401, "invalid_client", 700024, "Client assertion contains no valid 'exp' claim.");
  if (now > exp + k_assertion_skew || now + k_assertion_skew < nbf)
    return err(401, "invalid_client", 700024,
               "Client assertion is not within its valid time range. Current time: " +
                   util::format_rfc3339(util::from_unix(now)) + ", assertion valid from " +
                   util::format_rfc3339(util::from_unix(nbf)) + ", expiry time of assertion " +
                   util::format_rfc3339(util::from_unix(exp)) + ". Review the documentation at "
                   "https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .");
  // jti replay: Microsoft's clients re-send the very same assertion until it nears expiry (MSAL
  // Python keeps it 540 s, msal-node while unexpired), and Entra accepts that. What must never pass
  // is a *different* assertion under a jti already seen: that is a forged or replayed identifier.
  std::string jti = string_member(p, "jti");
  if (!jti.empty()) {
    std::string digest = crypto::sha256(assertion);
    std::lock_guard lock(im.jti_mutex);
    std::erase_if(im.seen_jti, [now](const auto& kv) { return kv.second.second + k_assertion_skew < now; });
    std::string key = app.client_id + "/" + jti;
    auto seen = im.seen_jti.find(key);
    if (seen != im.seen_jti.end() && (seen->second.first != digest || im.dir->strict_jti))
      return err(401, "invalid_client", 700023,
                 "Client assertion has already been used: the 'jti' claim '" + jti +
                     "' was seen before in another assertion. Create a new assertion (with a new jti) for each "
                     "credential change.");
    im.seen_jti[key] = {digest, exp};
  }
  return std::nullopt;
}

// Resolves a v2 scope to a resource; nullopt + error on a bad scope.
std::variant<const Resource*, EntraError> resource_from_scope(const std::string& scope, std::string& aud) {
  auto parts = util::split(scope, ' ');
  std::vector<std::string> scopes;
  for (auto s : parts)
    if (!s.empty()) scopes.emplace_back(s);
  if (scopes.empty()) return missing_param("scope");
  const Resource* found = nullptr;
  for (const auto& s : scopes) {
    if (s == "openid" || s == "profile" || s == "offline_access" || s == "email") continue;
    size_t slash = s.rfind('/');
    std::string last = slash == std::string::npos ? s : s.substr(slash + 1);
    std::string res_uri = slash == std::string::npos ? s : s.substr(0, slash);
    if (last != ".default") {
      if (slash != std::string::npos && find_resource(res_uri))
        return err(400, "invalid_scope", 1002012,
                   "The provided value for scope " + s +
                       " is not valid. Client credential flows must have a scope value with /.default suffixed to the "
                       "resource identifier (application ID URI).");
      return err(400, "invalid_scope", 70011,
                 "The provided request must include a 'scope' input parameter. The provided value for the input "
                 "parameter 'scope' is not valid. The scope " + s + " is not valid.");
    }
    const Resource* r = find_resource(res_uri);
    if (!r) {
      if (res_uri.find("://") == std::string::npos && !util::is_guid(res_uri))
        return err(400, "invalid_scope", 70011,
                   "The provided value for the input parameter 'scope' is not valid. The scope " + s + " is not valid.");
      return err(400, "invalid_resource", 500011,
                 "The resource principal named " + res_uri + " was not found in the tenant named {tenant}. This can "
                 "happen if the application has not been installed by the administrator of the tenant or consented "
                 "to by any user in the tenant. You might have sent your authentication request to the wrong tenant.");
    }
    if (found && found != r)
      return err(400, "invalid_scope", 700022,
                 "The provided value for the input parameter scope is not valid because it contains more than one "
                 "resource. Scope " + scope + " is not valid.");
    found = r;
    aud = res_uri;
  }
  if (!found)
    return err(400, "invalid_scope", 70011,
               "The provided value for the input parameter 'scope' is not valid. The scope " + scope + " is not valid.");
  return found;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
}

std::variant<IssuePlan, EntraError> plan_token(Emulator::Impl& im, const httplib::Request& req, const TokenRequest& tr) {
  const auto& f = tr.form;
  const std::string& seg = tr.tenant_segment;
  if (!valid_tenant_syntax(seg)) return malformed_tenant(seg);
  auto grant_type = util::form_get(f, "grant_type");
  if (!grant_type) return missing_param("grant_type");
  if (*grant_type != "client_credentials")
    return err(400, "unsupported_grant_type", 70003,
               "The app requested an unsupported grant type '" + *grant_type +
                   "'. This emulator issues app-only tokens: use grant_type=client_credentials.");
  if (is_meta_tenant(seg))
    return err(400, "invalid_request", 9001023,
               "The grant type isn't supported over the /common or /consumers endpoints. Please use the "
               "/organizations or tenant-specific endpoint.");

  // Client id and secret: body, or HTTP Basic (RFC 6749 section 2.3.1: form-encoded, then base64).
  std::optional<std::string> client_id = util::form_get(f, "client_id");
  std::optional<std::string> secret = util::form_get(f, "client_secret");
  std::string auth = req.get_header_value("Authorization");
  if (util::istarts_with(auth, "Basic ")) {
    auto raw = util::base64_decode(util::trim(std::string_view(auth).substr(6)));
    size_t colon = raw ? raw->find(':') : std::string::npos;
    if (!raw || colon == std::string::npos)
      return err(401, "invalid_client", 7000218, "The HTTP Basic credentials are malformed.");
    auto id = util::url_decode(raw->substr(0, colon));
    auto sec = util::url_decode(raw->substr(colon + 1));
    if (!id || !sec) return err(401, "invalid_client", 7000218, "The HTTP Basic credentials are malformed.");
    if (client_id && !util::iequals(*client_id, *id))
      return err(401, "invalid_client", 700021, "The client_id in the body and in the Authorization header differ.");
    client_id = *id;
    secret = *sec;
  }
  if (!client_id || client_id->empty()) return missing_param("client_id");
  std::string cid = util::to_lower(*client_id);

  std::string aud, resource_echo;
  const Resource* resource = nullptr;
  if (tr.v2) {
    if (util::form_get(f, "resource"))
      return err(400, "invalid_request", 901002, "The 'resource' request parameter is not supported.");
    auto scope = util::form_get(f, "scope");
    if (!scope) return missing_param("scope");
    auto r = resource_from_scope(*scope, aud);
    if (std::holds_alternative<EntraError>(r)) {
      EntraError e = std::get<EntraError>(r);
      replace_all(e.message, "{tenant}", seg);
      return e;
    }
    resource = std::get<const Resource*>(r);
  } else {
    auto res = util::form_get(f, "resource");
    if (!res || res->empty()) return missing_param("resource");
    resource = find_resource(*res);
    aud = *res;
    resource_echo = *res;
    if (!resource)
      return err(400, "invalid_resource", 500011,
                 "The resource principal named " + *res + " was not found in the tenant named " + seg +
                     ". This can happen if the application has not been installed by the administrator of the tenant "
                     "or consented to by any user in the tenant. You might have sent your authentication request to "
                     "the wrong tenant.");
  }

  std::shared_lock lock(im.dir->mutex);
  const Tenant* tenant = im.dir->find_tenant(seg);
  if (!tenant) return tenant_not_found(seg);
  auto app_it = im.dir->apps.find(cid);
  if (!util::is_guid(cid) || app_it == im.dir->apps.end())
    return err(400, "unauthorized_client", 700016,
               "Application with identifier '" + *client_id + "' was not found in the directory '" +
                   tenant->display_name +
                   "'. This can happen if the application has not been installed by the administrator of the tenant "
                   "or consented to by any user in the tenant. You may have sent your authentication request to the "
                   "wrong tenant.");
  const App& app = app_it->second;
  if (app.disabled)
    return err(400, "unauthorized_client", 7000112, "Application '" + app.client_id + "'(" + app.display_name + ") is disabled.");

  int64_t now = util::to_unix(im.now());
  IssuePlan plan;
  auto assertion = util::form_get(f, "client_assertion");
  auto assertion_type = util::form_get(f, "client_assertion_type");
  if (assertion || assertion_type) {
    if (!assertion) return missing_param("client_assertion");
    if (!assertion_type) return missing_param("client_assertion_type");
    if (*assertion_type != k_jwt_bearer)
      return err(400, "invalid_request", 50027,
                 "Invalid client_assertion_type '" + *assertion_type + "': use " + std::string(k_jwt_bearer) + ".");
    if (secret) return err(401, "invalid_client", 7000218, "Send either client_secret or client_assertion, not both.");
    if (auto e = check_assertion(im, app, *assertion, seg, tenant->tenant_id, tenant->domains, now)) return *e;
    plan.appidacr = "2";
  } else if (secret) {
    const AppSecret* match = nullptr;
    for (const auto& s : app.secrets)
      if (!s.value.empty() && crypto::equal_ct(s.value, *secret)) match = &s;
    if (!match)
      return err(401, "invalid_client", 7000215,
                 "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                 "value, not the client secret ID, for a secret added to app '" + app.client_id + "'.");
    if (util::to_unix(match->expires) <= now)
      return err(401, "invalid_client", 7000222,
                 "The provided client secret keys for app '" + app.client_id +
                     "' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, "
                     "or consider using certificate credentials for added security: https://aka.ms/certCreds.");
    plan.appidacr = "1";
  } else {
    return err(401, "invalid_client", 7000218,
               "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }

  // Consent: the app's service principal must exist in the tenant.
  auto sp = tenant->service_principals.find(app.client_id);
  if (sp == tenant->service_principals.end())
    return err(400, "unauthorized_client", 700016,
               "Application with identifier '" + app.client_id + "' was not found in the directory '" +
                   tenant->display_name +
                   "'. This can happen if the application has not been installed by the administrator of the tenant "
                   "or consented to by any user in the tenant. You may have sent your authentication request to the "
                   "wrong tenant.");
  if (!tenant->provisioned.count(resource->key))
    return err(400, "invalid_resource", 500011,
               "The resource principal named " + aud + " was not found in the tenant named " + tenant->display_name +
                   ". This can happen if the application has not been installed by the administrator of the tenant or "
                   "consented to by any user in the tenant. You might have sent your authentication request to the "
                   "wrong tenant.");
  plan.tid = tenant->tenant_id;
  plan.client_id = app.client_id;
  plan.oid = sp->second.object_id;
  plan.aud = aud;
  plan.resource_echo = resource_echo;
  if (auto r = sp->second.roles.find(resource->key); r != sp->second.roles.end())
    plan.roles.assign(r->second.begin(), r->second.end());
  plan.key = im.dir->signing_key();
  plan.lifetime = im.dir->token.lifetime_seconds;
  plan.refresh_in = im.dir->token.refresh_in;
  return plan;
}

// Each worker thread signs with its own copy of the key: one shared RSA key makes concurrent
// signers queue on OpenSSL's blinding lock.
const crypto::RsaPrivateKey& thread_signer(const SigningKey& key) {
  thread_local std::map<std::string, crypto::RsaPrivateKey> copies;
  auto it = copies.find(key.kid);
  if (it == copies.end()) {
    if (copies.size() > 16) copies.clear(); // rotated-away keys
    it = copies.emplace(key.kid, key.key.clone()).first;
  }
  return it->second;
}

void handle_token(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, bool v2) {
  TokenRequest tr;
  tr.v2 = v2;
  tr.tenant_segment = req.matches[1];
  std::string ctype = req.get_header_value("Content-Type");
  if (!req.body.empty() && util::istarts_with(ctype, "application/x-www-form-urlencoded")) {
    auto form = util::parse_form(req.body);
    if (!form) {
      send_entra_error(im, req, res,
                       err(400, "invalid_request", 900144,
                           "The request body is not valid application/x-www-form-urlencoded data (a percent-escape is malformed)."));
      return;
    }
    tr.form = std::move(*form);
  }
  auto plan_or = plan_token(im, req, tr);
  if (std::holds_alternative<EntraError>(plan_or)) {
    send_entra_error(im, req, res, std::get<EntraError>(plan_or));
    return;
  }
  const IssuePlan& plan = std::get<IssuePlan>(plan_or);
  int64_t now = util::to_unix(im.now());
  // Entra backdates iat/nbf by 5 minutes; short test lifetimes backdate by half their length.
  int64_t iat = now - std::min<int64_t>(300, plan.lifetime / 2);
  int64_t exp = iat + plan.lifetime;
  int64_t expires_in = exp - now - 1;
  std::string sts = "https://sts.windows.net/" + plan.tid + "/";
  // Header, claims and body are written as text, in the key order nlohmann's sorted objects gave
  // them (the header and claims) and ESTS's order (the body); trees cost more than the rest of the request.
  JsonObjectWriter header;
  header.member("alg", jwt::alg_name(crypto::SignatureAlg::rs256))
      .member("kid", plan.key->kid)
      .member("typ", "JWT")
      .member("x5t", plan.key->kid);
  JsonObjectWriter claims;
  claims.member("aio", util::base64_encode(id_random_bytes(42)))
      .member("appid", plan.client_id)
      .member("appidacr", plan.appidacr)
      .member("aud", plan.aud)
      .member("exp", exp)
      .member("iat", iat)
      .member("idp", sts)
      .member("idtyp", "app")
      .member("iss", sts)
      .member("nbf", iat)
      .member("oid", plan.oid)
      .member("rh", "0.A" + util::base64url_encode(id_random_bytes(48)) + ".");
  if (!plan.roles.empty()) claims.member("roles", plan.roles);
  claims.member("sub", plan.oid)
      .member("tid", plan.tid)
      .member("uti", util::base64url_encode(id_random_bytes(16)))
      .member("ver", "1.0");
  auto token = jwt::sign_json_text(header.finish(), claims.finish(), thread_signer(*plan.key), crypto::SignatureAlg::rs256);
  if (!token) {
    send_entra_error(im, req, res, err(500, "server_error", 50000, "There was an error issuing a token."));
    return;
  }
  JsonObjectWriter body;
  body.member("token_type", "Bearer");
  if (v2) {
    body.member("expires_in", expires_in).member("ext_expires_in", expires_in);
    if (plan.refresh_in) body.member("refresh_in", *plan.refresh_in);
  } else {
    body.member("expires_in", std::to_string(expires_in))
        .member("ext_expires_in", std::to_string(expires_in))
        .member("expires_on", std::to_string(exp))
        .member("not_before", std::to_string(iat))
        .member("resource", plan.resource_echo);
    if (plan.refresh_in) body.member("refresh_in", *plan.refresh_in);
  }
  body.member("access_token", *token);
  std::string trace = trace_id();
  no_cache_headers(res, trace);
  if (im.scheme == "https") res.set_header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  res.status = 200;
  res.set_content(body.finish(), "application/json; charset=utf-8");
}

// ---- discovery ----

void discovery_headers(httplib::Response& res) {
  res.set_header("Cache-Control", "max-age=86400, private");
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Allow-Methods", "GET, OPTIONS");
}

// The tenant id for a path segment: the GUID, "{tenantid}" for common/organizations; nullopt if unknown.
std::optional<std::string> resolve_for_discovery(Emulator::Impl& im, const std::string& seg, EntraError& e) {
  if (!valid_tenant_syntax(seg)) {
    e = malformed_tenant(seg);
    return std::nullopt;
  }
  if (is_meta_tenant(seg)) return std::string("{tenantid}");
  std::shared_lock lock(im.dir->mutex);
  const Tenant* t = im.dir->find_tenant(seg);
  if (!t) {
    e = tenant_not_found(seg);
    return std::nullopt;
  }
  return t->tenant_id;
}

void handle_openid(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, bool v2) {
  std::string seg = req.matches[1];
  EntraError e;
  auto tid = resolve_for_discovery(im, seg, e);
  if (!tid) {
    send_entra_error(im, req, res, e);
    return;
  }
  std::string base = im.base_url(req);
  bool meta = is_meta_tenant(seg);
  std::string t = meta ? util::to_lower(seg) : *tid; // endpoints carry the GUID even when asked by domain
  // The two documents share their shape; v2 paths carry "/v2.0", and the issuers differ.
  const std::string ep = base + "/" + t + (v2 ? "/oauth2/v2.0" : "/oauth2");
  OrderedJson j;
  j["token_endpoint"] = ep + "/token";
  j["token_endpoint_auth_methods_supported"] = {"client_secret_post", "private_key_jwt", "client_secret_basic"};
  j["jwks_uri"] = base + "/" + t + (v2 ? "/discovery/v2.0/keys" : "/discovery/keys");
  j["response_modes_supported"] = {"query", "fragment", "form_post"};
  j["subject_types_supported"] = {"pairwise"};
  j["id_token_signing_alg_values_supported"] = {"RS256"};
  if (v2) {
    j["response_types_supported"] = {"code", "id_token", "code id_token", "id_token token"};
    j["scopes_supported"] = {"openid", "profile", "email", "offline_access"};
    j["issuer"] = base + "/" + *tid + "/v2.0";
    j["request_uri_parameter_supported"] = false;
    j["userinfo_endpoint"] = "https://graph.microsoft.com/oidc/userinfo";
  } else {
    j["response_types_supported"] = {"code", "id_token", "code id_token", "token id_token", "token"};
    j["scopes_supported"] = {"openid"};
    j["issuer"] = "https://sts.windows.net/" + *tid + "/";
    j["microsoft_multi_refresh_token"] = true;
  }
  j["authorization_endpoint"] = ep + "/authorize";
  j["device_authorization_endpoint"] = ep + "/devicecode";
  j["http_logout_supported"] = true;
  j["frontchannel_logout_supported"] = true;
  j["end_session_endpoint"] = ep + "/logout";
  if (v2) {
    j["claims_supported"] = {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                             "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                             "name", "tid", "ver", "at_hash", "c_hash", "email"};
  } else {
    j["claims_supported"] = {"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                             "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "amr", "nonce", "email",
                             "given_name", "family_name", "nickname"};
    j["check_session_iframe"] = ep + "/checksession";
    j["userinfo_endpoint"] = base + "/" + t + "/openid/userinfo";
  }
  j["kerberos_endpoint"] = base + "/" + t + "/kerberos";
  j["tenant_region_scope"] = meta ? Json(nullptr) : Json("WW");
  j["cloud_instance_name"] = "microsoftonline.com";
  j["cloud_graph_host_name"] = "graph.windows.net";
  j["msgraph_host"] = "graph.microsoft.com";
  j["rbac_url"] = "https://pas.windows.net";
  discovery_headers(res);
  res.status = 200;
  res.set_content(safe_dump(j), "application/json; charset=utf-8");
}

void handle_keys(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, bool v2) {
  std::string seg = req.matches[1];
  EntraError e;
  auto tid = resolve_for_discovery(im, seg, e);
  if (!tid) {
    send_entra_error(im, req, res, e);
    return;
  }
  std::vector<std::shared_ptr<const SigningKey>> keys;
  {
    std::shared_lock lock(im.dir->mutex);
    keys = im.dir->keys;
  }
  Json arr = Json::array();
  for (const auto& k : keys) {
    auto pub = k->key.public_key();
    OrderedJson jk;
    jk["kty"] = "RSA";
    jk["use"] = "sig";
    jk["kid"] = k->kid;
    jk["x5t"] = k->kid;
    jk["n"] = util::base64url_encode(pub.modulus());
    jk["e"] = util::base64url_encode(pub.exponent());
    jk["x5c"] = {k->x5c};
    if (v2) jk["issuer"] = im.base_url(req) + "/{tenantid}/v2.0";
    arr.push_back(Json::parse(jk.dump()));
  }
  // Newest key first is as good as any order: clients must not rely on it.
  std::reverse(arr.begin(), arr.end());
  discovery_headers(res);
  res.status = 200;
  OrderedJson body;
  body["keys"] = arr;
  res.set_content(safe_dump(body), "application/json; charset=utf-8");
}

void handle_instance(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res) {
  std::string ep = req.get_param_value("authorization_endpoint");
  auto path = our_path(im, ep);
  if (ep.empty() || !path) {
    res.status = 400;
    OrderedJson j;
    j["error"] = "invalid_instance";
    j["error_description"] = "AADSTS50049: Unknown or invalid instance. The authority in the request ('" + ep +
                             "') is not this emulator.";
    j["error_codes"] = {50049};
    j["timestamp"] = util::format_entra_timestamp(im.now());
    res.set_content(safe_dump(j), "application/json; charset=utf-8");
    return;
  }
  std::string base = im.base_url(req);
  std::string host = base.substr(base.find("://") + 3);
  auto segs = util::split(std::string_view(*path).substr(1), '/');
  std::string tenant = segs.empty() || segs[0].empty() ? "common" : std::string(segs[0]);
  OrderedJson j;
  j["tenant_discovery_endpoint"] = base + "/" + tenant + "/v2.0/.well-known/openid-configuration";
  j["api-version"] = req.has_param("api-version") ? req.get_param_value("api-version") : "1.1";
  j["metadata"] = Json::array({{{"preferred_network", host}, {"preferred_cache", host}, {"aliases", {host}}}});
  discovery_headers(res);
  res.status = 200;
  res.set_content(safe_dump(j), "application/json; charset=utf-8");
}

} // namespace

std::string fault_body(std::string_view route, int status, std::optional<int64_t> retry_after) {
  if (route == "api") {
    std::string code = status == 429 ? "429" : status >= 500 ? "InternalServerError" : status == 404 ? "NotFound" : "BadRequest";
    std::string msg = status == 429 ? "API calls quota exceeded! maximum allowed 45 per 00:01:00"
                      : status >= 500 ? "An internal server error occurred."
                      : status == 404 ? "The requested resource was not found."
                                      : "The request is invalid.";
    return safe_dump(Json{{"error", {{"code", code}, {"message", msg}, {"target", crypto::random_guid()}}}});
  }
  if (route == "graph") {
    std::string code = status == 429 ? "TooManyRequests" : status >= 500 ? "UnknownError" : status == 404 ? "NotFound" : "BadRequest";
    return safe_dump(Json{{"error",
                 {{"code", code},
                  {"message", status == 429 ? "Too many requests." : "The request failed."},
                  {"innerError",
                   {{"date", util::format_rfc3339(std::chrono::system_clock::now(), 0)},
                    {"request-id", crypto::random_guid()},
                    {"client-request-id", crypto::random_guid()}}}}}});
  }
  EntraError e;
  if (status == 429) {
    e = err(429, "temporarily_unavailable", 90055,
            "TenantThrottlingError - There are too many incoming requests. This exception is thrown for blocked tenants." +
                (retry_after ? " Retry after " + std::to_string(*retry_after) + " seconds." : std::string()));
  } else if (status >= 500) {
    e = err(status, "temporarily_unavailable", 50000, "There was an error issuing a token or an issue with our sign-in service.");
  } else if (status == 404) {
    e = err(404, "invalid_request", 900561, "The endpoint only accepts the routes this service serves.");
  } else {
    e = err(status, "invalid_request", 900144, "The request is malformed or too large.");
  }
  std::string trace = crypto::random_guid();
  return safe_dump(entra_error_json(e, trace, crypto::random_guid(), std::chrono::system_clock::now(),
                                    "https://login.microsoftonline.com"));
}

void install_consent_routes(Emulator::Impl& im);

void Emulator::Impl::install_entra_routes() {
  const std::string seg = "([^/]+)";
  server->route("POST", "/" + seg + "/oauth2/token", [this](const httplib::Request& req, httplib::Response& res) {
    handle_token(*this, req, res, false);
  });
  server->route("POST", "/" + seg + "/oauth2/v2.0/token", [this](const httplib::Request& req, httplib::Response& res) {
    handle_token(*this, req, res, true);
  });
  auto wrong_method = [this](const httplib::Request& req, httplib::Response& res) {
    send_entra_error(*this, req, res,
                     err(405, "invalid_request", 900561, "The endpoint only accepts POST requests. Received a GET request."));
  };
  server->route("GET", "/" + seg + "/oauth2/token", wrong_method);
  server->route("GET", "/" + seg + "/oauth2/v2.0/token", wrong_method);
  server->route("GET", "/" + seg + "/.well-known/openid-configuration", [this](const httplib::Request& req, httplib::Response& res) {
    handle_openid(*this, req, res, false);
  });
  server->route("GET", "/" + seg + "/v2.0/.well-known/openid-configuration",
              [this](const httplib::Request& req, httplib::Response& res) { handle_openid(*this, req, res, true); });
  server->route("GET", "/" + seg + "/discovery/keys", [this](const httplib::Request& req, httplib::Response& res) {
    handle_keys(*this, req, res, false);
  });
  server->route("GET", "/" + seg + "/discovery/v2.0/keys", [this](const httplib::Request& req, httplib::Response& res) {
    handle_keys(*this, req, res, true);
  });
  server->route("GET", "/common/discovery/instance", [this](const httplib::Request& req, httplib::Response& res) {
    handle_instance(*this, req, res);
  });
  install_consent_routes(*this);
}

} // namespace xdr::emulator
