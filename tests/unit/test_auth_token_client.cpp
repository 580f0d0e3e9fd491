#include <gtest/gtest.h>

#include <xdr/auth/aadsts.hpp>
#include <xdr/auth/token_client.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

#include "auth_test_support.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

using namespace xdr;
using namespace xdr::auth;
namespace tst = xdr::testing;

namespace {

constexpr int64_t k_now = 1'767'225'600;
const std::string k_xdr = "https://api.security.microsoft.com";

struct Fixture {
  std::shared_ptr<tst::FakeTransport> transport = std::make_shared<tst::FakeTransport>();
  std::shared_ptr<tst::FakeClock> clock = std::make_shared<tst::FakeClock>(k_now);

  std::shared_ptr<TokenClient> secret_client(TokenClientOptions o = {}) {
    o.clock = clock;
    auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
    return TokenClient::create(cred, transport, std::move(o)).value();
  }
  std::shared_ptr<TokenClient> cert_client(AssertionAlgorithm alg, bool chain, TokenClientOptions o = {}) {
    const auto& tc = tst::test_certificate();
    CertificateCredentialOptions co;
    co.algorithm = alg;
    co.send_certificate_chain = chain;
    co.clock = clock;
    auto cred = ClientCertificateCredential::create(tst::k_client_id, tc.key, tc.cert, {tc.ca}, co).value();
    o.clock = clock;
    return TokenClient::create(cred, transport, std::move(o)).value();
  }
};

void expect_common_headers(const http::Request& r) {
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.headers.get("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.headers.get("accept"), "application/json");
  ASSERT_TRUE(r.headers.get("client-request-id"));
  EXPECT_TRUE(util::is_guid(*r.headers.get("client-request-id")));
  EXPECT_EQ(r.headers.get("return-client-request-id"), "true");
}

const std::string k_secret_form = "s3cr3t~Value.With%2BSpecial%2FChars%3D";

} // namespace

TEST(AuthTokenClient, SecretV2ExactRequest) {
  Fixture f;
  auto client = f.secret_client();
  f.transport->push(200, tst::v2_success("tok-v2", 3599));
  auto token = client->request_token(tst::k_tenant_a, k_xdr, EndpointVersion::v2);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->value.reveal(), "tok-v2");
  EXPECT_EQ(util::to_unix(token->expires_on), k_now + 3599);
  EXPECT_EQ(util::to_unix(*token->ext_expires_on), k_now + 3599);
  ASSERT_EQ(f.transport->count(), 1u);
  const http::Request r = f.transport->requests()[0];
  EXPECT_EQ(r.url, std::string("https://login.microsoftonline.com/") + tst::k_tenant_a + "/oauth2/v2.0/token");
  expect_common_headers(r);
  EXPECT_FALSE(r.headers.has("authorization"));
  EXPECT_EQ(r.body, std::string("grant_type=client_credentials&client_id=") + tst::k_client_id +
                        "&client_secret=" + k_secret_form +
                        "&scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default");
}

TEST(AuthTokenClient, SecretV1ExactRequestAndStringNumbers) {
  Fixture f;
  auto client = f.secret_client();
  f.transport->push(200, R"({"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":")" +
                             std::to_string(k_now + 3599) + R"(","not_before":")" + std::to_string(k_now - 301) +
                             R"(","resource":"https://api.security.microsoft.com","access_token":"tok-v1"})");
  auto token = client->request_token("Contoso.onmicrosoft.com", k_xdr, EndpointVersion::v1);
  ASSERT_TRUE(token) << token.error().message;
  EXPECT_EQ(token->value.reveal(), "tok-v1");
  EXPECT_EQ(util::to_unix(token->expires_on), k_now + 3599);
  EXPECT_EQ(util::to_unix(*token->not_before), k_now - 301);
  EXPECT_FALSE(token->refresh_on);
  const http::Request r = f.transport->requests()[0];
  EXPECT_EQ(r.url, "https://login.microsoftonline.com/Contoso.onmicrosoft.com/oauth2/token");
  expect_common_headers(r);
  EXPECT_EQ(r.body, std::string("grant_type=client_credentials&client_id=") + tst::k_client_id +
                        "&client_secret=" + k_secret_form + "&resource=https%3A%2F%2Fapi.security.microsoft.com");
}

TEST(AuthTokenClient, SecretInBasicAuthWhenAsked) {
  Fixture f;
  TokenClientOptions o;
  o.secret_in_basic_auth = true;
  o.authority_host = "https://127.0.0.1:8443/";
  auto client = f.secret_client(o);
  f.transport->push(200, tst::v2_success());
  ASSERT_TRUE(client->request_token(tst::k_tenant_a, k_xdr));
  const http::Request r = f.transport->requests()[0];
  EXPECT_EQ(r.url, std::string("https://127.0.0.1:8443/") + tst::k_tenant_a + "/oauth2/v2.0/token");
  EXPECT_EQ(r.headers.get("authorization"),
            "Basic " + util::base64_encode(std::string(tst::k_client_id) + ":" + k_secret_form));
  EXPECT_EQ(r.body.find("client_secret"), std::string::npos);
}

TEST(AuthTokenClient, CertificateRs256X5tRequest) {
  Fixture f;
  auto client = f.cert_client(AssertionAlgorithm::rs256_x5t, false);
  f.transport->push(200, tst::v2_success());
  ASSERT_TRUE(client->request_token(tst::k_tenant_a, k_xdr));
  const http::Request r = f.transport->requests()[0];
  const std::string url = std::string("https://login.microsoftonline.com/") + tst::k_tenant_a + "/oauth2/v2.0/token";
  EXPECT_EQ(r.url, url);
  expect_common_headers(r);
  auto form = util::parse_form(r.body).value();
  ASSERT_EQ(form.size(), 5u);
  EXPECT_EQ(form[0], (std::pair<std::string, std::string>("grant_type", "client_credentials")));
  EXPECT_EQ(form[1], (std::pair<std::string, std::string>("client_id", tst::k_client_id)));
  EXPECT_EQ(form[2], (std::pair<std::string, std::string>(
                         "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")));
  EXPECT_EQ(form[3].first, "client_assertion");
  EXPECT_EQ(form[4], (std::pair<std::string, std::string>("scope", "https://api.security.microsoft.com/.default")));
  EXPECT_EQ(r.body.find("client_secret"), std::string::npos);

  auto d = jwt::decode(form[3].second);
  ASSERT_TRUE(d);
  const auto& tc = tst::test_certificate();
  EXPECT_EQ(d->header, (Json{{"alg", "RS256"}, {"typ", "JWT"}, {"x5t", util::base64url_encode(tc.cert.thumbprint_sha1())}}));
  EXPECT_EQ(d->payload["aud"], url);
  EXPECT_EQ(d->payload["iss"], tst::k_client_id);
  EXPECT_EQ(d->payload["sub"], tst::k_client_id);
  EXPECT_EQ(d->payload["nbf"], k_now);
  EXPECT_EQ(d->payload["iat"], k_now);
  EXPECT_EQ(d->payload["exp"], k_now + 600);
  EXPECT_TRUE(util::is_guid(d->payload["jti"].get<std::string>()));
  EXPECT_TRUE(tc.cert.public_key().verify(crypto::SignatureAlg::rs256, d->signing_input, d->signature));
  EXPECT_FALSE(tc.cert.public_key().verify(crypto::SignatureAlg::ps256, d->signing_input, d->signature));
}

TEST(AuthTokenClient, CertificatePs256X5tS256WithChainV1Request) {
  Fixture f;
  auto client = f.cert_client(AssertionAlgorithm::ps256_x5t_s256, true);
  f.transport->push(200, tst::v2_success());
  ASSERT_TRUE(client->request_token(tst::k_tenant_b, "https://api.securitycenter.microsoft.com", EndpointVersion::v1));
  const http::Request r = f.transport->requests()[0];
  const std::string url = std::string("https://login.microsoftonline.com/") + tst::k_tenant_b + "/oauth2/token";
  EXPECT_EQ(r.url, url);
  auto form = util::parse_form(r.body).value();
  EXPECT_EQ(util::form_get(form, "resource"), "https://api.securitycenter.microsoft.com");
  EXPECT_FALSE(util::form_get(form, "scope"));
  auto d = jwt::decode(*util::form_get(form, "client_assertion"));
  ASSERT_TRUE(d);
  const auto& tc = tst::test_certificate();
  EXPECT_EQ(d->header["alg"], "PS256");
  EXPECT_EQ(d->header["typ"], "JWT");
  EXPECT_EQ(d->header["x5t#S256"], util::base64url_encode(tc.cert.thumbprint_sha256()));
  EXPECT_FALSE(d->header.contains("x5t"));
  ASSERT_TRUE(d->header["x5c"].is_array());
  ASSERT_EQ(d->header["x5c"].size(), 2u);
  EXPECT_EQ(d->header["x5c"][0], util::base64_encode(tc.cert.der()));
  EXPECT_EQ(d->header["x5c"][1], util::base64_encode(tc.ca.der()));
  EXPECT_EQ(d->payload["aud"], url);
  EXPECT_EQ(d->payload["exp"], k_now + 600);
  // Verify with the public key of the certificate carried in x5c.
  auto leaf = crypto::Certificate::from_der(*util::base64_decode(d->header["x5c"][0].get<std::string>()));
  ASSERT_TRUE(leaf);
  EXPECT_TRUE(leaf->public_key().verify(crypto::SignatureAlg::ps256, d->signing_input, d->signature));
}

TEST(AuthTokenClient, ParsesV1StringsV2IntegersAndRefreshIn) {
  const auto now = util::from_unix(k_now);
  auto v2 = parse_token_response(R"({"token_type":"Bearer","expires_in":86399,"ext_expires_in":86399,"refresh_in":43199,"access_token":"a"})", now);
  ASSERT_TRUE(v2);
  EXPECT_EQ(util::to_unix(v2->expires_on), k_now + 86399);
  EXPECT_EQ(util::to_unix(*v2->refresh_on), k_now + 43199);
  auto v1 = parse_token_response(R"({"token_type":"Bearer","expires_in":"3599","refresh_in":"1800","access_token":"a"})", now);
  ASSERT_TRUE(v1);
  EXPECT_EQ(util::to_unix(v1->expires_on), k_now + 3599);
  EXPECT_EQ(util::to_unix(*v1->refresh_on), k_now + 1800);
  auto only_on = parse_token_response(R"({"access_token":"a","expires_on":")" + std::to_string(k_now + 100) + "\"}", now);
  ASSERT_TRUE(only_on);
  EXPECT_EQ(util::to_unix(only_on->expires_on), k_now + 100);
  EXPECT_EQ(only_on->token_type, "Bearer");
}

TEST(AuthTokenClient, BadBodiesAreInvalidResponseWithoutTheToken) {
  const auto now = util::from_unix(k_now);
  struct Case {
    std::string body;
    std::string fragment;
  };
  const std::string tok = "eyJTOPSECRETTOKENVALUE";
  std::vector<Case> cases = {
      {"<!DOCTYPE html><html><body>Sign in</body></html>", "an HTML page"},
      {"", "an empty body"},
      {R"({"token_type":"Bearer","expires_in":3599,"access_token":")" + tok, "not valid JSON"},
      {R"({"token_type":"Bearer","expires_in":3599})", "no access_token"},
      {R"({"token_type":"pop","expires_in":3599,"access_token":")" + tok + "\"}", "not Bearer"},
      {R"({"token_type":"Bearer","expires_in":"soon","access_token":")" + tok + "\"}", "expires_in is not"},
      {R"({"token_type":"Bearer","expires_in":-5,"access_token":")" + tok + "\"}", "expires_in is not"},
      {R"({"token_type":"Bearer","access_token":")" + tok + "\"}", "neither expires_in nor expires_on"},
      {R"(["access_token"])", "not an object"},
  };
  for (const auto& c : cases) {
    auto r = parse_token_response(c.body, now);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::invalid_response) << c.body;
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find("TOPSECRET"), std::string::npos) << r.error().message;
  }
  // Through the client: the message names the endpoint and keeps the HTTP status.
  Fixture f;
  auto client = f.secret_client();
  f.transport->push(200, "<html><body>proxy login</body></html>");
  auto r = client->request_token(tst::k_tenant_a, k_xdr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_response);
  EXPECT_EQ(r.error().http_status, 200);
  EXPECT_NE(r.error().message.find("/oauth2/v2.0/token"), std::string::npos);
  EXPECT_NE(r.error().message.find("an HTML page"), std::string::npos);
  // A non-JSON error page (e.g. from a proxy) on a 502.
  f.transport->push(502, "<html>Bad Gateway</html>");
  auto gw = client->request_token(tst::k_tenant_a, k_xdr);
  ASSERT_FALSE(gw);
  EXPECT_EQ(gw.error().kind, ErrorKind::server);
  EXPECT_NE(gw.error().message.find("HTTP 502 with an HTML page"), std::string::npos);
}

TEST(AuthTokenClient, RefusesMultiTenantAliasesWithoutARequest) {
  Fixture f;
  auto client = f.secret_client();
  for (const char* t : {"common", "organizations", "consumers", "Organizations", "not a tenant"}) {
    auto r = client->request_token(t, k_xdr);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().kind, ErrorKind::config);
  }
  EXPECT_EQ(f.transport->count(), 0u);
}

TEST(AuthTokenClient, TenantAllowList) {
  Fixture f;
  TokenClientOptions o;
  o.allowed_tenants = {tst::k_tenant_a, "Fabrikam.onmicrosoft.com"};
  auto client = f.secret_client(o);
  auto refused = client->request_token(tst::k_tenant_b, k_xdr);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::config);
  EXPECT_NE(refused.error().message.find("allow-list"), std::string::npos);
  EXPECT_EQ(f.transport->count(), 0u);
  f.transport->push(200, tst::v2_success());
  f.transport->push(200, tst::v2_success());
  EXPECT_TRUE(client->request_token("AAAAAAAA-0000-4000-8000-00000000000A", k_xdr));
  EXPECT_TRUE(client->request_token("fabrikam.onmicrosoft.com", k_xdr));
  EXPECT_EQ(f.transport->count(), 2u);
  TokenClientOptions bad;
  bad.allowed_tenants = {"common"};
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  EXPECT_FALSE(TokenClient::create(cred, f.transport, bad));
}

TEST(AuthTokenClient, SecretNeverInErrorMessages) {
  Fixture f;
  auto client = f.secret_client();
  // A broken server that echoes the request body in its error description.
  f.transport->set_handler([](const http::Request& r) -> Result<http::Response> {
    http::Response resp;
    resp.status = 400;
    auto form = util::parse_form(r.body).value();
    std::string echoed = util::form_get(form, "client_secret").value_or("");
    resp.body = R"({"error":"invalid_request","error_description":"AADSTS12345: bad request body: client_secret=)" +
                echoed + R"(","error_codes":[12345]})";
    return resp;
  });
  auto r = client->request_token(tst::k_tenant_a, k_xdr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.find(tst::k_secret), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("[redacted]"), std::string::npos);
  // A transport whose error text carries the secret (e.g. a proxy message quoting the body).
  f.transport->set_handler([](const http::Request&) -> Result<http::Response> {
    return tl::unexpected(Error(ErrorKind::transport, std::string("connection reset after sending ") + tst::k_secret));
  });
  auto t = client->request_token(tst::k_tenant_a, k_xdr);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().kind, ErrorKind::transport);
  EXPECT_NE(t.error().message.find("could not reach the token endpoint https://login.microsoftonline.com/"),
            std::string::npos);
  EXPECT_EQ(t.error().message.find(tst::k_secret), std::string::npos) << t.error().message;
}

TEST(AuthTokenClient, ServerSuppliedTimesAreBounded) {
  auto now = util::from_unix(1'800'000'000);
  auto t = auth::parse_token_response(R"({"access_token":"x","expires_in":"99999999999","refresh_in":99999999999})", now);
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(util::to_unix(t->expires_on) - util::to_unix(now), 366LL * 86400);
  auto huge = auth::parse_token_response(R"({"access_token":"x","expires_in":18446744073709551615})", now);
  EXPECT_FALSE(huge);
  EXPECT_EQ(auth::parse_retry_after("99999999999", now)->count(), 86400);
  EXPECT_EQ(auth::parse_retry_after("Thu, 31 Dec 2099 23:59:59 GMT", now)->count(), 86400);
  EXPECT_FALSE(auth::parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now)) << "beyond what a time point holds";
}
