// Token lifetime in the cache against the emulator: the persistent file shared by processes, and a
// tenant that revokes consent while its token is cached.

#include "auth_emulator_support.hpp"
#include "unit/fakes/fake_clock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <xdr/auth/aadsts.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

class AuthCacheTest : public AuthEmulatorTest {
protected:
  auth::AuthClientOptions with_file() const {
    auth::AuthClientOptions o;
    o.persistent_cache_path = cache_file.string();
    return o;
  }
  std::filesystem::path cache_file = dir.path / "tokens.json";
};

TEST_F(AuthCacheTest, SecondClientOnTheSameFileGetsTheCachedToken) {
  std::string token;
  {
    auto first = make_client(secret_credential(), nullptr, with_file());
    auto r = first->get_token(k_fabrikam, "xdr");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->from_cache);
    token = r->value().reveal();
  }
  auto second = make_client(secret_credential(), nullptr, with_file());
  auto r = second->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->from_cache);
  EXPECT_EQ(r->value().reveal(), token);
  EXPECT_EQ(token_requests(), 1u);

  struct stat st {};
  ASSERT_EQ(::stat(cache_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string text = read_text(cache_file);
  EXPECT_NE(text.find(token), std::string::npos) << "the file holds the token";
  EXPECT_EQ(text.find(identity.secret), std::string::npos) << "the file never holds the client secret";
  EXPECT_EQ(text.find(util::form_encode(identity.secret)), std::string::npos);
}

TEST_F(AuthCacheTest, AnotherProcessReadsTheFileAndTheCertificateKeyNeverLandsInIt) {
  auto pem = dir.path / "app.pem";
  write_private(pem, cert().pem() + identity.cert_key.to_pem());
  auto make_cert_client = [&] {
    auto cred = auth::ClientCertificateCredential::from_files(k_app, {pem.string()});
    EXPECT_TRUE(cred);
    return make_client(*cred, nullptr, with_file());
  };
  auto parent = make_cert_client();
  auto r = parent->get_token(k_northwind, "xdr");
  ASSERT_TRUE(r) << r.error().message;
  const std::string token = r->value().reveal();

  // The child is a separate process with its own transport, client and cache; exit code 0: it got
  // the same token from the file, 1: a different token, 2: from the network, 3: an error.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 3;
    {
      auto cred = auth::ClientCertificateCredential::from_files(k_app, {pem.string()});
      http::TransportOptions to;
      to.ca_file = emulator->ca_file();
      auth::AuthClientOptions o = with_file();
      o.authority_host = emulator->url();
      auto client = cred ? auth::AuthClient::create(*cred, std::make_shared<http::CurlTransport>(to), o)
                         : Result<std::unique_ptr<auth::AuthClient>>(tl::unexpected(cred.error()));
      if (!client) std::fprintf(stderr, "child: %s\n", client.error().message.c_str());
      if (client) {
        auto got = (*client)->get_token(k_northwind, "xdr");
        if (got) code = !got->from_cache ? 2 : got->value().reveal() == token ? 0 : 1;
        else std::fprintf(stderr, "child: %s\n", got.error().message.c_str());
      }
    }
    ::_exit(code);
  }
  int status = 0;
  for (int waited = 0; waited < 400 && ::waitpid(pid, &status, WNOHANG) == 0; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (::waitpid(pid, &status, WNOHANG) == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "the child process did not finish";
  }
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(token_requests(), 1u);
  const std::string text = read_text(cache_file);
  EXPECT_NE(text.find(token), std::string::npos);
  EXPECT_EQ(text.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(text.find("client_assertion"), std::string::npos);
}

class ConsentRevokedTest : public AuthEmulatorTest {
protected:
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
};

TEST_F(ConsentRevokedTest, StaleTokenServedUntilExpiryThenTheConsentLink) {
  clock->set(std::chrono::system_clock::now());
  auth::AuthClientOptions o;
  o.clock = clock;
  std::vector<std::string> refresh_failures;
  o.cache.on_refresh_failure = [&](const auth::TokenRequest&, const Error& e) { refresh_failures.push_back(e.code); };
  auto client = make_client(secret_credential(), nullptr, o);

  auto first = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(first) << first.error().message;
  const auto expires_on = first->expires_on();
  const std::string token = first->value().reveal();

  // The administrator removes the app from the tenant.
  control("DELETE", "/_emulator/tenants/" + k_fabrikam + "/consents/" + k_app);

  // Still fresh: served from the cache, the service is not asked.
  clock->advance(std::chrono::seconds(600));
  auto cached = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(cached);
  EXPECT_TRUE(cached->from_cache);
  EXPECT_FALSE(cached->refresh_error);
  EXPECT_EQ(token_requests(), 1u);

  // Within 5 minutes of expiry a refresh is due: it fails with 700016, the old token is served.
  clock->set(expires_on - std::chrono::seconds(240));
  auto stale = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(stale) << stale.error().message;
  EXPECT_EQ(stale->value().reveal(), token);
  ASSERT_TRUE(stale->refresh_error);
  EXPECT_EQ(stale->refresh_error->code, "AADSTS700016");
  EXPECT_TRUE(auth::is_consent_missing(*stale->refresh_error));
  EXPECT_EQ(refresh_failures, std::vector<std::string>{"AADSTS700016"});
  EXPECT_EQ(token_requests(), 2u);

  // Past expiry: no token, the error carries the consent link.
  clock->set(expires_on + std::chrono::seconds(1));
  auto gone = client->get_token(k_fabrikam, "xdr");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::forbidden);
  EXPECT_EQ(gone.error().code, "AADSTS700016");
  EXPECT_NE(gone.error().message.find(expected_consent_link()), std::string::npos) << gone.error().message;
  EXPECT_EQ(token_requests(), 3u);

  // Consent granted again: the next call gets a new token.
  control("POST", "/_emulator/tenants/" + k_fabrikam + "/consents",
          {{"client_id", k_app}, {"resource", "xdr"}, {"roles", {"Incident.Read.All"}}});
  auto back = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->from_cache);
  EXPECT_NE(back->value().reveal(), token);
}

TEST_F(ConsentRevokedTest, ShortTokenLifetimeFromTheScenario) {
  // Tokens of 6 minutes (the emulator backdates short lifetimes by half: expires_in 179 s): the
  // cache keeps them fresh for half their lifetime, so a short-lived token is not re-fetched on every call.
  Json s = identity.scenario();
  s["token"] = {{"lifetime_seconds", 360}};
  emulator->stop();
  start(s);
  clock->set(std::chrono::system_clock::now());
  auth::AuthClientOptions o;
  o.clock = clock;
  o.cache.min_usable_lifetime = std::chrono::seconds(10);
  auto client = make_client(secret_credential(), nullptr, o);
  auto first = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(first) << first.error().message;
  auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(first->expires_on() - clock->now());
  EXPECT_NEAR(static_cast<double>(lifetime.count()), 179.0, 2.0);
  clock->advance(std::chrono::seconds(20));
  EXPECT_TRUE(client->get_token(k_fabrikam, "xdr")->from_cache);
  EXPECT_EQ(token_requests(), 1u);
  control("DELETE", "/_emulator/tenants/" + k_fabrikam + "/consents/" + k_app);
  clock->advance(std::chrono::seconds(80)); // 100 s in: past half the lifetime, refresh is due
  auto stale = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(stale);
  ASSERT_TRUE(stale->refresh_error);
  EXPECT_EQ(stale->refresh_error->code, "AADSTS700016");
  clock->advance(std::chrono::seconds(100)); // past expiry
  auto gone = client->get_token(k_fabrikam, "xdr");
  ASSERT_FALSE(gone);
  EXPECT_TRUE(auth::is_consent_missing(gone.error()));
}

} // namespace
