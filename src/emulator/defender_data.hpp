#pragma once
// Deterministic Defender XDR data per tenant: incidents (with alerts, devices, entities) for the legacy
// /api/incidents API and advanced-hunting tables consistent with them, generated from (seed, tenant id).
// Also the $filter language of GET /api/incidents.

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

// The documented entity keys (every entity carries all of them, unused ones null).
const std::vector<std::string>& entity_keys();

// A tenant's data: incidents (guarded by `mutex`) and the hunting catalog (immutable once built).
class TenantData {
public:
  // Generates the incidents; times lie within the 30 days before `now`.
  TenantData(uint64_t seed, TenantProfile profile, util::TimePoint now);

  mutable std::shared_mutex mutex;
  std::vector<Incident> incidents;           // generation order
  std::unordered_map<int64_t, size_t> by_id; // incident id -> index
  // Indexes ordered newest first: lastUpdateTime desc, then incidentId desc. Kept sorted by touch().
  std::vector<size_t> order;

  // The incident as the API renders it (alerts included).
  OrderedJson render(const Incident& incident) const;
  // The alerts of an incident, as rendered inside it.
  OrderedJson render_alerts(const Incident& incident) const;
  // Re-sorts `index` after its lastUpdateTime changed. Caller holds the write lock.
  void touch(size_t index);
  // The hunting tables (AlertInfo, AlertEvidence, Device*Events, EmailEvents, IdentityLogonEvents), built once.
  std::shared_ptr<const kql::Catalog> catalog() const;

  const TenantProfile& profile() const { return m_profile; }
  util::TimePoint generated_at() const { return m_now; }

private:
  std::shared_ptr<const kql::Catalog> build_catalog() const;

  uint64_t m_seed;
  TenantProfile m_profile;
  util::TimePoint m_now;
  mutable std::once_flag m_catalog_once;
  mutable std::shared_ptr<const kql::Catalog> m_catalog;
};

// Tenant id -> data, generated on first use (thread-safe).
class DefenderDataStore {
public:
  std::shared_ptr<TenantData> get(uint64_t seed, const TenantProfile& profile, util::TimePoint now);

private:
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<TenantData>> m_tenants;
};

// A parsed $filter: true when the incident matches.
using IncidentPredicate = std::function<bool(const Incident&)>;

// Parses GET /api/incidents' $filter: fields lastUpdateTime, createdTime, status, assignedTo; operators
// eq ne gt ge lt le; and, or, parentheses; unquoted datetimes, quoted strings, null. Errors name the problem.
Result<IncidentPredicate> parse_incident_filter(std::string_view text);

// Ticks <-> the API's "2020-09-06T14:46:57.0733333Z".
std::string format_ticks(int64_t ticks);
int64_t ticks_of(util::TimePoint tp);

} // namespace xdr::emulator
