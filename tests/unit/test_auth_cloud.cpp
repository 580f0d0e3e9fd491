#include <gtest/gtest.h>

#include <xdr/auth/cloud.hpp>
#include <xdr/auth/consent.hpp>

#include "auth_test_support.hpp"

using namespace xdr;
using namespace xdr::auth;
namespace tst = xdr::testing;

TEST(AuthCloud, HostsPerCloud) {
  EXPECT_EQ(endpoints(Cloud::global).login_host, "https://login.microsoftonline.com");
  EXPECT_EQ(endpoints(Cloud::global).xdr_api, "https://api.security.microsoft.com");
  EXPECT_EQ(endpoints(Cloud::global).mde_api, "https://api.securitycenter.microsoft.com");
  EXPECT_EQ(endpoints(Cloud::global).graph_api, "https://graph.microsoft.com");
  EXPECT_EQ(endpoints(Cloud::gcc).login_host, "https://login.microsoftonline.com");
  EXPECT_EQ(endpoints(Cloud::gcc).xdr_api, "https://api-gcc.security.microsoft.us");
  EXPECT_EQ(endpoints(Cloud::gcc).mde_api, "https://api-gcc.securitycenter.microsoft.us");
  EXPECT_EQ(endpoints(Cloud::gcc_high).login_host, "https://login.microsoftonline.us");
  EXPECT_EQ(endpoints(Cloud::gcc_high).xdr_api, "https://api-gov.security.microsoft.us");
  EXPECT_EQ(endpoints(Cloud::gcc_high).mde_api, "https://api-gov.securitycenter.microsoft.us");
  EXPECT_EQ(endpoints(Cloud::gcc_high).graph_api, "https://graph.microsoft.us");
  EXPECT_EQ(endpoints(Cloud::dod).login_host, "https://login.microsoftonline.us");
  EXPECT_EQ(endpoints(Cloud::dod).graph_api, "https://dod-graph.microsoft.us");
}

TEST(AuthCloud, ParseByName) {
  EXPECT_EQ(parse_cloud("global").value(), Cloud::global);
  EXPECT_EQ(parse_cloud("Public").value(), Cloud::global);
  EXPECT_EQ(parse_cloud("GCC").value(), Cloud::gcc);
  EXPECT_EQ(parse_cloud("gcc-high").value(), Cloud::gcc_high);
  EXPECT_EQ(parse_cloud("GccHigh").value(), Cloud::gcc_high);
  EXPECT_EQ(parse_cloud("dod").value(), Cloud::dod);
  auto bad = parse_cloud("china");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::config);
  EXPECT_NE(bad.error().message.find("global, gcc, gcc-high, dod"), std::string::npos);
  for (Cloud c : {Cloud::global, Cloud::gcc, Cloud::gcc_high, Cloud::dod}) EXPECT_EQ(parse_cloud(to_string(c)).value(), c);
}

TEST(AuthCloud, AuthorityHostOverride) {
  auto none = tst::env_of({});
  EXPECT_EQ(resolve_authority_host(Cloud::global, "", none).value(), "https://login.microsoftonline.com");
  EXPECT_EQ(resolve_authority_host(Cloud::dod, "", none).value(), "https://login.microsoftonline.us");
  EXPECT_EQ(resolve_authority_host(Cloud::global, "https://127.0.0.1:8443/", none).value(), "https://127.0.0.1:8443");
  auto env = tst::env_of({{"AZURE_AUTHORITY_HOST", "https://LOCALHOST:9443"}});
  EXPECT_EQ(resolve_authority_host(Cloud::global, "", env).value(), "https://localhost:9443");
  // The explicit option wins over the environment.
  EXPECT_EQ(resolve_authority_host(Cloud::global, "https://127.0.0.1:1", env).value(), "https://127.0.0.1:1");
  for (const char* bad : {"http://127.0.0.1:8443", "https://host/path", "https://u@host", "127.0.0.1:8443", "https://"}) {
    auto r = resolve_authority_host(Cloud::global, bad, none);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::config);
    EXPECT_NE(r.error().message.find("https://host[:port]"), std::string::npos);
  }
  auto bad_env = resolve_authority_host(Cloud::global, "", tst::env_of({{"AZURE_AUTHORITY_HOST", "ftp://x"}}));
  ASSERT_FALSE(bad_env);
  EXPECT_EQ(bad_env.error().message.rfind("AZURE_AUTHORITY_HOST: ", 0), 0u);
}

TEST(AuthCloud, TenantValidationForClientCredentials) {
  for (const char* t : {"common", "organizations", "consumers", "Common", "ORGANIZATIONS"}) {
    auto r = validate_tenant_for_client_credentials(t);
    ASSERT_FALSE(r) << t;
    EXPECT_EQ(r.error().kind, ErrorKind::config);
    EXPECT_NE(r.error().message.find("cannot be used with client credentials"), std::string::npos);
    EXPECT_NE(r.error().message.find("tenant's ID"), std::string::npos);
  }
  EXPECT_TRUE(validate_tenant_for_client_credentials(tst::k_tenant_a));
  EXPECT_TRUE(validate_tenant_for_client_credentials("AAAAAAAA-0000-4000-8000-00000000000A"));
  EXPECT_TRUE(validate_tenant_for_client_credentials("contoso.onmicrosoft.com"));
  EXPECT_TRUE(validate_tenant_for_client_credentials("fabrikam-2.example.co.uk"));
  for (const char* t : {"", "contoso", "-bad.example.com", "bad-.example.com", "a..b.com", "x.123", "a/b.com",
                        "aaaa aaaa.com", "00000000-0000-0000-0000-000000000000", "../etc/passwd", "a.com?x=1"}) {
    auto r = validate_tenant_for_client_credentials(t);
    EXPECT_FALSE(r) << "'" << t << "' should be refused";
  }
  EXPECT_FALSE(validate_tenant_for_client_credentials(std::string(64, 'a') + ".com"));
}

TEST(AuthCloud, ResourcesByAliasAndScopes) {
  EXPECT_EQ(resolve_resource("xdr", Cloud::global).value(), "https://api.security.microsoft.com");
  EXPECT_EQ(resolve_resource("mde", Cloud::global).value(), "https://api.securitycenter.microsoft.com");
  EXPECT_EQ(resolve_resource("graph", Cloud::global).value(), "https://graph.microsoft.com");
  EXPECT_EQ(resolve_resource("xdr", Cloud::gcc).value(), "https://api-gcc.security.microsoft.us");
  EXPECT_EQ(resolve_resource("graph", Cloud::gcc_high).value(), "https://graph.microsoft.us");
  EXPECT_EQ(resolve_resource("graph", Cloud::dod).value(), "https://dod-graph.microsoft.us");
  EXPECT_EQ(resolve_resource("https://management.core.windows.net/", Cloud::global).value(),
            "https://management.core.windows.net/");
  EXPECT_EQ(resolve_resource("api://my-api", Cloud::global).value(), "api://my-api");
  EXPECT_FALSE(resolve_resource("defender", Cloud::global));
  EXPECT_FALSE(resolve_resource("", Cloud::global));
  EXPECT_EQ(default_scope("https://api.security.microsoft.com"), "https://api.security.microsoft.com/.default");
  EXPECT_EQ(default_scope("https://management.core.windows.net/"), "https://management.core.windows.net//.default");
}

TEST(AuthConsent, V1LinkIsThePartnerGuideLink) {
  EXPECT_EQ(v1_consent_link("https://login.microsoftonline.com", tst::k_client_id),
            "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=11111111-2222-3333-"
            "4444-555555555555&response_type=code&sso_reload=true");
  EXPECT_EQ(v1_consent_link("https://login.microsoftonline.us/", "abc"),
            "https://login.microsoftonline.us/common/oauth2/authorize?prompt=consent&client_id=abc&response_type=code&"
            "sso_reload=true");
}

TEST(AuthConsent, V2AdminConsentLink) {
  AdminConsentOptions o;
  o.state = "x y&z";
  EXPECT_EQ(v2_admin_consent_link("https://login.microsoftonline.com", "abc", o),
            "https://login.microsoftonline.com/organizations/v2.0/adminconsent?client_id=abc&scope=https%3A%2F%2Fapi."
            "security.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal.azure.com&state=x%20y%26z");
  o.tenant = "contoso.onmicrosoft.com";
  o.state.clear();
  o.resource = "https://graph.microsoft.com";
  o.redirect_uri = "https://partner.example/consented";
  EXPECT_EQ(v2_admin_consent_link("https://127.0.0.1:8443", "abc", o),
            "https://127.0.0.1:8443/contoso.onmicrosoft.com/v2.0/adminconsent?client_id=abc&scope=https%3A%2F%2Fgraph."
            "microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fpartner.example%2Fconsented");
}
