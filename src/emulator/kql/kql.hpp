#pragma once
// The KQL interpreter's entry point: runs an advanced-hunting query over in-memory tables.
//
// Supported: let (scalar and tabular), where, project, project-away, project-keep, project-rename, extend,
// summarize, top, take/limit, order/sort by, distinct, count, join (innerunique (the default), inner, leftouter,
// leftanti, leftsemi, rightanti, rightsemi), union, mv-expand, print; the scalar operators and functions
// listed in src/emulator/kql/README.md. Anything else fails with code NotSupported, "not supported: <what>".

#include <atomic>
#include <chrono>
#include <optional>
#include <string_view>
#include <vector>

#include <emulator/kql/table.hpp>
#include <emulator/kql/value.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::emulator::kql {

struct QueryOptions {
  util::TimePoint now{};  // the value of now(); ago(x) is now - x
  std::optional<std::chrono::steady_clock::time_point> deadline;  // Timeout error once passed
  const std::atomic<bool>* cancel = nullptr;  // Cancelled error once set
  size_t max_rows = 100'000;                   // ResultTooLarge error above this many result rows
  size_t max_intermediate_rows = 10'000'000;   // LimitExceeded error when an operator produces more
  size_t max_query_length = 100'000;           // characters
  int max_depth = 64;                          // expression and subquery nesting
};

struct TableScan {
  std::string table;
  size_t rows = 0;
};

struct QueryStats {
  size_t rows_scanned = 0;                 // rows read from catalog tables (each reference counts)
  std::vector<TableScan> tables;           // one entry per catalog table reference
  std::chrono::nanoseconds execution_time{0};
};

struct QueryResult {
  std::vector<ColumnDef> schema;
  std::vector<std::vector<Value>> rows;
  QueryStats stats;
};

// Parses and runs `query` against `catalog`. Errors carry kind invalid_request (codes SyntaxError,
// SemanticError, NotSupported, ResultTooLarge, LimitExceeded), timeout (Timeout) or cancelled (Cancelled);
// the message names the problem and its position ("on line [1,12]").
Result<QueryResult> run(std::string_view query, const Catalog& catalog, const QueryOptions& options = {});

} // namespace xdr::emulator::kql
