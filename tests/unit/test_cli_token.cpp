// xdrpartner token get / decode / validate against a FakeTransport.

#include <gtest/gtest.h>

#include "cli_test_support.hpp"

namespace xdr::testing::cli_test {
namespace {

class CliToken : public ::testing::Test {
protected:
  void SetUp() override {
    h.env["AZURE_CLIENT_ID"] = k_app;
    h.env["AZURE_CLIENT_SECRET"] = k_secret_value;
    token = h.make_token();
    h.serve_token(k_tenant, 200, CliHarness::token_response(token));
  }
  CliHarness h;
  std::string token;
};

TEST_F(CliToken, GetPrintsASummaryWithoutTheToken) {
  auto r = h.run({"token", "get", "--tenant", k_tenant});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("audience:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("https://api.security.microsoft.com"), std::string::npos);
  EXPECT_NE(r.out.find("Incident.Read.All, AdvancedHunting.Read.All"), std::string::npos);
  EXPECT_NE(r.out.find("(in 59 min)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("from cache:"), std::string::npos);
  EXPECT_NE(r.out.find("no (new token"), std::string::npos);
  EXPECT_EQ(r.out.find(token), std::string::npos);
  EXPECT_EQ(r.err.find(token), std::string::npos);
  ASSERT_EQ(h.router.transport->count(), 1u);
  const auto req = h.router.transport->requests().front();
  EXPECT_EQ(req.url, k_authority + "/" + k_tenant + "/oauth2/v2.0/token");
  EXPECT_NE(req.body.find("scope=https%3A%2F%2Fapi.security.microsoft.com%2F.default"), std::string::npos);
}

TEST_F(CliToken, RawPrintsOnlyTheToken) {
  auto r = h.run({"token", "get", "--tenant", k_tenant, "--raw", "--endpoint", "v1", "--resource", "xdr"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, token + "\n");
  EXPECT_TRUE(r.err.empty());
  EXPECT_EQ(h.router.transport->requests().front().url, k_authority + "/" + k_tenant + "/oauth2/token");
}

TEST_F(CliToken, JsonSummary) {
  auto r = h.run({"--output", "json", "token", "get", "--tenant", k_tenant});
  ASSERT_EQ(r.code, 0) << r.err;
  Json j = Json::parse(r.out);
  EXPECT_EQ(j["tenant_id"], k_tenant);
  EXPECT_EQ(j["expires_in_seconds"], 3599);
  EXPECT_EQ(j["from_cache"], false);
  EXPECT_EQ(j["roles"].size(), 2u);
}

TEST_F(CliToken, VerboseLogsRequestsButNeverTheSecretOrToken) {
  auto r = h.run({"-v", "token", "get", "--tenant", k_tenant});
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.err.find("HTTP POST " + k_authority + "/" + k_tenant + "/oauth2/v2.0/token -> 200"), std::string::npos)
      << r.err;
  auto vv = h.run({"-vv", "token", "get", "--tenant", k_tenant, "--raw"});
  for (const auto* text : {&r.err, &r.out, &vv.err}) {
    EXPECT_EQ(text->find(k_secret_value), std::string::npos);
    EXPECT_EQ(text->find(token), std::string::npos);
  }
}

TEST_F(CliToken, SecretFromStandardInput) {
  h.env.erase("AZURE_CLIENT_SECRET");
  auto r = h.run({"token", "get", "--tenant", k_tenant, "--client-secret-stdin"}, "from-stdin~secret\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(h.router.transport->requests().front().body.find("client_secret=from-stdin~secret&"), std::string::npos);
}

TEST_F(CliToken, PersistentCacheServesTheSecondRun) {
  TempDir dir;
  const std::string cache = dir.file("tokens.json");
  auto first = h.run({"token", "get", "--tenant", k_tenant, "--token-cache-file", cache});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_EQ(file_mode(cache), 0600u);
  auto second = h.run({"token", "get", "--tenant", k_tenant, "--token-cache-file", cache});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("from cache:     yes"), std::string::npos) << second.out;
  EXPECT_EQ(h.router.transport->count(), 1u);
  EXPECT_EQ(read_text(cache).find(k_secret_value), std::string::npos);
  // --no-cache-file ignores it.
  auto third = h.run({"token", "get", "--tenant", k_tenant, "--token-cache-file", cache, "--no-cache-file"});
  EXPECT_NE(third.out.find("no (new token"), std::string::npos);
  EXPECT_EQ(h.router.transport->count(), 2u);
}

TEST_F(CliToken, DefaultCacheFileLivesUnderXdgCacheHome) {
  TempDir dir;
  h.env["XDG_CACHE_HOME"] = dir.file("cache");
  ASSERT_EQ(h.run({"token", "get", "--tenant", k_tenant}).code, 0);
  EXPECT_EQ(file_mode(dir.file("cache/xdrpartner/tokens.json")), 0600u);
  EXPECT_EQ(file_mode(dir.file("cache/xdrpartner")), 0700u);
}

TEST_F(CliToken, WrongSecretSaysValueNotId) {
  h.serve_token(k_tenant, 401,
                entra_error("invalid_client", 7000215,
                            "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                            "secret value, not the client secret ID, for a secret added to app '" + k_app + "'."));
  auto r = h.run({"token", "get", "--tenant", k_tenant});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Value, not its Secret ID"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("AADSTS7000215"), std::string::npos);
  EXPECT_EQ(r.err.find(k_secret_value), std::string::npos);
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliToken, NotConsentedPrintsTheConsentLink) {
  h.serve_token(k_tenant, 400,
                entra_error("unauthorized_client", 700016,
                            "Application with identifier '" + k_app + "' was not found in the directory 'Tailspin'."));
  auto r = h.run({"token", "get", "--tenant", k_tenant});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is not consented in tenant '" + k_tenant + "'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("https://login.microsoftonline.com/common/oauth2/authorize?prompt=consent&client_id=" + k_app +
                       "&response_type=code&sso_reload=true"),
            std::string::npos);
}

TEST_F(CliToken, DecodeShowsHeaderClaimsAndReadableTimes) {
  for (const auto& [args, input] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"token", "decode", token}, ""}, {{"token", "decode", "-"}, token + "\n"}, {{"token", "decode"}, token}}) {
    auto r = h.run(args, input);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("header:\n{\n  \"alg\": \"RS256\",\n  \"kid\": \"" + k_kid + "\""), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"tid\": \"" + k_tenant + "\""), std::string::npos);
    const int64_t now = util::to_unix(h.clock->now());
    EXPECT_NE(r.out.find("iat:  " + util::format_rfc3339(util::from_unix(now - 300), 0) + " (5 min ago)"),
              std::string::npos) << r.out;
    EXPECT_NE(r.out.find("exp:  " + util::format_rfc3339(util::from_unix(now + 3600), 0) + " (in 1 h)"),
              std::string::npos);
    EXPECT_NE(r.out.find("signature: not verified"), std::string::npos);
  }
  EXPECT_EQ(h.router.transport->count(), 0u);
}

TEST_F(CliToken, DecodeErrors) {
  EXPECT_EQ(h.run({"token", "decode", "-"}, "").code, 2);
  auto bad = h.run({"token", "decode", "not.a.jwt!"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("not a JWT"), std::string::npos);
  auto json = h.run({"--output", "json", "token", "decode", token});
  ASSERT_EQ(json.code, 0);
  EXPECT_EQ(Json::parse(json.out)["claims"]["appid"], k_app);
}

TEST_F(CliToken, ValidateAcceptsAGoodToken) {
  h.serve_discovery("common");
  auto r = h.run({"token", "validate", "-", "--require-role", "Incident.Read.All"}, token);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("valid:"), std::string::npos);
  EXPECT_NE(r.out.find("missing: (none)"), std::string::npos) << r.out;
}

TEST_F(CliToken, ValidatePinsATenantGivenByDomain) {
  h.serve_discovery("contoso.onmicrosoft.com");
  auto r = h.run({"token", "validate", token, "--tenant", "contoso.onmicrosoft.com", "--audience", "xdr"});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  // Another tenant pinned: its keys are asked for, and the token is not accepted.
  const std::string other_tenant = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
  auto other = h.run({"token", "validate", token, "--tenant", other_tenant});
  EXPECT_EQ(other.code, 1);
  EXPECT_NE(other.out.find("valid:   no"), std::string::npos) << other.out;
  EXPECT_EQ(h.router.count(k_authority + "/" + other_tenant + "/.well-known/openid-configuration"), 1u);
}

TEST_F(CliToken, ValidateRejectsATamperedToken) {
  h.serve_discovery("common");
  std::string tampered = token;
  tampered[tampered.size() - 5] = tampered[tampered.size() - 5] == 'A' ? 'B' : 'A';
  auto r = h.run({"token", "validate", tampered});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("reason:  bad_signature"), std::string::npos) << r.out;
}

TEST_F(CliToken, ValidateNamesTheMissingRole) {
  h.serve_discovery("common");
  auto r = h.run({"token", "validate", token, "--require-role", "Incident.Read.All", "--require-role", "Machine.Isolate"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("reason:  missing_roles"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("present: Incident.Read.All"), std::string::npos);
  EXPECT_NE(r.out.find("missing: Machine.Isolate"), std::string::npos);
  auto json = h.run({"--output", "json", "token", "validate", token, "--require-role", "Machine.Isolate"});
  EXPECT_EQ(Json::parse(json.out)["roles_missing"], Json::array({"Machine.Isolate"}));
}

TEST_F(CliToken, ValidateUsageErrors) {
  EXPECT_EQ(h.run({"token", "validate"}, "").code, 2);
  EXPECT_EQ(h.run({"token", "validate", token, "--audience", "ftp://nope"}).code, 2);
  EXPECT_EQ(h.router.transport->count(), 0u);
}

TEST_F(CliToken, ValidateWithUnreachableKeysFailsWithTheReason) {
  auto r = h.run({"token", "validate", token});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("key_fetch_failed"), std::string::npos) << r.out;
}

} // namespace
} // namespace xdr::testing::cli_test
