// The control API: directory changes, key rotation, clock, faults and the request log.

#include "emulator_fixture.hpp"

#include <xdr/util/time.hpp>

using namespace xdr;
using namespace xdr::testing;

TEST_F(EmulatorTest, KeyRotationPublishesANewKidAndKeepsOrDropsTheOld) {
  std::string before = jwt::decode(body_of(post_form("/" + k_fabrikam + "/oauth2/token", secret_v1()))["access_token"].get<std::string>())->header["kid"];
  Json rot = control("POST", "/_emulator/keys/rotate", {{"drop_old", false}});
  EXPECT_EQ(rot["previous_kid"], before);
  std::string after = rot["signing_kid"];
  EXPECT_NE(after, before);
  Json keys = body_of(get("/" + k_fabrikam + "/discovery/v2.0/keys"));
  std::vector<std::string> kids;
  for (const auto& k : keys["keys"]) kids.push_back(k["kid"]);
  EXPECT_EQ(kids.size(), 3u);
  EXPECT_NE(std::find(kids.begin(), kids.end(), before), kids.end());
  std::string token = body_of(post_form("/" + k_fabrikam + "/oauth2/token", secret_v1()))["access_token"];
  EXPECT_EQ(jwt::decode(token)->header["kid"], after);
  control("POST", "/_emulator/keys/rotate", {{"drop_old", true}});
  EXPECT_EQ(body_of(get("/common/discovery/keys"))["keys"].size(), 1u);
}

TEST_F(EmulatorTest, ClockOffsetMovesIssuedTimes) {
  control("POST", "/_emulator/clock", {{"offset_seconds", 7200}});
  Json c = claims_of(body_of(post_form("/" + k_fabrikam + "/oauth2/token", secret_v1()))["access_token"]);
  int64_t now = util::to_unix(std::chrono::system_clock::now());
  EXPECT_NEAR(static_cast<double>(c["iat"].get<int64_t>()), static_cast<double>(now + 7200 - 300), 5.0);
}

TEST_F(EmulatorTest, RevokingConsentAndGrantingWithoutRoles) {
  const std::string path = "/" + k_fabrikam + "/oauth2/token";
  control("DELETE", "/_emulator/tenants/" + k_fabrikam + "/consents/" + k_app);
  EXPECT_EQ(body_of(post_form(path, secret_v1()))["error_codes"], Json({700016}));
  control("POST", "/_emulator/tenants/" + k_fabrikam + "/consents", {{"client_id", k_app}, {"resource", "xdr"}, {"roles", Json::array()}});
  Json c = claims_of(body_of(post_form(path, secret_v1()))["access_token"]);
  EXPECT_EQ(c["tid"], k_fabrikam);
  EXPECT_FALSE(c.contains("roles")) << "a service principal without roles gets a token without a roles claim";
  Json bad = control("POST", "/_emulator/tenants/" + k_fabrikam + "/consents", {{"client_id", k_app}, {"resource", "xdr"}, {"roles", {"Nope.All"}}});
  EXPECT_NE(bad["error"].get<std::string>().find("not an application permission"), std::string::npos);
}

TEST_F(EmulatorTest, AddTenantAndAppAtRunTime) {
  std::string other_app = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9";
  control("POST", "/_emulator/apps", {{"client_id", other_app}, {"secrets", {{{"value", "runtime-secret-value"}}}}});
  Json consent = {{"client_id", other_app}, {"resource", "xdr"}, {"roles", Json::array({"Incident.Read.All"})}};
  Json tenant = {{"tenant_id", "abcdefab-1234-4321-8888-abcdefabcdef"}, {"domain", "woodgrove.onmicrosoft.com"}};
  tenant["consents"] = Json::array({consent});
  control("POST", "/_emulator/tenants", tenant);
  auto r = post_form("/woodgrove.onmicrosoft.com/oauth2/token",
                     {{"grant_type", "client_credentials"}, {"client_id", other_app}, {"client_secret", "runtime-secret-value"}, {"resource", k_xdr}});
  ASSERT_EQ(r->status, 200) << r->body;
  control("DELETE", "/_emulator/tenants/abcdefab-1234-4321-8888-abcdefabcdef");
  EXPECT_EQ(body_of(post_form("/woodgrove.onmicrosoft.com/oauth2/token", secret_v1()))["error_codes"], Json({90002}));
}

TEST_F(EmulatorTest, FaultRulesAreDeterministic) {
  const std::string path = "/" + k_fabrikam + "/oauth2/v2.0/token";
  Json rule = control("POST", "/_emulator/faults", {{"route", "token"}, {"tenant", k_fabrikam}, {"count", 2}, {"status", 429}, {"retry_after", 3}});
  EXPECT_EQ(rule["remaining"], 2);
  for (int i = 0; i < 2; ++i) {
    auto r = post_form(path, secret_v2());
    EXPECT_EQ(r->status, 429);
    EXPECT_EQ(r->get_header_value("Retry-After"), "3");
    EXPECT_EQ(body_of(r)["error"], "temporarily_unavailable");
  }
  EXPECT_EQ(post_form(path, secret_v2())->status, 200) << "the third call passes";
  EXPECT_EQ(post_form("/" + k_northwind + "/oauth2/v2.0/token", secret_v2())->status, 200);
  control("POST", "/_emulator/faults", {{"route", "openid"}, {"count", 1}, {"status", 503}});
  EXPECT_EQ(get("/" + k_fabrikam + "/v2.0/.well-known/openid-configuration")->status, 503);
  EXPECT_EQ(get("/" + k_fabrikam + "/v2.0/.well-known/openid-configuration")->status, 200);
  control("POST", "/_emulator/faults", {{"route", "token"}, {"count", 1}, {"drop", true}});
  auto dropped = post_form(path, secret_v2());
  EXPECT_FALSE(dropped && dropped->status == 200) << "a dropped connection is not a response";
  control("POST", "/_emulator/faults", {{"route", "keys"}, {"count", 1}, {"delay_ms", 300}});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get("/common/discovery/keys")->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(290));
  Json list = control("GET", "/_emulator/faults");
  EXPECT_EQ(list["faults"][0]["hits"], 2);
  EXPECT_EQ(list["faults"][0]["remaining"], 0);
  Json bad = control("POST", "/_emulator/faults", {{"route", "token"}});
  EXPECT_TRUE(bad.contains("error"));
}

TEST_F(EmulatorTest, RequestLogShowsWhatClientsSentWithSecretsMasked) {
  control("DELETE", "/_emulator/requests");
  post_form("/" + k_fabrikam + "/oauth2/token", secret_v1(), {{"client-request-id", "0f0e0d0c-0b0a-4909-8807-060504030201"}});
  util::FormFields cert_form = {{"grant_type", "client_credentials"}, {"client_id", k_app},
                                {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                                {"client_assertion", assertion(k_fabrikam, crypto::SignatureAlg::rs256)},
                                {"scope", k_xdr + "/.default"}};
  post_form("/" + k_fabrikam + "/oauth2/v2.0/token", cert_form);
  auto raw = client()->Get("/_emulator/requests");
  EXPECT_EQ(raw->body.find(identity.secret), std::string::npos) << "the secret never appears in the log";
  Json log = body_of(raw);
  ASSERT_EQ(log["requests"].size(), 2u);
  Json first = log["requests"][0];
  EXPECT_EQ(first["method"], "POST");
  EXPECT_EQ(first["path"], "/" + k_fabrikam + "/oauth2/token");
  EXPECT_EQ(first["route"], "token_v1");
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["form"]["client_secret"], "***");
  EXPECT_EQ(first["form"]["resource"], k_xdr);
  EXPECT_EQ(first["headers"]["client-request-id"], "0f0e0d0c-0b0a-4909-8807-060504030201");
  EXPECT_EQ(log["requests"][1]["form"]["client_assertion"], "***");
  Json since = control("GET", "/_emulator/requests?since=" + std::to_string(first["seq"].get<int64_t>()));
  EXPECT_EQ(since["requests"].size(), 1u);
}

TEST_F(EmulatorTest, RequestLogMasksSecretsUnderEncodedNamesAndInTheQuery) {
  control("DELETE", "/_emulator/requests");
  std::string form = "grant_type=client_credentials&client%5Fsecret=" + util::form_encode(identity.secret) +
                     "&client_id=" + k_app + "&&scope=" + util::form_encode(k_xdr + "/.default");
  auto c = client();
  auto token = c->Post(("/" + k_fabrikam + "/oauth2/v2.0/token?code=query-secret&x=1").c_str(),
                       {{"User-Agent", "first"}, {"User-Agent", "second"}, {"Authorization", "Bearer abc.def"}}, form,
                       "application/x-www-form-urlencoded");
  ASSERT_TRUE(token);
  c->Post(("/" + k_fabrikam + "/oauth2/v2.0/token").c_str(), "client_secret=abc&bad=%G1",
          "application/x-www-form-urlencoded");
  auto raw = c->Get("/_emulator/requests");
  EXPECT_EQ(raw->body.find(identity.secret), std::string::npos);
  EXPECT_EQ(raw->body.find("query-secret"), std::string::npos);
  EXPECT_EQ(raw->body.find("abc.def"), std::string::npos);
  Json log = body_of(raw);
  ASSERT_EQ(log["requests"].size(), 2u);
  Json first = log["requests"][0];
  EXPECT_EQ(first["form"], Json({{"grant_type", "client_credentials"}, {"client_secret", "***"}, {"client_id", k_app},
                                 {"scope", k_xdr + "/.default"}}));
  // httplib merges a form body's fields into the request parameters: the "query" has them too.
  EXPECT_EQ(first["query"]["code"], "***");
  EXPECT_EQ(first["query"]["x"], "1");
  EXPECT_EQ(first["query"]["client_secret"], "***");
  EXPECT_EQ(first["headers"]["user-agent"], "first") << "the first of repeated headers, as the handlers read it";
  EXPECT_EQ(first["headers"]["authorization"], "Bearer ***");
  EXPECT_EQ(first["headers"]["content-type"], "application/x-www-form-urlencoded");
  EXPECT_EQ(first["tenant"], k_fabrikam);
  EXPECT_EQ(first["remote"], "127.0.0.1");
  EXPECT_TRUE(util::parse_rfc3339(first["time"].get<std::string>()).has_value());
  EXPECT_EQ(log["requests"][1]["form"], Json::object()) << "a form that does not parse is logged empty";
  EXPECT_EQ(log["requests"][1]["status"], 400);
}

TEST_F(EmulatorTest, CorrelationIdEchoesTheClientRequestId) {
  auto r = post_form("/" + k_fabrikam + "/oauth2/token", {{"grant_type", "client_credentials"}},
                     {{"client-request-id", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}});
  EXPECT_EQ(body_of(r)["correlation_id"], "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
}

TEST_F(EmulatorTest, RemovingAnAppAndDroppingAKeyAfterItsGracePeriod) {
  const std::string other_app = "1c2d3e4f-5061-4728-93a4-b5c6d7e8f901";
  const std::string path = "/" + k_fabrikam + "/oauth2/token";
  control("POST", "/_emulator/apps", {{"client_id", other_app}, {"secrets", {{{"value", "another-runtime-secret"}}}}});
  control("POST", "/_emulator/tenants/" + k_fabrikam + "/consents",
          {{"client_id", other_app}, {"resource", "xdr"}, {"roles", Json::array({"Incident.Read.All"})}});
  const util::FormFields other = {{"grant_type", "client_credentials"}, {"client_id", other_app},
                                  {"client_secret", "another-runtime-secret"}, {"resource", k_xdr}};
  ASSERT_EQ(post_form(path, other)->status, 200);
  auto removed = client()->Delete(("/_emulator/apps/" + other_app).c_str());
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed->status, 204);
  auto after = post_form(path, other);
  EXPECT_EQ(after->status, 400);
  EXPECT_EQ(body_of(after)["error_codes"], Json({700016})) << "a removed app is unknown in every tenant";
  EXPECT_EQ(post_form(path, secret_v1())->status, 200) << "the other apps are untouched";
  EXPECT_EQ(client()->Delete(("/_emulator/apps/" + other_app).c_str())->status, 404);

  // A rotation keeps the old key published; deleting it ends its grace period.
  Json rot = control("POST", "/_emulator/keys/rotate", {{"drop_old", false}});
  const std::string old_kid = rot["previous_kid"], new_kid = rot["signing_kid"];
  auto dropped = client()->Delete(("/_emulator/keys/" + old_kid).c_str());
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->status, 204);
  Json jwks = body_of(get("/" + k_fabrikam + "/discovery/v2.0/keys")); // kept: the loop below reads into it
  std::vector<std::string> kids;
  for (const auto& k : jwks["keys"]) kids.push_back(k["kid"]);
  EXPECT_EQ(std::count(kids.begin(), kids.end(), old_kid), 0);
  EXPECT_EQ(std::count(kids.begin(), kids.end(), new_kid), 1);
  std::string token = body_of(post_form(path, secret_v1()))["access_token"];
  EXPECT_EQ(jwt::decode(token)->header["kid"], new_kid) << "tokens are still signed with the new key";
  EXPECT_EQ(client()->Delete(("/_emulator/keys/" + old_kid).c_str())->status, 404);
}
