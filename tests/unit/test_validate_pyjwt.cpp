// Independent implementation check: a token signed by PyJWT (Debian's python3-jwt) with a key made
// by python3-cryptography must be accepted when its JWK is served as the tenant's JWKS.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include <xdr/validate/token_validator.hpp>

#include "test_validate_env.hpp"

using namespace xdr;
using namespace xdr::validate;
using namespace xdr::validate::test_env;

namespace {

struct Run {
  int status = -1;
  std::string out;
};

Run run(const std::string& command) {
  Run r;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  int raw = pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

TEST(ValidatePyJwt, AcceptsTokenSignedByPyJwt) {
  const std::string python = "/usr/bin/python3";
  const auto script = std::filesystem::path(XDR_TEST_DATA_DIR) / "validate_pyjwt_token.py";
  if (!std::filesystem::exists(python)) GTEST_SKIP() << python << " is not installed";
  ASSERT_TRUE(std::filesystem::exists(script)) << script;
  auto probe = run(python + " -c 'import jwt, cryptography' 2>/dev/null");
  if (probe.status != 0) GTEST_SKIP() << "python3-jwt or python3-cryptography is not installed";

  auto clock = std::make_shared<xdr::testing::FakeClock>();
  const std::string kid = "pyjwt-kid-1";
  auto r = run(python + " '" + script.string() + "' " + k_tenant + " " + k_audience + " " + k_app + " " +
               std::to_string(util::to_unix(clock->now())) + " " + kid);
  ASSERT_EQ(r.status, 0) << r.out;
  Json printed = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(printed.is_object()) << r.out;
  const std::string token = printed["token"].get<std::string>();
  const Json jwk = printed["jwk"];
  EXPECT_EQ(jwk["kty"], "RSA");
  EXPECT_EQ(jwk["kid"], kid);

  EntraDouble entra;
  entra.serve(k_tenant, TokenVersion::v1, Json::array({jwk}));
  auto store = std::make_shared<KeyStore>(entra.transport, KeyStoreOptions{}, clock);
  ValidationOptions options;
  options.expected_tenant = k_tenant;
  options.accepted_audiences = {k_audience};
  options.required_roles = {"AdvancedHunting.Read.All"};
  TokenValidator validator(store, options, clock);

  auto v = validator.validate(token);
  ASSERT_TRUE(v) << to_string(v.error().reason) << ": " << v.error().message;
  EXPECT_EQ(v->tenant_id, k_tenant);
  EXPECT_EQ(v->app_id, k_app);
  EXPECT_EQ(v->header.kid, kid);
  EXPECT_EQ(v->version, TokenVersion::v1);
  EXPECT_EQ(v->roles, (std::vector<std::string>{"Incident.Read.All", "AdvancedHunting.Read.All"}));

  // The same PyJWT token with one signature character changed is refused.
  std::string altered = token;
  size_t at = altered.rfind('.') + 20;
  altered[at] = altered[at] == 'A' ? 'B' : 'A';
  auto bad = validator.validate(altered);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().reason, Reason::bad_signature);
}

} // namespace
