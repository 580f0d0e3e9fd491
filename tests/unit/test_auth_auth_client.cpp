#include <gtest/gtest.h>

#include <xdr/auth/auth_client.hpp>
#include <xdr/auth/persistent_cache.hpp>
#include <xdr/util/strings.hpp>

#include "auth_test_support.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

using namespace xdr;
using namespace xdr::auth;
namespace tst = xdr::testing;

namespace {

std::shared_ptr<tst::FakeTransport> issuing_transport() {
  auto t = std::make_shared<tst::FakeTransport>();
  auto n = std::make_shared<int>(0);
  t->set_handler([n](const http::Request&) -> Result<http::Response> {
    http::Response r;
    r.status = 200;
    r.body = tst::v2_success("tok-" + std::to_string(++*n));
    return r;
  });
  return t;
}

} // namespace

TEST(AuthClient, FromEnvironmentTalksToTheAuthorityHostOverride) {
  auto transport = issuing_transport();
  auto env = tst::env_of({{"AZURE_CLIENT_ID", tst::k_client_id},
                          {"AZURE_CLIENT_SECRET", tst::k_secret},
                          {"AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443"}});
  AuthClientOptions o;
  o.clock = std::make_shared<tst::FakeClock>();
  auto client = AuthClient::from_environment(env, transport, o);
  ASSERT_TRUE(client) << client.error().message;
  auto t = (*client)->get_token(tst::k_tenant_a, "xdr");
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->value().reveal(), "tok-1");
  auto again = (*client)->get_token(tst::k_tenant_a, "https://api.security.microsoft.com");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->from_cache); // the alias and the URI are the same key
  ASSERT_EQ(transport->count(), 1u);
  const auto r = transport->requests()[0];
  EXPECT_EQ(r.url, std::string("https://127.0.0.1:8443/") + tst::k_tenant_a + "/oauth2/v2.0/token");
  auto form = util::parse_form(r.body).value();
  EXPECT_EQ(util::form_get(form, "scope"), "https://api.security.microsoft.com/.default");
  EXPECT_EQ((*client)->consent_link(),
            std::string("https://127.0.0.1:8443/common/oauth2/authorize?prompt=consent&client_id=") + tst::k_client_id +
                "&response_type=code&sso_reload=true");
}

TEST(AuthClient, GovernmentCloudHostsAndV1Endpoint) {
  auto transport = issuing_transport();
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  AuthClientOptions o;
  o.cloud = Cloud::gcc_high;
  o.default_endpoint = EndpointVersion::v1;
  o.clock = std::make_shared<tst::FakeClock>();
  auto client = AuthClient::create(cred, transport, o).value();
  ASSERT_TRUE(client->get_token("contoso.onmicrosoft.us", "xdr"));
  ASSERT_TRUE(client->get_token("contoso.onmicrosoft.us", "graph", EndpointVersion::v2));
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url, "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/token");
  EXPECT_EQ(util::form_get(util::parse_form(requests[0].body).value(), "resource"),
            "https://api-gov.security.microsoft.us");
  EXPECT_EQ(requests[1].url, "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token");
  EXPECT_EQ(util::form_get(util::parse_form(requests[1].body).value(), "scope"), "https://graph.microsoft.us/.default");
}

TEST(AuthClient, RefusesBeforeAnyRequest) {
  auto transport = issuing_transport();
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  AuthClientOptions o;
  o.allowed_tenants = {tst::k_tenant_a};
  auto client = AuthClient::create(cred, transport, o).value();
  for (const char* t : {"common", "organizations", "consumers", tst::k_tenant_b}) {
    auto r = client->get_token(t, "xdr");
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().kind, ErrorKind::config);
  }
  auto bad_resource = client->get_token(tst::k_tenant_a, "defender");
  ASSERT_FALSE(bad_resource);
  EXPECT_NE(bad_resource.error().message.find("use xdr, mde, graph"), std::string::npos);
  EXPECT_EQ(transport->count(), 0u);
}

TEST(AuthClient, ConsentMissingIsDescribedWithTheLink) {
  auto transport = std::make_shared<tst::FakeTransport>();
  transport->push(400, tst::entra_error("unauthorized_client", 700016, "Application with identifier was not found."));
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  auto client = AuthClient::create(cred, transport).value();
  auto r = client->get_token(tst::k_tenant_a, "xdr");
  ASSERT_FALSE(r);
  EXPECT_TRUE(is_consent_missing(r.error()));
  const std::string text = client->describe(r.error());
  EXPECT_NE(text.find(client->consent_link()), std::string::npos) << text;
  EXPECT_NE(text.find("code: AADSTS700016"), std::string::npos);
  EXPECT_NE(text.find("HTTP status: 400"), std::string::npos);
  EXPECT_EQ(text.find(tst::k_secret), std::string::npos);
}

TEST(AuthClient, PersistentCachePathIsChecked) {
  tst::TempDir dir;
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  AuthClientOptions o;
  o.persistent_cache_path = dir.write("tokens.json", "{}", 0640);
  auto r = AuthClient::create(cred, issuing_transport(), o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos);
  o.persistent_cache_path = dir.file("fresh.json");
  auto ok = AuthClient::create(cred, issuing_transport(), o);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_TRUE((*ok)->get_token(tst::k_tenant_a, "mde"));
  EXPECT_EQ(tst::file_mode(o.persistent_cache_path), 0600u);
}

TEST(AuthClient, LoadedTokensObeyTheAllowList) {
  tst::TempDir dir;
  const std::string path = dir.file("tokens.json");
  auto clock = std::make_shared<tst::FakeClock>();
  auto store = PersistentTokenStore::open(path, clock).value();
  for (const char* tenant : {tst::k_tenant_a, tst::k_tenant_b}) {
    PersistedToken p{"https://login.microsoftonline.com", tenant, tst::k_client_id, "https://api.security.microsoft.com", {}};
    p.token.value = Secret(std::string("file-token-") + tenant);
    p.token.expires_on = clock->now() + std::chrono::seconds(3600);
    ASSERT_TRUE(store->save({p}));
  }
  auto transport = issuing_transport();
  auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
  AuthClientOptions o;
  o.clock = clock;
  o.persistent_cache_path = path;
  o.allowed_tenants = {tst::k_tenant_a};
  auto client = AuthClient::create(cred, transport, o).value();
  auto a = client->get_token(tst::k_tenant_a, "xdr");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value().reveal(), std::string("file-token-") + tst::k_tenant_a);
  EXPECT_EQ(client->cache().size(), 1u);
  auto b = client->get_token(tst::k_tenant_b, "xdr");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("allow-list"), std::string::npos);
  EXPECT_EQ(transport->count(), 0u);
}
