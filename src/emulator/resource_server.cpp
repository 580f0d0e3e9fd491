#include <emulator/resource_server.hpp>

#include <algorithm>

#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

constexpr int64_t k_skew_seconds = 300;

const char* resource_key(Surface s) { return s == Surface::xdr ? "xdr" : s == Surface::mde ? "mde" : "graph"; }

std::string strip_slash(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return util::to_lower(s);
}

// The resource a token's `aud` names: one of its identifier URIs (trailing '/' ignored) or its app id.
const Resource* audience_resource(const std::string& aud) {
  std::string want = strip_slash(aud);
  if (want.empty()) return nullptr;
  for (const auto& r : known_resources()) {
    if (want == r.app_id) return &r;
    for (const auto& uri : r.identifier_uris)
      if (want == strip_slash(uri)) return &r;
  }
  return nullptr;
}

// A 401 in the surface's dialect. Graph says why in its own words; Defender names the problem.
void unauthorized(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, Surface s,
                  const std::string& defender_message, const std::string& graph_message) {
  if (s == Surface::graph) {
    res.set_header("WWW-Authenticate",
                   "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", "
                   "client_id=\"00000003-0000-0000-c000-000000000000\"");
    send_graph_error(im, req, res, 401, "InvalidAuthenticationToken", graph_message);
    return;
  }
  res.set_header("WWW-Authenticate", "Bearer");
  send_defender_error(res, 401, "Unauthorized", defender_message);
}

} // namespace

void send_defender_error(httplib::Response& res, int status, const std::string& code, const std::string& message) {
  send_json(res, status, Json{{"error", {{"code", code}, {"message", message}, {"target", crypto::random_guid()}}}});
}

std::string graph_request_id(const httplib::Request& req, httplib::Response& res) {
  if (res.has_header("request-id")) return res.get_header_value("request-id");
  std::string id = crypto::random_guid();
  std::string client = req.get_header_value("client-request-id");
  if (client.empty() || client.size() > 128) client = id;
  res.set_header("request-id", id);
  res.set_header("client-request-id", client);
  return id;
}

void send_graph_error(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, int status,
                      const std::string& code, const std::string& message) {
  std::string id = graph_request_id(req, res);
  OrderedJson inner;
  inner["date"] = util::format_rfc3339(im.now(), 0);
  inner["request-id"] = id;
  inner["client-request-id"] = res.get_header_value("client-request-id");
  OrderedJson err;
  err["code"] = code;
  err["message"] = message;
  err["innerError"] = std::move(inner);
  res.status = status;
  res.set_content(safe_dump(OrderedJson{{"error", std::move(err)}}), "application/json; charset=utf-8");
}

std::optional<Caller> authorize(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                Surface surface, const std::vector<std::string>& accepted_roles) {
  auto fail = [&](const std::string& defender_message, const std::string& graph_message) {
    unauthorized(im, req, res, surface, defender_message, graph_message);
    return std::nullopt;
  };
  std::string auth = req.get_header_value("Authorization");
  if (auth.empty())
    return fail("Authorization header is missing: send 'Authorization: Bearer <access token>'.",
                "Access token is empty.");
  if (!util::istarts_with(auth, "Bearer "))
    return fail("Authorization header must use the Bearer scheme: 'Authorization: Bearer <access token>'.",
                "Access token validation failure: the Authorization header must use the Bearer scheme.");
  std::string token(util::trim(std::string_view(auth).substr(7)));
  auto decoded = jwt::decode(token);
  if (!decoded)
    return fail("The access token is malformed (" + decoded.error().message + "); request a new token.",
                "IDX14100: JWT is not well formed; request a new access token.");
  const Json& h = decoded->header;
  const Json& p = decoded->payload;
  if (string_member(h, "alg") != "RS256")
    return fail("The access token must be signed with RS256 by the token service.",
                "Access token validation failure: the token must be signed with RS256.");
  std::string kid = string_member(h, "kid");
  std::shared_ptr<const SigningKey> key;
  {
    std::shared_lock lock(im.dir->mutex);
    for (const auto& k : im.dir->keys)
      if (k->kid == kid) key = k;
  }
  if (!key || !key->certificate.public_key().verify(crypto::SignatureAlg::rs256, decoded->signing_input,
                                                     decoded->signature))
    return fail("The access token signature is invalid (unknown key or tampered token); request a new token.",
                "Access token validation failure: the signature is invalid.");
  int64_t now = util::to_unix(im.now());
  auto exp = p.find("exp");
  auto nbf = p.find("nbf");
  if (exp == p.end() || !exp->is_number_integer() || exp->get<int64_t>() + k_skew_seconds < now)
    return fail("The access token has expired (or has no valid exp); request a new token.",
                "Lifetime validation failed, the token is expired.");
  if (nbf != p.end() && (!nbf->is_number_integer() || nbf->get<int64_t>() - k_skew_seconds > now))
    return fail("The access token is not valid yet (nbf is in the future); check the clock.",
                "Lifetime validation failed, the token is not yet valid.");
  Caller c;
  c.tid = string_member(p, "tid");
  c.appid = string_member(p, "appid");
  if (c.tid.empty() || string_member(p, "iss") != "https://sts.windows.net/" + c.tid + "/")
    return fail("The access token's issuer is not https://sts.windows.net/{tid}/ for its tenant.",
                "Access token validation failure. Invalid issuer.");
  {
    std::shared_lock lock(im.dir->mutex);
    if (!im.dir->tenants.count(c.tid))
      return fail("The access token's tenant " + c.tid + " is not known to this service.",
                  "Access token validation failure: the tenant " + c.tid + " is not known.");
  }
  std::string aud = string_member(p, "aud");
  const Resource* resource = audience_resource(aud);
  std::string want = resource_key(surface);
  if (auto r = p.find("roles"); r != p.end() && r->is_array())
    for (const auto& role : *r)
      if (role.is_string()) c.roles.push_back(role.get<std::string>());
  if (surface == Surface::mde && resource && resource->key == "xdr") {
    // What the service answers a Defender XDR token on the MDE API: its roles are not MDE roles.
    send_defender_error(res, 403, "Forbidden",
                        "Missing application roles. API required roles: " + accepted_roles.front() +
                            ", application roles: ");
    return std::nullopt;
  }
  if (!resource || resource->key != want) {
    const Resource* expected = find_resource(want);
    return fail("The access token's audience '" + aud + "' is not accepted: request a token for " +
                    expected->identifier_uris.front() + ".",
                "Access token validation failure. Invalid audience.");
  }
  bool ok = std::any_of(accepted_roles.begin(), accepted_roles.end(), [&](const std::string& role) {
    return std::find(c.roles.begin(), c.roles.end(), role) != c.roles.end();
  });
  if (!ok) {
    if (surface == Surface::graph) {
      send_graph_error(im, req, res, 403, "Forbidden",
                       "Missing role permissions on the request. API requires one of '" + util::join(accepted_roles, ", ") +
                           "'. Roles on the request '" + util::join(c.roles, ", ") + "'.");
    } else {
      send_defender_error(res, 403, "Forbidden",
                          "Missing application roles. API required roles: " + accepted_roles.front() +
                              ", application roles: " + util::join(c.roles, ","));
    }
    return std::nullopt;
  }
  return c;
}

std::optional<QuotaExceeded> take_quota(Emulator::Impl& im, const std::string& key, std::vector<QuotaWindow> windows) {
  {
    std::shared_lock lock(im.dir->mutex);
    const Json& s = im.dir->scenario;
    Json q = s.is_object() ? s.value("quotas", Json::object()) : Json::object();
    for (auto& w : windows) {
      if (!q.is_object()) break;
      auto v = q.find(w.setting);
      if (v != q.end() && v->is_number_integer() && v->get<int64_t>() > 0) w.limit = v->get<int64_t>();
    }
  }
  int64_t longest = 0;
  for (const auto& w : windows) longest = std::max(longest, w.seconds);
  int64_t now = util::to_unix(im.now());
  std::lock_guard lock(im.defender->quota_mutex);
  auto& calls = im.defender->calls[key];
  while (!calls.empty() && calls.front() <= now - longest) calls.pop_front();
  for (const auto& w : windows) {
    auto first = std::find_if(calls.begin(), calls.end(), [&](int64_t t) { return t > now - w.seconds; });
    auto in_window = static_cast<int64_t>(calls.end() - first);
    if (in_window < w.limit) continue;
    // The call that frees the window is the (in_window - limit + 1)'th oldest within it.
    int64_t retry = *(first + (in_window - w.limit)) + w.seconds - now;
    return QuotaExceeded{w.limit, w.seconds, std::max<int64_t>(retry, 1)};
  }
  calls.push_back(now);
  return std::nullopt;
}

std::shared_ptr<TenantData> tenant_data(Emulator::Impl& im, const std::string& tid) {
  TenantProfile profile;
  uint64_t seed = 0;
  double create_rate = 0, update_rate = 0;
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
      auto churn = t.data.find("churn");
      if (churn != t.data.end() && churn->is_object()) {
        auto rate = [&](const char* k) {
          auto v = churn->find(k);
          return v != churn->end() && v->is_number() ? std::max(0.0, v->get<double>()) : 0.0;
        };
        create_rate = rate("create_per_minute");
        update_rate = rate("update_per_minute");
      }
    }
  }
  util::TimePoint now = im.now();
  auto data = im.defender->store.get(seed, profile, now);
  if (create_rate > 0 || update_rate > 0) data->apply_steady_churn(create_rate, update_rate, ticks_of(now));
  return data;
}

std::optional<int64_t> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

Result<ChurnResult> churn_tenant(Emulator::Impl& im, const std::string& tenant_id, int64_t create, int64_t update) {
  if (create < 0 || update < 0 || create > k_max_incidents || update > k_max_incidents)
    return fail(ErrorKind::invalid_request, "create and update must be between 0 and 100000");
  {
    std::shared_lock lock(im.dir->mutex);
    if (!im.dir->tenants.count(tenant_id)) return fail(ErrorKind::not_found, "no tenant " + tenant_id);
  }
  auto data = tenant_data(im, tenant_id);
  return data->churn(create, update, ticks_of(im.now()));
}

} // namespace xdr::emulator
