#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

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

TokenRequest req(std::string_view tenant, std::string_view resource = k_xdr) {
  return TokenRequest{k_host, tenant, tst::k_client_id, resource};
}

// A TokenClient on a FakeTransport answering every request with a new token ("tok-1", "tok-2"...).
struct Fixture {
  std::shared_ptr<tst::FakeTransport> transport = std::make_shared<tst::FakeTransport>();
  std::shared_ptr<tst::FakeClock> clock = std::make_shared<tst::FakeClock>();
  std::shared_ptr<TokenClient> client;
  std::atomic<int> issued{0};

  explicit Fixture(std::string extra_fields = "", int expires_in = 3600) {
    TokenClientOptions o;
    o.clock = clock;
    auto cred = std::make_shared<ClientSecretCredential>(tst::k_client_id, Secret(tst::k_secret));
    client = TokenClient::create(cred, transport, o).value();
    transport->set_handler([this, extra_fields, expires_in](const http::Request&) -> Result<http::Response> {
      http::Response r;
      r.status = 200;
      r.body = R"({"token_type":"Bearer","expires_in":)" + std::to_string(expires_in) + extra_fields +
               R"(,"access_token":"tok-)" + std::to_string(++issued) + "\"}";
      return r;
    });
  }
  TokenFetcher fetcher() {
    return [c = client](const TokenRequest& r) { return c->request_token(r.tenant, r.resource, r.endpoint); };
  }
  TokenCacheOptions options() {
    TokenCacheOptions o;
    o.clock = clock;
    return o;
  }
};

std::string value_of(const Result<TokenResult>& r) { return r ? r->value().reveal() : "error: " + r.error().message; }

} // namespace

TEST(AuthTokenCache, HitAfterFirstFetch) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  auto first = cache.get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->from_cache);
  EXPECT_EQ(first->value().reveal(), "tok-1");
  EXPECT_EQ(util::to_unix(first->expires_on()), util::to_unix(f.clock->now()) + 3600);
  auto second = cache.get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->from_cache);
  EXPECT_EQ(second->token.get(), first->token.get());
  EXPECT_FALSE(second->refresh_error);
  EXPECT_EQ(f.transport->count(), 1u);
  // peek never fetches.
  EXPECT_TRUE(cache.peek(req(tst::k_tenant_a)));
  EXPECT_FALSE(cache.peek(req(tst::k_tenant_b)));
  f.clock->advance(std::chrono::seconds(3400));
  EXPECT_FALSE(cache.peek(req(tst::k_tenant_a)));
  EXPECT_EQ(f.transport->count(), 1u);
}

TEST(AuthTokenCache, TenantsResourcesClientsAndHostsNeverMix) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_b))), "tok-2");
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a, "https://graph.microsoft.com"))), "tok-3");
  auto requests = f.transport->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_NE(requests[0].url.find(tst::k_tenant_a), std::string::npos);
  EXPECT_NE(requests[1].url.find(tst::k_tenant_b), std::string::npos);
  // Hits return each key's own token; tenant, client and host compare case-insensitively.
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_b))), "tok-2");
  EXPECT_EQ(value_of(cache.get_token(req("AAAAAAAA-0000-4000-8000-00000000000A"))), "tok-1");
  TokenRequest upper_host{"https://LOGIN.microsoftonline.com", tst::k_tenant_a, "11111111-2222-3333-4444-555555555555", k_xdr};
  EXPECT_EQ(value_of(cache.get_token(upper_host)), "tok-1");
  EXPECT_EQ(f.transport->count(), 3u);
  // Another client ID or authority host is another key.
  TokenRequest other_client{k_host, tst::k_tenant_a, "99999999-2222-3333-4444-555555555555", k_xdr};
  EXPECT_EQ(value_of(cache.get_token(other_client)), "tok-4");
  TokenRequest other_host{"https://login.microsoftonline.us", tst::k_tenant_a, tst::k_client_id, k_xdr};
  EXPECT_EQ(value_of(cache.get_token(other_host)), "tok-5");
  // Resource URIs are exact: a trailing slash is a different resource.
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a, k_xdr + "/"))), "tok-6");
  EXPECT_EQ(cache.size(), 6u);
}

TEST(AuthTokenCache, RefreshesFiveMinutesBeforeExpiry) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(std::chrono::seconds(3600 - 301));
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  EXPECT_EQ(f.transport->count(), 1u);
  f.clock->advance(1s); // exactly 300 s left
  auto refreshed = cache.get_token(req(tst::k_tenant_a));
  EXPECT_EQ(value_of(refreshed), "tok-2");
  EXPECT_FALSE(refreshed->from_cache);
  EXPECT_EQ(f.transport->count(), 2u);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-2");
  EXPECT_EQ(f.transport->count(), 2u);
}

TEST(AuthTokenCache, RefreshMarginIsConfigurable) {
  Fixture f;
  auto o = f.options();
  o.refresh_before_expiry = 600s;
  TokenCache cache(f.fetcher(), o);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(3000s);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-2");
}

TEST(AuthTokenCache, HonoursRefreshIn) {
  Fixture f(R"(,"refresh_in":"1800")", 7200);
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(1799s);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(1s);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-2");
  EXPECT_EQ(f.transport->count(), 2u);
}

TEST(AuthTokenCache, ServesTheOldTokenWhenARefreshFails) {
  Fixture f;
  auto o = f.options();
  std::vector<std::string> reported;
  o.on_refresh_failure = [&](const TokenRequest& r, const Error& e) {
    reported.push_back(std::string(r.tenant) + " " + e.code);
  };
  TokenCache cache(f.fetcher(), o);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(3400s); // 200 s left: refresh due, token still usable
  f.transport->push(400, tst::entra_error("unauthorized_client", 7000112, "Application is disabled."));
  auto stale = cache.get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(stale) << stale.error().message;
  EXPECT_EQ(stale->value().reveal(), "tok-1");
  EXPECT_TRUE(stale->from_cache);
  ASSERT_TRUE(stale->refresh_error);
  EXPECT_EQ(stale->refresh_error->code, "AADSTS7000112");
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0], std::string(tst::k_tenant_a) + " AADSTS7000112");
  // Without Retry-After the next call tries again (and now succeeds).
  auto next = cache.get_token(req(tst::k_tenant_a));
  EXPECT_EQ(value_of(next), "tok-2");
  EXPECT_FALSE(next->refresh_error);
  EXPECT_EQ(f.transport->count(), 3u);
}

TEST(AuthTokenCache, NoStaleTokenOnceItIsAboutToExpire) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(3580s); // 20 s left: below min_usable_lifetime (30 s)
  f.transport->push(400, tst::entra_error("invalid_client", 7000222, "The provided client secret keys are expired."));
  auto r = cache.get_token(req(tst::k_tenant_a));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "AADSTS7000222");
}

TEST(AuthTokenCache, RemembersRetryAfterPerKey) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  f.transport->push(429, tst::entra_error("temporarily_unavailable", 90055, "TenantThrottlingError"),
                    {{"Retry-After", "30"}});
  auto first = cache.get_token(req(tst::k_tenant_a));
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(f.transport->count(), 1u);

  f.clock->advance(10s);
  auto remembered = cache.get_token(req(tst::k_tenant_a));
  ASSERT_FALSE(remembered);
  EXPECT_EQ(remembered.error().code, "AADSTS90055");
  EXPECT_EQ(remembered.error().retry_after, 20s);
  EXPECT_EQ(f.transport->count(), 1u); // not called again

  // Other keys are not blocked.
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_b))), "tok-1");
  EXPECT_EQ(f.transport->count(), 2u);

  f.clock->advance(20s);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-2");
  EXPECT_EQ(f.transport->count(), 3u);
}

TEST(AuthTokenCache, RetryAfterWithAStillValidTokenServesIt) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(3350s);
  f.transport->push(503, tst::entra_error("temporarily_unavailable", 90055, "busy"), {{"Retry-After", "60"}});
  auto r1 = cache.get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->value().reveal(), "tok-1");
  ASSERT_TRUE(r1->refresh_error);
  f.clock->advance(10s);
  auto r2 = cache.get_token(req(tst::k_tenant_a));
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->value().reveal(), "tok-1");
  ASSERT_TRUE(r2->refresh_error);
  EXPECT_EQ(r2->refresh_error->retry_after, 50s);
  EXPECT_EQ(f.transport->count(), 2u);
}

TEST(AuthTokenCache, EvictsLeastRecentlyUsedAtTheCap) {
  Fixture f;
  auto o = f.options();
  o.max_entries = 3;
  TokenCache cache(f.fetcher(), o);
  EXPECT_EQ(cache.shard_count(), 1u);
  const std::vector<std::string> tenants = {"a.example.com", "b.example.com", "c.example.com", "d.example.com"};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cache.get_token(req(tenants[i])));
  ASSERT_TRUE(cache.get_token(req(tenants[0]))); // a is now recently used
  EXPECT_EQ(f.transport->count(), 3u);
  ASSERT_TRUE(cache.get_token(req(tenants[3]))); // evicts b
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(f.transport->count(), 4u);
  EXPECT_TRUE(cache.get_token(req(tenants[0]))->from_cache);
  EXPECT_TRUE(cache.get_token(req(tenants[2]))->from_cache);
  EXPECT_TRUE(cache.get_token(req(tenants[3]))->from_cache);
  EXPECT_EQ(f.transport->count(), 4u);
  EXPECT_FALSE(cache.get_token(req(tenants[1]))->from_cache); // b was evicted
  EXPECT_EQ(f.transport->count(), 5u);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(AuthTokenCache, DefaultBoundsAndSharding) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(cache.shard_count(), 64u);
  auto o = f.options();
  o.max_entries = 200;
  TokenCache small(f.fetcher(), o);
  EXPECT_EQ(small.shard_count(), 12u);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(small.get_token(req("t" + std::to_string(i) + ".example.com")));
  // The bound holds per shard, so the total never exceeds max_entries.
  EXPECT_LE(small.size(), 200u);
  EXPECT_GE(small.size(), 150u);
}

TEST(AuthTokenCache, SingleFlightPerKey) {
  Fixture f;
  f.transport->set_handler([&](const http::Request&) -> Result<http::Response> {
    std::this_thread::sleep_for(50ms);
    http::Response r;
    r.status = 200;
    r.body = tst::v2_success("tok-" + std::to_string(++f.issued), 3600);
    return r;
  });
  TokenCache cache(f.fetcher(), f.options());
  std::vector<std::thread> threads;
  std::vector<Result<TokenResult>> results(16, fail(ErrorKind::config, "not run"));
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] { results[i] = cache.get_token(req(tst::k_tenant_a)); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.transport->count(), 1u);
  int fetched = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->value().reveal(), "tok-1");
    fetched += r->from_cache ? 0 : 1;
  }
  EXPECT_EQ(fetched, 1);
}

TEST(AuthTokenCache, OneSlowTenantDoesNotBlockAnother) {
  Fixture f;
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> a_started{false};
  f.transport->set_handler([&](const http::Request& request) -> Result<http::Response> {
    if (request.url.find(tst::k_tenant_a) != std::string::npos) {
      a_started = true;
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return release; });
    }
    http::Response r;
    r.status = 200;
    r.body = tst::v2_success("tok-" + std::to_string(++f.issued), 3600);
    return r;
  });
  TokenCache cache(f.fetcher(), f.options());
  std::thread slow([&] { EXPECT_TRUE(cache.get_token(req(tst::k_tenant_a))); });
  while (!a_started) std::this_thread::sleep_for(1ms);
  auto b = cache.get_token(req(tst::k_tenant_b)); // proceeds while A's request is stuck
  EXPECT_TRUE(b);
  EXPECT_FALSE(b->from_cache);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  slow.join();
  EXPECT_EQ(f.transport->count(), 2u);
}

TEST(AuthTokenCache, ForceRefreshAndInvalidate) {
  Fixture f;
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  TokenRequest forced = req(tst::k_tenant_a);
  forced.force_refresh = true;
  EXPECT_EQ(value_of(cache.get_token(forced)), "tok-2");
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-2");
  cache.invalidate(req(tst::k_tenant_a));
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-3");
  EXPECT_EQ(f.transport->count(), 3u);
}

TEST(AuthTokenCache, ShortLivedTokensAreReusedForHalfTheirLifetime) {
  Fixture f("", 120); // an emulator handing out 2-minute tokens
  TokenCache cache(f.fetcher(), f.options());
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(59s);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-1");
  f.clock->advance(1s);
  EXPECT_EQ(value_of(cache.get_token(req(tst::k_tenant_a))), "tok-2");
  EXPECT_EQ(f.transport->count(), 2u);
}
