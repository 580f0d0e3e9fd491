#pragma once
// The SQLite store: one file in WAL mode (readers never block the writer), a busy timeout, foreign keys
// on, and versioned schema migrations (PRAGMA user_version, with a schema_migrations log) applied in one
// transaction when the file is opened. One connection, serialised by a mutex, with cached prepared
// statements; each write call is one transaction.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include <xdr/store/store.hpp>

namespace xdr::store {

struct SqliteOptions {
  std::chrono::milliseconds busy_timeout{5000}; // how long a write waits for another process's lock
  bool create = true;                           // create the file (mode 0600) when it does not exist
  bool read_only = false;                       // open for reading only (report); migrations are not run
  std::shared_ptr<const util::Clock> clock = util::system_clock(); // added_at of new tenants
};

// The newest schema version this build knows.
int sqlite_schema_version();

class SqliteStore final : public Store {
public:
  // Opens (or creates) the database file at `path` and brings its schema up to date. Errors (storage):
  // the file is not a database or is corrupt, is locked longer than the busy timeout, cannot be written or
  // created (read-only file or directory), or was made by a newer xdrpartner; each message names the file
  // and what to do.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& path, SqliteOptions options = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The file this store was opened on.
  const std::string& path() const { return m_path; }
  // The schema version of the open file.
  Result<int> schema_version();

  Status add_tenants(const std::vector<Tenant>& tenants, OnExisting on_existing) override;
  Result<std::vector<Tenant>> list_tenants(const TenantFilter& filter = {}) override;
  Result<std::optional<Tenant>> find_tenant(const std::string& tenant_id) override;
  Status remove_tenant(const std::string& tenant_id) override;
  Status set_tenant_enabled(const std::string& tenant_id, bool enabled) override;
  Status record_check(const std::string& tenant_id, const CheckRecord& check) override;
  Result<UpsertStats> upsert_incidents(const std::string& tenant_id, const std::string& api,
                                       const std::vector<api::Incident>& incidents,
                                       std::optional<TimePoint> new_watermark) override;
  Result<std::optional<TimePoint>> watermark(const std::string& tenant_id, const std::string& api) override;
  Status record_sync_run(const std::string& tenant_id, const std::string& api, TimePoint at,
                         const std::string& status) override;
  Result<std::vector<api::Incident>> incidents(const std::string& tenant_id) override;
  Result<std::vector<IncidentCount>> incident_counts() override;
  Result<std::vector<SyncState>> sync_states() override;

  struct Impl;

private:
  SqliteStore(std::string path, SqliteOptions options, std::unique_ptr<Impl> impl);

  std::string m_path;
  SqliteOptions m_options;
  std::unique_ptr<Impl> m_impl;
  std::mutex m_mutex;
};

} // namespace xdr::store
