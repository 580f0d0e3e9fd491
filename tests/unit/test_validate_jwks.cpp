#include <gtest/gtest.h>

#include <xdr/validate/jwks.hpp>

#include "test_validate_env.hpp"

using namespace xdr;
using namespace xdr::validate;
using namespace xdr::validate::test_env;
using namespace std::chrono_literals;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ValidateJwks, MetadataUrls) {
  EXPECT_EQ(KeyStore::metadata_url("https://login.microsoftonline.com", "T", TokenVersion::v1),
            "https://login.microsoftonline.com/T/.well-known/openid-configuration");
  EXPECT_EQ(KeyStore::metadata_url("https://login.microsoftonline.us/", "T", TokenVersion::v2),
            "https://login.microsoftonline.us/T/v2.0/.well-known/openid-configuration");
  EXPECT_EQ(KeyStore::metadata_url("http://127.0.0.1:8400", "common", TokenVersion::v2),
            "http://127.0.0.1:8400/common/v2.0/.well-known/openid-configuration");
}

TEST(ValidateJwks, IssuerTemplates) {
  EXPECT_EQ(make_issuer_template("https://sts.windows.net/" + k_tenant + "/"), "https://sts.windows.net/{tenantid}/");
  EXPECT_EQ(make_issuer_template("https://login.microsoftonline.com/" + k_tenant + "/v2.0"),
            "https://login.microsoftonline.com/{tenantid}/v2.0");
  EXPECT_EQ(make_issuer_template("https://login.microsoftonline.com/{tenantid}/v2.0"),
            "https://login.microsoftonline.com/{tenantid}/v2.0");
  EXPECT_EQ(make_issuer_template("http://127.0.0.1:8400/" + k_tenant + "/v2.0"), "http://127.0.0.1:8400/{tenantid}/v2.0");
  EXPECT_EQ(make_issuer_template("https://issuer.example/"), "https://issuer.example/");
  EXPECT_EQ(make_issuer_template("https://issuer.example/not-a-guid/x"), "https://issuer.example/not-a-guid/x");
  EXPECT_EQ(expand_issuer("https://sts.windows.net/{tenantid}/", k_tenant), "https://sts.windows.net/" + k_tenant + "/");
  EXPECT_EQ(expand_issuer("https://a/{tenantid}/{tenantid}", "t"), "https://a/t/t");
  EXPECT_EQ(expand_issuer("https://fixed/", "t"), "https://fixed/");
}

TEST(ValidateJwks, ParsesRsaKeysAndSkipsTheRest) {
  auto cert = crypto::make_certificate(test_key(2), {"accounts.accesscontrol.windows.net", 30, false, {}, {}});
  ASSERT_TRUE(cert);
  Json with_x5c = jwk(test_key(2), "k2", "https://login.microsoftonline.com/{tenantid}/v2.0");
  with_x5c["x5c"] = {util::base64_encode(cert->der())};
  Json wrong_x5c = jwk(test_key(3), "k3");
  wrong_x5c["x5c"] = {util::base64_encode(cert->der())}; // certificate of k2, n/e of k3
  Json ec = {{"kty", "EC"}, {"kid", "ec"}, {"crv", "P-256"}, {"x", "AA"}, {"y", "AA"}};
  Json enc = jwk(test_key(1), "enc");
  enc["use"] = "enc";
  Json no_kid = jwk(test_key(1), "x");
  no_kid.erase("kid");
  Json bad_n = jwk(test_key(1), "bad-n");
  bad_n["n"] = "!!";
  Json small = jwk(crypto::RsaPrivateKey::generate_deterministic("xdr-validate-test/small", 1024), "small");
  Json rs384 = jwk(test_key(1), "rs384");
  rs384["alg"] = "RS384";
  Json keys = Json::array({jwk(test_key(1), "k1"), with_x5c, wrong_x5c, ec, enc, no_kid, bad_n, small, rs384,
                           jwk(test_key(3), "k1"), "not an object"});
  std::vector<std::string> skipped;
  auto parsed = parse_jwks(Json{{"keys", keys}}.dump(), 32, &skipped);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].kid, "k1");
  EXPECT_EQ((*parsed)[0].x5t, "k1");
  EXPECT_TRUE((*parsed)[0].issuer.empty());
  EXPECT_EQ((*parsed)[0].public_key.modulus(), test_key(1).public_key().modulus());
  EXPECT_EQ((*parsed)[1].kid, "k2");
  EXPECT_EQ((*parsed)[1].issuer, "https://login.microsoftonline.com/{tenantid}/v2.0");
  EXPECT_EQ((*parsed)[1].x5c.size(), 1u);
  EXPECT_NE((*parsed)[0].id, (*parsed)[1].id);
  ASSERT_EQ(skipped.size(), 9u) << util::join(skipped, "\n");
  std::string all = util::join(skipped, "\n");
  EXPECT_TRUE(contains(all, "key 'k3' has an x5c certificate whose public key is not the key's n/e")) << all;
  EXPECT_TRUE(contains(all, "key 'ec' has kty 'EC'; only RSA keys are used")) << all;
  EXPECT_TRUE(contains(all, "key 'enc' is not a signature key")) << all;
  EXPECT_TRUE(contains(all, "has no kid")) << all;
  EXPECT_TRUE(contains(all, "key 'bad-n' has a missing or non-base64url modulus")) << all;
  EXPECT_TRUE(contains(all, "key 'small' is a 1024-bit RSA key")) << all;
  EXPECT_TRUE(contains(all, "key 'rs384' is for alg 'RS384'")) << all;
  EXPECT_TRUE(contains(all, "key 'k1' appears more than once")) << all;
  EXPECT_TRUE(contains(all, "key 10 is not a JSON object")) << all;
}

TEST(ValidateJwks, BoundsTheNumberOfKeys) {
  Json keys = Json::array();
  for (int i = 0; i < 5; ++i) keys.push_back(jwk(test_key(1 + i % 3), "k" + std::to_string(i)));
  std::vector<std::string> skipped;
  auto parsed = parse_jwks(Json{{"keys", keys}}.dump(), 3, &skipped);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->size(), 3u);
  ASSERT_EQ(skipped.size(), 2u);
  EXPECT_TRUE(contains(skipped[0], "beyond the limit of 3 keys"));
}

TEST(ValidateJwks, RejectsDocumentsThatAreNotAJwks) {
  auto html = parse_jwks("<!DOCTYPE html><html>sign in</html>", 8);
  ASSERT_FALSE(html);
  EXPECT_TRUE(contains(html.error().message, "not valid JSON (received an HTML page)")) << html.error().message;
  auto no_keys = parse_jwks(R"({"issuer":"x"})", 8);
  ASSERT_FALSE(no_keys);
  EXPECT_TRUE(contains(no_keys.error().message, "no \"keys\" array"));
  auto empty = parse_jwks(R"({"keys":[]})", 8);
  ASSERT_FALSE(empty);
  EXPECT_TRUE(contains(empty.error().message, "no usable RSA signing key (the \"keys\" array is empty)"));
  auto only_ec = parse_jwks(R"({"keys":[{"kty":"EC","kid":"e"}]})", 8);
  ASSERT_FALSE(only_ec);
  EXPECT_TRUE(contains(only_ec.error().message, "kty 'EC'"));
}

TEST(ValidateJwks, VerifyRs256WithCachedAndUncachedContexts) {
  auto parsed = parse_jwks(Json{{"keys", {jwk(test_key(1), "k1")}}}.dump(), 8);
  ASSERT_TRUE(parsed);
  const SigningKey& key = parsed->front();
  auto sig = test_key(1).sign(crypto::SignatureAlg::rs256, "header.payload");
  ASSERT_TRUE(sig);
  EXPECT_TRUE(key.verify_rs256("header.payload", *sig));
  EXPECT_TRUE(key.verify_rs256("header.payload", *sig)); // the thread's context is reused
  EXPECT_FALSE(key.verify_rs256("header.payloaD", *sig));
  EXPECT_FALSE(key.verify_rs256("header.payload", sig->substr(1)));
  EXPECT_FALSE(key.verify_rs256("header.payload", ""));
  EXPECT_TRUE(key.verify_rs256("header.payload", *sig)); // usable after failures
  auto ps = test_key(1).sign(crypto::SignatureAlg::ps256, "header.payload");
  ASSERT_TRUE(ps);
  EXPECT_FALSE(key.verify_rs256("header.payload", *ps)); // PSS is not PKCS#1 v1.5

  SigningKey manual; // id 0: not from parse_jwks, verified without the per-thread cache
  manual.kid = "m";
  manual.public_key = test_key(1).public_key();
  EXPECT_TRUE(manual.verify_rs256("header.payload", *sig));
  EXPECT_FALSE(manual.verify_rs256("header.payloaD", *sig));
  EXPECT_FALSE(SigningKey{}.verify_rs256("header.payload", *sig));
}

class KeyStoreTest : public ::testing::Test {
protected:
  KeyStoreTest() { entra.serve(k_tenant, TokenVersion::v2, Json::array({jwk(test_key(1), "k1")})); }

  Result<KeyMatch> find(const std::string& kid = "k1", const std::string& tenant = k_tenant) {
    return store.find(k_authority, tenant, TokenVersion::v2, kid);
  }
  std::string metadata() const { return KeyStore::metadata_url(k_authority, k_tenant, TokenVersion::v2); }

  std::shared_ptr<xdr::testing::FakeClock> clock = std::make_shared<xdr::testing::FakeClock>();
  EntraDouble entra;
  KeyStore store{entra.transport, KeyStoreOptions{}, clock};
};

TEST_F(KeyStoreTest, FetchesMetadataThenJwks) {
  auto m = find();
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->key->kid, "k1");
  EXPECT_EQ(m->set->issuer, v2_issuer(k_tenant));
  EXPECT_EQ(m->set->issuer_template, k_authority + "/{tenantid}/v2.0");
  EXPECT_EQ(m->set->jwks_uri, jwks_url(k_tenant, TokenVersion::v2));
  EXPECT_EQ(m->set->metadata_url, metadata());
  EXPECT_EQ(m->set->fetched_at, clock->now());
  auto requests = entra.transport->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].url, metadata());
  EXPECT_EQ(requests[0].headers.get("accept"), "application/json");
  EXPECT_EQ(requests[1].url, jwks_url(k_tenant, TokenVersion::v2));
  // Tenant case and a trailing slash on the authority name the same source.
  ASSERT_TRUE(store.find(k_authority + "/", util::to_lower(k_tenant), TokenVersion::v2, "k1"));
  EXPECT_EQ(entra.total(), 2u);
}

TEST_F(KeyStoreTest, KeySetFetchesOnceAndExpires) {
  auto set = store.key_set(k_authority, k_tenant, TokenVersion::v2);
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)->keys.size(), 1u);
  ASSERT_TRUE(store.key_set(k_authority, k_tenant, TokenVersion::v2));
  EXPECT_EQ(entra.total(), 2u);
  clock->advance(24h);
  ASSERT_TRUE(store.key_set(k_authority, k_tenant, TokenVersion::v2));
  EXPECT_EQ(entra.total(), 4u);
}

TEST_F(KeyStoreTest, MetadataHtmlPageIsAClearError) {
  entra.set(metadata(), 200, "<!DOCTYPE html><html><body>Sign in to your account</body></html>");
  auto m = find();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, k_key_fetch_failed_code);
  EXPECT_EQ(m.error().kind, ErrorKind::invalid_response);
  EXPECT_TRUE(contains(m.error().message, "the OpenID configuration at " + metadata() +
                                              " is not valid JSON (received an HTML page)"))
      << m.error().message;
}

TEST_F(KeyStoreTest, Metadata404IsNotFound) {
  auto m = store.find(k_authority, k_other_tenant, TokenVersion::v2, "k1");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::not_found);
  EXPECT_EQ(m.error().http_status, 404);
  EXPECT_TRUE(contains(m.error().message, "answered HTTP 404 (received an HTML page); check the authority and the tenant"))
      << m.error().message;
}

TEST_F(KeyStoreTest, UnknownTenantQuotesEntraError) {
  entra.set(metadata(), 400,
            R"({"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'x' not found. Check to make sure you have the correct tenant ID.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[90002]})");
  auto m = find();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::not_found);
  EXPECT_TRUE(contains(m.error().message, "(AADSTS90002: Tenant 'x' not found. Check to make sure you have the correct tenant ID.)"))
      << m.error().message;
  EXPECT_FALSE(contains(m.error().message, "Trace ID"));
}

TEST_F(KeyStoreTest, TransportFailureIsAClearError) {
  entra.set(metadata(), -1, "");
  auto m = find();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::transport);
  EXPECT_EQ(m.error().code, k_key_fetch_failed_code);
  EXPECT_TRUE(contains(m.error().message, "could not fetch the OpenID configuration from " + metadata() +
                                              ": connection refused"))
      << m.error().message;
}

TEST_F(KeyStoreTest, NonJsonJwksAndIncompleteMetadata) {
  entra.set(jwks_url(k_tenant, TokenVersion::v2), 200, "keys go here");
  auto m = find();
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().message, "the JWKS at " + jwks_url(k_tenant, TokenVersion::v2) +
                                              " is unusable: it is not valid JSON (received 12 bytes of non-JSON text)"))
      << m.error().message;

  entra.set(metadata(), 200, R"({"issuer":"https://login.microsoftonline.com/x/v2.0"})");
  clock->advance(1h);
  m = find();
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().message, "has no http(s) \"jwks_uri\"")) << m.error().message;
  entra.set(metadata(), 200, R"({"jwks_uri":"https://login.microsoftonline.com/x/keys"})");
  clock->advance(1h);
  m = find();
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().message, "has no \"issuer\"")) << m.error().message;
  entra.set(metadata(), 200, std::string(600 * 1024, ' '));
  clock->advance(1h);
  m = find();
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().message, "more than the 524288 accepted")) << m.error().message;
}

TEST_F(KeyStoreTest, FailedFetchesAreNotRetriedBeforeTheRetryInterval) {
  entra.set(metadata(), 503, R"({"error":"temporarily_unavailable","error_description":"busy"})");
  auto m = find();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::server);
  EXPECT_EQ(entra.total(), 1u);
  clock->advance(29s);
  m = find();
  ASSERT_FALSE(m);
  EXPECT_TRUE(contains(m.error().message, "is retried after")) << m.error().message;
  EXPECT_EQ(entra.total(), 1u);
  entra.serve_metadata(k_tenant, TokenVersion::v2);
  clock->advance(1s);
  ASSERT_TRUE(find());
  EXPECT_EQ(entra.total(), 3u);
}

TEST_F(KeyStoreTest, UnknownKidErrorCarriesCode) {
  auto m = find("nope");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().kind, ErrorKind::invalid_token);
  EXPECT_EQ(m.error().code, k_unknown_kid_code);
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v2)), 1u); // the initial fetch
  // The next miss may re-fetch once, however soon (a rollover can happen at any time), then the
  // cooldown applies.
  ASSERT_FALSE(find("nope"));
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v2)), 2u);
  ASSERT_FALSE(find("nope"));
  EXPECT_EQ(entra.count(jwks_url(k_tenant, TokenVersion::v2)), 2u);
}

TEST_F(KeyStoreTest, BoundsTheNumberOfSources) {
  KeyStore small(entra.transport, KeyStoreOptions{.max_sources = 2}, clock);
  for (const std::string& t : {k_tenant, k_other_tenant, std::string("common")})
    entra.serve(t, TokenVersion::v2, Json::array({jwk(test_key(1), "k1")}));
  ASSERT_TRUE(small.find(k_authority, k_tenant, TokenVersion::v2, "k1"));
  clock->advance(1s);
  ASSERT_TRUE(small.find(k_authority, k_other_tenant, TokenVersion::v2, "k1"));
  clock->advance(1s);
  ASSERT_TRUE(small.find(k_authority, "common", TokenVersion::v2, "k1")); // evicts k_tenant (oldest)
  EXPECT_EQ(entra.total(), 6u);
  ASSERT_TRUE(small.find(k_authority, "common", TokenVersion::v2, "k1"));
  ASSERT_TRUE(small.find(k_authority, k_other_tenant, TokenVersion::v2, "k1"));
  EXPECT_EQ(entra.total(), 6u);
  ASSERT_TRUE(small.find(k_authority, k_tenant, TokenVersion::v2, "k1")); // fetched again
  EXPECT_EQ(entra.total(), 8u);
}

TEST(ValidateKeyStore, RejectsUnusableConfiguration) {
  auto transport = std::make_shared<xdr::testing::FakeTransport>();
  EXPECT_THROW(KeyStore(nullptr), Fatal);
  EXPECT_THROW(KeyStore(transport, KeyStoreOptions{.max_keys_per_source = 0}), Fatal);
}

} // namespace

TEST_F(KeyStoreTest, KeysAreFetchedOverHttpsOnly) {
  auto insecure = store.find("http://login.microsoftonline.com", k_tenant, TokenVersion::v2, "k1");
  ASSERT_FALSE(insecure);
  EXPECT_EQ(insecure.error().kind, ErrorKind::config);
  EXPECT_NE(insecure.error().message.find("https only"), std::string::npos);
  EXPECT_EQ(entra.total(), 0u) << "nothing is fetched over plain http";
  // Metadata that points the keys at plain http is refused too.
  Json doc = {{"issuer", v2_issuer("other")}, {"jwks_uri", "http://evil.example.com/keys"}};
  entra.set(KeyStore::metadata_url(k_authority, "other", TokenVersion::v2), 200, doc.dump());
  auto redirected = store.find(k_authority, "other", TokenVersion::v2, "k1");
  ASSERT_FALSE(redirected);
  EXPECT_NE(redirected.error().message.find("plain-http jwks_uri"), std::string::npos);
}

TEST_F(KeyStoreTest, EvictsTheLeastRecentlyUsedSource) {
  KeyStore small{entra.transport, KeyStoreOptions{.max_sources = 2}, clock};
  for (std::string t : {"t1", "t2", "t3"}) entra.serve(t, TokenVersion::v2, Json::array({jwk(test_key(1), "k1")}));
  ASSERT_TRUE(small.find(k_authority, "t1", TokenVersion::v2, "k1"));
  ASSERT_TRUE(small.find(k_authority, "t2", TokenVersion::v2, "k1"));
  ASSERT_TRUE(small.find(k_authority, "t1", TokenVersion::v2, "k1")); // t1 is hot, t2 is not
  size_t before = entra.total();
  ASSERT_TRUE(small.find(k_authority, "t3", TokenVersion::v2, "k1")); // evicts t2
  ASSERT_TRUE(small.find(k_authority, "t1", TokenVersion::v2, "k1"));
  EXPECT_EQ(entra.total(), before + 2) << "t1 stayed cached; only t3 was fetched";
  ASSERT_TRUE(small.find(k_authority, "t2", TokenVersion::v2, "k1"));
  EXPECT_EQ(entra.total(), before + 4) << "t2 was the one evicted";
}
