#pragma once
// Test environment for xdr::validate: deterministic keys, an Entra double serving OpenID metadata
// and JWKS through a FakeTransport (keyed by URL), and Entra-shaped access tokens.

#include <map>
#include <mutex>
#include <string>

#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/validate/jwks.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

namespace xdr::validate::test_env {

inline const std::string k_tenant = "8f3c7d2e-1a2b-4c3d-9e8f-0123456789ab";
inline const std::string k_other_tenant = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
inline const std::string k_authority = "https://login.microsoftonline.com";
inline const std::string k_audience = "https://api.security.microsoft.com";
inline const std::string k_app = "11111111-2222-3333-4444-555555555555";
inline const std::string k_sp = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

// Deterministic 2048-bit keys, generated once per process.
inline const crypto::RsaPrivateKey& test_key(int n) {
  static std::mutex mutex;
  static std::map<int, crypto::RsaPrivateKey> keys;
  std::lock_guard lock(mutex);
  auto it = keys.find(n);
  if (it == keys.end())
    it = keys.emplace(n, crypto::RsaPrivateKey::generate_deterministic("xdr-validate-test/key-" + std::to_string(n)))
             .first;
  return it->second;
}

// The public JWK of `key`, shaped like Entra's (kid == x5t), with an optional "issuer".
inline Json jwk(const crypto::RsaPrivateKey& key, const std::string& kid, const std::string& issuer = {}) {
  auto pub = key.public_key();
  Json j = {{"kty", "RSA"},
            {"use", "sig"},
            {"kid", kid},
            {"x5t", kid},
            {"n", util::base64url_encode(pub.modulus())},
            {"e", util::base64url_encode(pub.exponent())}};
  if (!issuer.empty()) j["issuer"] = issuer;
  return j;
}

inline std::string v1_issuer(const std::string& tenant) { return "https://sts.windows.net/" + tenant + "/"; }
inline std::string v2_issuer(const std::string& tenant) { return k_authority + "/" + tenant + "/v2.0"; }
inline std::string jwks_url(const std::string& tenant, TokenVersion v) {
  return k_authority + "/" + tenant + (v == TokenVersion::v2 ? "/discovery/v2.0/keys" : "/discovery/keys");
}

// Serves Entra's discovery documents for any number of tenants; unknown URLs answer 404 HTML.
class EntraDouble {
public:
  EntraDouble() : transport(std::make_shared<xdr::testing::FakeTransport>()) {
    transport->set_handler([this](const http::Request& request) -> Result<http::Response> {
      std::lock_guard lock(m_mutex);
      http::Response r;
      auto it = m_routes.find(request.url);
      if (it == m_routes.end()) {
        r.status = 404;
        r.body = "<!DOCTYPE html><html><body>Not found</body></html>";
        return r;
      }
      if (it->second.first < 0) return tl::unexpected(Error(ErrorKind::transport, "connection refused"));
      r.status = it->second.first;
      r.body = it->second.second;
      return r;
    });
  }

  // Publishes metadata for (tenant, version): "common" gets "{tenantid}" issuer templates.
  void serve_metadata(const std::string& tenant, TokenVersion v) {
    std::string issuer_tenant = tenant == "common" ? "{tenantid}" : tenant;
    Json doc = {{"issuer", v == TokenVersion::v2 ? v2_issuer(issuer_tenant) : v1_issuer(issuer_tenant)},
                {"jwks_uri", jwks_url(tenant, v)},
                {"token_endpoint", k_authority + "/" + tenant + "/oauth2/" + (v == TokenVersion::v2 ? "v2.0/" : "") + "token"},
                {"id_token_signing_alg_values_supported", {"RS256"}}};
    set(KeyStore::metadata_url(k_authority, tenant, v), 200, doc.dump());
  }
  // Publishes a JWKS with `keys` for (tenant, version).
  void serve_keys(const std::string& tenant, TokenVersion v, Json keys) {
    set(jwks_url(tenant, v), 200, Json{{"keys", std::move(keys)}}.dump());
  }
  // Metadata and keys in one go.
  void serve(const std::string& tenant, TokenVersion v, Json keys) {
    serve_metadata(tenant, v);
    serve_keys(tenant, v, std::move(keys));
  }
  // A status < 0 makes the transport fail.
  void set(const std::string& url, int status, std::string body) {
    std::lock_guard lock(m_mutex);
    m_routes[url] = {status, std::move(body)};
  }
  // Requests sent to `url` so far.
  size_t count(const std::string& url) const {
    size_t n = 0;
    for (const auto& r : transport->requests()) n += r.url == url;
    return n;
  }
  size_t total() const { return transport->count(); }

  std::shared_ptr<xdr::testing::FakeTransport> transport;

private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::pair<int, std::string>> m_routes;
};

// App-only v1 claims as Entra issues them to Defender XDR (iat = nbf = now - 300, exp = nbf + 3900).
inline Json v1_claims(const util::Clock& clock, const std::string& tenant = k_tenant) {
  int64_t now = util::to_unix(clock.now());
  return {{"aud", k_audience},
          {"iss", v1_issuer(tenant)},
          {"iat", now - 300},
          {"nbf", now - 300},
          {"exp", now + 3600},
          {"aio", "E2BgYGAtTs258t5NtmeuveDN2979AA=="},
          {"appid", k_app},
          {"appidacr", "2"},
          {"idp", v1_issuer(tenant)},
          {"idtyp", "app"},
          {"oid", k_sp},
          {"rh", "0.AR8AvHhxJ8_bvUmX1v7nQ9y0bFQ3AAAAAAAAwAAAAAAAAAAfAAA."},
          {"roles", {"Incident.Read.All", "AdvancedHunting.Read.All"}},
          {"sub", k_sp},
          {"tid", tenant},
          {"uti", "41oex9rUzU28oibY_D0hAA"},
          {"ver", "1.0"}};
}

// App-only v2 claims (azp/azpacr instead of appid/appidacr).
inline Json v2_claims(const util::Clock& clock, const std::string& tenant = k_tenant) {
  Json c = v1_claims(clock, tenant);
  c.erase("appid");
  c.erase("appidacr");
  c.erase("idp");
  c["azp"] = k_app;
  c["azpacr"] = "2";
  c["iss"] = v2_issuer(tenant);
  c["ver"] = "2.0";
  return c;
}

// Signs `claims` RS256 with `key`; v1 tokens carry x5t as well as kid, like Entra's.
inline std::string sign(const Json& claims, const crypto::RsaPrivateKey& key, const std::string& kid,
                        bool with_x5t = true) {
  Json header = {{"typ", "JWT"}, {"kid", kid}};
  if (with_x5t) header["x5t"] = kid;
  auto token = jwt::sign(header, claims, key);
  if (!token) throw Fatal("test token signing failed: " + token.error().message);
  return *token;
}

// base64url(header).base64url(payload).base64url(signature) from raw parts.
inline std::string assemble(const std::string& header_json, const std::string& payload_json,
                            const std::string& signature) {
  return util::base64url_encode(header_json) + "." + util::base64url_encode(payload_json) + "." +
         util::base64url_encode(signature);
}

} // namespace xdr::validate::test_env
