// Every refusal of the real Entra ID the issue lists, reproduced with raw HTTP.

#include "emulator_fixture.hpp"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <thread>

using namespace xdr;
using namespace xdr::testing;

namespace {

struct Expected {
  int status;
  std::string error;
  int code;
  std::string fragment; // part of the message after "AADSTS<code>: "
};

void expect_entra_error(const httplib::Result& r, const Expected& e, const std::string& label) {
  ASSERT_TRUE(r) << label;
  EXPECT_EQ(r->status, e.status) << label << ": " << r->body;
  EXPECT_TRUE(util::istarts_with(r->get_header_value("Content-Type"), "application/json")) << label;
  Json j = body_of(r);
  ASSERT_TRUE(j.is_object()) << label << ": " << r->body;
  EXPECT_EQ(j["error"], e.error) << label;
  EXPECT_EQ(j["error_codes"], Json({e.code})) << label;
  std::string desc = j.value("error_description", "");
  EXPECT_TRUE(util::istarts_with(desc, "AADSTS" + std::to_string(e.code) + ": ")) << label << ": " << desc;
  EXPECT_NE(desc.find(e.fragment), std::string::npos) << label << ": " << desc;
  EXPECT_NE(desc.find("\r\nTrace ID: "), std::string::npos) << label;
  EXPECT_NE(desc.find("\r\nCorrelation ID: "), std::string::npos) << label;
  EXPECT_NE(desc.find("\r\nTimestamp: "), std::string::npos) << label;
  EXPECT_TRUE(util::is_guid(j.value("trace_id", ""))) << label;
  EXPECT_TRUE(util::is_guid(j.value("correlation_id", ""))) << label;
  EXPECT_EQ(j.value("timestamp", "").size(), 20u) << label;
  EXPECT_EQ(j.value("error_uri", "").find("/error?code=" + std::to_string(e.code)) != std::string::npos, true) << label;
}

util::FormFields without(util::FormFields f, const std::string& key) {
  std::erase_if(f, [&](const auto& kv) { return kv.first == key; });
  return f;
}

util::FormFields with(util::FormFields f, const std::string& key, const std::string& value) {
  f = without(std::move(f), key);
  f.emplace_back(key, value);
  return f;
}

} // namespace

TEST_F(EmulatorTest, TokenEndpointRefusalsMatchEntra) {
  const std::string v1 = "/" + k_fabrikam + "/oauth2/token";
  const std::string v2 = "/" + k_fabrikam + "/oauth2/v2.0/token";
  expect_entra_error(post_form("/" + k_tailspin + "/oauth2/token", secret_v1()),
                     {400, "unauthorized_client", 700016, "was not found in the directory 'Tailspin Toys'"}, "no consent");
  expect_entra_error(post_form(v1, with(secret_v1(), "client_secret", "wrong")),
                     {401, "invalid_client", 7000215, "not the client secret ID"}, "wrong secret");
  expect_entra_error(post_form(v1, without(secret_v1(), "client_secret")),
                     {401, "invalid_client", 7000218, "'client_assertion' or 'client_secret'"}, "no credential");
  expect_entra_error(post_form("/contoso-nope.onmicrosoft.com/oauth2/token", secret_v1()),
                     {400, "invalid_tenant", 90002, "Tenant 'contoso-nope.onmicrosoft.com' not found"}, "unknown tenant");
  expect_entra_error(post_form("/00000000-0000-0000-0000-000000000001/oauth2/v2.0/token", secret_v2()),
                     {400, "invalid_tenant", 90002, "not found"}, "unknown tenant guid");
  expect_entra_error(post_form("/not_a_tenant!/oauth2/token", secret_v1()),
                     {400, "invalid_request", 900023, "neither a valid DNS name"}, "malformed tenant");
  expect_entra_error(post_form(v1, secret_v1("https://api.unknown.example.com")),
                     {400, "invalid_resource", 500011, "resource principal named https://api.unknown.example.com"},
                     "unknown resource v1");
  expect_entra_error(post_form(v2, secret_v2("https://api.unknown.example.com/.default")),
                     {400, "invalid_resource", 500011, "resource principal named"}, "unknown resource v2");
  expect_entra_error(post_form(v2, secret_v2("not a scope")), {400, "invalid_scope", 70011, "is not valid"}, "bad scope");
  expect_entra_error(post_form(v2, secret_v2(k_xdr + "/Incident.Read.All")),
                     {400, "invalid_scope", 1002012, "/.default suffixed"}, "non-default scope");
  expect_entra_error(post_form(v2, secret_v2(k_xdr + "/.default https://graph.microsoft.com/.default")),
                     {400, "invalid_scope", 700022, "more than one resource"}, "two resources");
  expect_entra_error(post_form(v2, with(secret_v2(), "resource", k_xdr)),
                     {400, "invalid_request", 901002, "'resource' request parameter is not supported"}, "resource on v2");
  expect_entra_error(post_form(v2, without(secret_v2(), "scope")), {400, "invalid_request", 900144, "'scope'"}, "no scope");
  expect_entra_error(post_form(v1, without(secret_v1(), "resource")), {400, "invalid_request", 900144, "'resource'"},
                     "no resource");
  expect_entra_error(post_form(v1, without(secret_v1(), "client_id")), {400, "invalid_request", 900144, "'client_id'"},
                     "no client id");
  expect_entra_error(post_form(v1, without(secret_v1(), "grant_type")), {400, "invalid_request", 900144, "'grant_type'"},
                     "no grant type");
  expect_entra_error(post_form(v1, with(secret_v1(), "grant_type", "password")),
                     {400, "unsupported_grant_type", 70003, "unsupported grant type"}, "grant type");
  for (std::string meta : {"common", "organizations"})
    expect_entra_error(post_form("/" + meta + "/oauth2/v2.0/token", secret_v2()),
                       {400, "invalid_request", 9001023, "/common or /consumers"}, meta);
  expect_entra_error(post_form(v1, with(secret_v1(), "client_id", "11111111-2222-3333-4444-555555555555")),
                     {400, "unauthorized_client", 700016, "'11111111-2222-3333-4444-555555555555' was not found"},
                     "unknown app");
}

TEST_F(EmulatorTest, ExpiredSecretAndDisabledApp) {
  const std::string v1 = "/" + k_fabrikam + "/oauth2/token";
  control("POST", "/_emulator/apps/" + k_app + "/secrets/expire");
  expect_entra_error(post_form(v1, secret_v1()), {401, "invalid_client", 7000222, "are expired"}, "expired secret");
  control("POST", "/_emulator/apps/" + k_app + "/disable");
  expect_entra_error(post_form(v1, secret_v1()), {400, "unauthorized_client", 7000112, "(Contoso MSSP) is disabled"},
                     "disabled app");
}

TEST_F(EmulatorTest, AScenarioCanDeclareAnExpiredSecretAndADisabledApp) {
  const std::string v1 = "/" + k_fabrikam + "/oauth2/token";
  emulator->stop();
  Json expired = identity.scenario();
  expired["apps"][0]["secrets"] = Json::array({{{"value", identity.secret}, {"expires", "2020-01-01T00:00:00Z"}}});
  start(expired);
  expect_entra_error(post_form(v1, secret_v1()), {401, "invalid_client", 7000222, "are expired"}, "declared expired");

  emulator->stop();
  Json disabled = identity.scenario();
  disabled["apps"][0]["disabled"] = true;
  start(disabled);
  expect_entra_error(post_form(v1, secret_v1()), {400, "unauthorized_client", 7000112, "(Contoso MSSP) is disabled"},
                     "declared disabled");
}

TEST_F(EmulatorTest, ResourceNotProvisionedInTheTenant) {
  Json tenant = {{"tenant_id", "12121212-3434-4565-8787-909090909090"},
                 {"domain", "nodefender.onmicrosoft.com"},
                 {"display_name", "No Defender Ltd"},
                 {"provisioned", Json::array({"graph"})}};
  tenant["consents"] = Json::array({Json{{"client_id", k_app}, {"resource", "graph"}, {"roles", Json::array()}}});
  control("POST", "/_emulator/tenants", tenant);
  expect_entra_error(post_form("/nodefender.onmicrosoft.com/oauth2/token", secret_v1()),
                     {400, "invalid_resource", 500011, "was not found in the tenant named No Defender Ltd"},
                     "not provisioned");
}

TEST_F(EmulatorTest, BadAssertionsAreRefused) {
  const std::string v2 = "/" + k_fabrikam + "/oauth2/v2.0/token";
  auto form = [&](const std::string& a) {
    return util::FormFields{{"grant_type", "client_credentials"},
                            {"client_id", k_app},
                            {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                            {"client_assertion", a},
                            {"scope", k_xdr + "/.default"}};
  };
  // Signed by a key whose certificate is not registered on the app.
  auto other = crypto::RsaPrivateKey::generate_deterministic("not-registered", 2048);
  auto other_cert = *crypto::make_certificate(other, {.common_name = "stranger"});
  int64_t now = util::to_unix(std::chrono::system_clock::now());
  Json claims = {{"aud", emulator->url() + v2}, {"iss", k_app}, {"sub", k_app}, {"jti", crypto::random_guid()},
                 {"nbf", now}, {"exp", now + 600}};
  std::string stranger = *jwt::sign({{"x5t", util::base64url_encode(other_cert.thumbprint_sha1())}}, claims, other);
  expect_entra_error(post_form(v2, form(stranger)), {401, "invalid_client", 700027, "The key was not found"}, "unknown cert");
  // Registered thumbprint, wrong signature.
  std::string forged = *jwt::sign({{"x5t", util::base64url_encode(cert().thumbprint_sha1())}}, claims, other);
  expect_entra_error(post_form(v2, form(forged)), {401, "invalid_client", 700027, "failed signature validation"}, "forged");
  expect_entra_error(post_form(v2, form(assertion(k_fabrikam, crypto::SignatureAlg::rs256, {{"exp", now - 3600}}))),
                     {401, "invalid_client", 700024, "not within its valid time range"}, "expired assertion");
  expect_entra_error(post_form(v2, form(assertion(k_fabrikam, crypto::SignatureAlg::rs256, {{"nbf", now + 3600}, {"exp", now + 4000}}))),
                     {401, "invalid_client", 700024, "not within its valid time range"}, "future assertion");
  expect_entra_error(post_form(v2, form(assertion(k_fabrikam, crypto::SignatureAlg::rs256, {{"aud", "https://login.example.com/x"}}))),
                     {401, "invalid_client", 50027, "audience"}, "wrong audience");
  expect_entra_error(post_form(v2, form(assertion(k_northwind, crypto::SignatureAlg::rs256))),
                     {401, "invalid_client", 50027, "audience"}, "other tenant's audience");
  expect_entra_error(post_form(v2, form(assertion(k_fabrikam, crypto::SignatureAlg::rs256, {{"iss", "someone"}}))),
                     {401, "invalid_client", 700021, "doesn't match 'client_id'"}, "issuer");
  // The same assertion re-sent (as MSAL does) passes; another assertion under the same jti does not.
  Json fixed_jti = {{"jti", "0d5e2c3a-8f1b-4c6d-9e7f-112233445566"}};
  std::string once = assertion(k_fabrikam, crypto::SignatureAlg::ps256, fixed_jti);
  EXPECT_EQ(post_form(v2, form(once))->status, 200);
  EXPECT_EQ(post_form(v2, form(once))->status, 200);
  fixed_jti["exp"] = now + 500;
  expect_entra_error(post_form(v2, form(assertion(k_fabrikam, crypto::SignatureAlg::ps256, fixed_jti))),
                     {401, "invalid_client", 700023, "already been used"}, "jti replay");
  // Python's urlsafe_b64encode keeps '=' padding on x5t: MSAL Python sends it that way.
  std::string padded_x5t = *jwt::sign({{"typ", "JWT"}, {"x5t", util::base64url_encode(cert().thumbprint_sha1()) + "="}},
                                       claims_of(assertion(k_fabrikam, crypto::SignatureAlg::rs256)), identity.cert_key);
  EXPECT_EQ(post_form(v2, form(padded_x5t))->status, 200);
  expect_entra_error(post_form(v2, form("not.a.jwt")), {401, "invalid_client", 50027, "malformed"}, "garbage");
}

TEST_F(EmulatorTest, MalformedRequestsGetTheDialectNotACrash) {
  const std::string v2 = "/" + k_fabrikam + "/oauth2/v2.0/token";
  auto c = client();
  expect_entra_error(c->Post(v2.c_str(), "", "application/x-www-form-urlencoded"),
                     {400, "invalid_request", 900144, "'grant_type'"}, "no body");
  expect_entra_error(c->Post(v2.c_str(), Json(secret_v2()).dump(), "application/json"),
                     {400, "invalid_request", 900144, "'grant_type'"}, "json body");
  expect_entra_error(c->Post(v2.c_str(), "grant_type=client_credentials&client_id=%zz", "application/x-www-form-urlencoded"),
                     {400, "invalid_request", 900144, "malformed"}, "bad percent-encoding");
  std::string big(10 * 1024 * 1024, 'a');
  auto r = c->Post(v2.c_str(), "grant_type=" + big, "application/x-www-form-urlencoded");
  // Refused before the body is read; the server then reads and drops what is still coming before it
  // closes, so the refusal is not lost to a TCP reset.
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(body_of(r)["error"], "invalid_request");
  EXPECT_EQ(r->get_header_value("Connection"), "close");
  EXPECT_EQ(post_form(v2, secret_v2())->status, 200) << "the server still serves after the big body";
  auto get_token = client()->Get(v2.c_str());
  EXPECT_EQ(get_token->status, 405);
}

TEST_F(EmulatorTest, SlowClientsAreCutOffWithoutBlockingOthers) {
  emulator->stop();
  start(identity.scenario(), /*read_timeout=*/1);
  // Four slowloris connections: a TCP connection that sends half a request line and stalls.
  std::vector<int> socks;
  for (int i = 0; i < 4; ++i) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(emulator->port()));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ASSERT_EQ(::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::send(s, "\x16\x03\x01", 3, 0); // the start of a TLS record, then nothing
    socks.push_back(s);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto r = post_form("/" + k_fabrikam + "/oauth2/v2.0/token", secret_v2());
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(elapsed, std::chrono::seconds(3)) << "other clients are not held up";
  // The stalled connections are closed by the server after the read timeout.
  for (int s : socks) {
    timeval tv{5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[64];
    ssize_t n = ::recv(s, buf, sizeof buf, 0);
    EXPECT_LE(n, 0) << "the server closed the stalled connection";
    ::close(s);
  }
}
