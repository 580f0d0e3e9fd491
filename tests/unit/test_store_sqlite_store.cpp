#include <xdr/store/sqlite_store.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "auth_test_support.hpp"
#include "store_test_support.hpp"

namespace {

using namespace xdr;
using namespace xdr::testing;
using store::OnExisting;
using store::SqliteStore;

// A second, raw connection to the same file: what another process would see.
class RawDb {
public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &m_db) != SQLITE_OK) throw std::runtime_error("open failed");
    sqlite3_busy_timeout(m_db, 2000);
  }
  ~RawDb() { sqlite3_close(m_db); }
  int64_t count(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(m_db, sql.c_str(), -1, &s, nullptr);
    int64_t n = -1;
    if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(m_db, sql.c_str(), -1, &s, nullptr);
    std::string out;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
      out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }
  int exec(const std::string& sql) { return sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr); }

private:
  sqlite3* m_db = nullptr;
};

class SqliteStoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    path = dir.file("xdr.db");
    auto opened = SqliteStore::open(path);
    ASSERT_TRUE(opened) << opened.error().message;
    db = std::move(*opened);
    ASSERT_TRUE(db->add_tenants({tenant(k_fabrikam, "Fabrikam", {{"env", "prod"}}),
                                 tenant(k_northwind, "Northwind", {{"env", "test"}})},
                                OnExisting::fail));
  }

  TempDir dir;
  std::string path;
  std::unique_ptr<SqliteStore> db;
};

TEST_F(SqliteStoreTest, CreatesAPrivateWalFileAtTheCurrentSchemaVersion) {
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(*db->schema_version(), store::sqlite_schema_version());
  RawDb raw(path);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw.count("SELECT count(*) FROM schema_migrations"), store::sqlite_schema_version());
  EXPECT_TRUE(std::filesystem::exists(path + "-wal"));
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndDoesNotMigrateAgain) {
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {make_incident(k_fabrikam, 1, 1'767'225'600)}, std::nullopt));
  db.reset();
  auto again = SqliteStore::open(path);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->incidents(k_fabrikam)->size(), 1u);
  RawDb raw(path);
  EXPECT_EQ(raw.count("SELECT count(*) FROM schema_migrations"), store::sqlite_schema_version());
}

TEST_F(SqliteStoreTest, TenantRegistryAddListFilterEnableRemove) {
  auto all = db->list_tenants();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0], tenant(k_fabrikam, "Fabrikam", {{"env", "prod"}}));
  EXPECT_EQ((*all)[1].name, "Northwind");

  store::TenantFilter prod;
  prod.labels = {{"env", "prod"}};
  auto filtered = db->list_tenants(prod);
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].tenant_id, k_fabrikam);

  ASSERT_TRUE(db->set_tenant_enabled(k_northwind, false));
  store::TenantFilter enabled;
  enabled.enabled_only = true;
  EXPECT_EQ(db->list_tenants(enabled)->size(), 1u);
  EXPECT_FALSE((*db->find_tenant(k_northwind))->enabled);

  ASSERT_TRUE(db->remove_tenant(k_northwind));
  EXPECT_FALSE(*db->find_tenant(k_northwind));
  auto missing = db->remove_tenant(k_northwind);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_NE(missing.error().message.find("not registered"), std::string::npos);
  EXPECT_EQ(db->set_tenant_enabled(k_tailspin, true).error().kind, ErrorKind::not_found);
}

TEST_F(SqliteStoreTest, AddingADuplicateAddsNothingAndUpdateKeepsState) {
  auto dup = db->add_tenants({tenant(k_tailspin, "Tailspin"), tenant(k_fabrikam, "Fabrikam again")}, OnExisting::fail);
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().kind, ErrorKind::config);
  EXPECT_NE(dup.error().message.find(k_fabrikam), std::string::npos);
  EXPECT_FALSE(*db->find_tenant(k_tailspin)) << "the whole call is one transaction";

  ASSERT_TRUE(db->set_tenant_enabled(k_fabrikam, false));
  ASSERT_TRUE(db->add_tenants({tenant(k_fabrikam, "Fabrikam Ltd", {{"tier", "gold"}})}, OnExisting::update));
  auto t = *db->find_tenant(k_fabrikam);
  EXPECT_EQ(t->name, "Fabrikam Ltd");
  EXPECT_EQ(t->labels, (std::map<std::string, std::string>{{"tier", "gold"}}));
  EXPECT_FALSE(t->enabled) << "an update keeps the enabled flag";
}

TEST_F(SqliteStoreTest, TenantIdsAreGuidsStoredInLowerCase) {
  auto bad = db->add_tenants({tenant("contoso.com", "Contoso")}, OnExisting::fail);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::config);
  ASSERT_TRUE(db->add_tenants({tenant("D0000000-0000-4000-8000-00000000000D", "Upper")}, OnExisting::fail));
  EXPECT_TRUE(*db->find_tenant("d0000000-0000-4000-8000-00000000000d"));
  EXPECT_TRUE(*db->find_tenant("D0000000-0000-4000-8000-00000000000D"));
}

TEST_F(SqliteStoreTest, RecordsACheck) {
  store::CheckRecord check{at(1'767'225'700), "consent_missing", "AADSTS65001: no consent", "https://consent"};
  ASSERT_TRUE(db->record_check(k_northwind, check));
  auto t = *db->find_tenant(k_northwind);
  EXPECT_EQ(t->last_check_at, at(1'767'225'700));
  EXPECT_EQ(t->last_check_status, "consent_missing");
  EXPECT_EQ(t->last_check_detail, "AADSTS65001: no consent");
  EXPECT_EQ(t->consent_url, "https://consent");
  EXPECT_EQ(db->record_check(k_tailspin, check).error().kind, ErrorKind::not_found);
}

TEST_F(SqliteStoreTest, IncidentsRoundTripWithEveryField) {
  std::vector<api::Incident> page = {make_incident(k_fabrikam, 12, 1'767'225'600, 3),
                                     make_incident(k_fabrikam, 3, 1'767'225'500, 0)};
  page[0].redirect_incident_id = "99";
  page[0].alerts[1].classification.reset();
  page[0].alerts[1].determination.reset();
  page[0].alerts[2].entities.clear();
  page[1].assigned_to.reset();
  page[1].created_time.reset();
  page[1].status = api::IncidentStatus::awaiting_action;
  page[1].severity = api::Severity::unspecified;
  auto stats = db->upsert_incidents(k_fabrikam, "legacy", page, at(1'767'225'600));
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->incidents, 2);
  EXPECT_EQ(stats->alerts, 3);

  auto back = db->incidents(k_fabrikam);
  ASSERT_TRUE(back);
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[0], page[1]) << "ordered by numeric id";
  EXPECT_EQ((*back)[1], page[0]);
  EXPECT_TRUE(db->incidents(k_northwind)->empty());
}

TEST_F(SqliteStoreTest, UpsertingTheSamePageTwiceLeavesTheSameRows) {
  std::vector<api::Incident> page = {make_incident(k_fabrikam, 1, 1'767'225'600), make_incident(k_fabrikam, 2, 1'767'225'601)};
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", page, at(1'767'225'601)));
  auto first = *db->incidents(k_fabrikam);
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", page, at(1'767'225'601)));
  EXPECT_EQ(*db->incidents(k_fabrikam), first);
  RawDb raw(path);
  EXPECT_EQ(raw.count("SELECT count(*) FROM incidents"), 2);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alerts"), 4);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alert_devices"), 4);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alert_entities"), 8);
}

TEST_F(SqliteStoreTest, AnUpdatedIncidentsChildrenAreReplaced) {
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {make_incident(k_fabrikam, 1, 1'767'225'600, 3)}, std::nullopt));
  api::Incident updated = make_incident(k_fabrikam, 1, 1'767'225'700, 1);
  updated.status = api::IncidentStatus::resolved;
  updated.alerts[0].entities.pop_back();
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {updated}, std::nullopt));
  EXPECT_EQ(*db->incidents(k_fabrikam), std::vector<api::Incident>{updated});
  RawDb raw(path);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alert_devices"), 1);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alert_entities"), 1);
}

TEST_F(SqliteStoreTest, AnAlertThatMovesToAnotherIncidentLeavesTheFirst) {
  api::Incident one = make_incident(k_fabrikam, 1, 1'767'225'600, 2);
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {one}, std::nullopt));
  api::Incident two = make_incident(k_fabrikam, 2, 1'767'225'700, 0);
  two.alerts.push_back(one.alerts[1]);
  two.alerts[0].incident_id = "2";
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {two}, std::nullopt));
  auto back = *db->incidents(k_fabrikam);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].alerts.size(), 1u);
  EXPECT_EQ(back[1], two);
}

TEST_F(SqliteStoreTest, TheWatermarkOnlyMovesForward) {
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), std::nullopt);
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {}, at(2000)));
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), at(2000));
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {}, at(1000)));
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), at(2000));
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {}, std::nullopt));
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), at(2000));
  EXPECT_EQ(*db->watermark(k_fabrikam, "graph"), std::nullopt) << "one watermark per API";
  EXPECT_EQ(*db->watermark(k_northwind, "legacy"), std::nullopt);
  ASSERT_TRUE(db->record_sync_run(k_fabrikam, "legacy", at(3000), "ok"));
  auto states = *db->sync_states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].watermark, at(2000)) << "recording a run leaves the watermark";
  EXPECT_EQ(states[0].last_run_at, at(3000));
  EXPECT_EQ(states[0].last_status, "ok");
}

TEST_F(SqliteStoreTest, TenantsAreIsolated) {
  api::Incident foreign = make_incident(k_northwind, 1, 1'767'225'600);
  auto refused = db->upsert_incidents(k_fabrikam, "legacy", {make_incident(k_fabrikam, 5, 1'767'225'600), foreign},
                                      at(1'767'225'600));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::invalid_request);
  EXPECT_TRUE(db->incidents(k_fabrikam)->empty());
  EXPECT_EQ(*db->watermark(k_fabrikam, "legacy"), std::nullopt);

  // The same incident id in two tenants is two rows; removing one tenant leaves the other's.
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy", {make_incident(k_fabrikam, 1, 1'767'225'600)}, std::nullopt));
  ASSERT_TRUE(db->upsert_incidents(k_northwind, "legacy", {foreign}, std::nullopt));
  EXPECT_EQ((*db->incidents(k_fabrikam))[0].tenant_id, k_fabrikam);
  EXPECT_EQ(*db->incidents(k_northwind), std::vector<api::Incident>{foreign});
  ASSERT_TRUE(db->remove_tenant(k_fabrikam));
  RawDb raw(path);
  EXPECT_EQ(raw.count("SELECT count(*) FROM incidents"), 1);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alerts WHERE tenant_id = '" + std::string(k_fabrikam) + "'"), 0);
  EXPECT_EQ(raw.count("SELECT count(*) FROM alert_entities WHERE tenant_id = '" + std::string(k_fabrikam) + "'"), 0);
  EXPECT_EQ(*db->incidents(k_northwind), std::vector<api::Incident>{foreign});
}

TEST_F(SqliteStoreTest, AnUnregisteredTenantStoresNothing) {
  auto r = db->upsert_incidents(k_tailspin, "legacy", {make_incident(k_tailspin, 1, 1'767'225'600)}, at(1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::not_found);
  EXPECT_NE(r.error().message.find("tenants add"), std::string::npos);
}

TEST_F(SqliteStoreTest, CountsIncidentsPerTenantSeverityAndStatus) {
  ASSERT_TRUE(db->upsert_incidents(k_fabrikam, "legacy",
                                   {make_incident(k_fabrikam, 1, 10), make_incident(k_fabrikam, 3, 10),
                                    make_incident(k_fabrikam, 5, 10), make_incident(k_fabrikam, 2, 10)},
                                   std::nullopt));
  auto counts = *db->incident_counts();
  ASSERT_EQ(counts.size(), 3u);
  // 1, 5: high active; 3: high resolved; 2: medium active.
  EXPECT_EQ(counts[0].severity, "high");
  EXPECT_EQ(counts[0].status, "active");
  EXPECT_EQ(counts[0].count, 2);
  EXPECT_EQ(counts[1].status, "resolved");
  EXPECT_EQ(counts[1].count, 1);
  EXPECT_EQ(counts[2].severity, "medium");
}

TEST_F(SqliteStoreTest, WritersInSeveralThreadsAreSerialised) {
  std::vector<std::thread> threads;
  for (const char* t : {k_fabrikam, k_northwind}) {
    threads.emplace_back([this, t] {
      for (int64_t page = 0; page < 10; ++page)
        ASSERT_TRUE(db->upsert_incidents(t, "legacy", {make_incident(t, page * 2, 100 + page), make_incident(t, page * 2 + 1, 100 + page)},
                                         at(100 + page)));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(db->incidents(k_fabrikam)->size(), 20u);
  EXPECT_EQ(db->incidents(k_northwind)->size(), 20u);
  EXPECT_EQ(*db->watermark(k_northwind, "legacy"), at(109));
}

TEST(SqliteStoreErrors, ACorruptFileIsNamedAndLeftUntouched) {
  TempDir dir;
  const std::string garbage(8192, 'x');
  const std::string path = dir.write("broken.db", garbage);
  auto opened = SqliteStore::open(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().kind, ErrorKind::storage);
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("not an xdrpartner database"), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("--db"), std::string::npos);
  EXPECT_EQ(read_text(path), garbage);
}

TEST(SqliteStoreErrors, ALockedFileSaysWhoToWaitFor) {
  TempDir dir;
  const std::string path = dir.file("locked.db");
  store::SqliteOptions options;
  options.busy_timeout = std::chrono::milliseconds(50);
  auto db = SqliteStore::open(path, options);
  ASSERT_TRUE(db);
  RawDb other(path);
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto blocked = (*db)->add_tenants({tenant(k_fabrikam, "Fabrikam")}, OnExisting::fail);
  ASSERT_FALSE(blocked);
  EXPECT_EQ(blocked.error().kind, ErrorKind::storage);
  EXPECT_NE(blocked.error().message.find("locked by another process"), std::string::npos) << blocked.error().message;
  EXPECT_NE(blocked.error().message.find(path), std::string::npos);
  ASSERT_EQ(other.exec("COMMIT"), SQLITE_OK);
  EXPECT_TRUE((*db)->add_tenants({tenant(k_fabrikam, "Fabrikam")}, OnExisting::fail)) << "nothing was lost meanwhile";
  EXPECT_EQ((*db)->list_tenants()->size(), 1u);
}

TEST(SqliteStoreErrors, AReadOnlyStoreRefusesWritesClearly) {
  TempDir dir;
  const std::string path = dir.file("ro.db");
  ASSERT_TRUE(SqliteStore::open(path));
  store::SqliteOptions options;
  options.read_only = true;
  auto db = SqliteStore::open(path, options);
  ASSERT_TRUE(db) << db.error().message;
  auto refused = (*db)->add_tenants({tenant(k_fabrikam, "Fabrikam")}, OnExisting::fail);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("cannot write the database file " + path), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE((*db)->list_tenants()) << "reading still works";
}

TEST(SqliteStoreErrors, AMissingFileIsNotCreatedWhenAskedNotTo) {
  TempDir dir;
  store::SqliteOptions options;
  options.read_only = true;
  auto db = SqliteStore::open(dir.file("none.db"), options);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("there is no database file"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("none.db")));
  auto nodir = SqliteStore::open(dir.file("no/such/dir/x.db"));
  ASSERT_FALSE(nodir);
  EXPECT_NE(nodir.error().message.find("cannot create the database file"), std::string::npos);
}

TEST(SqliteStoreErrors, AFileFromANewerVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.file("new.db");
  ASSERT_TRUE(SqliteStore::open(path));
  {
    RawDb raw(path);
    raw.exec("PRAGMA user_version = 99");
  }
  auto db = SqliteStore::open(path);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("newer than this xdrpartner knows"), std::string::npos);
}

TEST(StoreLabels, ParseAndFormat) {
  auto labels = store::parse_labels("env=prod; tier = gold,region=eu");
  ASSERT_TRUE(labels);
  EXPECT_EQ(*labels, (std::map<std::string, std::string>{{"env", "prod"}, {"region", "eu"}, {"tier", "gold"}}));
  EXPECT_EQ(store::format_labels(*labels), "env=prod;region=eu;tier=gold");
  EXPECT_FALSE(store::parse_labels("env"));
  EXPECT_FALSE(store::parse_label("=x"));
  EXPECT_TRUE(store::parse_labels("")->empty());
}

} // namespace
