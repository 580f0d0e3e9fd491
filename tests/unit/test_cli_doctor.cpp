// xdrpartner doctor: the checks, their order, and the exit code, against a FakeTransport.

#include <gtest/gtest.h>

#include "cli_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

class CliDoctor : public ::testing::Test {
protected:
  void SetUp() override {
    h.env["AZURE_CLIENT_ID"] = k_app;
    h.env["AZURE_CLIENT_SECRET"] = k_secret_value;
    h.serve_discovery("contoso.onmicrosoft.com");
    h.serve_token("contoso.onmicrosoft.com", 200, CliHarness::token_response(h.make_token()));
    h.router.set("https://api.security.microsoft.com/api/incidents?$top=1", 200,
                 R"({"@odata.context":"https://api.security.microsoft.com/api/$metadata#Incidents","value":[{"incidentId":1}]})");
  }
  // The line starting with `prefix`, or "".
  static std::string line(const std::string& text, const std::string& prefix) {
    auto pos = text.find(prefix);
    if (pos == std::string::npos) return {};
    return text.substr(pos, text.find('\n', pos) - pos);
  }
  CliHarness h;
};

TEST_F(CliDoctor, AllChecksPassInOrder) {
  auto r = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  std::vector<std::string> order = {"[ OK ] configuration: client " + k_app,
                                    "[ OK ] authority: tenant contoso.onmicrosoft.com is " + k_tenant,
                                    "[ OK ] clock skew: local clock matches",
                                    "[ OK ] token (xdr): got a token for https://api.security.microsoft.com",
                                    "[ OK ] roles (xdr): present: Incident.Read.All, AdvancedHunting.Read.All",
                                    "[ OK ] token validation (xdr): signature (key " + k_kid + ")",
                                    "[ OK ] Defender XDR API: GET https://api.security.microsoft.com/api/incidents?$top=1: 200, "
                                    "the token is accepted (1 incident(s) on the first page)"};
  size_t at = 0;
  for (const auto& expected : order) {
    auto pos = r.out.find(expected, at);
    ASSERT_NE(pos, std::string::npos) << "missing or out of order: " << expected << "\n" << r.out;
    at = pos;
  }
  EXPECT_NE(r.out.find("credential: client secret from AZURE_CLIENT_SECRET"), std::string::npos);
  EXPECT_EQ(r.out.find(k_secret_value), std::string::npos);
}

TEST_F(CliDoctor, ClockSkewOverFiveMinutesWarnsWithoutFailing) {
  h.serve_discovery("contoso.onmicrosoft.com", std::chrono::seconds(-600));
  auto r = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(line(r.out, "[WARN] clock skew"), "[WARN] clock skew: local clock is 600 s ahead of the authority") << r.out;
}

TEST_F(CliDoctor, MissingConsentFailsAndPrintsTheConsentLink) {
  h.serve_token("contoso.onmicrosoft.com", 400,
                entra_error("unauthorized_client", 700016,
                            "Application with identifier '" + k_app + "' was not found in the directory 'Contoso'."));
  auto r = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("[FAIL] token (xdr)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("consent link (partner guide): https://login.microsoftonline.com/common/oauth2/authorize?"
                       "prompt=consent&client_id=" + k_app + "&response_type=code&sso_reload=true"),
            std::string::npos);
  EXPECT_NE(r.out.find("admin-consent link (v2): https://login.microsoftonline.com/" + k_tenant + "/v2.0/adminconsent"),
            std::string::npos);
  EXPECT_NE(r.out.find("[SKIP] roles (xdr)"), std::string::npos);
}

TEST_F(CliDoctor, MissingRoleFails) {
  h.serve_token("contoso.onmicrosoft.com", 200, CliHarness::token_response(h.make_token({"Incident.Read.All"})));
  auto r = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(line(r.out, "[FAIL] roles (xdr)"),
            "[FAIL] roles (xdr): missing AdvancedHunting.Read.All (present: Incident.Read.All)") << r.out;
  EXPECT_NE(r.out.find("Microsoft Threat Protection"), std::string::npos);
}

TEST_F(CliDoctor, RequiredRolesComeFromTheConfigFile) {
  TempDir dir;
  auto config = dir.write("c.json", Json{{"required_roles", {{"xdr", {"Incident.ReadWrite.All"}}}}}.dump());
  auto r = h.run({"--config", config, "doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("[FAIL] roles (xdr): missing Incident.ReadWrite.All"), std::string::npos) << r.out;
}

TEST_F(CliDoctor, UnknownTenantGivesTheNinetyThousandTwoAdvice) {
  h.router.set(k_authority + "/nowhere.onmicrosoft.com/v2.0/.well-known/openid-configuration", 400,
               entra_error("invalid_tenant", 90002, "Tenant 'nowhere.onmicrosoft.com' not found."));
  auto r = h.run({"doctor", "--tenant", "nowhere.onmicrosoft.com"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("[FAIL] authority"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("was not found by https://login.microsoftonline.com"), std::string::npos);
  EXPECT_NE(r.out.find("[SKIP] token"), std::string::npos);
  EXPECT_EQ(h.router.count(k_authority + "/nowhere.onmicrosoft.com/oauth2/v2.0/token"), 0u);
}

TEST_F(CliDoctor, MissingCredentialFailsTheConfigurationCheck) {
  h.env.erase("AZURE_CLIENT_SECRET");
  auto r = h.run({"--output", "json", "doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 1);
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["checks"][0]["check"], "configuration");
  EXPECT_EQ(j["checks"][0]["status"], "failed");
  EXPECT_EQ(j["checks"].back()["check"], "Defender XDR API");
  EXPECT_EQ(j["checks"].back()["status"], "skipped") << "no token, no API call";
}

TEST_F(CliDoctor, UnsafeTokenCacheFileFailsNamingIt) {
  TempDir dir;
  std::string cache = dir.write("tokens.json", "{}", 0644);
  auto r = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com", "--token-cache-file", cache});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("[FAIL] token client: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(cache), std::string::npos);
  EXPECT_NE(r.out.find("[SKIP] token (xdr): the token client could not be set up"), std::string::npos);
}

TEST_F(CliDoctor, WithoutTenantIsAUsageError) {
  EXPECT_EQ(h.run({"doctor"}).code, 2);
  EXPECT_EQ(h.run({"doctor", "--tenant", "common"}).code, 2);
  EXPECT_EQ(h.router.transport->count(), 0u);
}

} // namespace
} // namespace xdr::testing::cli_test

namespace xdr::testing::cli_test {
namespace {

TEST_F(CliDoctor, DefenderApiRefusalsAreNamed) {
  h.router.set("https://api.security.microsoft.com/api/incidents?$top=1", 403,
               R"({"error":{"code":"Forbidden","message":"Missing application roles. API required roles: Incident.Read.All, application roles: ","target":"x"}})");
  auto r = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(line(r.out, "[FAIL] Defender XDR API"),
            "[FAIL] Defender XDR API: GET https://api.security.microsoft.com/api/incidents?$top=1: 403, the token lacks a permission")
      << r.out;
  EXPECT_NE(r.out.find("Missing application roles. API required roles: Incident.Read.All"), std::string::npos);
  h.router.set("https://emu.example:8443/api/incidents?$top=1", 200, "<html>gateway</html>");
  auto html = h.run({"doctor", "--tenant", "contoso.onmicrosoft.com", "--api-base", "https://emu.example:8443/"});
  EXPECT_EQ(html.code, 1);
  EXPECT_NE(html.out.find("200 but not an incidents page (received an HTML page)"), std::string::npos) << html.out;
}

} // namespace
} // namespace xdr::testing::cli_test
