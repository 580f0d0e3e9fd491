#include <xdr/sync/sync_engine.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <thread>

#include <gtest/gtest.h>

#include <xdr/store/sqlite_store.hpp>

#include "auth_test_support.hpp"
#include "fake_incident_feed.hpp"
#include "fakes/fake_clock.hpp"
#include "store_test_support.hpp"

namespace {

using namespace xdr;
using namespace xdr::testing;
using store::SqliteStore;
using sync::FeedOrder;

constexpr int64_t k_t0 = 1'767'225'600; // 2026-01-01T00:00:00Z

std::unique_ptr<SqliteStore> open_store(const std::string& path) {
  auto opened = SqliteStore::open(path);
  if (!opened) throw std::runtime_error(opened.error().message);
  auto db = std::move(*opened);
  auto added = db->add_tenants({tenant(k_fabrikam, "Fabrikam"), tenant(k_northwind, "Northwind")},
                               store::OnExisting::update);
  if (!added) throw std::runtime_error(added.error().message);
  return db;
}

// `n` incidents of `tenant`, updated one second apart from k_t0.
void seed(FakeIncidentFeed& feed, const std::string& tenant, int n, int64_t first_id = 1) {
  for (int k = 0; k < n; ++k) feed.put(tenant, make_incident(tenant, first_id + k, k_t0 + k, 1 + k % 3));
}

class SyncTest : public ::testing::TestWithParam<FeedOrder> {
protected:
  void SetUp() override { db = open_store(dir.file("sync.db")); }

  sync::SyncOptions options() const {
    sync::SyncOptions o;
    o.clock = clock;
    return o;
  }

  TempDir dir;
  std::shared_ptr<FakeClock> clock = std::make_shared<FakeClock>(k_t0 + 86400);
  std::unique_ptr<SqliteStore> db;
};

TEST_P(SyncTest, FirstRunStoresEverythingAndSetsTheWatermark) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 10);
  auto r = sync::sync_tenant(*db, feed, k_fabrikam, options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pages, 4);
  EXPECT_EQ(r->incidents, 10);
  EXPECT_EQ(r->since, std::nullopt);
  EXPECT_EQ(r->watermark, at(k_t0 + 9));
  EXPECT_EQ(*db->incidents(k_fabrikam), feed.reference(k_fabrikam));
  auto states = *db->sync_states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].last_status, "ok");
  EXPECT_EQ(states[0].last_run_at, clock->now());
}

TEST_P(SyncTest, ASecondRunAsksFromTheWatermarkMinusTheOverlapAndChangesNothing) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 10);
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, options()));
  const auto first = *db->incidents(k_fabrikam);
  auto again = sync::sync_tenant(*db, feed, k_fabrikam, options());
  ASSERT_TRUE(again);
  EXPECT_EQ(feed.calls().back().second, at(k_t0 + 9 - 300));
  EXPECT_EQ(again->incidents, 10) << "all ten fall inside the 5 min overlap and are upserted again";
  EXPECT_EQ(*db->incidents(k_fabrikam), first);
  EXPECT_EQ(again->watermark, at(k_t0 + 9));
}

TEST_P(SyncTest, TheOverlapCatchesSameTimestampAndLateUpdates) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 5);
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, options()));
  // After the run: one new incident sharing the watermark's timestamp, one that became visible late with an
  // older lastUpdateTime, and an update of an existing incident.
  feed.put(k_fabrikam, make_incident(k_fabrikam, 100, k_t0 + 4));
  feed.put(k_fabrikam, make_incident(k_fabrikam, 101, k_t0 - 120));
  api::Incident updated = make_incident(k_fabrikam, 2, k_t0 + 30, 2);
  updated.status = api::IncidentStatus::resolved;
  feed.put(k_fabrikam, updated);
  auto r = sync::sync_tenant(*db, feed, k_fabrikam, options());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*db->incidents(k_fabrikam), feed.reference(k_fabrikam));
  EXPECT_EQ(r->watermark, at(k_t0 + 30));
}

TEST_P(SyncTest, WithoutOverlapALateUpdateIsMissed) {
  // The counter-test: what the overlap window is for.
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 5);
  auto o = options();
  o.overlap = std::chrono::seconds(0);
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, o));
  feed.put(k_fabrikam, make_incident(k_fabrikam, 101, k_t0 - 120));
  feed.put(k_fabrikam, make_incident(k_fabrikam, 100, k_t0 + 4));
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, o));
  const auto stored = *db->incidents(k_fabrikam);
  EXPECT_EQ(stored.size(), 6u) << "the same-timestamp one is caught by 'ge', the late one is not";
}

TEST_P(SyncTest, AFailureAfterAnyPageLosesNothingAndTheRerunMatchesTheReference) {
  for (int k = 0; k <= 4; ++k) {
    SCOPED_TRACE("failing after page " + std::to_string(k));
    TempDir here;
    auto store = open_store(here.file("s.db"));
    FakeIncidentFeed feed(GetParam());
    seed(feed, k_fabrikam, 12);
    feed.fail_after(k_fabrikam, k, Error(ErrorKind::rate_limited, "429 Too Many Requests").with_status(429));
    auto failed = sync::sync_tenant(*store, feed, k_fabrikam, options());
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind, ErrorKind::rate_limited);
    EXPECT_EQ((*store->sync_states())[0].last_status, "429 Too Many Requests");
    const auto watermark = *store->watermark(k_fabrikam, "legacy");
    if (GetParam() != FeedOrder::oldest_first) {
      EXPECT_EQ(watermark, std::nullopt) << "the watermark moves only with the last page";
    } else if (watermark) {
      // Oldest first: the watermark never passes a stored incident's successor.
      for (const auto& i : feed.reference(k_fabrikam))
        if (*i.last_update_time <= *watermark) {
          const auto stored = *store->incidents(k_fabrikam);
          EXPECT_TRUE(std::count(stored.begin(), stored.end(), i) == 1) << i.incident_id;
        }
    }
    ASSERT_TRUE(sync::sync_tenant(*store, feed, k_fabrikam, options()));
    EXPECT_EQ(*store->incidents(k_fabrikam), feed.reference(k_fabrikam));
  }
}

TEST_P(SyncTest, ACrashMidRunThenAResumeFromTheFileMatchesTheReference) {
  for (int k = 0; k <= 4; ++k) {
    SCOPED_TRACE("crash after page " + std::to_string(k));
    TempDir here;
    FakeIncidentFeed feed(GetParam());
    seed(feed, k_fabrikam, 12);
    {
      auto store = open_store(here.file("s.db"));
      ASSERT_TRUE(sync::sync_tenant(*store, feed, k_fabrikam, options()));
      // More changes on the server, then a crash part way through the next run.
      for (int64_t id = 3; id <= 12; id += 3) feed.put(k_fabrikam, make_incident(k_fabrikam, id, k_t0 + 100 + id, 3));
      seed(feed, k_fabrikam, 4, 50);
      feed.crash_after(k_fabrikam, k);
      EXPECT_THROW((void)sync::sync_tenant(*store, feed, k_fabrikam, options()), FakeIncidentFeed::Crash);
    }
    auto resumed = open_store(here.file("s.db"));
    ASSERT_TRUE(sync::sync_tenant(*resumed, feed, k_fabrikam, options()));
    EXPECT_EQ(*resumed->incidents(k_fabrikam), feed.reference(k_fabrikam));
  }
}

TEST_P(SyncTest, CancellingBetweenPagesStopsWithoutLosingAnything) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 12);
  fleet::CancelToken cancel;
  cancel.cancel();
  fleet::TenantScope scope(cancel, nullptr);
  auto r = sync::sync_tenant(*db, feed, k_fabrikam, options(), &scope);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::cancelled);
  EXPECT_TRUE(db->incidents(k_fabrikam)->empty());
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), std::nullopt);
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, options()));
  EXPECT_EQ(*db->incidents(k_fabrikam), feed.reference(k_fabrikam));
}

TEST_P(SyncTest, TenantsAreIsolated) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 5);
  seed(feed, k_northwind, 7);
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, options()));
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_northwind, options()));
  EXPECT_EQ(*db->incidents(k_fabrikam), feed.reference(k_fabrikam));
  EXPECT_EQ(*db->incidents(k_northwind), feed.reference(k_northwind));
  // A feed that hands Northwind's incident to a Fabrikam sync is refused, and nothing moves.
  feed.put(k_fabrikam, make_incident(k_northwind, 999, k_t0 + 500));
  auto r = sync::sync_tenant(*db, feed, k_fabrikam, options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::invalid_request);
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), at(k_t0 + 4));
  EXPECT_EQ(*db->incidents(k_northwind), feed.reference(k_northwind));
}

TEST_P(SyncTest, AnIncidentStampedInTheFutureDoesNotHideLaterUpdates) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 3);
  const int64_t now = util::to_unix(clock->now());
  feed.put(k_fabrikam, make_incident(k_fabrikam, 50, now + 7 * 86400)); // a skewed service clock
  auto r = sync::sync_tenant(*db, feed, k_fabrikam, options());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->watermark, clock->now()) << "capped at the run's start";
  clock->advance(std::chrono::seconds(3600));
  feed.put(k_fabrikam, make_incident(k_fabrikam, 2, now + 1800, 1));
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, options()));
  EXPECT_EQ(*db->incidents(k_fabrikam), feed.reference(k_fabrikam));
}

TEST_P(SyncTest, FirstLookbackLimitsTheFirstRun) {
  FakeIncidentFeed feed(GetParam());
  seed(feed, k_fabrikam, 3);
  auto o = options();
  o.first_lookback = std::chrono::hours(24 * 30);
  ASSERT_TRUE(sync::sync_tenant(*db, feed, k_fabrikam, o));
  EXPECT_EQ(feed.calls().back().second, clock->now() - std::chrono::hours(24 * 30));
}

INSTANTIATE_TEST_SUITE_P(Orders, SyncTest,
                         ::testing::Values(FeedOrder::newest_first, FeedOrder::oldest_first, FeedOrder::unordered),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                           case FeedOrder::newest_first: return std::string("NewestFirst");
                           case FeedOrder::oldest_first: return std::string("OldestFirst");
                           default: return std::string("Unordered");
                           }
                         });

TEST(SyncAll, SyncsEveryEnabledTenantThroughTheFanOutAndReportsFailures) {
  TempDir here;
  auto db = open_store(here.file("all.db"));
  store::Tenant tailspin = tenant(k_tailspin, "Tailspin");
  tailspin.region = "uk";
  ASSERT_TRUE(db->add_tenants({tailspin}, store::OnExisting::fail));
  const std::string disabled = "e0000000-0000-4000-8000-00000000000e";
  ASSERT_TRUE(db->add_tenants({tenant(disabled, "Disabled")}, store::OnExisting::fail));
  ASSERT_TRUE(db->set_tenant_enabled(disabled, false));
  FakeIncidentFeed feed(FeedOrder::newest_first, 2);
  seed(feed, k_fabrikam, 5);
  seed(feed, k_northwind, 3);
  seed(feed, disabled, 3);
  feed.fail_after(k_tailspin, 0, Error(ErrorKind::unauthorized, "no consent").with_code("AADSTS65001"));

  std::map<std::string, fleet::Envelope> got;
  fleet::CancelToken cancel;
  auto summary = sync::sync_all(*db, feed, {}, cancel, [&](const fleet::Envelope& e) { got[e.tenant.tenant_id] = e; });
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->total, 3u) << "the disabled tenant is skipped";
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[k_fabrikam].status, fleet::EnvelopeStatus::ok);
  EXPECT_EQ(got[k_fabrikam].rows, 5);
  EXPECT_NE(got[k_fabrikam].detail.find("5 incident(s)"), std::string::npos);
  EXPECT_EQ(got[k_northwind].rows, 3);
  EXPECT_EQ(got[k_tailspin].status, fleet::EnvelopeStatus::consent_missing);
  EXPECT_EQ(got[k_tailspin].tenant.region, "uk");
  EXPECT_EQ(feed.regions()[k_tailspin], "uk") << "the feed is given the tenant as registered, region included";
  EXPECT_EQ(summary->exit_code(), fleet::k_exit_partial);
  EXPECT_EQ(*db->incidents(k_fabrikam), feed.reference(k_fabrikam));
  EXPECT_EQ(*db->incidents(k_northwind), feed.reference(k_northwind));
  EXPECT_TRUE(db->incidents(disabled)->empty());

  store::TenantFilter only;
  only.labels = {{"env", "none"}};
  sync::SyncAllOptions filtered;
  filtered.filter = only;
  EXPECT_EQ(sync::sync_all(*db, feed, filtered, cancel)->total, 0u);
}

TEST(SyncAll, WatchPollsUntilCancelled) {
  TempDir here;
  auto db = open_store(here.file("watch.db"));
  FakeIncidentFeed feed(FeedOrder::newest_first, 2);
  seed(feed, k_fabrikam, 2);
  fleet::CancelToken cancel;
  int rounds = 0;
  std::vector<std::chrono::milliseconds> sleeps;
  auto sleeper = [&](std::chrono::milliseconds d, const fleet::CancelToken&) {
    sleeps.push_back(d);
    // Between rounds the server changes; after the third round the user presses Ctrl-C.
    feed.put(k_fabrikam, make_incident(k_fabrikam, 10 + rounds, k_t0 + 100 + rounds));
    if (rounds == 3) cancel.cancel();
    return cancel.cancelled();
  };
  auto last = sync::watch(*db, feed, std::chrono::milliseconds(60'000), {}, cancel, {},
                          [&](const fleet::Summary& s) {
                            ++rounds;
                            EXPECT_EQ(s.count(fleet::EnvelopeStatus::ok), 2u);
                          },
                          sleeper);
  ASSERT_TRUE(last);
  EXPECT_EQ(rounds, 3);
  EXPECT_EQ(sleeps, std::vector<std::chrono::milliseconds>(3, std::chrono::milliseconds(60'000)));
  EXPECT_EQ(feed.calls().size(), 6u);
  EXPECT_EQ(db->incidents(k_fabrikam)->size(), 4u) << "rounds 1 and 2 saw the incidents added before them";
}

// A slow feed: the child process below is killed while it runs.
class SlowFeed : public FakeIncidentFeed {
public:
  using FakeIncidentFeed::FakeIncidentFeed;
  Status list_updated_since(const fleet::TenantRef& tenant, std::optional<util::TimePoint> since,
                            const std::function<Status(std::vector<api::Incident>&&)>& on_page) override {
    return FakeIncidentFeed::list_updated_since(tenant, since, [&](std::vector<api::Incident>&& page) -> Status {
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      return on_page(std::move(page));
    });
  }
};

TEST(SyncKill, SigkillAtRandomMomentsThenResumeMatchesTheReference) {
  std::mt19937 random(20260101);
  for (int run = 0; run < 3; ++run) {
    TempDir here;
    for (FeedOrder order : {FeedOrder::newest_first, FeedOrder::oldest_first}) {
      const std::string path = here.file(order == FeedOrder::oldest_first ? "oldest.db" : "newest.db");
      SlowFeed feed(order, 4);
      seed(feed, k_fabrikam, 120);
      open_store(path).reset();
      const pid_t child = ::fork();
      ASSERT_GE(child, 0);
      if (child == 0) {
        auto store = SqliteStore::open(path);
        for (;;) (void)sync::sync_tenant(**store, feed, k_fabrikam);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(2'000, 30'000)(random)));
      ::kill(child, SIGKILL);
      int status = 0;
      ::waitpid(child, &status, 0);
      ASSERT_TRUE(WIFSIGNALED(status));
      auto resumed = open_store(path);
      ASSERT_TRUE(sync::sync_tenant(*resumed, feed, k_fabrikam));
      EXPECT_EQ(*resumed->incidents(k_fabrikam), feed.reference(k_fabrikam)) << "run " << run;
    }
  }
}

} // namespace
