// The standard pipeline (RetryTransport over CurlTransport) under the emulator's fault rules:
// throttling with Retry-After, a burst of 500s, a dropped connection. Sleeps are recorded, not slept.

#include "auth_emulator_support.hpp"

using namespace xdr;
using namespace xdr::testing;
using std::chrono::milliseconds;

namespace {

class AuthRetriesTest : public AuthEmulatorTest {
protected:
  std::shared_ptr<http::Transport> pipeline() {
    http::PipelineOptions o;
    o.transport.ca_file = emulator->ca_file();
    o.retry.sleep = [this](milliseconds d) {
      std::lock_guard lock(m_mutex);
      sleeps.push_back(d);
    };
    o.retry.jitter = [] { return 0.5; };
    return http::make_pipeline(o);
  }
  void fault(const Json& rule) {
    Json r = control("POST", "/_emulator/faults", rule);
    ASSERT_TRUE(r.contains("id")) << r.dump();
  }
  std::vector<int> token_statuses() const {
    std::vector<int> out;
    for (const Json& r : logged("token_")) out.push_back(r.value("status", 0));
    return out;
  }

  std::mutex m_mutex;
  std::vector<milliseconds> sleeps;
};

TEST_F(AuthRetriesTest, ThrottledTwiceWithRetryAfterThenSucceeds) {
  fault({{"route", "token"}, {"count", 2}, {"status", 429}, {"retry_after", 1}});
  auto client = make_client(secret_credential(), pipeline());
  auto r = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->from_cache);
  EXPECT_EQ(sleeps, (std::vector<milliseconds>{milliseconds(1000), milliseconds(1000)}));
  EXPECT_EQ(token_statuses(), (std::vector<int>{429, 429, 200}));
  EXPECT_EQ(logged().size(), 3u) << "no stray entries from the unread request bodies: " << control("GET", "/_emulator/requests").dump();
  EXPECT_EQ(claims_of(r->value().reveal())["tid"], k_fabrikam);
}

TEST_F(AuthRetriesTest, ServerErrorBurstBacksOffExponentially) {
  fault({{"route", "token_v1"}, {"count", 3}, {"status", 500}});
  auto client = make_client(secret_credential(), pipeline());
  auto r = client->get_token(k_fabrikam, "xdr", auth::EndpointVersion::v1);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sleeps, (std::vector<milliseconds>{milliseconds(800), milliseconds(1600), milliseconds(3200)}));
  EXPECT_EQ(token_statuses(), (std::vector<int>{500, 500, 500, 200}));
}

TEST_F(AuthRetriesTest, DroppedConnectionIsRetried) {
  fault({{"route", "token"}, {"count", 1}, {"drop", true}});
  auto client = make_client(secret_credential(), pipeline());
  auto r = client->get_token(k_fabrikam, "xdr");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(sleeps.size(), 1u);
  auto faults = control("GET", "/_emulator/faults")["faults"];
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0]["hits"], 1);
  EXPECT_EQ(token_statuses().back(), 200);
}

TEST_F(AuthRetriesTest, PersistentThrottlingIsReportedAndRemembered) {
  fault({{"route", "token"}, {"count", -1}, {"status", 429}, {"retry_after", 30}, {"tenant", k_northwind}});
  auto client = make_client(secret_credential(), pipeline());
  auto r = client->get_token(k_northwind, "xdr");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(r.error().code, "AADSTS90055");
  EXPECT_EQ(r.error().retry_after, std::chrono::seconds(30));
  EXPECT_NE(r.error().message.find("throttling token requests for tenant '" + k_northwind + "'"), std::string::npos);
  // 30 s exceeds nothing in max_delay (60 s), so the pipeline waited 3 times before giving up.
  EXPECT_EQ(sleeps.size(), 3u);
  EXPECT_EQ(token_requests(k_northwind), 4u);

  // The cache remembers Retry-After: the next call does not reach the service.
  auto again = client->get_token(k_northwind, "xdr");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(token_requests(k_northwind), 4u);
  // Other tenants are not affected.
  EXPECT_TRUE(client->get_token(k_fabrikam, "xdr"));
}

TEST_F(AuthRetriesTest, WithoutRetriesTheFirstFailureIsReturned) {
  fault({{"route", "token"}, {"count", 1}, {"status", 503}});
  auto client = make_client(secret_credential());  // bare CurlTransport: no retry policy
  auto r = client->get_token(k_fabrikam, "xdr");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::server);
  EXPECT_EQ(r.error().http_status, 503);
  EXPECT_EQ(token_requests(), 1u);
  EXPECT_TRUE(client->get_token(k_fabrikam, "xdr"));
  EXPECT_EQ(token_requests(), 2u);
}

} // namespace
