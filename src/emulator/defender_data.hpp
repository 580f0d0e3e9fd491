#pragma once
// Deterministic Defender XDR data per tenant: incidents (with alerts, devices, entities) for the legacy
// /api/incidents API and advanced-hunting tables consistent with them, generated from (seed, tenant id).
// Also the $filter language of GET /api/incidents.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <emulator/kql/table.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/random.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/result.hpp>

namespace xdr::emulator {

inline constexpr int64_t k_default_incidents = 25;
inline constexpr int64_t k_max_incidents = 100'000;

// One incident's state. Alerts are not stored: they are regenerated from `alert_seed` when rendered.
struct Incident {
  int64_t id = 0;
  int64_t created = 0;     // 100-ns ticks since the Unix epoch
  int64_t last_update = 0; // ticks
  int64_t generated_update = 0; // lastUpdateTime at generation: alert times derive from it and never move
  std::string name;
  std::string status;                     // Active, InProgress, Resolved, Redirected
  std::optional<std::string> assigned_to; // UPN
  std::string classification;
  std::string determination;
  std::string severity;
  std::vector<std::string> tags;
  OrderedJson comments = OrderedJson::array();
  uint64_t alert_seed = 0;
  int alert_count = 1;
};

// What generation needs to know about a tenant.
struct TenantProfile {
  std::string tenant_id;
  std::string domain; // primary domain, for UPNs
  int64_t incidents = k_default_incidents;
};

// What a churn call changed: the ids created and the ids whose lastUpdateTime moved.
struct ChurnResult {
  std::vector<int64_t> created;
  std::vector<int64_t> updated;
};

// The fields of one alert that filters need, without rendering it.
struct AlertFacts {
  std::string id;
  int64_t created = 0; // ticks
  int64_t updated = 0; // ticks
  std::string severity;       // Informational, Low, Medium, High
  std::string service_source; // MicrosoftDefenderForEndpoint, MicrosoftCloudAppSecurity, OfficeATP
};

// The documented entity keys (every entity carries all of them, unused ones null).
const std::vector<std::string>& entity_keys();

// A byte budget for cached rendered incident texts, shared by all tenants of one emulator, so that serving a
// million incidents (1,000 tenants x 1,000) does not keep ~10 KB of JSON per incident in memory. Past the
// limit, texts are rendered per request and not kept.
class RenderBudget {
public:
  explicit RenderBudget(size_t limit_bytes) : m_limit(limit_bytes) {}
  // Reserves `n` bytes; false (nothing reserved) when that would pass the limit.
  bool take(size_t n) {
    size_t used = m_used.load(std::memory_order_relaxed);
    do {
      if (used + n > m_limit) return false;
    } while (!m_used.compare_exchange_weak(used, used + n, std::memory_order_relaxed));
    return true;
  }
  void give_back(size_t n) { m_used.fetch_sub(n, std::memory_order_relaxed); }
  size_t used() const { return m_used.load(std::memory_order_relaxed); }
  size_t limit() const { return m_limit; }

private:
  size_t m_limit;
  std::atomic<size_t> m_used{0};
};

inline constexpr size_t k_default_render_cache_bytes = size_t{512} << 20;

// A tenant's data: incidents (guarded by `mutex`) and the hunting catalog (immutable once built).
class TenantData {
public:
  // Generates the incidents; times lie within the 30 days before `now`. Rendered texts are cached within
  // `budget` (null: without limit).
  TenantData(uint64_t seed, TenantProfile profile, util::TimePoint now, std::shared_ptr<RenderBudget> budget = nullptr);
  ~TenantData();
  TenantData(const TenantData&) = delete;
  TenantData& operator=(const TenantData&) = delete;

  mutable std::shared_mutex mutex;
  std::vector<Incident> incidents;           // generation order
  std::unordered_map<int64_t, size_t> by_id; // incident id -> index
  // Indexes ordered newest first: lastUpdateTime desc, then incidentId desc. Kept sorted by touch().
  std::vector<size_t> order;

  // The incident as the API renders it (alerts included).
  OrderedJson render(const Incident& incident) const;
  // render(incidents[index]) serialized, cached until the incident changes (touch, churn) while the render
  // budget allows. Caller holds at least the shared lock.
  std::shared_ptr<const std::string> rendered_text(size_t index) const;
  // The alerts of an incident, as rendered inside it.
  OrderedJson render_alerts(const Incident& incident) const;
  // Re-sorts `index` after it changed (and drops its cached text). Caller holds the write lock.
  void touch(size_t index);
  // The AlertInfo fields of each alert of `incident`, in render order.
  std::vector<AlertFacts> alert_facts(const Incident& incident) const;
  // The hunting tables (AlertInfo, AlertEvidence, Device*Events, EmailEvents, IdentityLogonEvents). Built on
  // first use; AlertInfo is extended with the alerts of incidents created since (AlertEvidence is not).
  std::shared_ptr<const kql::Catalog> catalog() const;

  // Creates `create` incidents and bumps the lastUpdateTime of `update` distinct existing ones, all at
  // `now_ticks`; deterministic from the seed and the number of churn calls so far. Takes the write lock.
  ChurnResult churn(int64_t create, int64_t update, int64_t now_ticks);
  // Applies the steady churn rates (per minute, counted from generation) up to `now_ticks`: each due change
  // is stamped with its due time. At most k_max_steady_batch changes per call. Takes the write lock.
  void apply_steady_churn(double create_per_minute, double update_per_minute, int64_t now_ticks);
  static constexpr int64_t k_max_steady_batch = 10'000;

  const TenantProfile& profile() const { return m_profile; }
  util::TimePoint generated_at() const { return m_now; }

private:
  std::shared_ptr<const kql::Catalog> build_catalog() const;
  // Appends a new incident created at `at`. Caller holds the write lock.
  int64_t create_incident(util::DeterministicRng& rng, int64_t at);
  // Moves an incident's lastUpdateTime to `at` (or just past its current one). Caller holds the write lock.
  void bump(size_t index, int64_t at);
  // Re-sorts `order` completely. Caller holds the write lock.
  void sort_order();
  // Drops the cached text of `index` and returns its bytes to the budget. Caller holds m_text_mutex.
  void drop_text(size_t index) const;

  uint64_t m_seed;
  TenantProfile m_profile;
  util::TimePoint m_now;
  std::shared_ptr<RenderBudget> m_budget;
  mutable std::mutex m_text_mutex;
  mutable std::vector<std::shared_ptr<const std::string>> m_text; // by incident index; null: not rendered
  mutable std::mutex m_catalog_mutex;
  mutable std::shared_ptr<const kql::Catalog> m_catalog;
  mutable size_t m_catalog_incidents = 0; // incidents whose alerts AlertInfo holds
  uint64_t m_churn_calls = 0;             // guarded by `mutex`
  int64_t m_steady_created = 0, m_steady_updated = 0; // guarded by `mutex`
};

// Tenant id -> data, generated on first use (thread-safe).
class DefenderDataStore {
public:
  explicit DefenderDataStore(size_t render_cache_bytes = k_default_render_cache_bytes)
      : m_budget(std::make_shared<RenderBudget>(render_cache_bytes)) {}
  std::shared_ptr<TenantData> get(uint64_t seed, const TenantProfile& profile, util::TimePoint now);
  const RenderBudget& render_budget() const { return *m_budget; }

private:
  std::shared_ptr<RenderBudget> m_budget;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<TenantData>> m_tenants;
};

// A parsed $filter: true when the incident matches.
using IncidentPredicate = std::function<bool(const Incident&)>;

// Parses GET /api/incidents' $filter with the shared OData parser (odata_filter.hpp) in the Defender syntax:
// fields lastUpdateTime, createdTime, status (ordered Active < InProgress < Resolved < Redirected), assignedTo;
// operators eq ne gt ge lt le; and, or, parentheses; unquoted datetimes, quoted strings, null. Errors name the
// problem and its position.
Result<IncidentPredicate> parse_incident_filter(std::string_view text);

// Ticks <-> the API's "2020-09-06T14:46:57.0733333Z".
std::string format_ticks(int64_t ticks);
int64_t ticks_of(util::TimePoint tp);

} // namespace xdr::emulator
