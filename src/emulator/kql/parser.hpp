#pragma once
// Lexer and recursive-descent parser for the supported KQL subset.

#include <functional>
#include <string_view>

#include <emulator/kql/ast.hpp>
#include <xdr/util/result.hpp>

namespace xdr::emulator::kql {

struct ParseOptions {
  size_t max_query_length = 100'000;  // characters
  int max_depth = 64;                 // nesting of expressions and subqueries
};

// Parses `text`. `is_table(name)` says whether a bare name is a table of the catalog (a name that starts a
// tabular expression). Errors: SyntaxError ("Query could not be parsed at 'x' on line [1,5]"), NotSupported
// for KQL outside the subset, SemanticError for an unknown table, LimitExceeded for size and nesting.
Result<Query> parse_query(std::string_view text, const std::function<bool(std::string_view)>& is_table,
                          const ParseOptions& options = {});

} // namespace xdr::emulator::kql
