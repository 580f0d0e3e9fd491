// The emulator's pieces on their own: scenario loading, resources, routes, fault rules.

#include <gtest/gtest.h>

#include <emulator/directory.hpp>
#include <emulator/service.hpp>

using namespace xdr;
using namespace xdr::emulator;

TEST(EmulatorDirectory, DefaultScenarioHasThreeTenantsOneWithoutConsent) {
  auto dir = Directory::from_scenario(Directory::default_scenario(), ".");
  ASSERT_EQ(dir->tenants.size(), 3u);
  ASSERT_EQ(dir->apps.size(), 1u);
  const std::string app = dir->apps.begin()->first;
  int consented = 0;
  for (const auto& [id, t] : dir->tenants) consented += t.service_principals.count(app) ? 1 : 0;
  EXPECT_EQ(consented, 2);
  EXPECT_EQ(dir->find_tenant("FABRIKAM.onmicrosoft.com")->display_name, "Fabrikam");
  EXPECT_EQ(dir->find_tenant("3F2B8C1D-5E6A-4B7C-8D9E-0F1A2B3C4D5E")->domains.front(), "fabrikam.onmicrosoft.com");
  EXPECT_EQ(dir->find_tenant("nope.onmicrosoft.com"), nullptr);
  EXPECT_EQ(dir->keys.size(), 2u);
}

TEST(EmulatorDirectory, SeedDeterminesKeysAndObjectIds) {
  Json s = Directory::default_scenario();
  auto a = Directory::from_scenario(s, ".");
  auto b = Directory::from_scenario(s, ".");
  EXPECT_EQ(a->signing_key()->kid, b->signing_key()->kid);
  const auto& ta = a->tenants.begin()->second;
  const auto& tb = b->tenants.begin()->second;
  EXPECT_EQ(ta.service_principals.begin()->second.object_id, tb.service_principals.begin()->second.object_id);
  s["seed"] = 99;
  auto c = Directory::from_scenario(s, ".");
  EXPECT_NE(a->signing_key()->kid, c->signing_key()->kid);
  EXPECT_NE(a->object_id_for(ta.tenant_id, "x"), c->object_id_for(ta.tenant_id, "x"));
}

TEST(EmulatorDirectory, BadScenariosAreRefusedWithTheReason) {
  auto refuse = [](Json s, const std::string& fragment) {
    try {
      Directory::from_scenario(s, ".");
      ADD_FAILURE() << "accepted: " << s.dump();
    } catch (const Fatal& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  refuse({{"apps", {{{"client_id", "nope"}}}}}, "is not a GUID");
  refuse({{"tenants", {{{"tenant_id", "11111111-2222-3333-4444-555555555555"}, {"domain", "bad_domain"}}}}},
         "not a valid DNS name");
  refuse({{"apps", {{{"client_id", "11111111-2222-3333-4444-555555555555"}, {"secrets", {{{"expires", "2030-01-01T00:00:00Z"}}}}}}}},
         "value, value_env, value_file or generate");
  Json s = Directory::default_scenario();
  s["tenants"][0]["consents"][0]["roles"] = {"Incident.Read.All", "Made.Up.All"};
  refuse(s, "'Made.Up.All' is not an application permission of Microsoft Threat Protection");
}

TEST(EmulatorDirectory, ResourcesByAliasUriOrAppId) {
  EXPECT_EQ(find_resource("xdr")->display_name, "Microsoft Threat Protection");
  EXPECT_EQ(find_resource("https://api.security.microsoft.com/")->key, "xdr");
  EXPECT_EQ(find_resource("https://securitycenter.onmicrosoft.com/windowsatpservice")->key, "mde");
  EXPECT_EQ(find_resource("fc780465-2017-40d4-a0c5-307022471b92")->key, "mde");
  EXPECT_EQ(find_resource("00000003-0000-0000-c000-000000000000")->key, "graph");
  EXPECT_EQ(find_resource("https://example.com"), nullptr);
}

TEST(EmulatorDirectory, RotationKeepsOrDropsOldKeys) {
  auto dir = Directory::from_scenario(Directory::default_scenario(), ".");
  std::string old = dir->signing_key()->kid;
  std::string fresh = dir->rotate_keys(false);
  EXPECT_NE(old, fresh);
  EXPECT_EQ(dir->keys.size(), 3u);
  dir->rotate_keys(true);
  EXPECT_EQ(dir->keys.size(), 1u);
}

TEST(EmulatorRoutes, ClassifiesEveryIdentityRoute) {
  EXPECT_EQ(classify("POST", "/contoso.com/oauth2/token").name, "token_v1");
  EXPECT_EQ(classify("POST", "/contoso.com/oauth2/token").tenant, "contoso.com");
  EXPECT_EQ(classify("POST", "/t/oauth2/v2.0/token").name, "token_v2");
  EXPECT_EQ(classify("GET", "/t/v2.0/.well-known/openid-configuration").name, "openid_v2");
  EXPECT_EQ(classify("GET", "/t/.well-known/openid-configuration").name, "openid_v1");
  EXPECT_EQ(classify("GET", "/t/discovery/v2.0/keys").name, "keys_v2");
  EXPECT_EQ(classify("GET", "/common/discovery/instance").name, "instance");
  EXPECT_EQ(classify("GET", "/common/oauth2/authorize").name, "authorize_v1");
  EXPECT_EQ(classify("GET", "/_emulator/state").name, "control");
  EXPECT_EQ(classify("GET", "/api/incidents").name, "api");
  EXPECT_EQ(classify("GET", "/v1.0/security/incidents").name, "graph");
}

TEST(EmulatorFaults, RulesMatchInOrderAndCountDown) {
  FaultRules rules;
  FaultRule a;
  a.route = "token";
  a.tenant = "t1";
  a.remaining = 2;
  a.status = 429;
  rules.add(a);
  FaultRule b;
  b.route = "/common/";
  b.remaining = -1;
  b.status = 503;
  rules.add(b);
  EXPECT_FALSE(rules.take("token_v2", "/t2/oauth2/v2.0/token", "t2", "POST")) << "other tenant";
  EXPECT_EQ(rules.take("token_v2", "/t1/oauth2/v2.0/token", "T1", "POST")->status, 429);
  EXPECT_EQ(rules.take("token_v1", "/t1/oauth2/token", "t1", "POST")->status, 429);
  EXPECT_FALSE(rules.take("token_v1", "/t1/oauth2/token", "t1", "POST")) << "count exhausted";
  for (int i = 0; i < 5; ++i) EXPECT_EQ(rules.take("keys_v1", "/common/discovery/keys", "common", "GET")->status, 503);
  EXPECT_FALSE(rules.take("tokens_x", "/x", "", "GET")) << "a route name is not a prefix of another word";
}
