#include <gtest/gtest.h>

#include <xdr/crypto/crypto.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>

using namespace xdr;

TEST(Crypto, DeterministicKeysAreDeterministicAndWork) {
  auto k1 = crypto::RsaPrivateKey::generate_deterministic("seed-7/key-1", 2048);
  auto k2 = crypto::RsaPrivateKey::generate_deterministic("seed-7/key-1", 2048);
  auto k3 = crypto::RsaPrivateKey::generate_deterministic("seed-7/key-2", 2048);
  EXPECT_EQ(k1.public_key().modulus(), k2.public_key().modulus());
  EXPECT_NE(k1.public_key().modulus(), k3.public_key().modulus());
  EXPECT_EQ(k1.public_key().bits(), 2048);
  for (auto alg : {crypto::SignatureAlg::rs256, crypto::SignatureAlg::ps256}) {
    auto sig = k1.sign(alg, "hello");
    ASSERT_TRUE(sig);
    EXPECT_TRUE(k1.public_key().verify(alg, "hello", *sig));
    EXPECT_FALSE(k1.public_key().verify(alg, "hellO", *sig));
    EXPECT_FALSE(k3.public_key().verify(alg, "hello", *sig));
  }
}

TEST(Crypto, CertificatesAndPkcs12) {
  auto ca_key = crypto::RsaPrivateKey::generate(2048);
  auto ca = crypto::make_certificate(ca_key, {.common_name = "test CA", .valid_days = 30, .is_ca = true});
  ASSERT_TRUE(ca);
  auto leaf_key = crypto::RsaPrivateKey::generate(2048);
  auto leaf = crypto::make_certificate(leaf_key, {.common_name = "localhost", .valid_days = 30, .dns_names = {"localhost"}, .ip_addresses = {"127.0.0.1"}}, &ca_key, &*ca);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(leaf->thumbprint_sha1().size(), 20u);
  EXPECT_EQ(leaf->thumbprint_sha256().size(), 32u);
  auto again = crypto::Certificate::from_pem(leaf->pem());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->der(), leaf->der());
  auto p12 = crypto::make_pkcs12(leaf_key, *leaf, "pw");
  ASSERT_TRUE(p12);
  auto bundle = crypto::load_pkcs12(*p12, "pw");
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->certificate.der(), leaf->der());
  auto wrong = crypto::load_pkcs12(*p12, "nope");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("wrong password"), std::string::npos);
}

TEST(Jwt, SignDecodeRoundTrip) {
  auto key = crypto::RsaPrivateKey::generate_deterministic("jwt-test", 2048);
  Json payload = {{"aud", "https://api.security.microsoft.com"}, {"exp", 1}};
  auto token = jwt::sign({{"typ", "JWT"}, {"kid", "k1"}}, payload, key);
  ASSERT_TRUE(token);
  auto d = jwt::decode(*token);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->header["alg"], "RS256");
  EXPECT_EQ(d->payload, payload);
  EXPECT_TRUE(key.public_key().verify(crypto::SignatureAlg::rs256, d->signing_input, d->signature));
  EXPECT_EQ(jwt::decode("a.b").error().reason, jwt::DecodeError::not_three_parts);
  EXPECT_EQ(jwt::decode("a!.b.c").error().reason, jwt::DecodeError::bad_base64);
  EXPECT_EQ(jwt::decode(util::base64url_encode("nope") + ".e30.").error().reason, jwt::DecodeError::not_json);
  EXPECT_EQ(jwt::decode(std::string(70000, 'a')).error().reason, jwt::DecodeError::too_large);
}
