// Every credential kind, endpoint version, tenant form and resource alias through libxdr's real
// stack (CurlTransport -> AuthClient) against the in-process emulator.

#include "auth_emulator_support.hpp"

using namespace xdr;
using namespace xdr::testing;
using auth::EndpointVersion;

namespace {

struct Assertion {
  Json header;
  Json claims;
};

// The client assertion of the last recorded token request.
Assertion last_assertion(const RecordingTransport& recorder) {
  auto requests = recorder.requests();
  if (requests.empty()) return {};
  auto form = form_of(requests.back());
  EXPECT_EQ(util::form_get(form, "client_assertion_type").value_or(""),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
  EXPECT_FALSE(util::form_get(form, "client_secret"));
  auto decoded = jwt::decode(util::form_get(form, "client_assertion").value_or(""));
  if (!decoded) return {};
  return {decoded->header, decoded->payload};
}

class AuthCredentialsTest : public AuthEmulatorTest {
protected:
  std::shared_ptr<auth::ClientCertificateCredential> certificate_credential(const auth::CertificateFiles& files,
                                                                            auth::AssertionAlgorithm alg,
                                                                            bool chain = false) const {
    auth::CertificateCredentialOptions o;
    o.algorithm = alg;
    o.send_certificate_chain = chain;
    auto c = auth::ClientCertificateCredential::from_files(k_app, files, o);
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c ? *c : nullptr;
  }

  // Gets a token with `credential` on `version` and checks what the emulator issued.
  void expect_token(std::shared_ptr<const auth::ClientCredential> credential, EndpointVersion version,
                    const std::string& appidacr, std::shared_ptr<RecordingTransport>* recorder_out = nullptr) {
    auto recorder = std::make_shared<RecordingTransport>(curl());
    auto client = make_client(credential, recorder);
    ASSERT_TRUE(client);
    auto r = client->get_token(k_fabrikam, "xdr", version);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->from_cache);
    Json claims = claims_of(r->value().reveal());
    EXPECT_EQ(claims["tid"], k_fabrikam);
    EXPECT_EQ(claims["aud"], k_xdr);
    EXPECT_EQ(claims["appid"], k_app);
    EXPECT_EQ(claims["appidacr"], appidacr);
    EXPECT_EQ(claims["ver"], "1.0");
    ASSERT_EQ(recorder->requests().size(), 1u);
    const std::string url = recorder->requests()[0].url;
    EXPECT_EQ(url, emulator->url() + "/" + k_fabrikam +
                       (version == EndpointVersion::v1 ? "/oauth2/token" : "/oauth2/v2.0/token"));
    if (recorder_out) *recorder_out = recorder;
  }
};

TEST_F(AuthCredentialsTest, SecretInBodyOnBothEndpoints) {
  for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
    clear_log();
    std::shared_ptr<RecordingTransport> rec;
    expect_token(secret_credential(), v, "1", &rec);
    ASSERT_NE(rec, nullptr);
    auto form = form_of(rec->requests().back());
    EXPECT_EQ(util::form_get(form, "client_secret").value_or(""), identity.secret);
    EXPECT_EQ(util::form_get(form, "client_id").value_or(""), k_app);
    EXPECT_FALSE(rec->requests().back().headers.has("authorization"));
    if (v == EndpointVersion::v1) {
      EXPECT_EQ(util::form_get(form, "resource").value_or(""), k_xdr);
      EXPECT_FALSE(util::form_get(form, "scope"));
    } else {
      EXPECT_EQ(util::form_get(form, "scope").value_or(""), k_xdr + "/.default");
      EXPECT_FALSE(util::form_get(form, "resource"));
    }
    auto log = logged("token_");
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0]["route"], v == EndpointVersion::v1 ? "token_v1" : "token_v2");
    EXPECT_EQ(log[0]["status"], 200);
    EXPECT_EQ(log[0]["form"]["client_secret"], "***");
  }
}

TEST_F(AuthCredentialsTest, SecretInHttpBasic) {
  auto recorder = std::make_shared<RecordingTransport>(curl());
  auth::AuthClientOptions o;
  o.secret_in_basic_auth = true;
  auto client = make_client(secret_credential(), recorder, o);
  for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
    auto r = client->refresh_token(k_fabrikam, "xdr", v);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(claims_of(r->value().reveal())["appidacr"], "1");
  }
  ASSERT_EQ(recorder->requests().size(), 2u);
  for (const auto& req : recorder->requests()) {
    auto form = form_of(req);
    EXPECT_FALSE(util::form_get(form, "client_secret"));
    std::string authz = req.headers.get("authorization").value_or("");
    ASSERT_TRUE(util::istarts_with(authz, "Basic "));
    EXPECT_EQ(util::base64_decode(authz.substr(6)).value_or(""), k_app + ":" + util::form_encode(identity.secret));
  }
  for (const Json& entry : logged("token_")) EXPECT_EQ(entry["headers"]["authorization"], "Basic ***");
}

TEST_F(AuthCredentialsTest, TenantByGuidAndByDomainAreTheSameTenant) {
  auto client = make_client(secret_credential());
  auto by_guid = client->get_token(k_fabrikam, "xdr");
  auto by_domain = client->get_token("fabrikam.onmicrosoft.com", "xdr");
  ASSERT_TRUE(by_guid) << by_guid.error().message;
  ASSERT_TRUE(by_domain) << by_domain.error().message;
  EXPECT_EQ(claims_of(by_domain->value().reveal())["tid"], k_fabrikam);
  EXPECT_EQ(claims_of(by_guid->value().reveal())["tid"], k_fabrikam);
  // The cache keys on what the caller passed: each form asked the service once.
  EXPECT_EQ(logged("token_", k_fabrikam).size(), 1u);
  EXPECT_EQ(logged("token_", "fabrikam.onmicrosoft.com").size(), 1u);
}

TEST_F(AuthCredentialsTest, ResourcesXdrMdeGraphOnBothEndpoints) {
  struct Case {
    std::string alias, audience, role;
  };
  const std::vector<Case> cases = {{"xdr", k_xdr, "Incident.ReadWrite.All"},
                                   {"mde", "https://api.securitycenter.microsoft.com", "Alert.Read.All"},
                                   {"graph", "https://graph.microsoft.com", "SecurityIncident.ReadWrite.All"}};
  auto client = make_client(secret_credential());
  for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
    for (const auto& c : cases) {
      auto r = client->refresh_token(k_fabrikam, c.alias, v);
      ASSERT_TRUE(r) << c.alias << ": " << r.error().message;
      Json claims = claims_of(r->value().reveal());
      EXPECT_EQ(claims["aud"], c.audience) << c.alias;
      auto roles = claims.value("roles", std::vector<std::string>{});
      EXPECT_NE(std::find(roles.begin(), roles.end(), c.role), roles.end()) << c.alias;
    }
  }
  EXPECT_EQ(logged("token_v1").size(), 3u);
  EXPECT_EQ(logged("token_v2").size(), 3u);
}

TEST_F(AuthCredentialsTest, PemCertificateAndKeyInOneFileWithRs256X5t) {
  auto pem = dir.path / "app.pem";
  write_private(pem, cert().pem() + identity.cert_key.to_pem());
  for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
    std::shared_ptr<RecordingTransport> rec;
    expect_token(certificate_credential({pem.string()}, auth::AssertionAlgorithm::rs256_x5t), v, "2", &rec);
    ASSERT_NE(rec, nullptr);
    Assertion a = last_assertion(*rec);
    EXPECT_EQ(a.header["alg"], "RS256");
    EXPECT_EQ(a.header["x5t"], util::base64url_encode(cert().thumbprint_sha1()));
    EXPECT_FALSE(a.header.contains("x5t#S256"));
    EXPECT_FALSE(a.header.contains("x5c"));
    EXPECT_EQ(a.claims["aud"], rec->requests().back().url);
    EXPECT_EQ(a.claims["iss"], k_app);
    EXPECT_EQ(a.claims["sub"], k_app);
  }
}

TEST_F(AuthCredentialsTest, PemCertificateAndKeyInTwoFilesWithPs256X5tS256) {
  auto cert_path = dir.path / "app.crt";
  auto key_path = dir.path / "app.key";
  write_private(cert_path, cert().pem());
  write_private(key_path, identity.cert_key.to_pem());
  std::shared_ptr<RecordingTransport> rec;
  expect_token(certificate_credential({cert_path.string(), key_path.string()}, auth::AssertionAlgorithm::ps256_x5t_s256),
               EndpointVersion::v2, "2", &rec);
  ASSERT_NE(rec, nullptr);
  Assertion a = last_assertion(*rec);
  EXPECT_EQ(a.header["alg"], "PS256");
  EXPECT_EQ(a.header["x5t#S256"], util::base64url_encode(cert().thumbprint_sha256()));
  EXPECT_FALSE(a.header.contains("x5t"));
}

TEST_F(AuthCredentialsTest, Pkcs12WithPasswordBothAlgorithmsWithX5c) {
  const std::string password = "pfx-" + crypto::random_guid();
  auto der = crypto::make_pkcs12(identity.cert_key, cert(), password);
  ASSERT_TRUE(der) << der.error().message;
  auto pfx = dir.path / "app.pfx";
  write_private(pfx, *der);
  auth::CertificateFiles files;
  files.certificate_path = pfx.string();
  files.password = auth::Secret(password);
  for (auto alg : {auth::AssertionAlgorithm::rs256_x5t, auth::AssertionAlgorithm::ps256_x5t_s256}) {
    for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
      std::shared_ptr<RecordingTransport> rec;
      expect_token(certificate_credential(files, alg, true), v, "2", &rec);
      ASSERT_NE(rec, nullptr);
      Assertion a = last_assertion(*rec);
      EXPECT_EQ(a.header["alg"], alg == auth::AssertionAlgorithm::rs256_x5t ? "RS256" : "PS256");
      ASSERT_TRUE(a.header.contains("x5c"));
      ASSERT_FALSE(a.header["x5c"].empty());
      EXPECT_EQ(a.header["x5c"][0], util::base64_encode(cert().der()));
    }
  }
  // A wrong password is refused locally, without a request, and without echoing the password.
  files.password = auth::Secret("not-" + password);
  auto bad = auth::ClientCertificateCredential::from_files(k_app, files);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find(password), std::string::npos);
}

TEST_F(AuthCredentialsTest, SecondCallIsServedFromTheCache) {
  auto client = make_client(secret_credential());
  auto first = client->get_token(k_northwind, "xdr");
  auto second = client->get_token(k_northwind, "xdr");
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->from_cache);
  EXPECT_TRUE(second->from_cache);
  EXPECT_TRUE(first->value() == second->value());
  EXPECT_EQ(token_requests(k_northwind), 1u);
  auto roles = claims_of(second->value().reveal()).value("roles", std::vector<std::string>{});
  EXPECT_EQ(roles, std::vector<std::string>{"Incident.Read.All"});
}

} // namespace
