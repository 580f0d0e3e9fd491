// xdrpartner argument parsing, exit codes, configuration precedence and consent-url output.

#include <gtest/gtest.h>

#include "cli_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

const std::string k_v1_link = "https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=" +
                              k_app + "&response_type=code&sso_reload=true";

TEST(CliArgs, RefusesASecretOnTheCommandLineWithoutEchoingIt) {
  CliHarness h;
  for (std::vector<std::string> args :
       {std::vector<std::string>{"token", "get", "--tenant", k_tenant, "--client-secret", k_secret_value},
        std::vector<std::string>{"--client-secret=" + k_secret_value, "doctor"}}) {
    auto r = h.run(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("--client-secret is refused"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--client-secret-file"), std::string::npos);
    EXPECT_NE(r.err.find("AZURE_CLIENT_SECRET"), std::string::npos);
    EXPECT_EQ(r.err.find(k_secret_value), std::string::npos);
    EXPECT_TRUE(r.out.empty());
  }
  EXPECT_EQ(h.router.transport->count(), 0u);
}

TEST(CliArgs, StrayArgumentsAreNotEchoed) {
  CliHarness h;
  h.env["AZURE_CLIENT_ID"] = k_app;
  for (std::vector<std::string> args : {std::vector<std::string>{"consent-url", k_secret_value},
                                        {"token", "get", "--tenant", k_tenant, "--", "--client-secret", k_secret_value}}) {
    auto r = h.run(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err.find(k_secret_value), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(CliArgs, UsageErrorsExitTwo) {
  CliHarness h;
  EXPECT_EQ(h.run({}).code, 2);
  EXPECT_EQ(h.run({"frobnicate"}).code, 2);
  EXPECT_EQ(h.run({"token"}).code, 2);
  auto bogus = h.run({"token", "get", "--bogus", "value"});
  EXPECT_EQ(bogus.code, 2);
  EXPECT_NE(bogus.err.find("unexpected argument(s): --bogus"), std::string::npos) << bogus.err;
  EXPECT_EQ(h.run({"--output", "xml", "consent-url"}).code, 2);
  EXPECT_EQ(h.run({"--cloud", "mars", "consent-url"}).code, 2);
  EXPECT_EQ(h.run({"token", "get", "--endpoint", "v3"}).code, 2);
  EXPECT_EQ(h.router.transport->count(), 0u);
}

TEST(CliArgs, EveryCommandHasHelpWithAnExample) {
  CliHarness h;
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"consent-url", "--help"},
                                        {"token", "--help"}, {"token", "get", "--help"}, {"token", "decode", "--help"},
                                        {"token", "validate", "--help"}, {"doctor", "--help"}}) {
    auto r = h.run(args);
    EXPECT_EQ(r.code, 0) << args.front();
    EXPECT_NE(r.out.find("Example"), std::string::npos) << args.back() << ": " << r.out;
    EXPECT_NE(r.out.find("Exit codes"), std::string::npos) << r.out;
  }
}

TEST(CliConsentUrl, V1LinkIsExactlyThePartnerGuideLink) {
  CliHarness h;
  h.env["AZURE_CLIENT_ID"] = k_app;
  auto r = h.run({"consent-url", "--v1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, k_v1_link + "\n");
  EXPECT_TRUE(r.err.empty());
}

TEST(CliConsentUrl, GlobalOptionsGoBeforeOrAfterTheCommand) {
  CliHarness h;
  EXPECT_EQ(h.run({"--client-id", k_app, "consent-url", "--v1"}).out, k_v1_link + "\n");
  EXPECT_EQ(h.run({"consent-url", "--v1", "--client-id", k_app}).out, k_v1_link + "\n");
}

TEST(CliConsentUrl, DefaultPrintsBothLinksWithTenantStateAndRedirect) {
  CliHarness h;
  auto r = h.run({"--client-id", k_app, "consent-url", "--tenant", k_tenant, "--state", "onboard 42", "--redirect-uri",
                  "https://partner.example/cb"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find(k_v1_link + "\n"), std::string::npos) << r.out;
  const std::string v2 = "https://login.microsoftonline.com/" + k_tenant + "/v2.0/adminconsent?client_id=" + k_app +
                         "&scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default"
                         "&redirect_uri=https%3A%2F%2Fpartner.example%2Fcb&state=onboard%2042";
  EXPECT_NE(r.out.find(v2 + "\n"), std::string::npos) << r.out;
}

TEST(CliConsentUrl, WithoutTenantTheV2LinkUsesOrganizations) {
  CliHarness h;
  auto r = h.run({"--client-id", k_app, "consent-url", "--v2"});
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "https://login.microsoftonline.com/organizations/v2.0/adminconsent?client_id=" + k_app +
                       "&scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default&redirect_uri=https%3A%2F%2Fportal."
                       "azure.com\n");
}

TEST(CliConsentUrl, CloudAndAuthorityHostChangeTheHost) {
  CliHarness h;
  EXPECT_EQ(h.run({"--client-id", k_app, "--cloud", "gcc-high", "consent-url", "--v1"}).out,
            "https://login.microsoftonline.us/common/oauth2/authorize?prompt=consent&client_id=" + k_app +
                "&response_type=code&sso_reload=true\n");
  h.env["AZURE_AUTHORITY_HOST"] = "https://127.0.0.1:8443/";
  EXPECT_EQ(h.run({"--client-id", k_app, "consent-url", "--v1"}).out,
            "https://127.0.0.1:8443/common/oauth2/authorize?prompt=consent&client_id=" + k_app +
                "&response_type=code&sso_reload=true\n");
  EXPECT_EQ(h.run({"--client-id", k_app, "--authority-host", "http://insecure", "consent-url"}).code, 2);
}

TEST(CliConsentUrl, JsonOutput) {
  CliHarness h;
  auto r = h.run({"--client-id", k_app, "--output", "json", "consent-url", "--resource", "xdr", "--resource", "mde"});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["v1"], k_v1_link);
  ASSERT_EQ(j["v2"].size(), 2u);
  EXPECT_EQ(j["v2"][1]["resource"], "https://api.securitycenter.microsoft.com");
}

TEST(CliConsentUrl, MissingOrMalformedClientIdIsAUsageError) {
  CliHarness h;
  auto r = h.run({"consent-url"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("AZURE_CLIENT_ID"), std::string::npos);
  EXPECT_EQ(h.run({"--client-id", "not-a-guid", "consent-url"}).code, 2);
}

TEST(CliConfig, FileSuppliesSettingsAndFlagsThenEnvironmentWin) {
  CliHarness h;
  TempDir dir;
  const std::string other = "99999999-8888-4777-8666-555555555555";
  std::string config = dir.write("config.json", Json{{"client_id", other}, {"tenant", k_tenant}}.dump());
  auto from_file = h.run({"--config", config, "consent-url", "--v1"});
  EXPECT_EQ(from_file.code, 0) << from_file.err;
  EXPECT_NE(from_file.out.find("client_id=" + other), std::string::npos);

  h.env["AZURE_CLIENT_ID"] = k_app;
  EXPECT_NE(h.run({"--config", config, "consent-url", "--v1"}).out.find("client_id=" + k_app), std::string::npos);
  const std::string flag = "12121212-3434-4565-8787-909090909090";
  EXPECT_NE(h.run({"--config", config, "--client-id", flag, "consent-url", "--v1"}).out.find("client_id=" + flag),
            std::string::npos);
  h.env["XDRPARTNER_CONFIG"] = config;
  h.env.erase("AZURE_CLIENT_ID");
  EXPECT_NE(h.run({"consent-url", "--v1"}).out.find("client_id=" + other), std::string::npos);
}

TEST(CliConfig, RefusesASecretInTheFileAndUnknownKeys) {
  CliHarness h;
  TempDir dir;
  auto secret = h.run({"--config", dir.write("c1.json", Json{{"client_id", k_app}, {"client_secret", k_secret_value}}.dump()),
                       "consent-url"});
  EXPECT_EQ(secret.code, 2);
  EXPECT_NE(secret.err.find("client_secret_file"), std::string::npos) << secret.err;
  EXPECT_EQ(secret.err.find(k_secret_value), std::string::npos);
  auto typo = h.run({"--config", dir.write("c2.json", Json{{"client_idd", k_app}}.dump()), "consent-url"});
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.err.find("client_idd"), std::string::npos);
  EXPECT_EQ(h.run({"--config", dir.write("c3.json", "{not json"), "consent-url"}).code, 2);
  EXPECT_EQ(h.run({"--config", dir.file("missing.json"), "consent-url"}).code, 2);
}

TEST(CliCredentials, ConfigurationErrorsExitTwoBeforeAnyRequest) {
  CliHarness h;
  TempDir dir;
  h.env["AZURE_CLIENT_ID"] = k_app;
  // No tenant.
  EXPECT_EQ(h.run({"token", "get", "--client-secret-stdin"}, "x\n").code, 2);
  // No credential at all.
  auto none = h.run({"token", "get", "--tenant", k_tenant});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("no client credential"), std::string::npos) << none.err;
  // A secret file others can read.
  std::string open = dir.write("secret.txt", k_secret_value + "\n", 0644);
  auto readable = h.run({"token", "get", "--tenant", k_tenant, "--client-secret-file", open});
  EXPECT_EQ(readable.code, 2);
  EXPECT_NE(readable.err.find("chmod 600"), std::string::npos) << readable.err;
  EXPECT_EQ(readable.err.find(k_secret_value), std::string::npos);
  // Two credentials.
  std::string closed = dir.write("secret2.txt", k_secret_value + "\n", 0600);
  EXPECT_EQ(h.run({"token", "get", "--tenant", k_tenant, "--client-secret-file", closed, "--client-secret-stdin"}).code, 2);
  // Empty standard input.
  EXPECT_EQ(h.run({"token", "get", "--tenant", k_tenant, "--client-secret-stdin"}, "").code, 2);
  // common is not a tenant for client credentials.
  EXPECT_EQ(h.run({"token", "get", "--tenant", "common", "--client-secret-file", closed}).code, 2);
  EXPECT_EQ(h.router.transport->count(), 0u);
}

} // namespace
} // namespace xdr::testing::cli_test
