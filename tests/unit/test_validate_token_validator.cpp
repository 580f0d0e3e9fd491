#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <xdr/validate/token_validator.hpp>

#include "test_validate_env.hpp"

using namespace xdr;
using namespace xdr::validate;
using namespace xdr::validate::test_env;
using namespace std::chrono_literals;

namespace {

class TokenValidatorTest : public ::testing::Test {
protected:
  TokenValidatorTest() {
    entra.serve(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(1), "k1")}));
    entra.serve(k_tenant, TokenVersion::v2,
                Json::array({jwk(test_key(2), "k2", k_authority + "/{tenantid}/v2.0")}));
    store = std::make_shared<KeyStore>(entra.transport, KeyStoreOptions{}, clock);
    options.expected_tenant = k_tenant;
    options.accepted_audiences = {k_audience};
  }

  TokenValidator validator() const { return TokenValidator(store, options, clock); }
  ValidationResult validate(const std::string& token) const { return validator().validate(token); }

  // The reason a token is rejected for (fails the test when it is accepted).
  Reason reason_of(const std::string& token) const {
    auto r = validate(token);
    EXPECT_FALSE(r) << "token was accepted";
    return r ? Reason::malformed : r.error().reason;
  }

  std::string v1_token(const Json& claims) const { return sign(claims, test_key(1), "k1"); }
  std::string v1_token() const { return v1_token(v1_claims(*clock)); }

  std::shared_ptr<xdr::testing::FakeClock> clock = std::make_shared<xdr::testing::FakeClock>();
  EntraDouble entra;
  std::shared_ptr<KeyStore> store;
  ValidationOptions options;
};

// ---- accepted tokens ----

TEST_F(TokenValidatorTest, AcceptsV1TokenWithV1Metadata) {
  auto r = validate(v1_token());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->tenant_id, k_tenant);
  EXPECT_EQ(r->app_id, k_app);
  EXPECT_EQ(r->object_id, k_sp);
  EXPECT_EQ(r->issuer, v1_issuer(k_tenant));
  EXPECT_EQ(r->audience, k_audience);
  EXPECT_EQ(r->version, TokenVersion::v1);
  EXPECT_EQ(r->roles, (std::vector<std::string>{"Incident.Read.All", "AdvancedHunting.Read.All"}));
  EXPECT_EQ(r->header.alg, "RS256");
  EXPECT_EQ(r->header.kid, "k1");
  EXPECT_EQ(r->header.x5t, "k1");
  EXPECT_EQ(util::to_unix(r->expires), util::to_unix(clock->now()) + 3600);
  EXPECT_EQ(util::to_unix(r->not_before), util::to_unix(clock->now()) - 300);
  EXPECT_EQ(r->claims()["uti"], "41oex9rUzU28oibY_D0hAA");
  EXPECT_EQ(r->claims(), v1_claims(*clock));
  EXPECT_EQ(entra.count(KeyStore::metadata_url(k_authority, k_tenant, TokenVersion::v1)), 1u);
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v1)), 1u);
  EXPECT_EQ(entra.total(), 2u);
  auto request = entra.transport->requests().front();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.url, "https://login.microsoftonline.com/" + k_tenant + "/.well-known/openid-configuration");

  ASSERT_TRUE(validate(v1_token())); // warm: no new request
  EXPECT_EQ(entra.total(), 2u);
}

TEST_F(TokenValidatorTest, AcceptsV2TokenWithV2Metadata) {
  auto r = validate(sign(v2_claims(*clock), test_key(2), "k2", false));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->version, TokenVersion::v2);
  EXPECT_EQ(r->app_id, k_app); // from azp
  EXPECT_EQ(r->issuer, k_authority + "/" + k_tenant + "/v2.0");
  EXPECT_TRUE(r->header.x5t.empty());
  EXPECT_EQ(entra.transport->requests().front().url,
            "https://login.microsoftonline.com/" + k_tenant + "/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v2)), 1u);
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v1)), 0u);
}

TEST_F(TokenValidatorTest, EachVersionUsesOnlyItsOwnKeys) {
  // k2 is published only in the v2 JWKS: a v1 token signed with it names an unknown key.
  EXPECT_EQ(reason_of(sign(v1_claims(*clock), test_key(2), "k2")), Reason::unknown_kid);
  EXPECT_EQ(reason_of(sign(v2_claims(*clock), test_key(1), "k1", false)), Reason::unknown_kid);
}

TEST_F(TokenValidatorTest, MultiTenantWithCommonMetadataAcceptsAnyTenant) {
  entra.serve("common", TokenVersion::v1, Json::array({jwk(test_key(1), "k1")}));
  options.expected_tenant.reset();
  for (const std::string& tenant : {k_tenant, k_other_tenant}) {
    auto r = validate(v1_token(v1_claims(*clock, tenant)));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->tenant_id, tenant);
  }
  EXPECT_EQ(entra.count(KeyStore::metadata_url(k_authority, "common", TokenVersion::v1)), 1u);
  EXPECT_EQ(entra.total(), 2u);
}

TEST_F(TokenValidatorTest, AllowedTenantsUseEachTenantsOwnMetadata) {
  entra.serve(k_other_tenant, TokenVersion::v1, Json::array({jwk(test_key(3), "k3")}));
  options.expected_tenant.reset();
  options.allowed_tenants = std::set<std::string, std::less<>>{k_tenant, k_other_tenant};
  ASSERT_TRUE(validate(v1_token()));
  ASSERT_TRUE(validate(sign(v1_claims(*clock, k_other_tenant), test_key(3), "k3")));
  EXPECT_EQ(entra.count(KeyStore::metadata_url(k_authority, k_other_tenant, TokenVersion::v1)), 1u);
  const std::string stranger = "99999999-8888-7777-6666-555555555555";
  size_t before = entra.total();
  EXPECT_EQ(reason_of(v1_token(v1_claims(*clock, stranger))), Reason::untrusted_tenant);
  EXPECT_EQ(entra.total(), before); // an untrusted tenant's tid triggers no fetch
}

TEST_F(TokenValidatorTest, AudienceMayBeAnArray) {
  Json c = v1_claims(*clock);
  c["aud"] = {"api://something-else", k_audience};
  auto r = validate(v1_token(c));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->audience, k_audience);
  c["aud"] = {"api://something-else"};
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_audience);
}

TEST_F(TokenValidatorTest, ScopesCountAsPermissionsForDelegatedTokens) {
  Json c = v1_claims(*clock);
  c.erase("roles");
  c["scp"] = "Incident.Read AdvancedHunting.Read";
  auto r = validate(v1_token(c));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->scopes, (std::vector<std::string>{"Incident.Read", "AdvancedHunting.Read"}));
}

// ---- the negative suite: each token is rejected for its own reason ----

TEST_F(TokenValidatorTest, RejectsAlgNoneBeforeKeyLookup) {
  std::string payload = v1_claims(*clock).dump();
  std::string token = util::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." + util::base64url_encode(payload) + ".";
  auto r = validate(token);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::unsupported_alg);
  EXPECT_NE(r.error().message.find("unsigned"), std::string::npos) << r.error().message;
  EXPECT_EQ(reason_of(util::base64url_encode(R"({"alg":"None","kid":"k1"})") + "." + util::base64url_encode(payload) + "."),
            Reason::unsupported_alg);
  EXPECT_EQ(entra.total(), 0u);
}

TEST_F(TokenValidatorTest, RejectsHs256KeyConfusionBeforeKeyLookup) {
  // The classic attack: HMAC-sign with the server's RSA public key (PEM) as the secret.
  std::string header = util::base64url_encode(R"({"alg":"HS256","typ":"JWT","kid":"k1"})");
  std::string payload = util::base64url_encode(v1_claims(*clock).dump());
  std::string mac = crypto::hmac_sha256(test_key(1).public_key().to_pem(), header + "." + payload);
  auto r = validate(header + "." + payload + "." + util::base64url_encode(mac));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::unsupported_alg);
  EXPECT_NE(r.error().message.find("'HS256'"), std::string::npos) << r.error().message;
  EXPECT_EQ(entra.total(), 0u);
}

TEST_F(TokenValidatorTest, RejectsCorrectlySignedPs256AndOtherAlgs) {
  auto ps = jwt::sign({{"kid", "k1"}}, v1_claims(*clock), test_key(1), crypto::SignatureAlg::ps256);
  ASSERT_TRUE(ps);
  EXPECT_EQ(reason_of(*ps), Reason::unsupported_alg);
  for (const char* alg : {"RS384", "ES256", "rs256", ""}) {
    std::string header = Json{{"alg", alg}, {"kid", "k1"}}.dump();
    EXPECT_EQ(reason_of(assemble(header, v1_claims(*clock).dump(), "sig")), Reason::unsupported_alg) << alg;
  }
  EXPECT_EQ(reason_of(assemble(R"({"kid":"k1"})", v1_claims(*clock).dump(), "sig")), Reason::unsupported_alg);
  EXPECT_EQ(reason_of(assemble(R"({"alg":256,"kid":"k1"})", v1_claims(*clock).dump(), "sig")), Reason::unsupported_alg);
  EXPECT_EQ(entra.total(), 0u);
}

TEST_F(TokenValidatorTest, RejectsTamperedPayload) {
  std::string token = v1_token();
  Json c = v1_claims(*clock);
  c["roles"].push_back("Machine.Isolate");
  size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string forged = token.substr(0, d1 + 1) + util::base64url_encode(c.dump()) + token.substr(d2);
  EXPECT_EQ(reason_of(forged), Reason::bad_signature);
  std::string no_signature = token.substr(0, d2 + 1);
  EXPECT_EQ(reason_of(no_signature), Reason::bad_signature);
  std::string other_key = sign(v1_claims(*clock), test_key(2), "k1");
  EXPECT_EQ(reason_of(other_key), Reason::bad_signature);
  ASSERT_TRUE(validate(token)); // a failed verify leaves the key usable
}

TEST_F(TokenValidatorTest, RejectsExpiredAndHonoursLeewayBoundary) {
  int64_t now = util::to_unix(clock->now());
  Json c = v1_claims(*clock);
  c["exp"] = now - 300; // exactly at the edge of the 300 s leeway: still valid
  EXPECT_TRUE(validate(v1_token(c)));
  c["exp"] = now - 301;
  auto r = validate(v1_token(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::expired);
  EXPECT_NE(r.error().message.find("acquire a new token"), std::string::npos);
  options.leeway = 0s;
  c["exp"] = now;
  EXPECT_TRUE(validate(v1_token(c)));
  c["exp"] = now - 1;
  EXPECT_EQ(reason_of(v1_token(c)), Reason::expired);
  c["exp"] = static_cast<double>(now) - 0.5; // float exp (PyJWT can write one)
  EXPECT_EQ(reason_of(v1_token(c)), Reason::expired);
}

TEST_F(TokenValidatorTest, RejectsNotYetValidAndHonoursLeewayBoundary) {
  int64_t now = util::to_unix(clock->now());
  Json c = v1_claims(*clock);
  c["nbf"] = now + 300;
  EXPECT_TRUE(validate(v1_token(c)));
  c["nbf"] = now + 301;
  EXPECT_EQ(reason_of(v1_token(c)), Reason::not_yet_valid);
  c.erase("nbf"); // nbf is optional
  EXPECT_TRUE(validate(v1_token(c)));
}

TEST_F(TokenValidatorTest, RejectsMissingExp) {
  Json c = v1_claims(*clock);
  c.erase("exp");
  EXPECT_EQ(reason_of(v1_token(c)), Reason::missing_claim);
  c["exp"] = "tomorrow";
  EXPECT_EQ(reason_of(v1_token(c)), Reason::missing_claim);
}

TEST_F(TokenValidatorTest, RejectsWrongAudience) {
  Json c = v1_claims(*clock);
  c["aud"] = "https://graph.microsoft.com";
  auto r = validate(v1_token(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::wrong_audience);
  EXPECT_NE(r.error().message.find("'https://graph.microsoft.com'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(k_audience), std::string::npos);
  c.erase("aud");
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_audience);
  c["aud"] = 42;
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_audience);
}

TEST_F(TokenValidatorTest, RejectsWrongIssuer) {
  Json c = v1_claims(*clock);
  c["iss"] = "https://evil.example/" + k_tenant + "/";
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_issuer);
  c["iss"] = v2_issuer(k_tenant); // a v2 issuer on a v1 token
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_issuer);
  c["iss"] = "https://sts.windows.net/" + util::to_lower("8F3C7D2E") + "/"; // not a GUID
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_issuer);
  c.erase("iss");
  EXPECT_EQ(reason_of(v1_token(c)), Reason::wrong_issuer);
}

TEST_F(TokenValidatorTest, RejectsIssuerTenantMismatch) {
  Json c = v1_claims(*clock);
  c["iss"] = v1_issuer(k_other_tenant); // tid stays k_tenant
  auto r = validate(v1_token(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::tenant_mismatch);
  EXPECT_NE(r.error().message.find(k_other_tenant), std::string::npos) << r.error().message;
}

TEST_F(TokenValidatorTest, RejectsTokenFromAnotherTenant) {
  auto r = validate(v1_token(v1_claims(*clock, k_other_tenant)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::untrusted_tenant);
  EXPECT_EQ(r.error().to_error().kind, ErrorKind::forbidden);
  EXPECT_NE(r.error().message.find(k_other_tenant), std::string::npos);
}

TEST_F(TokenValidatorTest, RejectsBadTenantId) {
  Json c = v1_claims(*clock);
  c["tid"] = "contoso.onmicrosoft.com";
  c["iss"] = v1_issuer("contoso.onmicrosoft.com");
  EXPECT_EQ(reason_of(v1_token(c)), Reason::bad_tenant_id);
  c.erase("tid");
  EXPECT_EQ(reason_of(v1_token(c)), Reason::bad_tenant_id);
}

TEST_F(TokenValidatorTest, RejectsUnknownKid) {
  auto r = validate(sign(v1_claims(*clock), test_key(3), "k-unknown"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::unknown_kid);
  EXPECT_NE(r.error().message.find("'k-unknown'"), std::string::npos) << r.error().message;
}

TEST_F(TokenValidatorTest, RejectsMissingKid) {
  auto token = jwt::sign({{"typ", "JWT"}}, v1_claims(*clock), test_key(1));
  ASSERT_TRUE(token);
  EXPECT_EQ(reason_of(*token), Reason::missing_kid);
  EXPECT_EQ(entra.total(), 0u);
}

TEST_F(TokenValidatorTest, RejectsTruncatedToken) {
  std::string token = v1_token();
  EXPECT_EQ(reason_of(token.substr(0, token.size() / 2)), Reason::malformed);
  EXPECT_EQ(reason_of(token.substr(0, token.find('.'))), Reason::malformed);
  EXPECT_EQ(reason_of(""), Reason::malformed);
  EXPECT_EQ(reason_of(token + ".extra"), Reason::malformed);
  // Cut 16 characters (12 bytes) from the middle of the signature: valid base64url, wrong signature.
  size_t cut = token.rfind('.') + 100;
  EXPECT_EQ(reason_of(token.substr(0, cut) + token.substr(cut + 16)), Reason::bad_signature);
}

TEST_F(TokenValidatorTest, RejectsBadBase64) {
  std::string token = v1_token();
  std::string bad = token;
  bad[token.find('.') + 5] = '*';
  EXPECT_EQ(reason_of(bad), Reason::bad_base64);
  std::string padded = token.substr(0, token.find('.')) + "=" + token.substr(token.find('.'));
  EXPECT_EQ(reason_of(padded), Reason::bad_base64);
  std::string std_alphabet = token;
  std_alphabet[token.rfind('.') + 3] = '+';
  EXPECT_EQ(reason_of(std_alphabet), Reason::bad_base64);
}

TEST_F(TokenValidatorTest, RejectsNonJson) {
  std::string claims = v1_claims(*clock).dump();
  EXPECT_EQ(reason_of(assemble("not json", claims, "sig")), Reason::not_json);
  EXPECT_EQ(reason_of(assemble(R"({"alg":"RS256","kid":"k1"})", "<html>", "sig")), Reason::not_json);
  EXPECT_EQ(reason_of(assemble(R"(["RS256"])", claims, "sig")), Reason::not_json);
  EXPECT_EQ(reason_of(assemble(R"({"alg":"RS256","kid":"k1"})", "[1,2]", "sig")), Reason::not_json);
  EXPECT_EQ(reason_of(assemble(R"({"alg":"RS256","kid":"k1"})", claims.substr(0, claims.size() - 1), "sig")),
            Reason::not_json);
}

TEST_F(TokenValidatorTest, RejectsOneMegabyteToken) {
  Json c = v1_claims(*clock);
  c["padding"] = std::string(1024 * 1024, 'x');
  auto r = validate(v1_token(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::too_large);
  EXPECT_EQ(entra.total(), 0u);
  options.max_token_size = 4096;
  EXPECT_TRUE(validate(v1_token()));
  c["padding"] = std::string(3000, 'x');
  EXPECT_EQ(reason_of(v1_token(c)), Reason::too_large);
}

TEST_F(TokenValidatorTest, RejectsDuplicateClaimsAndCritHeaders) {
  std::string claims = v1_claims(*clock).dump();
  std::string duplicated = claims.substr(0, claims.size() - 1) + R"(,"tid":")" + k_other_tenant + R"("})";
  std::string input = util::base64url_encode(R"({"alg":"RS256","kid":"k1"})") + "." + util::base64url_encode(duplicated);
  auto sig = test_key(1).sign(crypto::SignatureAlg::rs256, input);
  ASSERT_TRUE(sig);
  EXPECT_EQ(reason_of(input + "." + util::base64url_encode(*sig)), Reason::malformed);
  EXPECT_EQ(reason_of(assemble(R"({"alg":"RS256","kid":"k1","kid":"k2"})", claims, "sig")), Reason::malformed);
  auto crit = jwt::sign({{"kid", "k1"}, {"crit", {"exp"}}}, v1_claims(*clock), test_key(1));
  ASSERT_TRUE(crit);
  EXPECT_EQ(reason_of(*crit), Reason::malformed);
}

TEST_F(TokenValidatorTest, RejectsUnsupportedVersion) {
  Json c = v1_claims(*clock);
  c["ver"] = "3.0";
  EXPECT_EQ(reason_of(v1_token(c)), Reason::unsupported_version);
  c.erase("ver");
  EXPECT_EQ(reason_of(v1_token(c)), Reason::unsupported_version);
}

TEST_F(TokenValidatorTest, RejectsUntrustedApp) {
  options.allowed_app_ids = std::set<std::string, std::less<>>{"22222222-2222-2222-2222-222222222222"};
  auto r = validate(v1_token());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::untrusted_app);
  options.allowed_app_ids->insert(k_app);
  EXPECT_TRUE(validate(v1_token()));
}

TEST_F(TokenValidatorTest, MissingRolesAreNamedWithARolesDiff) {
  options.required_roles = {"AdvancedHunting.Read.All", "Incident.ReadWrite.All", "Incident.Read.All"};
  auto r = validate(v1_token());
  ASSERT_FALSE(r);
  const ValidationError& e = r.error();
  EXPECT_EQ(e.reason, Reason::missing_roles);
  EXPECT_EQ(e.tenant_id, k_tenant);
  EXPECT_EQ(e.app_id, k_app);
  EXPECT_EQ(e.missing_roles, std::vector<std::string>{"Incident.ReadWrite.All"});
  EXPECT_EQ(e.present_roles, (std::vector<std::string>{"Incident.Read.All", "AdvancedHunting.Read.All"}));
  EXPECT_NE(e.message.find("missing application roles in tenant " + k_tenant +
                           ": Incident.ReadWrite.All; the token has: Incident.Read.All, AdvancedHunting.Read.All"),
            std::string::npos)
      << e.message;
  EXPECT_EQ(e.to_error().kind, ErrorKind::forbidden);
  EXPECT_EQ(e.to_error().code, "missing_roles");

  Json c = v1_claims(*clock);
  c.erase("roles"); // Entra omits roles when nothing was granted
  r = validate(v1_token(c));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().missing_roles.size(), 3u);
  EXPECT_NE(r.error().message.find("the token has no roles"), std::string::npos) << r.error().message;

  options.required_roles.clear();
  EXPECT_EQ(reason_of(v1_token(c)), Reason::missing_roles); // no roles, no scopes: no entry
  options.require_roles_or_scopes = false;
  EXPECT_TRUE(validate(v1_token(c)));
}

TEST_F(TokenValidatorTest, MessagesNeverContainTheToken) {
  std::string token = v1_token();
  std::string forged = token.substr(0, token.rfind('.') + 1) + "AAAA";
  auto r = validate(forged);
  ASSERT_FALSE(r);
  std::string signature_part = token.substr(token.rfind('.') + 1);
  EXPECT_EQ(r.error().message.find(token.substr(0, token.find('.'))), std::string::npos);
  EXPECT_EQ(r.error().message.find(signature_part), std::string::npos);
}

// ---- signing-key issuer ----

TEST_F(TokenValidatorTest, KeyIssuerTemplateMustMatchTokenIssuer) {
  // v1 JWKS whose key claims to be for v2 issuers only.
  entra.serve_keys(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(1), "k1", k_authority + "/{tenantid}/v2.0")}));
  auto r = validate(v1_token());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::key_issuer_mismatch);
  // A key published for one specific other tenant.
  store->clear();
  entra.serve_keys(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(1), "k1", v1_issuer(k_other_tenant))}));
  EXPECT_EQ(reason_of(v1_token()), Reason::key_issuer_mismatch);
  // The matching template is accepted.
  store->clear();
  entra.serve_keys(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(1), "k1", "https://sts.windows.net/{tenantid}/")}));
  EXPECT_TRUE(validate(v1_token()));
}

// ---- rotation and caching ----

TEST_F(TokenValidatorTest, KeyRotationRefetchesOnceThenCoolsDown) {
  const std::string jwks = jwks_url(k_tenant, TokenVersion::v1);
  const std::string metadata = KeyStore::metadata_url(k_authority, k_tenant, TokenVersion::v1);
  ASSERT_TRUE(validate(v1_token()));
  EXPECT_EQ(entra.total(), 2u);

  // Entra rolls over to k2: the first token naming it triggers one JWKS re-fetch and is accepted.
  entra.serve_keys(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(1), "k1"), jwk(test_key(2), "k2")}));
  clock->advance(60s);
  auto rotated = validate(sign(v1_claims(*clock), test_key(2), "k2"));
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(entra.count(jwks), 2u);
  EXPECT_EQ(entra.count(metadata), 1u); // the metadata is not re-read for a key miss
  ASSERT_TRUE(validate(sign(v1_claims(*clock), test_key(2), "k2")));
  EXPECT_EQ(entra.count(jwks), 2u);

  // A second unknown kid within 5 minutes: no fetch, unknown_kid, even once k3 is published.
  entra.serve_keys(k_tenant, TokenVersion::v1,
                   Json::array({jwk(test_key(1), "k1"), jwk(test_key(2), "k2"), jwk(test_key(3), "k3")}));
  clock->advance(299s);
  auto early = validate(sign(v1_claims(*clock), test_key(3), "k3"));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().reason, Reason::unknown_kid);
  EXPECT_NE(early.error().message.find("at most every 300 s"), std::string::npos) << early.error().message;
  EXPECT_EQ(entra.count(jwks), 2u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(reason_of(sign(v1_claims(*clock), test_key(4), "forged")), Reason::unknown_kid);
  EXPECT_EQ(entra.count(jwks), 2u); // a flood of unknown kids costs nothing

  // 5 minutes after the last re-fetch: re-fetched, accepted.
  clock->advance(1s);
  auto later = validate(sign(v1_claims(*clock), test_key(3), "k3"));
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_EQ(entra.count(jwks), 3u);
  EXPECT_EQ(entra.count(metadata), 1u);
}

TEST_F(TokenValidatorTest, CooldownIsConfigurable) {
  store = std::make_shared<KeyStore>(entra.transport, KeyStoreOptions{.refresh_cooldown = 10s}, clock);
  ASSERT_TRUE(validate(v1_token()));
  EXPECT_EQ(reason_of(sign(v1_claims(*clock), test_key(3), "k3")), Reason::unknown_kid); // re-fetch 1
  EXPECT_EQ(reason_of(sign(v1_claims(*clock), test_key(3), "k3")), Reason::unknown_kid); // cooling down
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v1)), 2u);
  clock->advance(10s);
  EXPECT_EQ(reason_of(sign(v1_claims(*clock), test_key(3), "k3")), Reason::unknown_kid); // re-fetch 2
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v1)), 3u);
}

TEST_F(TokenValidatorTest, KeysExpireAfter24Hours) {
  ASSERT_TRUE(validate(v1_token()));
  EXPECT_EQ(entra.total(), 2u);
  clock->advance(24h - 1s);
  ASSERT_TRUE(validate(v1_token()));
  EXPECT_EQ(entra.total(), 2u);
  clock->advance(1s);
  ASSERT_TRUE(validate(v1_token()));
  EXPECT_EQ(entra.total(), 4u); // metadata and JWKS both re-read
  // A key dropped from the JWKS stops validating once the cache expires.
  entra.serve_keys(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(2), "k2")}));
  clock->advance(24h);
  EXPECT_EQ(reason_of(v1_token()), Reason::unknown_kid);
}

TEST_F(TokenValidatorTest, ExpiredKeysFailClosedWhenTheRefetchFails) {
  ASSERT_TRUE(validate(v1_token()));
  entra.set(jwks_url(k_tenant, TokenVersion::v1), 503, "Service Unavailable");
  clock->advance(24h);
  auto r = validate(v1_token());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::key_fetch_failed);
  EXPECT_NE(r.error().message.find("HTTP 503"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().to_error().kind, ErrorKind::server);
  EXPECT_EQ(r.error().to_error().http_status, 503);
  EXPECT_EQ(r.error().to_error().code, "key_fetch_failed");
}

TEST_F(TokenValidatorTest, ConcurrentValidationSharesOneFetch) {
  entra.serve_keys(k_tenant, TokenVersion::v1, Json::array({jwk(test_key(1), "k1"), jwk(test_key(2), "k2")}));
  const TokenValidator shared = validator();
  const std::string t1 = v1_token();
  const std::string t2 = sign(v1_claims(*clock), test_key(2), "k2");
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i)
        if (shared.validate((t + i) % 2 ? t1 : t2)) ++accepted;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), 80);
  EXPECT_EQ(entra.total(), 2u); // one metadata and one JWKS fetch for all threads
}

TEST_F(TokenValidatorTest, BadOptionsAreProgrammingErrors) {
  options.accepted_audiences.clear();
  EXPECT_THROW(validator(), Fatal);
  options.accepted_audiences = {k_audience};
  options.expected_tenant = "contoso.onmicrosoft.com";
  EXPECT_THROW(validator(), Fatal);
  options.expected_tenant = util::to_lower(k_tenant);
  options.allowed_tenants = std::set<std::string, std::less<>>{"common"};
  EXPECT_THROW(validator(), Fatal);
}

TEST(ValidateReason, NamesAreSnakeCase) {
  EXPECT_EQ(to_string(Reason::unsupported_alg), "unsupported_alg");
  EXPECT_EQ(to_string(Reason::key_issuer_mismatch), "key_issuer_mismatch");
  EXPECT_EQ(to_string(Reason::missing_roles), "missing_roles");
  EXPECT_EQ(to_string(TokenVersion::v2), "2.0");
}

} // namespace
