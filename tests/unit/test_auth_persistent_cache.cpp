#include <gtest/gtest.h>

#include <xdr/auth/persistent_cache.hpp>
#include <xdr/auth/token_cache.hpp>

#include "auth_test_support.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

using namespace xdr;
using namespace xdr::auth;
using namespace std::chrono_literals;
namespace tst = xdr::testing;

namespace {

constexpr const char* k_host = "https://login.microsoftonline.com";
const std::string k_xdr = "https://api.security.microsoft.com";

TokenRequest req(std::string_view tenant) { return TokenRequest{k_host, tenant, tst::k_client_id, k_xdr}; }

struct Process {
  std::shared_ptr<tst::FakeTransport> transport = std::make_shared<tst::FakeTransport>();
  std::shared_ptr<TokenClient> client;
  std::unique_ptr<TokenCache> cache;
  std::vector<std::string> persistence_errors;

  Process(const std::string& path, std::shared_ptr<tst::FakeClock> clock, const std::string& token_prefix) {
    TokenClientOptions o;
    o.clock = clock;
    auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
    client = TokenClient::create(cred, transport, o).value();
    auto counter = std::make_shared<int>(0);
    transport->set_handler([token_prefix, counter](const http::Request&) -> Result<http::Response> {
      http::Response r;
      r.status = 200;
      r.body = tst::v2_success(token_prefix + std::to_string(++*counter), 3600);
      return r;
    });
    TokenCacheOptions co;
    co.clock = clock;
    co.persistent = PersistentTokenStore::open(path, clock).value();
    co.on_persistence_error = [this](const Error& e) { persistence_errors.push_back(e.message); };
    cache = std::make_unique<TokenCache>(
        [c = client](const TokenRequest& r) { return c->request_token(r.tenant, r.resource, r.endpoint); }, co);
  }
};

} // namespace

TEST(AuthPersistentCache, SharedAcrossTwoCacheObjects) {
  tst::TempDir dir;
  const std::string path = dir.file("tokens.json");
  auto clock = std::make_shared<tst::FakeClock>();

  Process first(path, clock, "first-");
  auto t1 = first.cache->get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(t1) << t1.error().message;
  EXPECT_EQ(t1->value().reveal(), "first-1");
  EXPECT_TRUE(first.persistence_errors.empty());
  EXPECT_EQ(tst::file_mode(path), 0600u);
  EXPECT_EQ(tst::file_mode(path + ".lock"), 0600u);

  // A second "process" starts, loads the file and does not ask Entra ID again.
  Process second(path, clock, "second-");
  auto t2 = second.cache->get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(t2);
  EXPECT_TRUE(t2->from_cache);
  EXPECT_EQ(t2->value().reveal(), "first-1");
  EXPECT_EQ(util::to_unix(t2->expires_on()), util::to_unix(t1->expires_on()));
  EXPECT_EQ(second.transport->count(), 0u);

  // Both processes add tenants; the file keeps both (read-merge-write).
  ASSERT_TRUE(second.cache->get_token(req(tst::k_tenant_b)));
  ASSERT_TRUE(first.cache->get_token(req("c.example.com")));
  auto all = PersistentTokenStore::open(path, clock).value()->load();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);

  // Tokens only: the client secret is never written.
  const std::string text = tst::read_text(path);
  EXPECT_EQ(text.find(tst::k_secret), std::string::npos);
  EXPECT_NE(text.find("first-1"), std::string::npos);
  EXPECT_EQ(tst::file_mode(path), 0600u);
}

TEST(AuthPersistentCache, ExpiredTokensAreDropped) {
  tst::TempDir dir;
  const std::string path = dir.file("tokens.json");
  auto clock = std::make_shared<tst::FakeClock>();
  auto store = PersistentTokenStore::open(path, clock).value();
  PersistedToken old{k_host, tst::k_tenant_a, tst::k_client_id, k_xdr, {}};
  old.token.value = Secret("old-token");
  old.token.expires_on = clock->now() + 100s;
  ASSERT_TRUE(store->save({old}));
  EXPECT_EQ(store->load()->size(), 1u);
  clock->advance(101s);
  EXPECT_EQ(store->load()->size(), 0u);
  PersistedToken fresh{k_host, tst::k_tenant_b, tst::k_client_id, k_xdr, {}};
  fresh.token.value = Secret("new-token");
  fresh.token.expires_on = clock->now() + 3600s;
  ASSERT_TRUE(store->save({fresh}));
  const std::string text = tst::read_text(path);
  EXPECT_EQ(text.find("old-token"), std::string::npos);
  EXPECT_NE(text.find("new-token"), std::string::npos);
  // A cache does not load a token that is about to expire.
  clock->advance(3590s);
  bool fetched = false;
  TokenCacheOptions co;
  co.clock = clock;
  co.persistent = store;
  TokenCache cache(
      [&](const TokenRequest&) -> Result<AccessToken> {
        fetched = true;
        return fail(ErrorKind::transport, "offline");
      },
      co);
  EXPECT_FALSE(cache.get_token(req(tst::k_tenant_b)));
  EXPECT_TRUE(fetched);
}

TEST(AuthPersistentCache, RefusesFilesOthersCanRead) {
  tst::TempDir dir;
  const std::string path = dir.write("tokens.json", R"({"version":1,"tokens":[]})", 0644);
  auto r = PersistentTokenStore::open(path);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::config);
  EXPECT_NE(r.error().message.find("chmod 600 " + path), std::string::npos) << r.error().message;
  ::chmod(path.c_str(), 0600);
  auto ok = PersistentTokenStore::open(path);
  ASSERT_TRUE(ok);
  // Loosened after opening: load and save refuse too.
  ::chmod(path.c_str(), 0660);
  EXPECT_FALSE((*ok)->load());
  EXPECT_FALSE((*ok)->save({}));
  // A missing directory is a clear error.
  auto missing = PersistentTokenStore::open(dir.file("no/such/dir/tokens.json"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
}

TEST(AuthPersistentCache, RefusesASymlink) {
  tst::TempDir dir;
  const std::string target = dir.write("real.json", "{}", 0600);
  const std::string link = dir.file("tokens.json");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto r = PersistentTokenStore::open(link);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos);
}

TEST(AuthPersistentCache, CorruptFileReadsEmptyAndIsRewritten) {
  tst::TempDir dir;
  const std::string path = dir.write("tokens.json", "{\"version\":1,\"tokens\":[{\"tenant\":", 0600);
  auto clock = std::make_shared<tst::FakeClock>();
  auto store = PersistentTokenStore::open(path, clock).value();
  auto loaded = store->load();
  ASSERT_TRUE(loaded);
  EXPECT_TRUE(loaded->empty());
  PersistedToken t{k_host, tst::k_tenant_a, tst::k_client_id, k_xdr, {}};
  t.token.value = Secret("a-token");
  t.token.expires_on = clock->now() + 3600s;
  t.token.refresh_on = clock->now() + 1800s;
  ASSERT_TRUE(store->save({t}));
  auto again = store->load();
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].token.value.reveal(), "a-token");
  EXPECT_EQ(util::to_unix(*(*again)[0].token.refresh_on), util::to_unix(clock->now()) + 1800);
  EXPECT_EQ(tst::file_mode(path), 0600u);
}
