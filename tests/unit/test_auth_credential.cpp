#include <gtest/gtest.h>

#include <sstream>
#include <type_traits>

#include <xdr/auth/credential.hpp>
#include <xdr/auth/secret.hpp>
#include <xdr/jwt/token.hpp>
#include <xdr/util/base64.hpp>
#include <xdr/util/strings.hpp>

#include "auth_test_support.hpp"
#include "fakes/fake_clock.hpp"

using namespace xdr;
using namespace xdr::auth;
namespace tst = xdr::testing;
using xdr::testing::TempDir;

namespace {

template <class T, class = void>
struct is_streamable : std::false_type {};
template <class T>
struct is_streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

} // namespace

TEST(AuthSecret, DoesNotPrintAndWipes) {
  static_assert(!is_streamable<Secret>::value, "a Secret must not be printable with operator<<");
  Secret s("hunter2-is-the-password");
  EXPECT_EQ(s.reveal(), "hunter2-is-the-password");
  EXPECT_EQ(::testing::PrintToString(s).find("hunter2"), std::string::npos);
  Secret moved(std::move(s));
  EXPECT_TRUE(s.empty()); // NOLINT(bugprone-use-after-move): checking the moved-from state on purpose
  EXPECT_EQ(moved.reveal(), "hunter2-is-the-password");
  Secret copy = moved;
  EXPECT_EQ(copy, moved);
  copy.wipe();
  EXPECT_TRUE(copy.empty());
}

TEST(AuthSecret, FileMustBeOwnerOnly) {
  TempDir dir;
  std::string ok = dir.write("secret.txt", std::string(tst::k_secret) + "\n", 0600);
  auto s = read_secret_file(ok, "client secret file");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->reveal(), tst::k_secret);

  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    std::string p = dir.write("open.txt", tst::k_secret, mode);
    auto r = read_secret_file(p, "client secret file");
    ASSERT_FALSE(r) << std::oct << mode;
    EXPECT_EQ(r.error().kind, ErrorKind::config);
    EXPECT_NE(r.error().message.find("chmod 600 " + p), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find(tst::k_secret), std::string::npos);
  }
  auto empty = read_secret_file(dir.write("empty.txt", "\n"), "client secret file");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("is empty"), std::string::npos);
  auto missing = read_secret_file(dir.file("nope.txt"), "client secret file");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("nope.txt"), std::string::npos);
  auto crlf = read_secret_file(dir.write("crlf.txt", "abc\r\n"), "client secret file");
  ASSERT_TRUE(crlf);
  EXPECT_EQ(crlf->reveal(), "abc");
}

TEST(AuthSecret, FromStream) {
  std::istringstream in(std::string(tst::k_secret) + "\nignored\n");
  auto s = read_secret_stream(in);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reveal(), tst::k_secret);
  std::istringstream empty("");
  EXPECT_FALSE(read_secret_stream(empty));
}

TEST(AuthCredential, SecretCredential) {
  ClientSecretCredential c(tst::k_client_id, Secret(tst::k_secret));
  auto auth = c.client_auth("https://login.microsoftonline.com/t/oauth2/v2.0/token");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->kind, ClientAuthKind::secret);
  EXPECT_EQ(auth->value.reveal(), tst::k_secret);
  EXPECT_EQ(c.description().find(tst::k_secret), std::string::npos);
  EXPECT_THROW(ClientSecretCredential("", Secret("x")), Fatal);
}

TEST(AuthCredential, AssertionClaimsRs256WithX5t) {
  const auto& tc = tst::test_certificate();
  auto clock = std::make_shared<tst::FakeClock>(1'767'225'600);
  CertificateCredentialOptions o;
  o.algorithm = AssertionAlgorithm::rs256_x5t;
  o.clock = clock;
  auto cred = ClientCertificateCredential::create(tst::k_client_id, tc.key, tc.cert, {}, o);
  ASSERT_TRUE(cred) << cred.error().message;
  const std::string aud = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
  auto a1 = (*cred)->make_assertion(aud);
  auto a2 = (*cred)->make_assertion(aud);
  ASSERT_TRUE(a1 && a2);
  auto d = jwt::decode(a1->reveal());
  ASSERT_TRUE(d);
  EXPECT_EQ(d->header["alg"], "RS256");
  EXPECT_EQ(d->header["typ"], "JWT");
  EXPECT_EQ(d->header["x5t"], util::base64url_encode(tc.cert.thumbprint_sha1()));
  EXPECT_FALSE(d->header.contains("x5t#S256"));
  EXPECT_FALSE(d->header.contains("x5c"));
  EXPECT_EQ(d->payload["aud"], aud);
  EXPECT_EQ(d->payload["iss"], tst::k_client_id);
  EXPECT_EQ(d->payload["sub"], tst::k_client_id);
  EXPECT_EQ(d->payload["nbf"], 1'767'225'600);
  EXPECT_EQ(d->payload["iat"], 1'767'225'600);
  EXPECT_EQ(d->payload["exp"], 1'767'225'600 + 600);
  EXPECT_TRUE(util::is_guid(d->payload["jti"].get<std::string>()));
  EXPECT_NE(jwt::decode(a2->reveal())->payload["jti"], d->payload["jti"]);
  EXPECT_TRUE(tc.cert.public_key().verify(crypto::SignatureAlg::rs256, d->signing_input, d->signature));
}

TEST(AuthCredential, KeyMustMatchCertificate) {
  const auto& tc = tst::test_certificate();
  auto r = ClientCertificateCredential::create(tst::k_client_id, tc.ca_key, tc.cert, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not belong to the certificate"), std::string::npos);
}

TEST(AuthCredential, LoadsPemOneFileTwoFilesAndPkcs12) {
  const auto& tc = tst::test_certificate();
  TempDir dir;
  // Certificate, chain and key in one PEM file (chain first, to check the leaf is found by key).
  std::string combined = dir.write("app.pem", tc.ca.pem() + tc.cert.pem() + tc.key.to_pem(), 0600);
  auto one = ClientCertificateCredential::from_files(tst::k_client_id, {combined, "", Secret(), ""});
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ((*one)->certificate().der(), tc.cert.der());

  // Certificate and key in two files.
  std::string cert_only = dir.write("app.crt", tc.cert.pem(), 0644);
  std::string key_only = dir.write("app.key", tc.key.to_pem(), 0600);
  auto two = ClientCertificateCredential::from_files(tst::k_client_id, {cert_only, key_only, Secret(), ""});
  ASSERT_TRUE(two) << two.error().message;

  // A key file others can read is refused.
  ::chmod(key_only.c_str(), 0644);
  auto open_key = ClientCertificateCredential::from_files(tst::k_client_id, {cert_only, key_only, Secret(), ""});
  ASSERT_FALSE(open_key);
  EXPECT_NE(open_key.error().message.find("chmod 600 " + key_only), std::string::npos);

  // A PEM with no key and no key file.
  auto no_key = ClientCertificateCredential::from_files(tst::k_client_id, {cert_only, "", Secret(), ""});
  ASSERT_FALSE(no_key);
  EXPECT_NE(no_key.error().message.find("no private key"), std::string::npos);

  // PKCS#12 with a password, given directly or in a password file.
  auto p12 = crypto::make_pkcs12(tc.key, tc.cert, "pfx-password");
  ASSERT_TRUE(p12);
  std::string pfx = dir.write("app.pfx", *p12, 0644);
  auto from_pfx = ClientCertificateCredential::from_files(tst::k_client_id, {pfx, "", Secret("pfx-password"), ""});
  ASSERT_TRUE(from_pfx) << from_pfx.error().message;
  std::string pw_file = dir.write("pfx.pw", "pfx-password\n", 0600);
  EXPECT_TRUE(ClientCertificateCredential::from_files(tst::k_client_id, {pfx, "", Secret(), pw_file}));
  auto wrong = ClientCertificateCredential::from_files(tst::k_client_id, {pfx, "", Secret("nope"), ""});
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("wrong password"), std::string::npos);
  EXPECT_NE(wrong.error().message.find(pfx), std::string::npos);
}

TEST(AuthCredential, FromEnvironment) {
  auto missing_id = from_environment(tst::env_of({{"AZURE_CLIENT_SECRET", "x"}}));
  ASSERT_FALSE(missing_id);
  EXPECT_NE(missing_id.error().message.find("AZURE_CLIENT_ID"), std::string::npos);

  auto no_cred = from_environment(tst::env_of({{"AZURE_CLIENT_ID", tst::k_client_id}}));
  ASSERT_FALSE(no_cred);
  EXPECT_NE(no_cred.error().message.find("AZURE_CLIENT_SECRET"), std::string::npos);

  auto secret = from_environment(tst::env_of({{"AZURE_CLIENT_ID", tst::k_client_id},
                                                  {"AZURE_CLIENT_SECRET", tst::k_secret},
                                                  {"AZURE_TENANT_ID", tst::k_tenant_a},
                                                  {"AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443"}}));
  ASSERT_TRUE(secret) << secret.error().message;
  EXPECT_EQ(secret->credential->client_id(), tst::k_client_id);
  EXPECT_EQ(secret->credential->description(), "client secret");
  EXPECT_EQ(secret->tenant_id, tst::k_tenant_a);
  EXPECT_EQ(secret->authority_host, "https://127.0.0.1:8443");

  const auto& tc = tst::test_certificate();
  TempDir dir;
  std::string pfx = dir.write("app.pfx", *crypto::make_pkcs12(tc.key, tc.cert, "pw"), 0600);
  auto cert = from_environment(tst::env_of({{"AZURE_CLIENT_ID", tst::k_client_id},
                                                {"AZURE_CLIENT_CERTIFICATE_PATH", pfx},
                                                {"AZURE_CLIENT_CERTIFICATE_PASSWORD", "pw"}}));
  ASSERT_TRUE(cert) << cert.error().message;
  EXPECT_EQ(cert->credential->description().rfind("certificate ", 0), 0u);
  auto bad_pw = from_environment(tst::env_of({{"AZURE_CLIENT_ID", tst::k_client_id},
                                                  {"AZURE_CLIENT_CERTIFICATE_PATH", pfx},
                                                  {"AZURE_CLIENT_CERTIFICATE_PASSWORD", "wrong-password-value"}}));
  ASSERT_FALSE(bad_pw);
  EXPECT_NE(bad_pw.error().message.find("AZURE_CLIENT_CERTIFICATE_PATH"), std::string::npos);
  EXPECT_EQ(bad_pw.error().message.find("wrong-password-value"), std::string::npos);
}
