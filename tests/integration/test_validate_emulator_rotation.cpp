// Signing-key rotation in the middle of validation: TokenValidator + KeyStore over CurlTransport
// against the emulator's JWKS, with tokens from AuthClient. Counts the JWKS fetches the emulator saw.

#include "auth_emulator_support.hpp"
#include "unit/fakes/fake_clock.hpp"

#include <xdr/validate/token_validator.hpp>

using namespace xdr;
using namespace xdr::testing;

namespace {

class KeyRotationTest : public AuthEmulatorTest {
protected:
  void SetUp() override {
    AuthEmulatorTest::SetUp();
    clock->set(std::chrono::system_clock::now());
    keys = std::make_shared<validate::KeyStore>(curl(), validate::KeyStoreOptions{}, clock);
    validate::ValidationOptions o;
    o.authority = emulator->url();
    o.accepted_audiences = {k_xdr};
    validator = std::make_unique<validate::TokenValidator>(keys, o, clock);
    auth = make_client(secret_credential());
  }
  void TearDown() override {
    // Close the clients' keep-alive connections first: the server's stop() waits for open ones.
    validator.reset();
    keys.reset();
    auth.reset();
    AuthEmulatorTest::TearDown();
  }

  std::string new_token() {
    auto r = auth->refresh_token(k_fabrikam, "xdr");
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->value().reveal() : std::string();
  }
  static std::string kid_of(const std::string& token) { return jwt::decode(token)->header.value("kid", ""); }
  size_t jwks_fetches() const { return logged("keys_").size(); }
  std::string rotate(bool drop_old) {
    return control("POST", "/_emulator/keys/rotate", {{"drop_old", drop_old}}).value("signing_kid", "");
  }

  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::shared_ptr<validate::KeyStore> keys;
  std::unique_ptr<validate::TokenValidator> validator;
  std::unique_ptr<auth::AuthClient> auth;
};

TEST_F(KeyRotationTest, NewKidIsFetchedOnceOldTokensKeepWorkingUntilTheKeyIsDropped) {
  const std::string old_token = new_token();
  const std::string old_kid = kid_of(old_token);
  auto first = validator->validate(old_token);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->tenant_id, k_fabrikam);
  EXPECT_EQ(first->header.kid, old_kid);
  EXPECT_EQ(jwks_fetches(), 1u);
  EXPECT_EQ(logged("openid_").size(), 1u);
  ASSERT_TRUE(validator->validate(old_token));
  EXPECT_EQ(jwks_fetches(), 1u) << "the key is cached";

  // Rotation keeping the old key: a token signed by the new kid re-fetches the JWKS once.
  const std::string new_kid = rotate(false);
  ASSERT_NE(new_kid, old_kid);
  const std::string rotated = new_token();
  ASSERT_EQ(kid_of(rotated), new_kid);
  auto accepted = validator->validate(rotated);
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(jwks_fetches(), 2u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(validator->validate(rotated));
    EXPECT_TRUE(validator->validate(old_token)) << "the old key is still published";
  }
  EXPECT_EQ(jwks_fetches(), 2u);
  EXPECT_EQ(logged("openid_").size(), 1u) << "an unknown kid re-fetches the JWKS only";

  // Rotation dropping the old keys. Right after the last re-fetch (inside the cooldown) a token with
  // the newest kid is refused without a fetch: a flood of unknown kids cannot hammer the JWKS.
  const std::string newest_kid = rotate(true);
  const std::string newest = new_token();
  ASSERT_EQ(kid_of(newest), newest_kid);
  auto cooled = validator->validate(newest);
  ASSERT_FALSE(cooled);
  EXPECT_EQ(cooled.error().reason, validate::Reason::unknown_kid);
  EXPECT_EQ(jwks_fetches(), 2u);

  // After the cooldown, the newest kid is fetched and accepted; the dropped kids are unknown.
  clock->advance(keys->options().refresh_cooldown + std::chrono::seconds(1));
  auto after = validator->validate(newest);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(jwks_fetches(), 3u);
  for (const std::string& dropped : {old_token, rotated}) {
    auto r = validator->validate(dropped);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().reason, validate::Reason::unknown_kid);
    EXPECT_EQ(r.error().to_error().code, "unknown_kid");
    EXPECT_EQ(r.error().message.find(dropped), std::string::npos);
  }
  EXPECT_EQ(jwks_fetches(), 3u) << "still inside the new cooldown";

  // One more cooldown later, an unknown kid re-fetches once more, and is still unknown.
  clock->advance(keys->options().refresh_cooldown + std::chrono::seconds(1));
  auto again = validator->validate(old_token);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().reason, validate::Reason::unknown_kid);
  EXPECT_TRUE(validator->validate(old_token).error().reason == validate::Reason::unknown_kid);
  EXPECT_EQ(jwks_fetches(), 4u);
  EXPECT_TRUE(validator->validate(newest));
}

TEST_F(KeyRotationTest, ConcurrentValidatorsShareOneFetchAfterRotation) {
  ASSERT_TRUE(validator->validate(new_token()));
  rotate(false);
  const std::string rotated = new_token();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&] {
      if (validator->validate(rotated)) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 16);
  EXPECT_EQ(jwks_fetches(), 2u);
}

TEST_F(KeyRotationTest, EmulatorTokensOfOtherAudiencesAndTenantsAreRefused) {
  auto graph = auth->get_token(k_fabrikam, "graph");
  ASSERT_TRUE(graph);
  auto r = validator->validate(graph->value().reveal());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, validate::Reason::wrong_audience);

  validate::ValidationOptions pinned = validator->options();
  pinned.expected_tenant = k_northwind;
  validate::TokenValidator only_northwind(keys, pinned, clock);
  auto other = only_northwind.validate(new_token());
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().reason, validate::Reason::untrusted_tenant);
  auto nw = auth->get_token(k_northwind, "xdr");
  ASSERT_TRUE(nw);
  auto accepted = only_northwind.validate(nw->value().reveal());
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_EQ(accepted->roles, std::vector<std::string>{"Incident.Read.All"});
}

} // namespace
