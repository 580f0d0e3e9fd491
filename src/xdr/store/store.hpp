#pragma once
// The store: the tenant registry, the synced incidents with their alerts, devices and entities, and each
// tenant's sync watermark. `Store` is the interface (SQLite today, PostgreSQL next); every row carries its
// tenant_id in its primary key, so a row of one tenant can never be stored under another.
// The store never holds tokens or secrets.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <xdr/api/model.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::store {

using util::TimePoint;

// One registered customer tenant.
struct Tenant {
  std::string tenant_id;                     // the GUID, lower case
  std::string name;                          // the partner's name for the customer
  std::string domain;                        // e.g. "fabrikam.onmicrosoft.com" when added by domain
  std::string cloud = "global";              // global | gcc | gcc-high | dod
  std::string region;                        // free text ("eu", "us")
  std::map<std::string, std::string> labels; // key=value labels for selection (--label)
  bool enabled = true;                       // disabled tenants are skipped by check and sync
  std::optional<TimePoint> added_at;         // set by the store when absent
  std::optional<TimePoint> last_check_at;
  std::string last_check_status;             // "" never checked; otherwise an envelope status ("ok", ...)
  std::string last_check_detail;
  std::string consent_url;                   // the consent link when consent was missing at the last check

  bool operator==(const Tenant&) const = default;
};

// Which tenants list_tenants returns: every label must match, and only enabled ones when asked.
struct TenantFilter {
  std::map<std::string, std::string> labels;
  bool enabled_only = false;
};

// The outcome of one `tenants check` of a tenant.
struct CheckRecord {
  TimePoint at;
  std::string status;      // "ok", "consent_missing", "forbidden", ...
  std::string detail;      // one readable line
  std::string consent_url; // empty unless consent is missing
};

// How add_tenants treats a tenant that is already registered.
enum class OnExisting {
  fail,   // the whole call fails (ErrorKind::config) and nothing is written
  update, // name, domain, cloud, region and labels are replaced; enabled and check results are kept
};

// The sync position of one tenant on one API.
struct SyncState {
  std::string tenant_id;
  std::string api;                    // "legacy" or "graph"
  std::optional<TimePoint> watermark; // max lastUpdateTime stored; nullopt before the first page
  std::optional<TimePoint> last_run_at;
  std::string last_status;            // "ok", or the error of the last run
};

// Incidents of one tenant with one severity and status (Graph spellings: "high", "inProgress").
struct IncidentCount {
  std::string tenant_id;
  std::string severity;
  std::string status;
  int64_t count = 0;
};

// What one upsert_incidents call wrote.
struct UpsertStats {
  int64_t incidents = 0;
  int64_t alerts = 0;
};

class Store {
public:
  virtual ~Store() = default;

  // Registers `tenants` in one transaction (all or none). Errors: config when a tenant is already
  // registered and `on_existing` is fail (the message names it), or when a tenant_id is not a GUID; storage.
  virtual Status add_tenants(const std::vector<Tenant>& tenants, OnExisting on_existing) = 0;
  // The registered tenants matching `filter`, ordered by name then tenant_id.
  virtual Result<std::vector<Tenant>> list_tenants(const TenantFilter& filter = {}) = 0;
  // The tenant with this GUID, or nullopt.
  virtual Result<std::optional<Tenant>> find_tenant(const std::string& tenant_id) = 0;
  // Removes the tenant with all its incidents and sync state. Errors: not_found when not registered.
  virtual Status remove_tenant(const std::string& tenant_id) = 0;
  // Enables or disables the tenant. Errors: not_found when not registered.
  virtual Status set_tenant_enabled(const std::string& tenant_id, bool enabled) = 0;
  // Records the result of a check. Errors: not_found when not registered.
  virtual Status record_check(const std::string& tenant_id, const CheckRecord& check) = 0;

  // Writes `incidents` of `tenant_id` with their alerts, devices and entities (an existing incident's
  // children are replaced) and, in the same transaction, moves the tenant's watermark for `api` to
  // `new_watermark` when that is later than the stored one (it never moves back). Upserting the same
  // incidents twice leaves the same rows. Errors: invalid_request when an incident names another tenant
  // (nothing written), not_found when the tenant is not registered, storage.
  virtual Result<UpsertStats> upsert_incidents(const std::string& tenant_id, const std::string& api,
                                               const std::vector<api::Incident>& incidents,
                                               std::optional<TimePoint> new_watermark) = 0;
  // The tenant's watermark for `api`; nullopt before its first stored page.
  virtual Result<std::optional<TimePoint>> watermark(const std::string& tenant_id, const std::string& api) = 0;
  // Records when a sync run of the tenant ended and how ("ok" or the error); the watermark is untouched.
  virtual Status record_sync_run(const std::string& tenant_id, const std::string& api, TimePoint at,
                                 const std::string& status) = 0;

  // Every incident of the tenant with its alerts, devices and entities, ordered by incident id (numeric
  // ids in numeric order); each incident's tenant_id is `tenant_id`.
  virtual Result<std::vector<api::Incident>> incidents(const std::string& tenant_id) = 0;
  // Incident counts per tenant, severity and status.
  virtual Result<std::vector<IncidentCount>> incident_counts() = 0;
  // The sync state of every tenant and API.
  virtual Result<std::vector<SyncState>> sync_states() = 0;
};

// "k=v" -> {"k", "v"}. Errors (config) when there is no '=' or the key is empty.
Result<std::pair<std::string, std::string>> parse_label(std::string_view text);
// "k1=v1;k2=v2" (also ',' as separator) -> labels. Errors (config) name the bad entry.
Result<std::map<std::string, std::string>> parse_labels(std::string_view text);
// Labels as "k1=v1;k2=v2", keys in order.
std::string format_labels(const std::map<std::string, std::string>& labels);

} // namespace xdr::store
