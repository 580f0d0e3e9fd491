#pragma once
// The raw SQLite upsert rate of rows a SqliteStore already holds, shared by bench_store_upsert and
// bench_sync: the store file's rows of tenants, incidents, alerts, alert_devices and alert_entities are
// inserted into a fresh file with the same schema by cached "INSERT OR REPLACE ... VALUES (?, ...)"
// statements, one transaction per page of incidents (each table's rows split evenly over the pages): no
// model conversion, no child replacement, no tenant checks. Rows are read page by page, untimed, so memory
// stays bounded by one page whatever the number of incidents.

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sqlite3.h>

#include <xdr/store/sqlite_store.hpp>

namespace xdr::bench {

struct RawUpsert {
  size_t incidents = 0;
  size_t alerts = 0;
  double seconds = 0; // the inserts and commits only
  double rate() const { return seconds > 0 ? static_cast<double>(incidents) / seconds : 0; }
};

namespace detail {

// A forward cursor over one table in rowid order.
class TableCursor {
public:
  TableCursor(sqlite3* db, const std::string& name) : m_name(name) {
    sqlite3_stmt* count = nullptr;
    sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + name).c_str(), -1, &count, nullptr);
    if (sqlite3_step(count) == SQLITE_ROW) m_rows = static_cast<size_t>(sqlite3_column_int64(count, 0));
    sqlite3_finalize(count);
    sqlite3_prepare_v2(db, ("SELECT * FROM " + name + " ORDER BY rowid").c_str(), -1, &m_select, nullptr);
    m_columns = sqlite3_column_count(m_select);
  }
  ~TableCursor() { sqlite3_finalize(m_select); }
  TableCursor(const TableCursor&) = delete;
  TableCursor& operator=(const TableCursor&) = delete;

  const std::string& name() const { return m_name; }
  size_t rows() const { return m_rows; }
  int columns() const { return m_columns; }
  // The next `n` rows as text (nullopt for NULL).
  std::vector<std::vector<std::optional<std::string>>> next(size_t n) {
    std::vector<std::vector<std::optional<std::string>>> out;
    while (out.size() < n && sqlite3_step(m_select) == SQLITE_ROW) {
      std::vector<std::optional<std::string>> row;
      for (int c = 0; c < m_columns; ++c) {
        if (sqlite3_column_type(m_select, c) == SQLITE_NULL) row.emplace_back();
        else row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(m_select, c)));
      }
      out.push_back(std::move(row));
    }
    return out;
  }

private:
  std::string m_name;
  sqlite3_stmt* m_select = nullptr;
  size_t m_rows = 0;
  int m_columns = 0;
};

} // namespace detail

// Copies the rows of the store file `store_path` into a new file `raw_path` (created with the store's schema
// through SqliteStore::open), timing only the inserts. Returns nullopt when a file cannot be opened.
inline std::optional<RawUpsert> raw_sqlite_upsert(const std::string& store_path, const std::string& raw_path,
                                                  size_t page = 100) {
  if (!store::SqliteStore::open(raw_path)) return std::nullopt;
  sqlite3* source = nullptr;
  sqlite3* raw = nullptr;
  if (sqlite3_open(store_path.c_str(), &source) != SQLITE_OK || sqlite3_open(raw_path.c_str(), &raw) != SQLITE_OK) {
    sqlite3_close(source);
    sqlite3_close(raw);
    return std::nullopt;
  }
  sqlite3_exec(raw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF", nullptr,
               nullptr, nullptr);
  RawUpsert result;
  {
    std::vector<std::unique_ptr<detail::TableCursor>> tables;
    for (const char* name : {"tenants", "incidents", "alerts", "alert_devices", "alert_entities"})
      tables.push_back(std::make_unique<detail::TableCursor>(source, name));
    std::vector<sqlite3_stmt*> inserts;
    for (const auto& t : tables) {
      std::string sql = "INSERT OR REPLACE INTO " + t->name() + " VALUES (";
      for (int c = 0; c < t->columns(); ++c) sql += c == 0 ? "?" : ", ?";
      sqlite3_stmt* s = nullptr;
      sqlite3_prepare_v2(raw, (sql + ")").c_str(), -1, &s, nullptr);
      inserts.push_back(s);
    }
    result.incidents = tables[1]->rows();
    result.alerts = tables[2]->rows();
    const size_t pages = std::max<size_t>(1, (result.incidents + page - 1) / page);
    std::chrono::steady_clock::duration timed{0};
    for (size_t p = 0; p < pages; ++p) {
      std::vector<std::vector<std::vector<std::optional<std::string>>>> chunk;
      for (auto& t : tables) chunk.push_back(t->next(t->rows() * (p + 1) / pages - t->rows() * p / pages));
      const auto start = std::chrono::steady_clock::now();
      sqlite3_exec(raw, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      for (size_t ti = 0; ti < tables.size(); ++ti) {
        sqlite3_stmt* s = inserts[ti];
        for (const auto& row : chunk[ti]) {
          for (size_t c = 0; c < row.size(); ++c) {
            const auto& v = row[c];
            if (v) sqlite3_bind_text(s, static_cast<int>(c) + 1, v->data(), static_cast<int>(v->size()), SQLITE_STATIC);
            else sqlite3_bind_null(s, static_cast<int>(c) + 1);
          }
          sqlite3_step(s);
          sqlite3_reset(s);
        }
      }
      sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
      timed += std::chrono::steady_clock::now() - start;
    }
    result.seconds = std::chrono::duration<double>(timed).count();
    for (auto* s : inserts) sqlite3_finalize(s);
  }
  sqlite3_close(source);
  sqlite3_close(raw);
  return result;
}

} // namespace xdr::bench
