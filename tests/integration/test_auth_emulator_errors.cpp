// The AADSTS refusals the emulator produces, through AuthClient: ErrorKind, Error.code, the advice
// in the message, and Entra's own first line; tenants refused locally never reach the emulator.

#include "auth_emulator_support.hpp"

#include <xdr/auth/aadsts.hpp>

using namespace xdr;
using namespace xdr::testing;
using auth::EndpointVersion;

namespace {

struct Expect {
  ErrorKind kind;
  std::string code;
  int status;
  std::string advice; // part of our advice (before Entra's line)
};

class AuthErrorsTest : public AuthEmulatorTest {
protected:
  // Checks an error from the service: kind, code, status, advice first, then Entra's own line
  // and the trace ID; describe() shows the code and the trace ID.
  void expect_error(const Result<auth::TokenResult>& r, const Expect& e, const std::string& label) {
    ASSERT_FALSE(r) << label << ": got a token";
    const Error& err = r.error();
    EXPECT_EQ(err.kind, e.kind) << label << ": " << to_string(err.kind) << " " << err.message;
    EXPECT_EQ(err.code, e.code) << label << ": " << err.message;
    EXPECT_EQ(err.http_status, e.status) << label;
    size_t advice = err.message.find(e.advice);
    size_t said = err.message.find("Entra ID said: \"" + e.code + ": ");
    EXPECT_NE(advice, std::string::npos) << label << ": " << err.message;
    EXPECT_NE(said, std::string::npos) << label << ": " << err.message;
    EXPECT_LT(advice, said) << label << ": the advice comes first";
    EXPECT_TRUE(util::istarts_with(auth::entra_summary(err), e.code + ": ")) << label;
    EXPECT_TRUE(util::is_guid(err.request_id)) << label;
    EXPECT_NE(err.message.find("trace ID " + err.request_id), std::string::npos) << label;
    std::string described = auth::describe_error(err);
    EXPECT_NE(described.find("  code: " + e.code + "\n"), std::string::npos) << label << ": " << described;
    EXPECT_NE(described.find("  trace ID: " + err.request_id), std::string::npos) << label;
    EXPECT_EQ(described.find("\r"), std::string::npos) << label << ": Entra's CRLF lines are cut";
  }
};

TEST_F(AuthErrorsTest, MissingConsentGivesTheExactV1ConsentLink) {
  auto client = make_client(secret_credential());
  for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
    auto r = client->get_token(k_tailspin, "xdr", v);
    expect_error(r, {ErrorKind::forbidden, "AADSTS700016", 400, "is not consented in tenant '" + k_tailspin + "'"},
                 "700016");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("send this consent link to an administrator of the tenant: " +
                                     expected_consent_link() + " "),
              std::string::npos)
        << r.error().message;
    EXPECT_TRUE(auth::is_consent_missing(r.error()));
    EXPECT_NE(client->describe(r.error()).find("next step: an administrator of the tenant must open the consent link"),
              std::string::npos);
  }
  EXPECT_EQ(client->consent_link(), expected_consent_link());
  // The link works on the emulator: it starts the admin-consent flow (a sign-in page, not an error).
  auto page = get(expected_consent_link().substr(emulator->url().size()));
  ASSERT_TRUE(page);
  EXPECT_LT(page->status, 400) << page->body.substr(0, 200);
}

TEST_F(AuthErrorsTest, WrongSecretSaysValueNotId) {
  for (bool basic : {false, true}) {
    auth::AuthClientOptions o;
    o.secret_in_basic_auth = basic;
    auto c = make_client(secret_credential("not-the-secret-" + crypto::random_guid()), nullptr, o);
    expect_error(c->get_token(k_fabrikam, "xdr"),
                 {ErrorKind::unauthorized, "AADSTS7000215", 401, "use the secret's Value, not its Secret ID"},
                 basic ? "7000215 basic" : "7000215 body");
  }
  // Pasting the secret's ID instead of its value is the classic mistake: same advice.
  std::string secret_id = control("GET", "/_emulator/state")["apps"][0]["secrets"][0].value("id", "");
  ASSERT_TRUE(util::is_guid(secret_id));
  expect_error(make_client(secret_credential(secret_id))->get_token(k_fabrikam, "xdr"),
               {ErrorKind::unauthorized, "AADSTS7000215", 401, "Value, not its Secret ID"}, "7000215 id");
}

TEST_F(AuthErrorsTest, ExpiredSecret) {
  control("POST", "/_emulator/apps/" + k_app + "/secrets/expire");
  expect_error(make_client(secret_credential())->get_token(k_fabrikam, "xdr"),
               {ErrorKind::unauthorized, "AADSTS7000222", 401, "the client secret of app '" + k_app + "' has expired"},
               "7000222");
}

TEST_F(AuthErrorsTest, NoClientCredentialWhenAProxyStripsIt) {
  // A middlebox that drops the credential from the body: the service says 7000218.
  auto stripping = std::make_shared<RewritingTransport>(curl(), [](http::Request& req) {
    auto form = form_of(req);
    std::erase_if(form, [](const auto& kv) { return kv.first == "client_secret"; });
    req.body = util::encode_form(form);
  });
  expect_error(make_client(secret_credential(), stripping)->get_token(k_fabrikam, "xdr"),
               {ErrorKind::unauthorized, "AADSTS7000218", 401, "the request carried no client credential"}, "7000218");
}

TEST_F(AuthErrorsTest, UnknownTenantByGuidAndDomain) {
  auto client = make_client(secret_credential());
  const std::string unknown_guid = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
  for (const std::string& tenant : {unknown_guid, std::string("contoso-nope.onmicrosoft.com")}) {
    for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
      expect_error(client->get_token(tenant, "xdr", v),
                   {ErrorKind::not_found, "AADSTS90002", 400, "tenant '" + tenant + "' was not found by " + emulator->url()},
                   "90002 " + tenant);
    }
  }
}

TEST_F(AuthErrorsTest, MalformedTenantsAreRefusedBeforeAnyRequest) {
  // The emulator answers these with AADSTS900023 / 9001023 / 90002 (see test_emulator_errors); the
  // client's own checks are stricter, so none of them reaches the network.
  clear_log();
  auto client = make_client(secret_credential());
  for (const std::string& tenant : {std::string("common"), std::string("organizations"), std::string("consumers"),
                                    std::string("Common"), std::string("not_a_tenant!"), std::string("a..b"),
                                    std::string("00000000-0000-0000-0000-000000000000"), std::string("")}) {
    for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
      auto r = client->get_token(tenant, "xdr", v);
      ASSERT_FALSE(r) << tenant;
      EXPECT_EQ(r.error().kind, ErrorKind::config) << tenant;
      EXPECT_FALSE(r.error().http_status) << tenant;
      EXPECT_TRUE(r.error().code.empty()) << tenant;
    }
  }
  auto common = client->get_token("organizations", "xdr");
  ASSERT_FALSE(common);
  EXPECT_NE(common.error().message.find("cannot be used with client credentials"), std::string::npos);
  EXPECT_TRUE(logged().empty()) << logged().size() << " requests reached the emulator";
}

TEST_F(AuthErrorsTest, ResourceNotInTenant) {
  auto client = make_client(secret_credential());
  const std::string resource = "https://api.unknown.example.com";
  for (EndpointVersion v : {EndpointVersion::v1, EndpointVersion::v2}) {
    expect_error(client->get_token(k_fabrikam, resource, v),
                 {ErrorKind::not_found, "AADSTS500011", 400, "(or the resource '" + resource + "') is not provisioned"},
                 "500011");
  }
  // A tenant where Defender XDR is not provisioned at all.
  const std::string tenant = "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e";
  control("POST", "/_emulator/tenants",
          Json{{"tenant_id", tenant},
               {"provisioned", {"graph"}},
               {"consents", Json::array({{{"client_id", k_app}, {"resource", "graph"}, {"roles", {"SecurityAlert.Read.All"}}}})}});
  expect_error(client->get_token(tenant, "xdr"),
               {ErrorKind::not_found, "AADSTS500011", 400, "is not provisioned in the tenant '" + tenant + "'"},
               "500011 not provisioned");
  EXPECT_TRUE(client->get_token(tenant, "graph")) << "graph is provisioned there";
}

TEST_F(AuthErrorsTest, InvalidScopes) {
  // AuthClient always sends <resource>/.default; a resource URI with a space in it is passed through
  // and the service refuses the scope it makes.
  auto client = make_client(secret_credential());
  expect_error(client->get_token(k_fabrikam, k_xdr + " Incident.Read.All", EndpointVersion::v2),
               {ErrorKind::invalid_request, "AADSTS70011", 400, "the scope for resource"}, "70011");
  expect_error(client->get_token(k_fabrikam, k_xdr + "/Incident.Read.All " + k_xdr, EndpointVersion::v2),
               {ErrorKind::invalid_request, "AADSTS1002012", 400, "exactly one resource followed by /.default"},
               "1002012");
}

TEST_F(AuthErrorsTest, DisabledApp) {
  control("POST", "/_emulator/apps/" + k_app + "/disable");
  expect_error(make_client(secret_credential())->get_token(k_fabrikam, "xdr"),
               {ErrorKind::forbidden, "AADSTS7000112", 400, "the app '" + k_app + "' is disabled in tenant"}, "7000112");
  control("POST", "/_emulator/apps/" + k_app + "/enable");
  EXPECT_TRUE(make_client(secret_credential())->get_token(k_fabrikam, "xdr"));
}

TEST_F(AuthErrorsTest, UnregisteredCertificate) {
  auto key = crypto::RsaPrivateKey::generate_deterministic("not-uploaded-cert", 2048);
  crypto::CertificateOptions o;
  o.common_name = "Never uploaded";
  auto other = crypto::make_certificate(key, o);
  ASSERT_TRUE(other);
  for (auto alg : {auth::AssertionAlgorithm::rs256_x5t, auth::AssertionAlgorithm::ps256_x5t_s256}) {
    auth::CertificateCredentialOptions co;
    co.algorithm = alg;
    auto cred = auth::ClientCertificateCredential::create(k_app, key, *other, {}, co);
    ASSERT_TRUE(cred);
    expect_error(make_client(*cred)->get_token(k_fabrikam, "xdr"),
                 {ErrorKind::unauthorized, "AADSTS700027", 401, "the certificate used is not one uploaded to app"},
                 "700027");
  }
}

TEST_F(AuthErrorsTest, ClockSkewMakesTheAssertionOutOfRange) {
  auth::CertificateCredentialOptions co;
  auto cred = auth::ClientCertificateCredential::create(k_app, identity.cert_key, cert(), {}, co);
  ASSERT_TRUE(cred);
  auto client = make_client(*cred);
  for (int offset : {3600, -3600}) {
    control("POST", "/_emulator/clock", {{"offset_seconds", offset}});
    expect_error(client->refresh_token(k_fabrikam, "xdr"),
                 {ErrorKind::unauthorized, "AADSTS700024", 401, "check this machine's clock"},
                 "700024 offset " + std::to_string(offset));
  }
  // Within Entra's 5-minute tolerance the same credential works.
  control("POST", "/_emulator/clock", {{"offset_seconds", 120}});
  EXPECT_TRUE(client->refresh_token(k_fabrikam, "xdr"));
}

} // namespace
