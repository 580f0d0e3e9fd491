// Many callers at once: one token request per (tenant, resource), whatever the number of threads.

#include "auth_emulator_support.hpp"

#include <barrier>

using namespace xdr;
using namespace xdr::testing;

namespace {

class AuthConcurrencyTest : public AuthEmulatorTest {};

TEST_F(AuthConcurrencyTest, ThirtyTwoCallersOneTenantOneRequest) {
  auto client = make_client(secret_credential());
  clear_log();
  constexpr int k_threads = 32;
  std::barrier start(k_threads);
  std::vector<std::string> tokens(k_threads);
  std::atomic<int> fetched{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < k_threads; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = client->get_token(k_fabrikam, "xdr");
      if (!r) return;
      tokens[i] = r->value().reveal();
      if (!r->from_cache) ++fetched;
    });
  for (auto& t : threads) t.join();
  for (const auto& t : tokens) EXPECT_EQ(t, tokens[0]);
  EXPECT_FALSE(tokens[0].empty());
  EXPECT_EQ(fetched.load(), 1) << "from_cache is false only for the caller whose request fetched it";
  auto log = logged("token_");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0]["route"], "token_v2");
  EXPECT_EQ(log[0]["tenant"], k_fabrikam);
}

TEST_F(AuthConcurrencyTest, TwentyTenantsOneRequestEach) {
  constexpr int k_tenants = 20;
  constexpr int k_callers_per_tenant = 3;
  std::vector<std::string> tenants;
  Json specs = Json::array();
  for (int i = 0; i < k_tenants; ++i) {
    tenants.push_back(crypto::random_guid());
    specs.push_back({{"tenant_id", tenants.back()},
                     {"domain", "customer" + std::to_string(i) + ".onmicrosoft.com"},
                     {"consents", Json::array({{{"client_id", k_app}, {"resource", "xdr"}, {"roles", {"Incident.Read.All"}}}})}});
  }
  Json added = control("POST", "/_emulator/tenants", {{"tenants", specs}});
  ASSERT_EQ(added["tenants"].size(), static_cast<size_t>(k_tenants));

  auto client = make_client(secret_credential());
  clear_log();
  std::barrier start(k_tenants * k_callers_per_tenant);
  std::vector<std::string> tids(k_tenants * k_callers_per_tenant);
  std::vector<std::thread> threads;
  for (int i = 0; i < k_tenants * k_callers_per_tenant; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto r = client->get_token(tenants[i % k_tenants], "xdr", auth::EndpointVersion::v1);
      if (r) tids[i] = claims_of(r->value().reveal()).value("tid", "");
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < k_tenants * k_callers_per_tenant; ++i) EXPECT_EQ(tids[i], tenants[i % k_tenants]);
  EXPECT_EQ(token_requests(), static_cast<size_t>(k_tenants));
  for (const auto& t : tenants) {
    auto log = logged("token_", t);
    ASSERT_EQ(log.size(), 1u) << t;
    EXPECT_EQ(log[0]["route"], "token_v1");
  }
  EXPECT_EQ(client->cache().size(), static_cast<size_t>(k_tenants));
}

} // namespace
