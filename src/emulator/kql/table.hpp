#pragma once
// In-memory tables (column-major, columns shared between operator results) and the catalog of named tables.

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <emulator/kql/value.hpp>

namespace xdr::emulator::kql {

struct ColumnDef {
  std::string name;
  Type type = Type::string;
};

using ColumnData = std::vector<Value>;

// A table: a schema and one shared, immutable vector of values per column. When `selection` is set, the
// table's rows are those physical rows of the columns, in that order (filters and sorts share columns
// instead of copying them); otherwise every column has row_count values.
struct Table {
  std::vector<ColumnDef> schema;
  std::vector<std::shared_ptr<const ColumnData>> columns;
  size_t row_count = 0;
  std::shared_ptr<const std::vector<size_t>> selection;

  // Index of the column named `name`, or -1.
  int find_column(std::string_view name) const;
  // The value at (row, column).
  const Value& at(size_t row, size_t column) const {
    return (*columns[column])[selection ? (*selection)[row] : row];
  }
  // Column `column` as row_count values (shared when there is no selection, copied otherwise).
  std::shared_ptr<const ColumnData> dense_column(size_t column) const;
};

// Builds a table row by row; each value is coerced to its column's type (so ints given for a long column
// become longs, ISO strings given for a datetime column become datetimes).
class TableBuilder {
public:
  explicit TableBuilder(std::vector<ColumnDef> schema);
  // Appends one row; throws xdr::Fatal if the number of values differs from the schema (a programming error).
  TableBuilder& add_row(std::vector<Value> values);
  // Reserves room for `rows` rows.
  void reserve(size_t rows);
  // Moves the built table out; the builder is empty afterwards.
  Table build();

private:
  std::vector<ColumnDef> m_schema;
  std::vector<ColumnData> m_columns;
  size_t m_rows = 0;
};

// Table name (case-sensitive, as in Kusto) -> table. Supplied by the caller of run().
class Catalog {
public:
  // Adds or replaces `name`.
  void add(std::string name, Table table);
  void add(std::string name, std::shared_ptr<const Table> table);
  // The table or nullptr.
  std::shared_ptr<const Table> find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  std::vector<std::string> names() const;

private:
  std::map<std::string, std::shared_ptr<const Table>, std::less<>> m_tables;
};

} // namespace xdr::emulator::kql
