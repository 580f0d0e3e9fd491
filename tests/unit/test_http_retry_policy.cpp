#include <gtest/gtest.h>

#include <xdr/http/retry_policy.hpp>
#include <xdr/util/time.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"

using namespace std::chrono_literals;
using xdr::ErrorKind;
using xdr::http::Request;
using xdr::http::RetryBudget;
using xdr::http::RetryBudgetOptions;
using xdr::http::RetryOptions;
using xdr::http::RetryTransport;
using xdr::testing::FakeClock;
using xdr::testing::FakeTransport;

namespace {

struct Harness {
  std::shared_ptr<FakeTransport> fake = std::make_shared<FakeTransport>();
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>();
  std::vector<std::chrono::milliseconds> sleeps;
  RetryOptions options;

  explicit Harness(double jitter = 0.5) {
    options.clock = clock;
    options.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    options.jitter = [jitter] { return jitter; };
  }
  RetryTransport make() { return RetryTransport(fake, options); }
};

Request get() {
  Request r;
  r.url = "https://api.example/incidents";
  return r;
}

using Ms = std::vector<std::chrono::milliseconds>;

} // namespace

TEST(RetryPolicy, ExponentialBackoffWithMidpointJitterIsExact) {
  Harness h(0.5);
  for (int i = 0; i < 3; ++i) h.fake->push(503, "");
  h.fake->push(200, "ok");
  auto retry = h.make();
  auto r = retry.send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->retries, 3);
  EXPECT_EQ(h.sleeps, (Ms{800ms, 1600ms, 3200ms}));
  EXPECT_EQ(h.fake->count(), 4u);
}

TEST(RetryPolicy, JitterSpreadsBetween80And120Percent) {
  Harness low(0.0);
  EXPECT_EQ(low.make().backoff_delay(0), 640ms);
  EXPECT_EQ(low.make().backoff_delay(2), 2560ms);
  Harness high(0.75);
  EXPECT_EQ(high.make().backoff_delay(1), 1760ms); // 1600 * 1.1
}

TEST(RetryPolicy, BackoffIsCappedAtMaxDelay) {
  Harness h(1.0);
  h.options.max_delay = 2000ms;
  auto retry = h.make();
  EXPECT_EQ(retry.backoff_delay(0), 960ms);
  EXPECT_EQ(retry.backoff_delay(1), 1920ms);
  EXPECT_EQ(retry.backoff_delay(2), 2000ms);
  EXPECT_EQ(retry.backoff_delay(200), 2000ms);
}

TEST(RetryPolicy, StopsAfterMaxRetriesAndReturnsTheLastResponse) {
  Harness h;
  h.options.max_retries = 2;
  for (int i = 0; i < 5; ++i) h.fake->push(500, "broken " + std::to_string(i));
  auto r = h.make().send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "broken 2");
  EXPECT_EQ(r->retries, 2);
  EXPECT_EQ(h.fake->count(), 3u);
  EXPECT_EQ(h.sleeps.size(), 2u);
}

TEST(RetryPolicy, HonoursRetryAfterSeconds) {
  Harness h;
  h.fake->push(429, "", {{"Retry-After", "7"}});
  h.fake->push(200, "");
  auto r = h.make().send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->retries, 1);
  EXPECT_EQ(h.sleeps, (Ms{7000ms}));
}

TEST(RetryPolicy, HonoursRetryAfterHttpDate) {
  Harness h;
  h.fake->push(503, "", {{"Retry-After", xdr::util::format_http_date(h.clock->now() + 30s)}});
  h.fake->push(503, "", {{"Retry-After", xdr::util::format_http_date(h.clock->now() - 30s)}});
  h.fake->push(200, "");
  auto r = h.make().send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->retries, 2);
  EXPECT_EQ(h.sleeps, (Ms{30000ms, 0ms})); // a date in the past means "now"
}

TEST(RetryPolicy, HonoursRetryAfterMsHeadersBeforeRetryAfter) {
  Harness h;
  h.fake->push(429, "", {{"retry-after-ms", "250"}, {"Retry-After", "9"}});
  h.fake->push(429, "", {{"x-ms-retry-after-ms", "1500"}});
  h.fake->push(200, "");
  auto r = h.make().send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(h.sleeps, (Ms{250ms, 1500ms}));
}

TEST(RetryPolicy, MalformedRetryAfterFallsBackToBackoff) {
  Harness h;
  h.fake->push(503, "", {{"Retry-After", "soon"}});
  h.fake->push(503, "", {{"Retry-After", "-3"}});
  h.fake->push(200, "");
  auto r = h.make().send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(h.sleeps, (Ms{800ms, 1600ms}));
}

TEST(RetryPolicy, RetryAfterLongerThanMaxDelayIsReturnedToTheCaller) {
  Harness h;
  h.fake->push(429, "throttled", {{"Retry-After", "120"}});
  h.fake->push(200, "");
  auto r = h.make().send(get());
  ASSERT_TRUE(r) << "a long Retry-After is a response, not an error";
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(r->headers.get("retry-after"), "120");
  EXPECT_EQ(r->retries, 0);
  EXPECT_TRUE(h.sleeps.empty());
  EXPECT_EQ(h.fake->count(), 1u);
}

TEST(RetryPolicy, DoesNotRetryClientErrors) {
  for (int status : {400, 401, 403, 404, 409}) {
    Harness h;
    h.fake->push(status, "no", {{"Retry-After", "1"}});
    h.fake->push(200, "");
    auto r = h.make().send(get());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->retries, 0);
    EXPECT_EQ(h.fake->count(), 1u) << status;
    EXPECT_TRUE(h.sleeps.empty());
  }
}

TEST(RetryPolicy, RetriesEveryConfiguredStatus) {
  for (int status : {408, 429, 500, 502, 503, 504}) {
    Harness h;
    h.fake->push(status, "");
    h.fake->push(200, "");
    auto r = h.make().send(get());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << status;
    EXPECT_EQ(r->retries, 1);
  }
}

TEST(RetryPolicy, RetriesTransportErrorsAndTimeouts) {
  Harness h;
  h.fake->push_error(xdr::Error(ErrorKind::transport, "connection reset"));
  h.fake->push_error(xdr::Error(ErrorKind::timeout, "too slow"));
  h.fake->push(200, "done");
  auto r = h.make().send(get());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->retries, 2);
  EXPECT_EQ(h.sleeps, (Ms{800ms, 1600ms}));
}

TEST(RetryPolicy, PersistentTransportErrorSaysHowOftenItWasRetried) {
  Harness h;
  h.fake->set_handler([](const Request&) -> xdr::Result<xdr::http::Response> {
    return xdr::fail(ErrorKind::transport, "could not connect");
  });
  auto r = h.make().send(get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::transport);
  EXPECT_EQ(r.error().message, "could not connect (after 3 retries)");
  EXPECT_EQ(h.fake->count(), 4u);
}

TEST(RetryPolicy, DoesNotRetryConfigErrorsOrWhenTransportRetriesAreOff) {
  Harness h;
  h.fake->push_error(xdr::Error(ErrorKind::config, "bad URL"));
  auto r = h.make().send(get());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "bad URL");
  EXPECT_EQ(h.fake->count(), 1u);

  Harness off;
  off.options.retry_transport_errors = false;
  off.fake->push_error(xdr::Error(ErrorKind::transport, "reset"));
  off.fake->push(200, "");
  EXPECT_FALSE(off.make().send(get()));
  EXPECT_EQ(off.fake->count(), 1u);
}

TEST(RetryBudget, DepositsPerRequestAndIsCapped) {
  RetryBudget budget(RetryBudgetOptions{0.2, 10, 11});
  EXPECT_DOUBLE_EQ(budget.balance(), 10);
  for (int i = 0; i < 5; ++i) budget.record_request();
  EXPECT_NEAR(budget.balance(), 11, 1e-9);
  for (int i = 0; i < 20; ++i) budget.record_request();
  EXPECT_NEAR(budget.balance(), 11, 1e-9);
  for (int i = 0; i < 11; ++i) EXPECT_TRUE(budget.try_withdraw());
  EXPECT_FALSE(budget.try_withdraw());
}

TEST(RetryPolicy, SharedBudgetExhaustionStopsRetriesAcrossTransports) {
  Harness h;
  h.options.budget = std::make_shared<RetryBudget>(RetryBudgetOptions{0.2, 2, 100});
  h.fake->set_handler([](const Request&) -> xdr::Result<xdr::http::Response> {
    xdr::http::Response r;
    r.status = 503;
    return r;
  });
  auto first = h.make();
  auto second = h.make(); // same budget object
  // Budget 2 + 0.2 = 2.2: two retries, then 0.2 left.
  auto r1 = first.send(get());
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->retries, 2);
  EXPECT_EQ(h.fake->count(), 3u);
  // 0.2 + 0.2 = 0.4 < 1: no retry at all.
  auto r2 = second.send(get());
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 503);
  EXPECT_EQ(r2->retries, 0);
  EXPECT_EQ(h.fake->count(), 4u);
  EXPECT_NEAR(h.options.budget->balance(), 0.4, 1e-9);
}

TEST(RetryPolicy, BudgetExhaustionIsExplainedOnErrors) {
  Harness h;
  h.options.budget = std::make_shared<RetryBudget>(RetryBudgetOptions{0.0, 0, 0});
  h.fake->push_error(xdr::Error(ErrorKind::transport, "reset"));
  auto r = h.make().send(get());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("retry budget is exhausted"), std::string::npos);
  EXPECT_EQ(h.fake->count(), 1u);
}

TEST(RetryPolicy, ServerRetryDelayParsing) {
  using xdr::http::Headers;
  using xdr::http::server_retry_delay;
  auto now = xdr::util::from_unix(1'767'225'600);
  auto with = [](std::string name, std::string value) {
    Headers h;
    h.set(std::move(name), std::move(value));
    return h;
  };
  EXPECT_EQ(server_retry_delay(Headers(), now), std::nullopt);
  EXPECT_EQ(server_retry_delay(with("Retry-After", " 3 "), now), 3000ms);
  EXPECT_EQ(server_retry_delay(with("retry-after-ms", "12.5"), now), 13ms);
  EXPECT_EQ(server_retry_delay(with("retry-after-ms", "x"), now), std::nullopt);
  EXPECT_EQ(server_retry_delay(with("Retry-After", "Thu, 01 Jan 2026 00:01:00 GMT"), now), 60000ms);
}
