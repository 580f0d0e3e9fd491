#include <xdr/fleet/fan_out.hpp>
#include <xdr/fleet/progress.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

namespace {

using namespace xdr;
using namespace xdr::fleet;
using namespace std::chrono_literals;

std::vector<TenantRef> tenants(size_t n) {
  std::vector<TenantRef> out;
  for (size_t i = 0; i < n; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zu", i);
    out.push_back({id, "tenant " + std::to_string(i)});
  }
  return out;
}

size_t index_of(const TenantRef& t) { return std::stoul(t.tenant_id.substr(24)); }

Error http_error(ErrorKind kind, int status, std::string code = {}) {
  Error e(kind, "HTTP " + std::to_string(status));
  e.http_status = status;
  e.code = std::move(code);
  return e;
}

TEST(FanOut, RunsEveryTenantWithBoundedConcurrencyAndStreamsEnvelopes) {
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  auto op = [&](const TenantRef& t, TenantScope& scope) -> Result<Outcome> {
    const int now = ++running;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(5ms);
    scope.add_rows(static_cast<int64_t>(index_of(t)));
    --running;
    return Outcome{"fine"};
  };
  std::vector<std::string> seen_ids;
  std::atomic<bool> in_callback{false};
  bool overlapped = false;
  FanOutOptions options;
  options.concurrency = 4;
  CancelToken cancel;
  Summary s = fan_out(tenants(20), op, options, cancel, [&](const Envelope& e) {
    if (in_callback.exchange(true)) overlapped = true;
    seen_ids.push_back(e.tenant.tenant_id);
    EXPECT_EQ(e.status, EnvelopeStatus::ok);
    EXPECT_EQ(e.detail, "fine");
    EXPECT_GE(e.latency, 5ms);
    std::this_thread::sleep_for(1ms);
    in_callback = false;
  });
  EXPECT_FALSE(overlapped) << "callbacks are serialised";
  EXPECT_EQ(std::set<std::string>(seen_ids.begin(), seen_ids.end()).size(), 20u);
  EXPECT_LE(peak.load(), 4);
  EXPECT_GE(peak.load(), 2);
  EXPECT_EQ(s.total, 20u);
  EXPECT_EQ(s.done, 20u);
  EXPECT_EQ(s.count(EnvelopeStatus::ok), 20u);
  EXPECT_EQ(s.rows, 190);
  EXPECT_EQ(s.exit_code(), k_exit_all_ok);
}

TEST(FanOut, EnvelopesArriveAsTenantsComplete) {
  auto op = [](const TenantRef& t, TenantScope&) -> Result<Outcome> {
    if (index_of(t) == 0) std::this_thread::sleep_for(100ms);
    return Outcome{};
  };
  std::vector<size_t> order;
  FanOutOptions options;
  options.concurrency = 2;
  CancelToken cancel;
  fan_out(tenants(5), op, options, cancel, [&](const Envelope& e) { order.push_back(index_of(e.tenant)); });
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order.back(), 0u) << "the slow tenant does not hold back the others";
}

TEST(FanOut, FailingTenantsSayWhyAndTheOthersComplete) {
  auto op = [](const TenantRef& t, TenantScope& scope) -> Result<Outcome> {
    scope.add_rows(10);
    switch (index_of(t)) {
    case 1: scope.add_retries(3); return tl::unexpected(http_error(ErrorKind::rate_limited, 429));
    case 2: return tl::unexpected(http_error(ErrorKind::unauthorized, 400, "AADSTS65001"));
    case 3: return tl::unexpected(http_error(ErrorKind::forbidden, 403));
    case 4: return fail(ErrorKind::transport, "connection refused");
    case 5: throw std::runtime_error("boom");
    default: return Outcome{"ok"};
    }
  };
  std::map<size_t, Envelope> got;
  CancelToken cancel;
  Summary s = fan_out(tenants(8), op, {}, cancel, [&](const Envelope& e) { got[index_of(e.tenant)] = e; });
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[0].status, EnvelopeStatus::ok);
  EXPECT_EQ(got[1].status, EnvelopeStatus::throttled);
  EXPECT_EQ(got[1].retries, 3);
  EXPECT_EQ(got[1].http_status, 429);
  EXPECT_EQ(got[2].status, EnvelopeStatus::consent_missing);
  EXPECT_EQ(got[2].code, "AADSTS65001");
  EXPECT_EQ(got[3].status, EnvelopeStatus::forbidden);
  EXPECT_EQ(got[4].status, EnvelopeStatus::unreachable);
  EXPECT_EQ(got[4].detail, "connection refused");
  EXPECT_EQ(got[5].status, EnvelopeStatus::error);
  EXPECT_NE(got[5].detail.find("boom"), std::string::npos);
  EXPECT_EQ(got[1].rows, 10) << "rows done before a failure still count";
  EXPECT_EQ(s.rows, 80);
  EXPECT_EQ(s.failed(), 5u);
  EXPECT_EQ(s.exit_code(), k_exit_partial);
}

TEST(FanOut, ClassifiesErrors) {
  EXPECT_EQ(classify(http_error(ErrorKind::unauthorized, 400, "AADSTS700016")), EnvelopeStatus::consent_missing);
  EXPECT_EQ(classify(http_error(ErrorKind::unauthorized, 401, "AADSTS7000215")), EnvelopeStatus::error);
  EXPECT_EQ(classify(http_error(ErrorKind::unauthorized, 401)), EnvelopeStatus::forbidden);
  EXPECT_EQ(classify(http_error(ErrorKind::server, 429)), EnvelopeStatus::throttled);
  EXPECT_EQ(classify(http_error(ErrorKind::server, 503)), EnvelopeStatus::unreachable);
  EXPECT_EQ(classify(http_error(ErrorKind::server, 504)), EnvelopeStatus::timeout);
  EXPECT_EQ(classify(http_error(ErrorKind::server, 500)), EnvelopeStatus::error);
  EXPECT_EQ(classify(Error(ErrorKind::timeout, "t")), EnvelopeStatus::timeout);
  EXPECT_EQ(classify(Error(ErrorKind::not_found, "AADSTS90002")), EnvelopeStatus::error);
  EXPECT_EQ(classify(Error(ErrorKind::cancelled, "c")), EnvelopeStatus::cancelled);
  EXPECT_EQ(classify(Error(ErrorKind::storage, "s")), EnvelopeStatus::error);
  EXPECT_EQ(to_string(EnvelopeStatus::consent_missing), "consent_missing");
}

TEST(FanOut, NoWorkStartsAfterCancel) {
  CancelToken cancel;
  std::atomic<int> started{0};
  auto op = [&](const TenantRef& t, TenantScope& scope) -> Result<Outcome> {
    EXPECT_FALSE(scope.cancel().cancelled()) << "started after cancel: " << t.tenant_id;
    ++started;
    if (index_of(t) == 2) cancel.cancel(); // Ctrl-C while tenant 2 runs
    return Outcome{"finished"};
  };
  FanOutOptions options;
  options.concurrency = 1;
  std::vector<Envelope> got;
  Summary s = fan_out(tenants(10), op, options, cancel, [&](const Envelope& e) { got.push_back(e); });
  EXPECT_EQ(started.load(), 3);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[2].status, EnvelopeStatus::ok) << "the running call finishes and its result is kept";
  EXPECT_EQ(got[2].detail, "finished");
  EXPECT_EQ(s.count(EnvelopeStatus::ok), 3u);
  EXPECT_EQ(s.count(EnvelopeStatus::cancelled), 7u);
  EXPECT_EQ(got.back().detail, "not started: stopped by the user");
  EXPECT_EQ(s.exit_code(), k_exit_cancelled);
}

TEST(FanOut, RunningCallsFinishWhenCancelledWithSeveralWorkers) {
  CancelToken cancel;
  std::atomic<int> started{0};
  auto op = [&](const TenantRef& t, TenantScope&) -> Result<Outcome> {
    ++started;
    if (index_of(t) == 0) {
      cancel.cancel();
      return Outcome{};
    }
    std::this_thread::sleep_for(20ms);
    return Outcome{};
  };
  FanOutOptions options;
  options.concurrency = 3;
  Summary s = fan_out(tenants(30), op, options, cancel, {});
  EXPECT_LE(started.load(), 4);
  EXPECT_EQ(s.count(EnvelopeStatus::ok), static_cast<size_t>(started.load()));
  EXPECT_EQ(s.count(EnvelopeStatus::cancelled), 30u - static_cast<size_t>(started.load()));
  EXPECT_TRUE(s.cancelled);
}

class RecordingBudget : public QuotaBudget {
public:
  Status acquire(const CancelToken&) override {
    ++acquired;
    return {};
  }
  void throttled(std::optional<std::chrono::seconds> retry_after) override { last_retry_after = retry_after; }
  std::atomic<int> acquired{0};
  std::optional<std::chrono::seconds> last_retry_after;
};

TEST(FanOut, EachTenantRunsUnderItsBudget) {
  std::map<std::string, std::shared_ptr<RecordingBudget>> budgets;
  for (const auto& t : tenants(3)) budgets[t.tenant_id] = std::make_shared<RecordingBudget>();
  FanOutOptions options;
  options.budgets = [&](const std::string& id) { return budgets.at(id); };
  auto op = [&](const TenantRef& t, TenantScope& scope) -> Result<Outcome> {
    EXPECT_EQ(scope.budget(), budgets.at(t.tenant_id).get());
    XDR_TRY(scope.budget()->acquire(scope.cancel()));
    if (index_of(t) == 1) {
      Error e = http_error(ErrorKind::rate_limited, 429);
      e.retry_after = 7s;
      return tl::unexpected(e);
    }
    return Outcome{};
  };
  CancelToken cancel;
  fan_out(tenants(3), op, options, cancel, {});
  for (const auto& [id, b] : budgets) EXPECT_EQ(b->acquired.load(), 1) << id;
  EXPECT_EQ(budgets[tenants(3)[1].tenant_id]->last_retry_after, 7s);
  EXPECT_EQ(budgets[tenants(3)[0].tenant_id]->last_retry_after, std::nullopt);
}

TEST(FanOut, TenantsOfAnotherCloudAreNotCalledAndSayWhichCloudReachesThem) {
  std::vector<TenantRef> refs = {{"00000000-0000-4000-8000-000000000000", "Global", "global"},
                                 {"00000000-0000-4000-8000-000000000001", "Agency", "gcc-high"},
                                 {"00000000-0000-4000-8000-000000000002", "Alias", "GCCHigh"},
                                 {"00000000-0000-4000-8000-000000000003", "Unknown", ""}};
  std::mutex m;
  std::set<std::string> called;
  CancelToken cancel;
  FanOutOptions options;
  options.cloud = "gcc-high";
  std::map<std::string, Envelope> envelopes;
  Summary s = fan_out(
      refs,
      [&](const TenantRef& t, TenantScope&) -> Result<Outcome> {
        std::lock_guard lock(m);
        called.insert(t.name);
        return Outcome{};
      },
      options, cancel, [&](const Envelope& e) { envelopes[e.tenant.name] = e; });
  EXPECT_EQ(called, (std::set<std::string>{"Agency", "Alias", "Unknown"}));
  EXPECT_EQ(envelopes["Global"].status, EnvelopeStatus::error);
  EXPECT_EQ(envelopes["Global"].detail,
            "registered in the global cloud, but this run talks to the gcc-high cloud; run it again with --cloud global "
            "(and that cloud's app registration) to reach this tenant");
  EXPECT_EQ(s.failed(), 1u);
  EXPECT_EQ(s.exit_code(), k_exit_partial);
}

TEST(FanOut, NoTenantsIsAnEmptySuccess) {
  CancelToken cancel;
  Summary s = fan_out({}, [](const TenantRef&, TenantScope&) -> Result<Outcome> { return Outcome{}; }, {}, cancel, {});
  EXPECT_EQ(s.total, 0u);
  EXPECT_EQ(s.exit_code(), k_exit_all_ok);
}

TEST(FanOut, DefaultConcurrencySuitsIoBoundWork) {
  EXPECT_GE(default_concurrency(), 8u);
  EXPECT_LE(default_concurrency(), 16u);
}

TEST(ProgressBar, WritesNothingWhenNotATerminal) {
  std::ostringstream err;
  ProgressBar bar(err, 3, false);
  Envelope e;
  e.rows = 5;
  bar.add(e);
  bar.add(e);
  bar.finish();
  EXPECT_EQ(err.str(), "");
}

TEST(ProgressBar, ShowsDoneRowsErrorsRateAndEta) {
  auto t = std::chrono::steady_clock::time_point{};
  std::ostringstream err;
  ProgressBar bar(err, 4, true, [&] { return t; });
  Envelope ok;
  ok.rows = 100;
  Envelope failed;
  failed.status = EnvelopeStatus::throttled;
  t += 1s;
  bar.add(ok);
  t += 1s;
  bar.add(failed);
  EXPECT_EQ(bar.line(), "[##########----------] 2/4 tenants  100 rows  1 errors  1.0 tenants/s  ETA 2 s");
  EXPECT_NE(err.str().find("\r[#####---------------] 1/4 tenants"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("2/4 tenants"), std::string::npos);
  bar.add(ok);
  bar.add(ok);
  EXPECT_NE(err.str().find("4/4 tenants  300 rows"), std::string::npos) << "the last tenant is always drawn";
  bar.finish();
  EXPECT_EQ(err.str().substr(err.str().size() - 4), "\r\x1b[K");
}

TEST(CancelTokenTest, WaitForReturnsEarlyWhenCancelled) {
  CancelToken token;
  EXPECT_FALSE(token.wait_for(1ms));
  std::thread t([&] {
    std::this_thread::sleep_for(20ms);
    token.cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(token.wait_for(10s, 5ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  t.join();
}

} // namespace
