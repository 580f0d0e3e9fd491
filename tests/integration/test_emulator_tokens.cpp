// xdr-emulator's identity service over real HTTPS: discovery, keys and successful tokens.

#include "emulator_fixture.hpp"

#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

int64_t now_unix() { return util::to_unix(std::chrono::system_clock::now()); }

// Verifies `token` against the v1 JWKS the emulator publishes (as an independent resource would).
bool verifies_against_jwks(const EmulatorTest& t, const httplib::Result& keys_response, const std::string& token) {
  Json keys = body_of(keys_response);
  auto d = jwt::decode(token);
  if (!d) return false;
  for (const Json& k : keys["keys"]) {
    if (k["kid"] != d->header["kid"]) continue;
    auto pub = crypto::RsaPublicKey::from_components(*util::base64url_decode(k["n"].get<std::string>()),
                                                     *util::base64url_decode(k["e"].get<std::string>()));
    return pub && pub->verify(crypto::SignatureAlg::rs256, d->signing_input, d->signature);
  }
  (void)t;
  return false;
}

} // namespace

TEST_F(EmulatorTest, V2OpenIdConfigurationByDomainCarriesTheTenantGuid) {
  auto r = get("/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "max-age=86400, private");
  Json j = body_of(r);
  std::string base = emulator->url();
  EXPECT_EQ(j["issuer"], base + "/" + k_fabrikam + "/v2.0");
  EXPECT_EQ(j["token_endpoint"], base + "/" + k_fabrikam + "/oauth2/v2.0/token");
  EXPECT_EQ(j["jwks_uri"], base + "/" + k_fabrikam + "/discovery/v2.0/keys");
  EXPECT_EQ(j["authorization_endpoint"], base + "/" + k_fabrikam + "/oauth2/v2.0/authorize");
  EXPECT_EQ(j["end_session_endpoint"], base + "/" + k_fabrikam + "/oauth2/v2.0/logout");
  EXPECT_EQ(j["token_endpoint_auth_methods_supported"],
            Json({"client_secret_post", "private_key_jwt", "client_secret_basic"}));
}

TEST_F(EmulatorTest, V1OpenIdConfigurationAndMetaTenants) {
  Json v1 = body_of(get("/" + k_fabrikam + "/.well-known/openid-configuration"));
  EXPECT_EQ(v1["issuer"], "https://sts.windows.net/" + k_fabrikam + "/");
  EXPECT_EQ(v1["jwks_uri"], emulator->url() + "/" + k_fabrikam + "/discovery/keys");
  EXPECT_EQ(v1["token_endpoint"], emulator->url() + "/" + k_fabrikam + "/oauth2/token");
  for (std::string meta : {"common", "organizations"}) {
    Json v2 = body_of(get("/" + meta + "/v2.0/.well-known/openid-configuration"));
    EXPECT_EQ(v2["issuer"], emulator->url() + "/{tenantid}/v2.0") << meta;
    EXPECT_EQ(v2["token_endpoint"], emulator->url() + "/" + meta + "/oauth2/v2.0/token");
    EXPECT_TRUE(v2["tenant_region_scope"].is_null());
    Json m1 = body_of(get("/" + meta + "/.well-known/openid-configuration"));
    EXPECT_EQ(m1["issuer"], "https://sts.windows.net/{tenantid}/") << meta;
  }
}

TEST_F(EmulatorTest, JwksPublishTwoKeysWithKidEqualX5t) {
  Json v2 = body_of(get("/" + k_fabrikam + "/discovery/v2.0/keys"));
  Json v1 = body_of(get("/common/discovery/keys"));
  ASSERT_GE(v2["keys"].size(), 2u);
  ASSERT_EQ(v1["keys"].size(), v2["keys"].size());
  for (const Json& k : v2["keys"]) {
    EXPECT_EQ(k["kty"], "RSA");
    EXPECT_EQ(k["use"], "sig");
    EXPECT_EQ(k["kid"], k["x5t"]);
    EXPECT_EQ(k["issuer"], emulator->url() + "/{tenantid}/v2.0");
    auto der = util::base64_decode(k["x5c"][0].get<std::string>());
    auto cert = crypto::Certificate::from_der(*der);
    ASSERT_TRUE(cert);
    EXPECT_EQ(util::base64url_encode(cert->thumbprint_sha1()), k["kid"]);
    EXPECT_EQ(util::base64url_encode(cert->public_key().modulus()), k["n"]);
  }
  for (const Json& k : v1["keys"]) EXPECT_FALSE(k.contains("issuer"));
}

TEST_F(EmulatorTest, InstanceDiscoveryAnswersForItsOwnHost) {
  std::string ep = util::url_encode(emulator->url() + "/" + k_fabrikam + "/oauth2/v2.0/authorize");
  Json j = body_of(get("/common/discovery/instance?api-version=1.1&authorization_endpoint=" + ep));
  EXPECT_EQ(j["tenant_discovery_endpoint"], emulator->url() + "/" + k_fabrikam + "/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(j["metadata"][0]["preferred_network"], "127.0.0.1:" + std::to_string(emulator->port()));
  auto bad = get("/common/discovery/instance?api-version=1.1&authorization_endpoint=" +
                 util::url_encode("https://login.example.com/x/oauth2/v2.0/authorize"));
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(body_of(bad)["error"], "invalid_instance");
}

TEST_F(EmulatorTest, V1TokenWithSecretHasStringNumbersAndTheDocumentedClaims) {
  int64_t before = now_unix();
  auto r = post_form("/" + k_fabrikam + "/oauth2/token", secret_v1());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store, no-cache");
  EXPECT_EQ(r->get_header_value("Pragma"), "no-cache");
  Json j = body_of(r);
  EXPECT_EQ(j["token_type"], "Bearer");
  ASSERT_TRUE(j["expires_in"].is_string());
  ASSERT_TRUE(j["expires_on"].is_string());
  ASSERT_TRUE(j["not_before"].is_string());
  EXPECT_EQ(j["resource"], k_xdr);
  EXPECT_EQ(std::stoll(j["expires_on"].get<std::string>()) - std::stoll(j["not_before"].get<std::string>()),
            std::stoll(j["expires_in"].get<std::string>()) + 301);
  Json c = claims_of(j["access_token"]);
  EXPECT_EQ(c["aud"], k_xdr);
  EXPECT_EQ(c["iss"], "https://sts.windows.net/" + k_fabrikam + "/");
  EXPECT_EQ(c["idp"], "https://sts.windows.net/" + k_fabrikam + "/");
  EXPECT_EQ(c["tid"], k_fabrikam);
  EXPECT_EQ(c["appid"], k_app);
  EXPECT_EQ(c["appidacr"], "1");
  EXPECT_EQ(c["ver"], "1.0");
  EXPECT_EQ(c["oid"], c["sub"]);
  EXPECT_TRUE(util::is_guid(c["oid"].get<std::string>()));
  EXPECT_FALSE(c["uti"].get<std::string>().empty());
  EXPECT_EQ(c["roles"], Json({"AdvancedHunting.Read.All", "Incident.Read.All", "Incident.ReadWrite.All"}));
  EXPECT_EQ(c["iat"], c["nbf"]);
  EXPECT_GE(c["iat"].get<int64_t>(), before - 300);
  EXPECT_LE(c["iat"].get<int64_t>(), now_unix() - 300);
  EXPECT_EQ(c["exp"].get<int64_t>() - c["iat"].get<int64_t>(), 3900);
  auto d = jwt::decode(j["access_token"].get<std::string>());
  EXPECT_EQ(d->header["alg"], "RS256");
  EXPECT_EQ(d->header["typ"], "JWT");
  EXPECT_EQ(d->header["kid"], d->header["x5t"]);
  EXPECT_TRUE(verifies_against_jwks(*this, get("/" + k_fabrikam + "/discovery/keys"), j["access_token"]));
}

TEST_F(EmulatorTest, V2TokenWithBasicAuthHasIntegerNumbers) {
  std::string basic = util::base64_encode(util::form_encode(k_app) + ":" + util::form_encode(identity.secret));
  auto r = post_form("/northwind.onmicrosoft.com/oauth2/v2.0/token",
                     {{"grant_type", "client_credentials"}, {"scope", k_xdr + "/.default"}},
                     {{"Authorization", "Basic " + basic}});
  ASSERT_EQ(r->status, 200) << r->body;
  Json j = body_of(r);
  EXPECT_TRUE(j["expires_in"].is_number_integer());
  EXPECT_EQ(j["expires_in"], 3599);
  EXPECT_TRUE(j["ext_expires_in"].is_number_integer());
  EXPECT_FALSE(j.contains("resource"));
  Json c = claims_of(j["access_token"]);
  EXPECT_EQ(c["aud"], k_xdr);
  EXPECT_EQ(c["tid"], k_northwind);
  EXPECT_EQ(c["roles"], Json({"Incident.Read.All"}));
}

TEST_F(EmulatorTest, MdeAndGraphResourcesAndTheWindowsAtpScope) {
  Json mde = body_of(post_form("/" + k_fabrikam + "/oauth2/v2.0/token",
                               secret_v2("https://securitycenter.onmicrosoft.com/windowsatpservice/.default")));
  Json c = claims_of(mde["access_token"]);
  EXPECT_EQ(c["aud"], "https://securitycenter.onmicrosoft.com/windowsatpservice");
  EXPECT_EQ(c["roles"], Json({"AdvancedQuery.Read.All", "Alert.Read.All"}));
  Json mde1 = body_of(post_form("/" + k_fabrikam + "/oauth2/token", secret_v1("https://api.securitycenter.microsoft.com/")));
  EXPECT_EQ(mde1["resource"], "https://api.securitycenter.microsoft.com/"); // echoed as requested
  Json graph = body_of(post_form("/" + k_fabrikam + "/oauth2/v2.0/token", secret_v2("https://graph.microsoft.com/.default")));
  EXPECT_EQ(claims_of(graph["access_token"])["aud"], "https://graph.microsoft.com");
  EXPECT_EQ(claims_of(graph["access_token"])["roles"],
            Json({"SecurityAlert.Read.All", "SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All",
                  "ThreatHunting.Read.All"}));
}

TEST_F(EmulatorTest, CertificateAssertionsInEveryShapeMicrosoftClientsSend) {
  struct Case {
    std::string name;
    crypto::SignatureAlg alg;
    Json override_claims;
    bool v2;
  };
  int64_t now = now_unix();
  std::vector<Case> cases = {
      {"RS256 x5t (MSAL Python PEM)", crypto::SignatureAlg::rs256, {{"nbf", nullptr}}, true},
      {"PS256 x5t#S256 (msal-node sha256)", crypto::SignatureAlg::ps256, Json::object(), true},
      {"float exp/iat (Python time.time())", crypto::SignatureAlg::rs256,
       {{"nbf", nullptr}, {"iat", now + 0.25}, {"exp", now + 600.5}}, true},
      {"v1 endpoint audience", crypto::SignatureAlg::rs256, Json::object(), false},
  };
  for (const auto& c : cases) {
    std::string path = "/" + k_fabrikam + (c.v2 ? "/oauth2/v2.0/token" : "/oauth2/token");
    util::FormFields form = {{"grant_type", "client_credentials"},
                             {"client_id", k_app},
                             {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                             {"client_assertion", assertion(k_fabrikam, c.alg, c.override_claims, c.v2)}};
    form.emplace_back(c.v2 ? "scope" : "resource", c.v2 ? k_xdr + "/.default" : k_xdr);
    auto r = post_form(path, form);
    ASSERT_EQ(r->status, 200) << c.name << ": " << r->body;
    EXPECT_EQ(claims_of(body_of(r)["access_token"])["appidacr"], "2") << c.name;
  }
}

TEST_F(EmulatorTest, SameSeedSameKeysAcrossRestarts) {
  Json first = body_of(get("/common/discovery/v2.0/keys"));
  emulator->stop();
  TempDir other;
  emulator::EmulatorOptions o;
  o.scenario = identity.scenario();
  o.state_dir = (other.path / "state").string();
  emulator = std::make_unique<emulator::Emulator>(o);
  ASSERT_TRUE(emulator->start());
  Json second = body_of(get("/common/discovery/v2.0/keys"));
  ASSERT_EQ(first["keys"].size(), second["keys"].size());
  for (size_t i = 0; i < first["keys"].size(); ++i) {
    EXPECT_EQ(first["keys"][i]["kid"], second["keys"][i]["kid"]);
    EXPECT_EQ(first["keys"][i]["n"], second["keys"][i]["n"]);
  }
  Json s1 = body_of(get("/_emulator/state"));
  emulator->stop();
  Json scenario = identity.scenario();
  scenario["seed"] = 8;
  TempDir third;
  o.scenario = scenario;
  o.state_dir = (third.path / "state").string();
  emulator = std::make_unique<emulator::Emulator>(o);
  ASSERT_TRUE(emulator->start());
  Json other_seed = body_of(get("/common/discovery/v2.0/keys"));
  EXPECT_NE(other_seed["keys"][0]["kid"], second["keys"][0]["kid"]);
  EXPECT_FALSE(s1["tenants"].empty());
}
