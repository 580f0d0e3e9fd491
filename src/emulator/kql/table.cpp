#include <emulator/kql/table.hpp>

#include <xdr/util/result.hpp>

namespace xdr::emulator::kql {

int Table::find_column(std::string_view name) const {
  for (size_t i = 0; i < schema.size(); ++i) {
    if (schema[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::shared_ptr<const ColumnData> Table::dense_column(size_t column) const {
  if (!selection) return columns[column];
  auto data = std::make_shared<ColumnData>();
  data->reserve(row_count);
  for (size_t r : *selection) data->push_back((*columns[column])[r]);
  return data;
}

TableBuilder::TableBuilder(std::vector<ColumnDef> schema) : m_schema(std::move(schema)), m_columns(m_schema.size()) {}

TableBuilder& TableBuilder::add_row(std::vector<Value> values) {
  if (values.size() != m_schema.size()) {
    throw Fatal("TableBuilder::add_row: got " + std::to_string(values.size()) + " values for " +
                std::to_string(m_schema.size()) + " columns");
  }
  for (size_t i = 0; i < values.size(); ++i) m_columns[i].push_back(coerce(values[i], m_schema[i].type));
  ++m_rows;
  return *this;
}

void TableBuilder::reserve(size_t rows) {
  for (auto& c : m_columns) c.reserve(rows);
}

Table TableBuilder::build() {
  Table t;
  t.schema = std::move(m_schema);
  t.row_count = m_rows;
  for (auto& c : m_columns) t.columns.push_back(std::make_shared<const ColumnData>(std::move(c)));
  m_schema.clear();
  m_columns.clear();
  m_rows = 0;
  return t;
}

void Catalog::add(std::string name, Table table) {
  m_tables[std::move(name)] = std::make_shared<const Table>(std::move(table));
}

void Catalog::add(std::string name, std::shared_ptr<const Table> table) { m_tables[std::move(name)] = std::move(table); }

std::shared_ptr<const Table> Catalog::find(std::string_view name) const {
  auto it = m_tables.find(name);
  return it == m_tables.end() ? nullptr : it->second;
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> out;
  for (const auto& [name, table] : m_tables) out.push_back(name);
  return out;
}

} // namespace xdr::emulator::kql
