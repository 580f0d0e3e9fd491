// The admin-consent pages, driven as a browser would: GET the page, POST the form, follow 302.

#include "emulator_fixture.hpp"

#include <regex>

using namespace xdr;
using namespace xdr::testing;

namespace {

// The query parameters of a redirect Location, in order.
util::FormFields redirect_params(const httplib::Result& r, const std::string& expected_base) {
  std::string loc = r->get_header_value("Location");
  EXPECT_EQ(loc.substr(0, expected_base.size()), expected_base) << loc;
  auto q = loc.find('?');
  return q == std::string::npos ? util::FormFields{} : *util::parse_form(loc.substr(q + 1));
}

std::vector<std::string> keys_of(const util::FormFields& f) {
  std::vector<std::string> out;
  for (const auto& [k, v] : f) out.push_back(k);
  return out;
}

} // namespace

TEST_F(EmulatorTest, PartnerGuideV1ConsentLinkShowsTheAppAndItsPermissions) {
  auto page = get("/common/oauth2/authorize?prompt=consent&client_id=" + k_app + "&response_type=code&sso_reload=true");
  ASSERT_EQ(page->status, 200);
  EXPECT_TRUE(util::istarts_with(page->get_header_value("Content-Type"), "text/html"));
  const std::string& html = page->body;
  EXPECT_NE(html.find("Contoso MSSP"), std::string::npos);
  EXPECT_NE(html.find("Incident.Read.All"), std::string::npos);
  EXPECT_NE(html.find("AdvancedHunting.Read.All"), std::string::npos);
  EXPECT_NE(html.find("Microsoft Threat Protection"), std::string::npos);
  EXPECT_NE(html.find("Tailspin Toys (tailspin.onmicrosoft.com)"), std::string::npos);
  EXPECT_NE(html.find("id=\"accept\""), std::string::npos);
  EXPECT_NE(html.find("id=\"cancel\""), std::string::npos);
}

TEST_F(EmulatorTest, AcceptingV1ConsentCreatesTheServicePrincipalAndGrantsRoles) {
  const std::string token_path = "/" + k_tailspin + "/oauth2/token";
  EXPECT_EQ(body_of(post_form(token_path, secret_v1()))["error_codes"], Json({700016}));
  auto r = post_form("/common/oauth2/authorize",
                     {{"client_id", k_app}, {"redirect_uri", "https://portal.azure.com"}, {"state", "s-1"},
                      {"tenant", k_tailspin}, {"decision", "accept"}});
  ASSERT_EQ(r->status, 302);
  auto p = redirect_params(r, "https://portal.azure.com?");
  EXPECT_EQ(keys_of(p), (std::vector<std::string>{"code", "session_state", "state", "admin_consent"}));
  EXPECT_EQ(*util::form_get(p, "state"), "s-1");
  EXPECT_EQ(*util::form_get(p, "admin_consent"), "True");
  EXPECT_TRUE(util::is_guid(*util::form_get(p, "session_state")));
  auto t = post_form(token_path, secret_v1());
  ASSERT_EQ(t->status, 200) << t->body;
  EXPECT_EQ(claims_of(body_of(t)["access_token"])["roles"],
            Json({"AdvancedHunting.Read.All", "Incident.Read.All", "Incident.ReadWrite.All"}));
}

TEST_F(EmulatorTest, DecliningV1ConsentRedirectsWithAccessDenied) {
  auto r = post_form("/common/oauth2/authorize",
                     {{"client_id", k_app}, {"state", "xyz"}, {"tenant", k_tailspin}, {"decision", "cancel"}});
  ASSERT_EQ(r->status, 302);
  auto p = redirect_params(r, "https://portal.azure.com?");
  EXPECT_EQ(p, (util::FormFields{{"error", "access_denied"},
                                 {"error_description", "the user canceled the authentication"},
                                 {"state", "xyz"}}));
  EXPECT_EQ(body_of(post_form("/" + k_tailspin + "/oauth2/token", secret_v1()))["error_codes"], Json({700016}));
}

TEST_F(EmulatorTest, V2AdminConsentRedirectCarriesExactlyTheDocumentedParameters) {
  std::string redirect = "http://localhost:8400/onboarding/callback";
  std::string scope = k_xdr + "/.default";
  auto page = get("/" + k_tailspin + "/v2.0/adminconsent?client_id=" + k_app + "&scope=" + util::url_encode(scope) +
                  "&redirect_uri=" + util::url_encode(redirect) + "&state=abc");
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("administrator of <b>Tailspin Toys</b>"), std::string::npos);
  auto r = post_form("/" + k_tailspin + "/v2.0/adminconsent",
                     {{"client_id", k_app}, {"redirect_uri", redirect}, {"state", "abc"}, {"scope", scope},
                      {"tenant", k_tailspin}, {"decision", "accept"}});
  ASSERT_EQ(r->status, 302);
  auto p = redirect_params(r, redirect + "?");
  EXPECT_EQ(p, (util::FormFields{{"admin_consent", "True"}, {"tenant", k_tailspin}, {"scope", scope}, {"state", "abc"}}));
  auto t = post_form("/" + k_tailspin + "/oauth2/v2.0/token", secret_v2());
  EXPECT_EQ(t->status, 200);
  // Only the resource in the scope was consented.
  EXPECT_EQ(body_of(post_form("/" + k_tailspin + "/oauth2/v2.0/token", secret_v2("https://graph.microsoft.com/.default")))["access_token"].is_string(), true);
  Json graph = claims_of(body_of(post_form("/" + k_tailspin + "/oauth2/v2.0/token", secret_v2("https://graph.microsoft.com/.default")))["access_token"]);
  EXPECT_FALSE(graph.contains("roles")) << "service principal exists, no Graph roles granted";
}

TEST_F(EmulatorTest, V2AdminConsentForDefenderForEndpointShowsWindowsDefenderAtp) {
  const std::string mde = "https://api.securitycenter.microsoft.com";
  std::string redirect = "http://localhost:8400/onboarding/callback";
  std::string scope = mde + "/.default";
  auto page = get("/" + k_tailspin + "/v2.0/adminconsent?client_id=" + k_app + "&scope=" + util::url_encode(scope) +
                  "&redirect_uri=" + util::url_encode(redirect) + "&state=m");
  ASSERT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("WindowsDefenderATP"), std::string::npos) << "the resource's app name, as Entra shows it";
  EXPECT_NE(page->body.find("AdvancedQuery.Read.All"), std::string::npos);
  EXPECT_EQ(page->body.find("Microsoft Threat Protection"), std::string::npos) << "only the resource in the scope";
  auto r = post_form("/" + k_tailspin + "/v2.0/adminconsent",
                     {{"client_id", k_app}, {"redirect_uri", redirect}, {"state", "m"}, {"scope", scope},
                      {"tenant", k_tailspin}, {"decision", "accept"}});
  ASSERT_EQ(r->status, 302);
  Json c = claims_of(body_of(post_form("/" + k_tailspin + "/oauth2/v2.0/token", secret_v2(scope)))["access_token"]);
  EXPECT_EQ(c["aud"], mde);
  EXPECT_EQ(c["roles"], Json({"AdvancedQuery.Read.All", "Alert.Read.All"}));
}

TEST_F(EmulatorTest, V2AdminConsentDeclineAndBadRequests) {
  std::string scope = k_xdr + "/.default";
  auto r = post_form("/organizations/v2.0/adminconsent",
                     {{"client_id", k_app}, {"state", "st"}, {"scope", scope}, {"tenant", k_tailspin}, {"decision", "cancel"}});
  ASSERT_EQ(r->status, 302);
  auto p = redirect_params(r, "https://portal.azure.com?");
  EXPECT_EQ(keys_of(p), (std::vector<std::string>{"admin_consent", "error", "error_description", "state"}));
  EXPECT_EQ(*util::form_get(p, "error"), "consent_required");
  EXPECT_TRUE(util::istarts_with(*util::form_get(p, "error_description"), "AADSTS65004"));
  auto bad_redirect = get("/common/oauth2/authorize?client_id=" + k_app + "&response_type=code&redirect_uri=" +
                          util::url_encode("https://evil.example.com/cb"));
  EXPECT_EQ(bad_redirect->status, 400);
  EXPECT_NE(bad_redirect->body.find("AADSTS50011"), std::string::npos);
  auto unknown_app = get("/common/oauth2/authorize?client_id=11111111-2222-3333-4444-555555555555&response_type=code");
  EXPECT_NE(unknown_app->body.find("AADSTS700016"), std::string::npos);
  auto common_v2 = get("/common/v2.0/adminconsent?client_id=" + k_app + "&scope=" + util::url_encode(scope));
  EXPECT_EQ(common_v2->status, 400);
  auto xss = get("/common/oauth2/authorize?client_id=" + k_app + "&state=" + util::url_encode("<script>x</script>"));
  EXPECT_EQ(xss->body.find("<script>x</script>"), std::string::npos);
  EXPECT_NE(xss->body.find("&lt;script&gt;"), std::string::npos);
}

TEST_F(EmulatorTest, LegacyAdminConsentEndpoint) {
  auto r = post_form("/common/adminconsent", {{"client_id", k_app}, {"state", "q"}, {"tenant", k_tailspin}, {"decision", "accept"}});
  ASSERT_EQ(r->status, 302);
  EXPECT_EQ(redirect_params(r, "https://portal.azure.com?"),
            (util::FormFields{{"tenant", k_tailspin}, {"state", "q"}, {"admin_consent", "True"}}));
}
