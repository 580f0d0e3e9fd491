#include <xdr/store/sqlite_store.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include <sqlite3.h>

#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::store {

namespace {

// Version 1: the whole schema of issue 5. A later change appends a migration; applied ones never change.
// Every table's key starts with tenant_id; children go away with their parent (ON DELETE CASCADE).
// Times are RFC 3339 text with 7 fraction digits (Defender's precision), so text order is time order.
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE tenants (
  tenant_id         TEXT PRIMARY KEY NOT NULL,
  name              TEXT NOT NULL DEFAULT '',
  domain            TEXT NOT NULL DEFAULT '',
  cloud             TEXT NOT NULL DEFAULT 'global',
  region            TEXT NOT NULL DEFAULT '',
  labels            TEXT NOT NULL DEFAULT '{}',
  enabled           INTEGER NOT NULL DEFAULT 1,
  added_at          TEXT NOT NULL,
  last_check_at     TEXT,
  last_check_status TEXT NOT NULL DEFAULT '',
  last_check_detail TEXT NOT NULL DEFAULT '',
  consent_url       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE incidents (
  tenant_id            TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  incident_id          TEXT NOT NULL,
  redirect_incident_id TEXT,
  incident_name        TEXT NOT NULL,
  description          TEXT NOT NULL,
  incident_web_url     TEXT NOT NULL,
  created_time         TEXT,
  last_update_time     TEXT,
  assigned_to          TEXT,
  status               TEXT NOT NULL,
  severity             TEXT NOT NULL,
  classification       TEXT NOT NULL,
  determination        TEXT NOT NULL,
  detection_source     TEXT NOT NULL,
  tags                 TEXT NOT NULL,
  system_tags          TEXT NOT NULL,
  comments             TEXT NOT NULL,
  PRIMARY KEY (tenant_id, incident_id)
);
CREATE TABLE alerts (
  tenant_id           TEXT NOT NULL,
  alert_id            TEXT NOT NULL,
  incident_id         TEXT NOT NULL,
  ordinal             INTEGER NOT NULL,
  service_source      TEXT NOT NULL,
  detection_source    TEXT NOT NULL,
  detector_id         TEXT NOT NULL,
  title               TEXT NOT NULL,
  description         TEXT NOT NULL,
  category            TEXT NOT NULL,
  status              TEXT NOT NULL,
  severity            TEXT NOT NULL,
  classification      TEXT,
  determination       TEXT,
  assigned_to         TEXT,
  actor_name          TEXT,
  threat_family_name  TEXT,
  investigation_id    INTEGER,
  investigation_state TEXT NOT NULL,
  mitre_techniques    TEXT NOT NULL,
  creation_time       TEXT,
  last_updated_time   TEXT,
  resolved_time       TEXT,
  first_activity      TEXT,
  last_activity       TEXT,
  PRIMARY KEY (tenant_id, alert_id),
  FOREIGN KEY (tenant_id, incident_id) REFERENCES incidents(tenant_id, incident_id) ON DELETE CASCADE
);
CREATE INDEX alerts_by_incident ON alerts(tenant_id, incident_id, ordinal);
CREATE TABLE alert_devices (
  tenant_id          TEXT NOT NULL,
  alert_id           TEXT NOT NULL,
  ordinal            INTEGER NOT NULL,
  mdatp_device_id    TEXT NOT NULL,
  aad_device_id      TEXT,
  device_dns_name    TEXT NOT NULL,
  os_platform        TEXT NOT NULL,
  version            TEXT NOT NULL,
  os_processor       TEXT NOT NULL,
  os_build           INTEGER,
  health_status      TEXT NOT NULL,
  risk_score         TEXT NOT NULL,
  rbac_group_name    TEXT,
  rbac_group_id      INTEGER,
  first_seen         TEXT,
  tags               TEXT NOT NULL,
  defender_av_status TEXT,
  onboarding_status  TEXT,
  PRIMARY KEY (tenant_id, alert_id, ordinal),
  FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts(tenant_id, alert_id) ON DELETE CASCADE
);
CREATE TABLE alert_entities (
  tenant_id                    TEXT NOT NULL,
  alert_id                     TEXT NOT NULL,
  ordinal                      INTEGER NOT NULL,
  entity_type                  TEXT NOT NULL,
  sha1                         TEXT,
  sha256                       TEXT,
  file_name                    TEXT,
  file_path                    TEXT,
  process_id                   INTEGER,
  process_command_line         TEXT,
  process_creation_time        TEXT,
  parent_process_id            INTEGER,
  parent_process_creation_time TEXT,
  parent_process_file_name     TEXT,
  ip_address                   TEXT,
  url                          TEXT,
  account_name                 TEXT,
  domain_name                  TEXT,
  user_sid                     TEXT,
  aad_user_id                  TEXT,
  user_principal_name          TEXT,
  mailbox_display_name         TEXT,
  mailbox_address              TEXT,
  cluster_by                   TEXT,
  sender                       TEXT,
  recipient                    TEXT,
  subject                      TEXT,
  delivery_action              TEXT,
  security_group_id            TEXT,
  security_group_name          TEXT,
  registry_hive                TEXT,
  registry_key                 TEXT,
  registry_value_type          TEXT,
  registry_value               TEXT,
  device_id                    TEXT,
  PRIMARY KEY (tenant_id, alert_id, ordinal),
  FOREIGN KEY (tenant_id, alert_id) REFERENCES alerts(tenant_id, alert_id) ON DELETE CASCADE
);
CREATE TABLE sync_state (
  tenant_id   TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  api         TEXT NOT NULL,
  watermark   TEXT,
  last_run_at TEXT,
  last_status TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, api)
);
)sql";

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

constexpr std::array<Migration, 1> k_migrations{{
    {1, "tenants, incidents, alerts, alert devices and entities, sync state", k_schema_v1},
}};

const std::vector<std::string_view> k_incident_columns = {
    "tenant_id",   "incident_id", "redirect_incident_id", "incident_name",    "description", "incident_web_url",
    "created_time", "last_update_time", "assigned_to",    "status",           "severity",    "classification",
    "determination", "detection_source", "tags",          "system_tags",      "comments"};
const std::vector<std::string_view> k_alert_columns = {
    "tenant_id",        "alert_id",         "incident_id",     "ordinal",          "service_source",
    "detection_source", "detector_id",      "title",           "description",      "category",
    "status",           "severity",         "classification",  "determination",    "assigned_to",
    "actor_name",       "threat_family_name", "investigation_id", "investigation_state", "mitre_techniques",
    "creation_time",    "last_updated_time", "resolved_time",  "first_activity",   "last_activity"};
const std::vector<std::string_view> k_device_columns = {
    "tenant_id",    "alert_id",      "ordinal",     "mdatp_device_id", "aad_device_id",   "device_dns_name",
    "os_platform",  "version",       "os_processor", "os_build",       "health_status",   "risk_score",
    "rbac_group_name", "rbac_group_id", "first_seen", "tags",          "defender_av_status", "onboarding_status"};
const std::vector<std::string_view> k_entity_columns = {
    "tenant_id",          "alert_id",           "ordinal",          "entity_type",
    "sha1",               "sha256",             "file_name",        "file_path",
    "process_id",         "process_command_line", "process_creation_time", "parent_process_id",
    "parent_process_creation_time", "parent_process_file_name", "ip_address", "url",
    "account_name",       "domain_name",        "user_sid",         "aad_user_id",
    "user_principal_name", "mailbox_display_name", "mailbox_address", "cluster_by",
    "sender",             "recipient",          "subject",          "delivery_action",
    "security_group_id",  "security_group_name", "registry_hive",   "registry_key",
    "registry_value_type", "registry_value",    "device_id"};
const std::vector<std::string_view> k_tenant_columns = {
    "tenant_id", "name",          "domain",            "cloud",             "region",     "labels",
    "enabled",   "added_at",      "last_check_at",     "last_check_status", "last_check_detail", "consent_url"};

std::string column_list(const std::vector<std::string_view>& columns) {
  std::string out;
  for (const auto& c : columns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// "INSERT INTO t (a, b) VALUES (?, ?)", with "ON CONFLICT (keys) DO UPDATE SET" every other column when
// `conflict_keys` is given.
std::string insert_sql(std::string_view table, const std::vector<std::string_view>& columns,
                       const std::vector<std::string_view>& conflict_keys = {}) {
  std::string sql = "INSERT INTO " + std::string(table) + " (" + column_list(columns) + ") VALUES (";
  for (size_t i = 0; i < columns.size(); ++i) sql += i == 0 ? "?" : ", ?";
  sql += ")";
  if (conflict_keys.empty()) return sql;
  sql += " ON CONFLICT (" + column_list(conflict_keys) + ") DO UPDATE SET ";
  bool first = true;
  for (const auto& c : columns) {
    if (std::find(conflict_keys.begin(), conflict_keys.end(), c) != conflict_keys.end()) continue;
    if (!first) sql += ", ";
    first = false;
    sql += std::string(c) + " = excluded." + std::string(c);
  }
  return sql;
}

std::string select_sql(std::string_view table, const std::vector<std::string_view>& columns, std::string_view rest) {
  return "SELECT " + column_list(columns) + " FROM " + std::string(table) + " " + std::string(rest);
}

// Every statement the store runs, prepared once on first use and kept.
enum class Sql {
  tenant_exists,
  tenant_insert,
  tenant_update_registration,
  tenant_select_all,
  tenant_select_one,
  tenant_delete,
  tenant_set_enabled,
  tenant_record_check,
  incident_upsert,
  alerts_delete_of_incident,
  alert_delete,
  alert_insert,
  device_insert,
  entity_insert,
  watermark_advance,
  watermark_select,
  sync_run_record,
  incidents_select,
  alerts_select,
  devices_select,
  entities_select,
  incident_counts,
  sync_states_select,
  count_
};

const std::string& sql_text(Sql id) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t(static_cast<size_t>(Sql::count_));
    auto set = [&t](Sql which, std::string text) { t[static_cast<size_t>(which)] = std::move(text); };
    set(Sql::tenant_exists, "SELECT 1 FROM tenants WHERE tenant_id = ?");
    set(Sql::tenant_insert, insert_sql("tenants", k_tenant_columns));
    set(Sql::tenant_update_registration,
        "UPDATE tenants SET name = ?, domain = ?, cloud = ?, region = ?, labels = ? WHERE tenant_id = ?");
    set(Sql::tenant_select_all, select_sql("tenants", k_tenant_columns, "ORDER BY name, tenant_id"));
    set(Sql::tenant_select_one, select_sql("tenants", k_tenant_columns, "WHERE tenant_id = ?"));
    set(Sql::tenant_delete, "DELETE FROM tenants WHERE tenant_id = ?");
    set(Sql::tenant_set_enabled, "UPDATE tenants SET enabled = ? WHERE tenant_id = ?");
    set(Sql::tenant_record_check, "UPDATE tenants SET last_check_at = ?, last_check_status = ?, "
                                  "last_check_detail = ?, consent_url = ? WHERE tenant_id = ?");
    set(Sql::incident_upsert, insert_sql("incidents", k_incident_columns, {"tenant_id", "incident_id"}));
    set(Sql::alerts_delete_of_incident, "DELETE FROM alerts WHERE tenant_id = ? AND incident_id = ?");
    set(Sql::alert_delete, "DELETE FROM alerts WHERE tenant_id = ? AND alert_id = ?");
    set(Sql::alert_insert, insert_sql("alerts", k_alert_columns));
    set(Sql::device_insert, insert_sql("alert_devices", k_device_columns));
    set(Sql::entity_insert, insert_sql("alert_entities", k_entity_columns));
    set(Sql::watermark_advance,
        "INSERT INTO sync_state (tenant_id, api, watermark) VALUES (?, ?, ?) ON CONFLICT (tenant_id, api) DO UPDATE "
        "SET watermark = CASE WHEN sync_state.watermark IS NULL OR excluded.watermark > sync_state.watermark "
        "THEN excluded.watermark ELSE sync_state.watermark END");
    set(Sql::watermark_select, "SELECT watermark FROM sync_state WHERE tenant_id = ? AND api = ?");
    set(Sql::sync_run_record,
        "INSERT INTO sync_state (tenant_id, api, last_run_at, last_status) VALUES (?, ?, ?, ?) ON CONFLICT "
        "(tenant_id, api) DO UPDATE SET last_run_at = excluded.last_run_at, last_status = excluded.last_status");
    set(Sql::incidents_select,
        select_sql("incidents", k_incident_columns, "WHERE tenant_id = ? ORDER BY length(incident_id), incident_id"));
    set(Sql::alerts_select, select_sql("alerts", k_alert_columns, "WHERE tenant_id = ? ORDER BY incident_id, ordinal"));
    set(Sql::devices_select,
        select_sql("alert_devices", k_device_columns, "WHERE tenant_id = ? ORDER BY alert_id, ordinal"));
    set(Sql::entities_select,
        select_sql("alert_entities", k_entity_columns, "WHERE tenant_id = ? ORDER BY alert_id, ordinal"));
    set(Sql::incident_counts, "SELECT tenant_id, severity, status, count(*) FROM incidents "
                              "GROUP BY tenant_id, severity, status ORDER BY tenant_id, severity, status");
    set(Sql::sync_states_select,
        "SELECT tenant_id, api, watermark, last_run_at, last_status FROM sync_state ORDER BY tenant_id, api");
    return t;
  }();
  return texts[static_cast<size_t>(id)];
}

// Times as fixed-width RFC 3339 text: "2026-01-01T00:00:00.0000000Z".
std::string time_text(TimePoint tp) { return util::format_rfc3339(tp, 7, false); }

Json string_array_json(const std::vector<std::string>& values) {
  Json j = Json::array();
  for (const auto& v : values) j.push_back(v);
  return j;
}

std::vector<std::string> string_array_from(const std::string& text) {
  std::vector<std::string> out;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& v : j)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

std::string comments_json(const std::vector<api::Comment>& comments) {
  Json j = Json::array();
  for (const auto& c : comments) {
    Json o = {{"comment", c.comment}, {"createdBy", c.created_by}};
    o["createdTime"] = c.created_time ? Json(time_text(*c.created_time)) : Json(nullptr);
    j.push_back(std::move(o));
  }
  return j.dump();
}

std::vector<api::Comment> comments_from(const std::string& text) {
  std::vector<api::Comment> out;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& o : j) {
    if (!o.is_object()) continue;
    api::Comment c;
    c.comment = o.value("comment", std::string());
    c.created_by = o.value("createdBy", std::string());
    if (o.contains("createdTime") && o["createdTime"].is_string())
      c.created_time = util::parse_rfc3339(o["createdTime"].get<std::string>());
    out.push_back(std::move(c));
  }
  return out;
}

std::string labels_json(const std::map<std::string, std::string>& labels) {
  Json j = Json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j.dump();
}

std::map<std::string, std::string> labels_from(const std::string& text) {
  std::map<std::string, std::string> out;
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items())
    if (v.is_string()) out[k] = v.get<std::string>();
  return out;
}

// Binds parameters left to right. Strings that outlive the statement's step are bound without a copy;
// temporaries are copied.
class Binder {
public:
  explicit Binder(sqlite3_stmt* stmt) : m_stmt(stmt) {}
  Binder& text(const std::string& v) {
    sqlite3_bind_text(m_stmt, m_i++, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Binder& text(std::string&& v) {
    sqlite3_bind_text(m_stmt, m_i++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Binder& text(std::string_view v) {
    sqlite3_bind_text(m_stmt, m_i++, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Binder& text(const char* v) { return text(std::string_view(v)); }
  Binder& opt_text(const std::optional<std::string>& v) {
    if (!v) return null();
    return text(*v);
  }
  Binder& opt_text(std::optional<std::string>&& v) {
    if (!v) return null();
    return text(std::move(*v));
  }
  Binder& integer(int64_t v) {
    sqlite3_bind_int64(m_stmt, m_i++, v);
    return *this;
  }
  Binder& opt_integer(const std::optional<int64_t>& v) {
    if (!v) return null();
    return integer(*v);
  }
  Binder& time(const std::optional<TimePoint>& v) {
    if (!v) return null();
    return text(time_text(*v));
  }
  Binder& null() {
    sqlite3_bind_null(m_stmt, m_i++);
    return *this;
  }

private:
  sqlite3_stmt* m_stmt;
  int m_i = 1;
};

// Reads the columns of the current row left to right.
class Reader {
public:
  explicit Reader(sqlite3_stmt* stmt) : m_stmt(stmt) {}
  bool is_null() const { return sqlite3_column_type(m_stmt, m_i) == SQLITE_NULL; }
  std::string text() {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, m_i));
    const int n = sqlite3_column_bytes(m_stmt, m_i);
    ++m_i;
    return p ? std::string(p, static_cast<size_t>(n)) : std::string();
  }
  std::optional<std::string> opt_text() {
    if (is_null()) return skip<std::string>();
    return text();
  }
  int64_t integer() { return sqlite3_column_int64(m_stmt, m_i++); }
  std::optional<int64_t> opt_integer() {
    if (is_null()) return skip<int64_t>();
    return integer();
  }
  std::optional<TimePoint> time() {
    if (is_null()) return skip<TimePoint>();
    return util::parse_rfc3339(text());
  }

private:
  template <class T>
  std::optional<T> skip() {
    ++m_i;
    return std::nullopt;
  }
  sqlite3_stmt* m_stmt;
  int m_i = 0;
};

template <class E, class Parse>
E parse_enum(const std::string& text, Parse parse, E fallback) {
  auto v = parse(text);
  return v ? *v : fallback;
}

std::string graph(api::IncidentStatus v) { return std::string(api::to_string(v, api::Dialect::graph)); }
std::string graph(api::Severity v) { return std::string(api::to_string(v, api::Dialect::graph)); }
std::string graph(api::Classification v) { return std::string(api::to_string(v, api::Dialect::graph)); }
std::string graph(api::Determination v) { return std::string(api::to_string(v, api::Dialect::graph)); }
std::string graph(api::AlertStatus v) { return std::string(api::to_string(v, api::Dialect::graph)); }

} // namespace

struct SqliteStore::Impl {
  sqlite3* db = nullptr;
  std::string path;
  std::chrono::milliseconds busy_timeout{0};
  std::array<sqlite3_stmt*, static_cast<size_t>(Sql::count_)> statements{};

  ~Impl() {
    for (auto* s : statements) sqlite3_finalize(s);
    sqlite3_close_v2(db);
  }

  // The storage error for SQLite result code `rc` while `doing` something: what happened to which file,
  // and what to do about it.
  Error error(int rc, std::string_view doing) const {
    const int primary = rc & 0xff;
    const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    std::string message;
    switch (primary) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      message = "the database file " + path + " is not an xdrpartner database or is damaged (" + detail +
                "): it was left untouched; move it aside and run again to start a new database, or give another "
                "file with --db";
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      message = "the database file " + path + " is locked by another process (still locked after " +
                std::to_string(busy_timeout.count()) + " ms): wait for the other xdrpartner command (for example "
                "sync --watch) to finish, or give another file with --db";
      break;
    case SQLITE_READONLY:
      message = "cannot write the database file " + path + " (" + detail +
                "): check the permissions of the file and of its directory (SQLite also writes " + path +
                "-wal and " + path + "-shm next to it), or give another file with --db";
      break;
    case SQLITE_CANTOPEN:
      message = "cannot open the database file " + path + " (" + detail +
                "): check that its directory exists and that you may read and write there, or give another "
                "file with --db";
      break;
    case SQLITE_FULL:
      message = "the disk holding the database file " + path + " is full: free some space and run again";
      break;
    default:
      message = "database file " + path + ": " + std::string(doing) + " failed (" + detail + ")";
    }
    Error e(ErrorKind::storage, std::move(message));
    e.code = sqlite3_errstr(rc);
    return e;
  }

  Status exec(const char* sql, std::string_view doing) {
    char* raw = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &raw);
    sqlite3_free(raw);
    if (rc != SQLITE_OK) return tl::unexpected(error(rc, doing));
    return {};
  }

  // The cached statement, reset and unbound, ready to bind.
  Result<sqlite3_stmt*> statement(Sql id) {
    auto& slot = statements[static_cast<size_t>(id)];
    if (slot == nullptr) {
      const std::string& text = sql_text(id);
      const int rc = sqlite3_prepare_v3(db, text.c_str(), static_cast<int>(text.size()), SQLITE_PREPARE_PERSISTENT,
                                        &slot, nullptr);
      if (rc != SQLITE_OK) {
        sqlite3_finalize(slot);
        slot = nullptr;
        return tl::unexpected(error(rc, "preparing a statement"));
      }
    } else {
      sqlite3_reset(slot);
      sqlite3_clear_bindings(slot);
    }
    return slot;
  }

  // Steps a statement that returns no rows.
  Status run(sqlite3_stmt* stmt, std::string_view doing) {
    const int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return tl::unexpected(error(rc, doing));
    return {};
  }

  // Steps to the next row: true for a row, false when done.
  Result<bool> next(sqlite3_stmt* stmt, std::string_view doing) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) return true;
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE) return false;
    return tl::unexpected(error(rc, doing));
  }

  Result<bool> tenant_exists(const std::string& tenant_id) {
    XDR_TRY_ASSIGN(sqlite3_stmt * s, statement(Sql::tenant_exists));
    Binder(s).text(tenant_id);
    XDR_TRY_ASSIGN(bool found, next(s, "looking up a tenant"));
    sqlite3_reset(s);
    return found;
  }
};

namespace {

// A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting up to the busy timeout),
// so two writers never deadlock upgrading a read lock. Rolled back unless committed.
class Transaction {
public:
  explicit Transaction(SqliteStore::Impl& impl) : m_impl(impl) {}
  ~Transaction() {
    if (m_open) m_impl.exec("ROLLBACK", "rolling back");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin() {
    XDR_TRY(m_impl.exec("BEGIN IMMEDIATE", "starting a write transaction"));
    m_open = true;
    return {};
  }
  Status commit() {
    XDR_TRY(m_impl.exec("COMMIT", "committing"));
    m_open = false;
    return {};
  }

private:
  SqliteStore::Impl& m_impl;
  bool m_open = false;
};

Tenant read_tenant(sqlite3_stmt* s) {
  Reader r(s);
  Tenant t;
  t.tenant_id = r.text();
  t.name = r.text();
  t.domain = r.text();
  t.cloud = r.text();
  t.region = r.text();
  t.labels = labels_from(r.text());
  t.enabled = r.integer() != 0;
  t.added_at = r.time();
  t.last_check_at = r.time();
  t.last_check_status = r.text();
  t.last_check_detail = r.text();
  t.consent_url = r.text();
  return t;
}

bool matches(const Tenant& t, const TenantFilter& filter) {
  if (filter.enabled_only && !t.enabled) return false;
  for (const auto& [k, v] : filter.labels) {
    auto it = t.labels.find(k);
    if (it == t.labels.end() || it->second != v) return false;
  }
  return true;
}

Error tenant_not_registered(const std::string& tenant_id) {
  return Error(ErrorKind::not_found,
               "tenant " + tenant_id + " is not registered: add it with 'xdrpartner tenants add " + tenant_id + "'");
}

} // namespace

int sqlite_schema_version() { return k_migrations.back().version; }

SqliteStore::SqliteStore(std::string path, SqliteOptions options, std::unique_ptr<Impl> impl)
    : m_path(std::move(path)), m_options(std::move(options)), m_impl(std::move(impl)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& path, SqliteOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->busy_timeout = options.busy_timeout;
  if (!options.clock) options.clock = util::system_clock();

  // 1. Create the file ourselves, so it is private to the user (SQLite would create it 0644; the -wal and
  //    -shm files take the main file's mode).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (!options.create || options.read_only)
      return fail(ErrorKind::storage, "there is no database file " + path +
                                          ": run 'xdrpartner tenants add' or 'xdrpartner sync' first, or give "
                                          "another file with --db");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
      return fail(ErrorKind::storage, "cannot create the database file " + path + " (" + std::strerror(errno) +
                                          "): check that its directory exists and that you may write there, or "
                                          "give another file with --db");
    if (fd >= 0) ::close(fd);
  }

  // 2. Open; extended result codes for precise errors; the busy timeout for other processes' locks.
  const int flags = (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(impl->error(rc, "opening"));
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, static_cast<int>(options.busy_timeout.count()));
  if (!options.read_only && sqlite3_db_readonly(impl->db, "main") == 1)
    return tl::unexpected(impl->error(SQLITE_READONLY, "opening"));

  // 3. Connection settings: foreign keys (cascades), WAL (readers never block the writer; a crash loses
  //    no committed transaction), synchronous=NORMAL (safe with WAL).
  XDR_TRY(impl->exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  if (!options.read_only) {
    XDR_TRY(impl->exec("PRAGMA journal_mode = WAL", "switching to WAL mode"));
    XDR_TRY(impl->exec("PRAGMA synchronous = NORMAL", "setting synchronous mode"));
  }

  auto store = std::unique_ptr<SqliteStore>(new SqliteStore(path, std::move(options), std::move(impl)));
  auto version = store->schema_version();
  if (!version) return tl::unexpected(version.error());
  if (*version > sqlite_schema_version())
    return fail(ErrorKind::storage, "the database file " + path + " has schema version " + std::to_string(*version) +
                                        ", newer than this xdrpartner knows (" +
                                        std::to_string(sqlite_schema_version()) +
                                        "): upgrade xdrpartner, or give another file with --db");
  if (*version == sqlite_schema_version()) return store;
  if (store->m_options.read_only)
    return fail(ErrorKind::storage, "the database file " + path + " has schema version " + std::to_string(*version) +
                                        " and needs an upgrade to " + std::to_string(sqlite_schema_version()) +
                                        ": run a command that writes to it (for example 'xdrpartner tenants list') "
                                        "first");

  // 4. Migrations, all in one transaction; the version is read again under the write lock, since another
  //    process may have migrated the file meanwhile.
  Impl& db = *store->m_impl;
  Transaction tx(db);
  XDR_TRY(tx.begin());
  auto current = store->schema_version();
  if (!current) return tl::unexpected(current.error());
  if (*current == 0)
    XDR_TRY(db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                    "description TEXT NOT NULL, applied_at TEXT NOT NULL)",
                    "creating the migrations table"));
  for (const auto& m : k_migrations) {
    if (m.version <= *current) continue;
    XDR_TRY(db.exec(m.sql, "migrating the schema to version " + std::to_string(m.version)));
    sqlite3_stmt* s = nullptr;
    const char* insert = "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)";
    rc = sqlite3_prepare_v2(db.db, insert, -1, &s, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(db.error(rc, "recording a migration"));
    Binder(s).integer(m.version).text(m.description).text(time_text(store->m_options.clock->now()));
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) return tl::unexpected(db.error(rc, "recording a migration"));
    const std::string pragma = "PRAGMA user_version = " + std::to_string(m.version);
    XDR_TRY(db.exec(pragma.c_str(), "recording the schema version"));
  }
  XDR_TRY(tx.commit());
  return store;
}

Result<int> SqliteStore::schema_version() {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(m_impl->db, "PRAGMA user_version", -1, &s, nullptr);
  if (rc != SQLITE_OK) return tl::unexpected(m_impl->error(rc, "reading the schema version"));
  rc = sqlite3_step(s);
  const int version = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW) return tl::unexpected(m_impl->error(rc, "reading the schema version"));
  return version;
}

Status SqliteStore::add_tenants(const std::vector<Tenant>& tenants, OnExisting on_existing) {
  std::lock_guard lock(m_mutex);
  Impl& db = *m_impl;
  Transaction tx(db);
  XDR_TRY(tx.begin());
  for (const Tenant& given : tenants) {
    Tenant t = given;
    t.tenant_id = util::to_lower(t.tenant_id);
    if (!util::is_guid(t.tenant_id))
      return fail(ErrorKind::config, "tenant ID '" + given.tenant_id + "' is not a GUID: resolve a domain to its "
                                     "tenant ID first (tenants add does it)");
    XDR_TRY_ASSIGN(bool exists, db.tenant_exists(t.tenant_id));
    if (exists) {
      if (on_existing == OnExisting::fail)
        return fail(ErrorKind::config, "tenant " + t.tenant_id + (t.name.empty() ? "" : " (" + t.name + ")") +
                                           " is already registered: nothing was added; remove it first, or use "
                                           "'tenants import' to update registrations");
      XDR_TRY_ASSIGN(sqlite3_stmt * s, db.statement(Sql::tenant_update_registration));
      Binder(s).text(t.name).text(t.domain).text(t.cloud).text(t.region).text(labels_json(t.labels)).text(t.tenant_id);
      XDR_TRY(db.run(s, "updating a tenant"));
      continue;
    }
    XDR_TRY_ASSIGN(sqlite3_stmt * s, db.statement(Sql::tenant_insert));
    Binder(s)
        .text(t.tenant_id)
        .text(t.name)
        .text(t.domain)
        .text(t.cloud)
        .text(t.region)
        .text(labels_json(t.labels))
        .integer(t.enabled ? 1 : 0)
        .time(t.added_at ? t.added_at : std::optional<TimePoint>(m_options.clock->now()))
        .time(t.last_check_at)
        .text(t.last_check_status)
        .text(t.last_check_detail)
        .text(t.consent_url);
    XDR_TRY(db.run(s, "adding a tenant"));
  }
  return tx.commit();
}

Result<std::vector<Tenant>> SqliteStore::list_tenants(const TenantFilter& filter) {
  std::lock_guard lock(m_mutex);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::tenant_select_all));
  std::vector<Tenant> out;
  for (;;) {
    XDR_TRY_ASSIGN(bool row, m_impl->next(s, "listing tenants"));
    if (!row) break;
    Tenant t = read_tenant(s);
    if (matches(t, filter)) out.push_back(std::move(t));
  }
  return out;
}

Result<std::optional<Tenant>> SqliteStore::find_tenant(const std::string& tenant_id) {
  std::lock_guard lock(m_mutex);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::tenant_select_one));
  const std::string id = util::to_lower(tenant_id);
  Binder(s).text(id);
  XDR_TRY_ASSIGN(bool row, m_impl->next(s, "reading a tenant"));
  if (!row) return std::optional<Tenant>();
  Tenant t = read_tenant(s);
  sqlite3_reset(s);
  return std::optional<Tenant>(std::move(t));
}

namespace {

// Runs a one-row UPDATE/DELETE keyed by tenant and says not_found when no row changed.
Status change_tenant(SqliteStore::Impl& db, sqlite3_stmt* s, const std::string& tenant_id, std::string_view doing) {
  XDR_TRY(db.run(s, doing));
  if (sqlite3_changes(db.db) == 0) return tl::unexpected(tenant_not_registered(tenant_id));
  return {};
}

} // namespace

Status SqliteStore::remove_tenant(const std::string& tenant_id) {
  std::lock_guard lock(m_mutex);
  const std::string id = util::to_lower(tenant_id);
  Transaction tx(*m_impl);
  XDR_TRY(tx.begin());
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::tenant_delete));
  Binder(s).text(id);
  XDR_TRY(change_tenant(*m_impl, s, id, "removing a tenant"));
  return tx.commit();
}

Status SqliteStore::set_tenant_enabled(const std::string& tenant_id, bool enabled) {
  std::lock_guard lock(m_mutex);
  const std::string id = util::to_lower(tenant_id);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::tenant_set_enabled));
  Binder(s).integer(enabled ? 1 : 0).text(id);
  return change_tenant(*m_impl, s, id, "enabling or disabling a tenant");
}

Status SqliteStore::record_check(const std::string& tenant_id, const CheckRecord& check) {
  std::lock_guard lock(m_mutex);
  const std::string id = util::to_lower(tenant_id);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::tenant_record_check));
  Binder(s).time(check.at).text(check.status).text(check.detail).text(check.consent_url).text(id);
  return change_tenant(*m_impl, s, id, "recording a tenant check");
}

Result<UpsertStats> SqliteStore::upsert_incidents(const std::string& tenant_id, const std::string& api,
                                                  const std::vector<api::Incident>& incidents,
                                                  std::optional<TimePoint> new_watermark) {
  const std::string tid = util::to_lower(tenant_id);
  // Isolation: an incident that names another tenant is refused before anything is written.
  for (const auto& incident : incidents) {
    if (!incident.tenant_id.empty() && !util::iequals(incident.tenant_id, tid))
      return fail(ErrorKind::invalid_request, "incident " + incident.incident_id + " belongs to tenant " +
                                                  incident.tenant_id + " but was fetched for tenant " + tid +
                                                  ": nothing of this page was stored");
  }

  std::lock_guard lock(m_mutex);
  Impl& db = *m_impl;
  Transaction tx(db);
  XDR_TRY(tx.begin());
  XDR_TRY_ASSIGN(bool registered, db.tenant_exists(tid));
  if (!registered) return tl::unexpected(tenant_not_registered(tid));

  UpsertStats stats;
  for (const auto& incident : incidents) {
    XDR_TRY_ASSIGN(sqlite3_stmt * inc, db.statement(Sql::incident_upsert));
    Binder(inc)
        .text(tid)
        .text(incident.incident_id)
        .opt_text(incident.redirect_incident_id)
        .text(incident.incident_name)
        .text(incident.description)
        .text(incident.incident_web_url)
        .time(incident.created_time)
        .time(incident.last_update_time)
        .opt_text(incident.assigned_to)
        .text(graph(incident.status))
        .text(graph(incident.severity))
        .text(graph(incident.classification))
        .text(graph(incident.determination))
        .text(incident.detection_source)
        .text(string_array_json(incident.tags).dump())
        .text(string_array_json(incident.system_tags).dump())
        .text(comments_json(incident.comments));
    XDR_TRY(db.run(inc, "storing an incident"));
    ++stats.incidents;

    // The incident's alerts are replaced: its old ones go (devices and entities cascade), and an alert that
    // moved here from another incident leaves that one.
    XDR_TRY_ASSIGN(sqlite3_stmt * del, db.statement(Sql::alerts_delete_of_incident));
    Binder(del).text(tid).text(incident.incident_id);
    XDR_TRY(db.run(del, "replacing an incident's alerts"));

    int64_t ordinal = 0;
    for (const auto& alert : incident.alerts) {
      XDR_TRY_ASSIGN(sqlite3_stmt * moved, db.statement(Sql::alert_delete));
      Binder(moved).text(tid).text(alert.alert_id);
      XDR_TRY(db.run(moved, "replacing an alert"));

      XDR_TRY_ASSIGN(sqlite3_stmt * a, db.statement(Sql::alert_insert));
      Binder(a)
          .text(tid)
          .text(alert.alert_id)
          .text(incident.incident_id)
          .integer(ordinal++)
          .text(alert.service_source)
          .text(alert.detection_source)
          .text(alert.detector_id)
          .text(alert.title)
          .text(alert.description)
          .text(alert.category)
          .text(graph(alert.status))
          .text(graph(alert.severity))
          .opt_text(alert.classification ? std::optional<std::string>(graph(*alert.classification)) : std::nullopt)
          .opt_text(alert.determination ? std::optional<std::string>(graph(*alert.determination)) : std::nullopt)
          .opt_text(alert.assigned_to)
          .opt_text(alert.actor_name)
          .opt_text(alert.threat_family_name)
          .opt_integer(alert.investigation_id)
          .text(alert.investigation_state)
          .text(string_array_json(alert.mitre_techniques).dump())
          .time(alert.creation_time)
          .time(alert.last_updated_time)
          .time(alert.resolved_time)
          .time(alert.first_activity)
          .time(alert.last_activity);
      XDR_TRY(db.run(a, "storing an alert"));
      ++stats.alerts;

      int64_t device_ordinal = 0;
      for (const auto& d : alert.devices) {
        XDR_TRY_ASSIGN(sqlite3_stmt * s, db.statement(Sql::device_insert));
        Binder(s)
            .text(tid)
            .text(alert.alert_id)
            .integer(device_ordinal++)
            .text(d.mdatp_device_id)
            .opt_text(d.aad_device_id)
            .text(d.device_dns_name)
            .text(d.os_platform)
            .text(d.version)
            .text(d.os_processor)
            .opt_integer(d.os_build)
            .text(d.health_status)
            .text(d.risk_score)
            .opt_text(d.rbac_group_name)
            .opt_integer(d.rbac_group_id)
            .time(d.first_seen)
            .text(string_array_json(d.tags).dump())
            .opt_text(d.defender_av_status)
            .opt_text(d.onboarding_status);
        XDR_TRY(db.run(s, "storing an alert's device"));
      }

      int64_t entity_ordinal = 0;
      for (const auto& e : alert.entities) {
        XDR_TRY_ASSIGN(sqlite3_stmt * s, db.statement(Sql::entity_insert));
        Binder(s)
            .text(tid)
            .text(alert.alert_id)
            .integer(entity_ordinal++)
            .text(e.entity_type)
            .opt_text(e.sha1)
            .opt_text(e.sha256)
            .opt_text(e.file_name)
            .opt_text(e.file_path)
            .opt_integer(e.process_id)
            .opt_text(e.process_command_line)
            .time(e.process_creation_time)
            .opt_integer(e.parent_process_id)
            .time(e.parent_process_creation_time)
            .opt_text(e.parent_process_file_name)
            .opt_text(e.ip_address)
            .opt_text(e.url)
            .opt_text(e.account_name)
            .opt_text(e.domain_name)
            .opt_text(e.user_sid)
            .opt_text(e.aad_user_id)
            .opt_text(e.user_principal_name)
            .opt_text(e.mailbox_display_name)
            .opt_text(e.mailbox_address)
            .opt_text(e.cluster_by)
            .opt_text(e.sender)
            .opt_text(e.recipient)
            .opt_text(e.subject)
            .opt_text(e.delivery_action)
            .opt_text(e.security_group_id)
            .opt_text(e.security_group_name)
            .opt_text(e.registry_hive)
            .opt_text(e.registry_key)
            .opt_text(e.registry_value_type)
            .opt_text(e.registry_value)
            .opt_text(e.device_id);
        XDR_TRY(db.run(s, "storing an alert's entity"));
      }
    }
  }

  // The watermark moves in the same transaction as the data it covers, and only forward.
  if (new_watermark) {
    XDR_TRY_ASSIGN(sqlite3_stmt * w, db.statement(Sql::watermark_advance));
    Binder(w).text(tid).text(api).time(new_watermark);
    XDR_TRY(db.run(w, "advancing the sync watermark"));
  }
  XDR_TRY(tx.commit());
  return stats;
}

Result<std::optional<TimePoint>> SqliteStore::watermark(const std::string& tenant_id, const std::string& api) {
  std::lock_guard lock(m_mutex);
  const std::string tid = util::to_lower(tenant_id);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::watermark_select));
  Binder(s).text(tid).text(api);
  XDR_TRY_ASSIGN(bool row, m_impl->next(s, "reading the sync watermark"));
  if (!row) return std::optional<TimePoint>();
  auto value = Reader(s).time();
  sqlite3_reset(s);
  return value;
}

Status SqliteStore::record_sync_run(const std::string& tenant_id, const std::string& api, TimePoint at,
                                    const std::string& status) {
  std::lock_guard lock(m_mutex);
  const std::string tid = util::to_lower(tenant_id);
  XDR_TRY_ASSIGN(bool registered, m_impl->tenant_exists(tid));
  if (!registered) return tl::unexpected(tenant_not_registered(tid));
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::sync_run_record));
  Binder(s).text(tid).text(api).time(at).text(status);
  return m_impl->run(s, "recording a sync run");
}

Result<std::vector<api::Incident>> SqliteStore::incidents(const std::string& tenant_id) {
  std::lock_guard lock(m_mutex);
  Impl& db = *m_impl;
  const std::string tid = util::to_lower(tenant_id);
  // One read transaction, so the four queries see one snapshot.
  XDR_TRY(db.exec("BEGIN", "starting a read transaction"));
  struct EndRead {
    Impl& db;
    ~EndRead() { db.exec("COMMIT", "ending a read transaction"); }
  } end_read{db};

  std::vector<api::Incident> out;
  std::unordered_map<std::string, size_t> incident_index;
  XDR_TRY_ASSIGN(sqlite3_stmt * s, db.statement(Sql::incidents_select));
  Binder(s).text(tid);
  for (;;) {
    XDR_TRY_ASSIGN(bool row, db.next(s, "reading incidents"));
    if (!row) break;
    Reader r(s);
    api::Incident i;
    i.tenant_id = r.text();
    i.incident_id = r.text();
    i.redirect_incident_id = r.opt_text();
    i.incident_name = r.text();
    i.description = r.text();
    i.incident_web_url = r.text();
    i.created_time = r.time();
    i.last_update_time = r.time();
    i.assigned_to = r.opt_text();
    i.status = parse_enum(r.text(), api::parse_incident_status, api::IncidentStatus::unknown_future_value);
    i.severity = parse_enum(r.text(), api::parse_severity, api::Severity::unknown_future_value);
    i.classification = parse_enum(r.text(), api::parse_classification, api::Classification::unknown_future_value);
    i.determination = parse_enum(r.text(), api::parse_determination, api::Determination::unknown_future_value);
    i.detection_source = r.text();
    i.tags = string_array_from(r.text());
    i.system_tags = string_array_from(r.text());
    i.comments = comments_from(r.text());
    incident_index[i.incident_id] = out.size();
    out.push_back(std::move(i));
  }

  std::unordered_map<std::string, std::pair<size_t, size_t>> alert_index; // alert id -> (incident, alert)
  XDR_TRY_ASSIGN(sqlite3_stmt * a, db.statement(Sql::alerts_select));
  Binder(a).text(tid);
  for (;;) {
    XDR_TRY_ASSIGN(bool row, db.next(a, "reading alerts"));
    if (!row) break;
    Reader r(a);
    api::Alert al;
    r.text(); // tenant_id
    al.alert_id = r.text();
    al.incident_id = r.text();
    r.integer(); // ordinal: the query's order
    al.service_source = r.text();
    al.detection_source = r.text();
    al.detector_id = r.text();
    al.title = r.text();
    al.description = r.text();
    al.category = r.text();
    al.status = parse_enum(r.text(), api::parse_alert_status, api::AlertStatus::unknown_future_value);
    al.severity = parse_enum(r.text(), api::parse_severity, api::Severity::unknown_future_value);
    if (auto c = r.opt_text()) al.classification = parse_enum(*c, api::parse_classification, api::Classification::unknown_future_value);
    if (auto d = r.opt_text()) al.determination = parse_enum(*d, api::parse_determination, api::Determination::unknown_future_value);
    al.assigned_to = r.opt_text();
    al.actor_name = r.opt_text();
    al.threat_family_name = r.opt_text();
    al.investigation_id = r.opt_integer();
    al.investigation_state = r.text();
    al.mitre_techniques = string_array_from(r.text());
    al.creation_time = r.time();
    al.last_updated_time = r.time();
    al.resolved_time = r.time();
    al.first_activity = r.time();
    al.last_activity = r.time();
    auto it = incident_index.find(al.incident_id);
    if (it == incident_index.end()) continue;
    auto& alerts = out[it->second].alerts;
    alert_index[al.alert_id] = {it->second, alerts.size()};
    alerts.push_back(std::move(al));
  }

  XDR_TRY_ASSIGN(sqlite3_stmt * d, db.statement(Sql::devices_select));
  Binder(d).text(tid);
  for (;;) {
    XDR_TRY_ASSIGN(bool row, db.next(d, "reading alert devices"));
    if (!row) break;
    Reader r(d);
    r.text(); // tenant_id
    const std::string alert_id = r.text();
    r.integer(); // ordinal
    api::Device dev;
    dev.mdatp_device_id = r.text();
    dev.aad_device_id = r.opt_text();
    dev.device_dns_name = r.text();
    dev.os_platform = r.text();
    dev.version = r.text();
    dev.os_processor = r.text();
    dev.os_build = r.opt_integer();
    dev.health_status = r.text();
    dev.risk_score = r.text();
    dev.rbac_group_name = r.opt_text();
    dev.rbac_group_id = r.opt_integer();
    dev.first_seen = r.time();
    dev.tags = string_array_from(r.text());
    dev.defender_av_status = r.opt_text();
    dev.onboarding_status = r.opt_text();
    auto it = alert_index.find(alert_id);
    if (it != alert_index.end()) out[it->second.first].alerts[it->second.second].devices.push_back(std::move(dev));
  }

  XDR_TRY_ASSIGN(sqlite3_stmt * e, db.statement(Sql::entities_select));
  Binder(e).text(tid);
  for (;;) {
    XDR_TRY_ASSIGN(bool row, db.next(e, "reading alert entities"));
    if (!row) break;
    Reader r(e);
    r.text(); // tenant_id
    const std::string alert_id = r.text();
    r.integer(); // ordinal
    api::Entity en;
    en.entity_type = r.text();
    en.sha1 = r.opt_text();
    en.sha256 = r.opt_text();
    en.file_name = r.opt_text();
    en.file_path = r.opt_text();
    en.process_id = r.opt_integer();
    en.process_command_line = r.opt_text();
    en.process_creation_time = r.time();
    en.parent_process_id = r.opt_integer();
    en.parent_process_creation_time = r.time();
    en.parent_process_file_name = r.opt_text();
    en.ip_address = r.opt_text();
    en.url = r.opt_text();
    en.account_name = r.opt_text();
    en.domain_name = r.opt_text();
    en.user_sid = r.opt_text();
    en.aad_user_id = r.opt_text();
    en.user_principal_name = r.opt_text();
    en.mailbox_display_name = r.opt_text();
    en.mailbox_address = r.opt_text();
    en.cluster_by = r.opt_text();
    en.sender = r.opt_text();
    en.recipient = r.opt_text();
    en.subject = r.opt_text();
    en.delivery_action = r.opt_text();
    en.security_group_id = r.opt_text();
    en.security_group_name = r.opt_text();
    en.registry_hive = r.opt_text();
    en.registry_key = r.opt_text();
    en.registry_value_type = r.opt_text();
    en.registry_value = r.opt_text();
    en.device_id = r.opt_text();
    auto it = alert_index.find(alert_id);
    if (it != alert_index.end()) out[it->second.first].alerts[it->second.second].entities.push_back(std::move(en));
  }
  return out;
}

Result<std::vector<IncidentCount>> SqliteStore::incident_counts() {
  std::lock_guard lock(m_mutex);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::incident_counts));
  std::vector<IncidentCount> out;
  for (;;) {
    XDR_TRY_ASSIGN(bool row, m_impl->next(s, "counting incidents"));
    if (!row) break;
    Reader r(s);
    IncidentCount c;
    c.tenant_id = r.text();
    c.severity = r.text();
    c.status = r.text();
    c.count = r.integer();
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<SyncState>> SqliteStore::sync_states() {
  std::lock_guard lock(m_mutex);
  XDR_TRY_ASSIGN(sqlite3_stmt * s, m_impl->statement(Sql::sync_states_select));
  std::vector<SyncState> out;
  for (;;) {
    XDR_TRY_ASSIGN(bool row, m_impl->next(s, "reading sync states"));
    if (!row) break;
    Reader r(s);
    SyncState st;
    st.tenant_id = r.text();
    st.api = r.text();
    st.watermark = r.time();
    st.last_run_at = r.time();
    st.last_status = r.text();
    out.push_back(std::move(st));
  }
  return out;
}

} // namespace xdr::store
