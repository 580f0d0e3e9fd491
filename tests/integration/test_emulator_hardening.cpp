// Hostile and odd input: the emulator answers in the service's dialect and loses nothing.

#include "emulator_fixture.hpp"

using namespace xdr;
using namespace xdr::testing;

TEST_F(EmulatorTest, InvalidUtf8InRequestsIsA400NotA500) {
  auto r1 = post_form("/%FF/oauth2/v2.0/token", secret_v2());
  EXPECT_EQ(r1->status, 400);
  EXPECT_EQ(body_of(r1)["error_codes"], Json({900023}));
  auto r2 = client()->Post(("/" + k_fabrikam + "/oauth2/v2.0/token").c_str(), "grant_type=%FF&client_id=x",
                           "application/x-www-form-urlencoded");
  EXPECT_EQ(r2->status, 400);
  EXPECT_EQ(body_of(r2)["error_codes"], Json({70003}));
  auto r3 = get("/common/discovery/instance?authorization_endpoint=%FF");
  EXPECT_EQ(r3->status, 400);
  auto log = client()->Get("/_emulator/requests");
  EXPECT_EQ(log->status, 200) << "the request log still serves after invalid UTF-8";
}

TEST_F(EmulatorTest, NonStringAssertionClaimsAreRefusedNotCrashed) {
  util::FormFields form = {{"grant_type", "client_credentials"}, {"client_id", k_app},
                           {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                           {"client_assertion", "eyJhbGciOjF9.e30.AA"}, {"scope", k_xdr + "/.default"}};
  auto r = post_form("/" + k_fabrikam + "/oauth2/v2.0/token", form);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(body_of(r)["error_codes"], Json({700027}));
  auto huge = post_form("/" + k_fabrikam + "/oauth2/v2.0/token",
                        {{"grant_type", "client_credentials"}, {"client_id", k_app},
                         {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                         {"client_assertion", assertion(k_fabrikam, crypto::SignatureAlg::rs256, {{"exp", 1e300}})},
                         {"scope", k_xdr + "/.default"}});
  EXPECT_EQ(huge->status, 401);
  EXPECT_EQ(body_of(huge)["error_codes"], Json({700024}));
}

TEST_F(EmulatorTest, AuthorizationWithoutASchemeIsMaskedWhole) {
  control("DELETE", "/_emulator/requests");
  client()->Get("/common/discovery/keys", {{"Authorization", "eyJ0eXAiOiJKV1QiLCJzZWNyZXQiOiJ0b2tlbiJ9"}});
  client()->Get("/common/discovery/keys", {{"Authorization", "Basic\tc2VjcmV0OnZhbHVl"}});
  auto raw = client()->Get("/_emulator/requests");
  EXPECT_EQ(raw->body.find("eyJ0eXAi"), std::string::npos);
  EXPECT_EQ(raw->body.find("c2VjcmV0"), std::string::npos);
  Json log = body_of(raw);
  EXPECT_EQ(log["requests"][0]["headers"]["authorization"], "***");
  EXPECT_EQ(log["requests"][1]["headers"]["authorization"], "Basic ***");
}

TEST_F(EmulatorTest, ShortTokenLifetimesAreStillValidTokens) {
  emulator->stop();
  Json s = identity.scenario();
  s["token"] = {{"lifetime_seconds", 120}};
  start(s);
  Json j = body_of(post_form("/" + k_fabrikam + "/oauth2/v2.0/token", secret_v2()));
  EXPECT_GT(j["expires_in"].get<int64_t>(), 50);
  Json c = claims_of(j["access_token"]);
  EXPECT_EQ(c["exp"].get<int64_t>() - c["iat"].get<int64_t>(), 120);
  EXPECT_GT(c["exp"].get<int64_t>(), util::to_unix(std::chrono::system_clock::now()));
}

TEST_F(EmulatorTest, ControlApiRefusesBadInputWithoutSideEffects) {
  Json r = control("POST", "/_emulator/tenants", {{"tenant_id", k_fabrikam}, {"domain", "northwind.onmicrosoft.com"}});
  EXPECT_NE(r["error"].get<std::string>().find("already belongs"), std::string::npos);
  EXPECT_EQ(post_form("/fabrikam.onmicrosoft.com/oauth2/v2.0/token", secret_v2())->status, 200)
      << "a refused replacement leaves the tenant as it was";
  Json bad_role = {{"tenant_id", k_fabrikam}, {"domain", "fabrikam.onmicrosoft.com"}};
  bad_role["consents"] = Json::array({Json{{"client_id", k_app}, {"resource", "xdr"}, {"roles", {"Nope.All"}}}});
  control("POST", "/_emulator/tenants", bad_role);
  EXPECT_TRUE(claims_of(body_of(post_form("/fabrikam.onmicrosoft.com/oauth2/v2.0/token", secret_v2()))["access_token"]).contains("roles"));
  auto c = client();
  auto idx = c->Post(("/_emulator/apps/" + k_app + "/secrets/expire").c_str(), R"({"index":"zero"})", "application/json");
  EXPECT_EQ(idx->status, 400);
  auto since = c->Get("/_emulator/requests?since=abc");
  EXPECT_EQ(since->status, 400);
  auto form = c->Post("/_emulator/clock", "offset_seconds=5", "application/x-www-form-urlencoded");
  EXPECT_EQ(form->status, 415);
  auto rebinding = c->Get("/_emulator/state", {{"Host", "attacker.example.com"}});
  EXPECT_EQ(rebinding->status, 403);
}
