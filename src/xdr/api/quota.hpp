#pragma once
// Per-tenant call budgets for the Defender APIs, so a client waits instead of earning a 429.
//
// Each (tenant, API) pair has sliding windows seeded with the documented limits: incidents 50 calls per
// minute and 1,500 per hour; advanced hunting 45 per minute and 1,500 per hour. acquire() records a call,
// first sleeping until every window has room. When a 429 arrives anyway, block() makes the pair wait for the
// server's Retry-After before its next call. The clock and the sleep are injectable; thread-safe.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <xdr/util/clock.hpp>

namespace xdr::api {

// One limit: at most `calls` in any `window`.
struct QuotaWindow {
  int calls = 0;
  std::chrono::seconds window{60};
};

// The documented limits of one API.
struct QuotaLimits {
  std::vector<QuotaWindow> windows;

  // Incidents (list, get, update): 50 per minute, 1,500 per hour.
  static QuotaLimits incidents();
  // Advanced hunting: 45 per minute, 1,500 per hour.
  static QuotaLimits hunting();
  // These limits with each count multiplied by `factor` (at least 1 call per window); for tenants whose
  // allowance Microsoft scaled, or tests.
  QuotaLimits scaled(double factor) const;
};

// Which budget a call draws from.
enum class QuotaApi { incidents, hunting };

struct QuotaBudgetOptions {
  QuotaLimits incidents = QuotaLimits::incidents();
  QuotaLimits hunting = QuotaLimits::hunting();
  std::shared_ptr<const util::Clock> clock = util::system_clock();
  // Waits; null: std::this_thread::sleep_for. Tests advance a FakeClock here.
  std::function<void(std::chrono::milliseconds)> sleep;
};

class QuotaBudget {
public:
  explicit QuotaBudget(QuotaBudgetOptions options = {});

  // Records one call for (tenant, api), sleeping first until the call fits every window and any block
  // has passed. Returns how long it waited.
  std::chrono::milliseconds acquire(const std::string& tenant, QuotaApi api);
  // How long acquire() would wait now (no call recorded).
  std::chrono::milliseconds wait_time(const std::string& tenant, QuotaApi api) const;
  // The service throttled (tenant, api): no call before now + retry_after.
  void block(const std::string& tenant, QuotaApi api, std::chrono::milliseconds retry_after);

private:
  struct State {
    std::vector<std::deque<util::TimePoint>> calls; // one deque per window
    util::TimePoint blocked_until{};
  };
  std::chrono::milliseconds wait_locked(const State& state, const QuotaLimits& limits, util::TimePoint now) const;
  State& state_locked(const std::string& tenant, QuotaApi api);
  const QuotaLimits& limits(QuotaApi api) const { return api == QuotaApi::incidents ? m_options.incidents : m_options.hunting; }

  QuotaBudgetOptions m_options;
  mutable std::mutex m_mutex;
  std::map<std::pair<std::string, QuotaApi>, State> m_states;
};

} // namespace xdr::api
