#pragma once
// Starts xdr-emulator in-process on 127.0.0.1:0 (HTTPS, its own CA) and talks to it with a raw
// cpp-httplib client, independent of libxdr's transport.

#include <filesystem>
#include <memory>

#include <gtest/gtest.h>
#include <httplib.h>

#include <emulator/directory.hpp>
#include <emulator/emulator.hpp>
#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::testing {

inline const std::string k_app = "6a3c9f2e-4b1d-4e8a-9c7b-2d5e8f1a3b6c";
inline const std::string k_fabrikam = "3f2b8c1d-5e6a-4b7c-8d9e-0f1a2b3c4d5e";
inline const std::string k_northwind = "7c4e1a9b-2d3f-4a5b-9c6d-8e7f0a1b2c3d";
inline const std::string k_tailspin = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
inline const std::string k_xdr = "https://api.security.microsoft.com";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/xdr-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// A test scenario: the default tenants plus a certificate and a known secret on the app.
struct TestIdentity {
  std::string secret = util::base64url_encode(crypto::random_bytes(24));
  crypto::RsaPrivateKey cert_key = crypto::RsaPrivateKey::generate_deterministic("test-app-cert", 2048);
  crypto::Certificate cert;
  TestIdentity() {
    crypto::CertificateOptions o;
    o.common_name = "Contoso MSSP test certificate";
    cert = *crypto::make_certificate(cert_key, o);
  }
  Json scenario() const {
    Json s = emulator::Directory::default_scenario();
    s["apps"][0]["secrets"] = Json::array({{{"value", secret}, {"expires", "2030-01-01T00:00:00Z"}}});
    s["apps"][0]["certificates"] = Json::array({{{"pem_text", cert.pem()}}});
    return s;
  }
};

class EmulatorTest : public ::testing::Test {
protected:
  void SetUp() override { start(identity.scenario()); }
  void TearDown() override {
    if (emulator) emulator->stop();
  }

  void start(Json scenario, int read_timeout = 5) {
    emulator::EmulatorOptions o;
    o.scenario = std::move(scenario);
    o.state_dir = (dir.path / "state").string();
    o.read_timeout_seconds = read_timeout;
    emulator = std::make_unique<emulator::Emulator>(o);
    auto ok = emulator->start();
    ASSERT_TRUE(ok) << ok.error().message;
  }

  std::unique_ptr<httplib::SSLClient> client() const {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", emulator->port());
    c->set_ca_cert_path(emulator->ca_file().c_str());
    c->enable_server_certificate_verification(true);
    c->set_read_timeout(20, 0);
    return c;
  }

  httplib::Result post_form(const std::string& path, const util::FormFields& form, httplib::Headers headers = {}) const {
    return client()->Post(path.c_str(), headers, util::encode_form(form), "application/x-www-form-urlencoded");
  }
  httplib::Result get(const std::string& path) const { return client()->Get(path.c_str()); }
  Json control(const std::string& method, const std::string& path, const Json& body = Json::object()) const {
    auto c = client();
    httplib::Result r = method == "GET"      ? c->Get(path.c_str())
                        : method == "DELETE" ? c->Delete(path.c_str())
                                             : c->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << "control call failed: " << path;
    if (!r || r->body.empty()) return Json();
    return Json::parse(r->body, nullptr, false);
  }

  util::FormFields secret_v1(const std::string& resource = k_xdr) const {
    return {{"grant_type", "client_credentials"}, {"client_id", k_app}, {"client_secret", identity.secret}, {"resource", resource}};
  }
  util::FormFields secret_v2(const std::string& scope = k_xdr + "/.default") const {
    return {{"grant_type", "client_credentials"}, {"client_id", k_app}, {"client_secret", identity.secret}, {"scope", scope}};
  }

  // Builds a client assertion for `tenant` signed with the test certificate.
  std::string assertion(const std::string& tenant, crypto::SignatureAlg alg, Json claims_override = Json::object(),
                        bool v2_endpoint = true) const {
    int64_t now = util::to_unix(std::chrono::system_clock::now());
    Json header = {{"typ", "JWT"}};
    if (alg == crypto::SignatureAlg::rs256) header["x5t"] = util::base64url_encode(cert().thumbprint_sha1());
    else header["x5t#S256"] = util::base64url_encode(cert().thumbprint_sha256());
    Json claims = {{"aud", emulator->url() + "/" + tenant + (v2_endpoint ? "/oauth2/v2.0/token" : "/oauth2/token")},
                   {"iss", k_app}, {"sub", k_app}, {"jti", crypto::random_guid()},
                   {"nbf", now}, {"iat", now}, {"exp", now + 600}};
    for (auto& [k, v] : claims_override.items()) {
      if (v.is_null()) claims.erase(k);
      else claims[k] = v;
    }
    return *jwt::sign(header, claims, identity.cert_key, alg);
  }
  const crypto::Certificate& cert() const { return identity.cert; }

  TestIdentity identity;
  TempDir dir;
  std::unique_ptr<emulator::Emulator> emulator;
};

inline Json body_of(const httplib::Result& r) {
  if (!r) return Json();
  return Json::parse(r->body, nullptr, false);
}

inline Json claims_of(const std::string& token) {
  auto d = jwt::decode(token);
  return d ? d->payload : Json();
}

} // namespace xdr::testing
