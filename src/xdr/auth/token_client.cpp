#include <xdr/auth/token_client.hpp>

#include <algorithm>
#include <cmath>

#include <xdr/auth/aadsts.hpp>
#include <xdr/auth/hash_private.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::auth {

namespace {

constexpr std::string_view k_assertion_type = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// A lifetime field: a JSON integer (v2), a string of digits (v1), or absent (nullopt).
Result<std::optional<long long>> read_seconds(const Json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::optional<long long>();
  auto bad = [&] {
    return fail(ErrorKind::invalid_response,
                std::string("the token response's ") + name + " is not a non-negative number of seconds");
  };
  if (it->is_number_unsigned()) {
    unsigned long long u = it->get<unsigned long long>();
    if (u > 9'000'000'000'000'000'000ULL) return bad();
    return std::optional<long long>(static_cast<long long>(u));
  }
  if (it->is_number_integer()) {
    long long v = it->get<long long>();
    if (v < 0) return bad();
    return std::optional<long long>(v);
  }
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (!std::isfinite(v) || v < 0 || v > 9.2e18) return bad();
    return std::optional<long long>(static_cast<long long>(v));
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > 18) return bad();
    long long v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return bad();
      v = v * 10 + (c - '0');
    }
    return std::optional<long long>(v);
  }
  return bad();
}

// Replaces every occurrence of `secret` in `text` (long values only, so short ones cannot garble
// ordinary words).
void redact(std::string& text, std::string_view secret) {
  if (secret.size() < 8) return;
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
    text.replace(pos, secret.size(), "[redacted]");
}

} // namespace

std::string_view to_string(EndpointVersion v) { return v == EndpointVersion::v1 ? "v1" : "v2"; }

Result<EndpointVersion> parse_endpoint_version(std::string_view text) {
  std::string t = util::to_lower(util::trim(text));
  if (t == "v1" || t == "1" || t == "1.0" || t == "v1.0") return EndpointVersion::v1;
  if (t == "v2" || t == "2" || t == "2.0" || t == "v2.0") return EndpointVersion::v2;
  return fail(ErrorKind::config, "unknown token endpoint version '" + std::string(text) + "': use v1 or v2");
}

Result<AccessToken> parse_token_response(std::string_view body, util::TimePoint now) {
  XDR_TRY_ASSIGN(Json j, util::parse_json(body, "the token response"));
  if (!j.is_object()) return fail(ErrorKind::invalid_response, "the token response is JSON but not an object");
  AccessToken token;
  auto at = j.find("access_token");
  if (at == j.end() || !at->is_string() || at->get_ref<const std::string&>().empty())
    return fail(ErrorKind::invalid_response, "the token response has no access_token");
  if (auto tt = j.find("token_type"); tt != j.end()) {
    if (!tt->is_string() || !util::iequals(tt->get_ref<const std::string&>(), "bearer"))
      return fail(ErrorKind::invalid_response, "the token response's token_type is not Bearer");
    token.token_type = "Bearer";
  }
  XDR_TRY_ASSIGN(auto expires_in, read_seconds(j, "expires_in"));
  XDR_TRY_ASSIGN(auto expires_on, read_seconds(j, "expires_on"));
  XDR_TRY_ASSIGN(auto ext_expires_in, read_seconds(j, "ext_expires_in"));
  XDR_TRY_ASSIGN(auto not_before, read_seconds(j, "not_before"));
  XDR_TRY_ASSIGN(auto refresh_in, read_seconds(j, "refresh_in"));
  // Bound what a server (or a proxy) can make us compute: no token lives beyond a year here.
  constexpr long long k_max_lifetime = 366LL * 86400;
  if (expires_in && *expires_in > k_max_lifetime) expires_in = k_max_lifetime;
  if (refresh_in && *refresh_in > k_max_lifetime) refresh_in = k_max_lifetime;
  if (expires_on && *expires_on > util::to_unix(now) + k_max_lifetime) expires_on = util::to_unix(now) + k_max_lifetime;
  // expires_in is relative, so it is immune to clock skew between us and Entra ID: prefer it.
  if (expires_in)
    token.expires_on = now + std::chrono::seconds(*expires_in);
  else if (expires_on)
    token.expires_on = util::from_unix(*expires_on);
  else
    return fail(ErrorKind::invalid_response, "the token response has neither expires_in nor expires_on");
  token.obtained_on = now;
  if (refresh_in) token.refresh_on = now + std::chrono::seconds(*refresh_in);
  if (not_before) token.not_before = util::from_unix(*not_before);
  if (ext_expires_in) token.ext_expires_on = now + std::chrono::seconds(*ext_expires_in);
  std::string value = at->get<std::string>();
  wipe_string(at->get_ref<std::string&>());
  token.value = Secret(std::move(value));
  return token;
}

TokenClient::TokenClient(std::shared_ptr<const ClientCredential> credential, std::shared_ptr<http::Transport> transport,
                         TokenClientOptions options, std::string authority_host)
    : m_credential(std::move(credential)), m_transport(std::move(transport)), m_options(std::move(options)),
      m_authority_host(std::move(authority_host)) {
  if (!m_credential || !m_transport) throw Fatal("TokenClient needs a credential and a transport");
  if (!m_options.clock) m_options.clock = util::system_clock();
  m_allowed_sorted = m_options.allowed_tenants;
  std::sort(m_allowed_sorted.begin(), m_allowed_sorted.end(), detail::ci_less);
}

Result<std::shared_ptr<TokenClient>> TokenClient::create(std::shared_ptr<const ClientCredential> credential,
                                                         std::shared_ptr<http::Transport> transport,
                                                         TokenClientOptions options) {
  if (!credential) return fail(ErrorKind::config, "no client credential configured");
  if (!transport) return fail(ErrorKind::config, "no HTTP transport configured");
  XDR_TRY_ASSIGN(std::string host, resolve_authority_host(options.cloud, options.authority_host, Environment()));
  for (const auto& t : options.allowed_tenants) {
    if (auto ok = validate_tenant_for_client_credentials(t); !ok) {
      Error e = ok.error();
      e.message = "tenant allow-list: " + e.message;
      return fail(std::move(e));
    }
  }
  return std::make_shared<TokenClient>(std::move(credential), std::move(transport), std::move(options),
                                       std::move(host));
}

Status TokenClient::check_tenant(std::string_view tenant) const {
  XDR_TRY(validate_tenant_for_client_credentials(tenant));
  if (m_allowed_sorted.empty()) return {};
  auto it = std::lower_bound(m_allowed_sorted.begin(), m_allowed_sorted.end(), tenant,
                             [](const std::string& a, std::string_view b) { return detail::ci_less(a, b); });
  if (it != m_allowed_sorted.end() && detail::ci_equal(*it, tenant)) return {};
  return fail(ErrorKind::config, "tenant '" + std::string(tenant) + "' is not in this client's tenant allow-list (" +
                                     std::to_string(m_allowed_sorted.size()) +
                                     " tenants allowed); add it to the configured tenants if it is a customer");
}

std::string TokenClient::token_endpoint(std::string_view tenant, EndpointVersion version) const {
  return m_authority_host + "/" + std::string(tenant) +
         (version == EndpointVersion::v1 ? "/oauth2/token" : "/oauth2/v2.0/token");
}

Result<AccessToken> TokenClient::request_token(std::string_view tenant, std::string_view resource,
                                               EndpointVersion version) const {
  XDR_TRY(check_tenant(tenant));
  if (resource.empty()) return fail(ErrorKind::config, "no resource given for the token request");
  const std::string url = token_endpoint(tenant, version);
  XDR_TRY_ASSIGN(ClientAuth auth, m_credential->client_auth(url));

  util::FormFields form;
  form.emplace_back("grant_type", "client_credentials");
  form.emplace_back("client_id", client_id());
  http::Request request;
  request.method = "POST";
  request.url = url;
  request.headers.set("Content-Type", "application/x-www-form-urlencoded");
  request.headers.set("Accept", "application/json");
  request.headers.set("client-request-id", crypto::random_guid());
  request.headers.set("return-client-request-id", "true");
  if (auth.kind == ClientAuthKind::assertion) {
    form.emplace_back("client_assertion_type", std::string(k_assertion_type));
    form.emplace_back("client_assertion", auth.value.reveal());
  } else if (m_options.secret_in_basic_auth) {
    // RFC 6749 section 2.3.1: both parts form-encoded before base64.
    Secret pair(util::form_encode(client_id()) + ":" + util::form_encode(auth.value.reveal()));
    request.headers.set("Authorization", "Basic " + util::base64_encode(pair.reveal()));
  } else {
    form.emplace_back("client_secret", auth.value.reveal());
  }
  if (version == EndpointVersion::v1)
    form.emplace_back("resource", std::string(resource));
  else
    form.emplace_back("scope", default_scope(resource));
  request.body = util::encode_form(form);
  for (auto& field : form) wipe_string(field.second);

  auto response = m_transport->send(request);
  wipe_string(request.body);
  request.headers.remove("authorization");
  const util::TimePoint now = m_options.clock->now();

  auto finish = [&](Error e) {
    redact(e.message, auth.value.reveal());
    return fail(std::move(e));
  };
  if (!response) {
    Error e = response.error();
    e.message = "could not reach the token endpoint " + url + ": " + e.message;
    return finish(std::move(e));
  }
  const bool ok_status = response->status >= 200 && response->status < 300;
  if (!ok_status || (parse_entra_error(response->body).has_value())) {
    TokenErrorContext ctx{m_authority_host, to_string(m_options.cloud), tenant, client_id(), resource, url};
    return finish(map_token_error(*response, ctx, now));
  }
  auto token = parse_token_response(response->body, now);
  wipe_string(response->body);
  if (!token) {
    Error e = token.error();
    e.http_status = response->status;
    if (auto rid = response->headers.get("x-ms-request-id")) e.request_id = *rid;
    e.message = "token endpoint " + url + ": " + e.message;
    return finish(std::move(e));
  }
  return token;
}

} // namespace xdr::auth
