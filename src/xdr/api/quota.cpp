#include <xdr/api/quota.hpp>

#include <algorithm>
#include <cmath>
#include <thread>

namespace xdr::api {

using std::chrono::milliseconds;

QuotaLimits QuotaLimits::incidents() { return {{{50, std::chrono::seconds(60)}, {1500, std::chrono::seconds(3600)}}}; }
QuotaLimits QuotaLimits::hunting() { return {{{45, std::chrono::seconds(60)}, {1500, std::chrono::seconds(3600)}}}; }

QuotaLimits QuotaLimits::scaled(double factor) const {
  QuotaLimits out = *this;
  for (auto& w : out.windows) w.calls = std::max(1, static_cast<int>(std::floor(w.calls * factor)));
  return out;
}

QuotaBudget::QuotaBudget(QuotaBudgetOptions options) : m_options(std::move(options)) {
  if (!m_options.clock) m_options.clock = util::system_clock();
  if (!m_options.sleep) m_options.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
}

QuotaBudget::State& QuotaBudget::state_locked(const std::string& tenant, QuotaApi api) {
  State& s = m_states[{tenant, api}];
  if (s.calls.size() != limits(api).windows.size()) s.calls.resize(limits(api).windows.size());
  return s;
}

milliseconds QuotaBudget::wait_locked(const State& state, const QuotaLimits& lim, util::TimePoint now) const {
  util::TimePoint ready = std::max(now, state.blocked_until);
  for (size_t i = 0; i < lim.windows.size() && i < state.calls.size(); ++i) {
    const auto& w = lim.windows[i];
    const auto& calls = state.calls[i];
    if (w.calls <= 0 || static_cast<int>(calls.size()) < w.calls) continue;
    // The call that must leave the window before one more fits.
    const util::TimePoint frees = calls[calls.size() - static_cast<size_t>(w.calls)] + w.window;
    ready = std::max(ready, frees);
  }
  return std::chrono::duration_cast<milliseconds>(ready - now) + (ready > now ? milliseconds(1) : milliseconds(0));
}

milliseconds QuotaBudget::wait_time(const std::string& tenant, QuotaApi api) const {
  std::lock_guard lock(m_mutex);
  auto it = m_states.find({tenant, api});
  if (it == m_states.end()) return milliseconds(0);
  return wait_locked(it->second, limits(api), m_options.clock->now());
}

milliseconds QuotaBudget::acquire(const std::string& tenant, QuotaApi api) {
  milliseconds waited(0);
  for (;;) {
    milliseconds wait;
    {
      std::lock_guard lock(m_mutex);
      State& s = state_locked(tenant, api);
      const auto now = m_options.clock->now();
      // Forget calls older than their window.
      const auto& lim = limits(api);
      for (size_t i = 0; i < lim.windows.size(); ++i)
        while (!s.calls[i].empty() && s.calls[i].front() + lim.windows[i].window <= now) s.calls[i].pop_front();
      wait = wait_locked(s, lim, now);
      if (wait <= milliseconds(0)) {
        for (auto& calls : s.calls) calls.push_back(now);
        return waited;
      }
    }
    m_options.sleep(wait);
    waited += wait;
  }
}

void QuotaBudget::block(const std::string& tenant, QuotaApi api, milliseconds retry_after) {
  std::lock_guard lock(m_mutex);
  State& s = state_locked(tenant, api);
  const auto until = m_options.clock->now() + retry_after;
  s.blocked_until = std::max(s.blocked_until, until);
}

} // namespace xdr::api
