#pragma once
// The syntax tree of a KQL query. Expression nodes also carry binding results (column index, static type,
// constant lists), filled in by the evaluator before rows are scanned.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <emulator/kql/value.hpp>

namespace xdr::emulator::kql {

// A place in the query text: 0-based offset, 1-based line and column.
struct Pos {
  size_t offset = 0;
  int line = 1;
  int column = 1;
};

enum class ExprKind {
  literal,   // value
  name,      // a column or scalar let (resolved at bind time)
  binary,    // op, args[0], args[1]
  negate,    // -args[0]
  call,      // name(args...)
  member,    // args[0].name
  index,     // args[0][args[1]]
  in_list,   // args[0] op (args[1..]); op is in / !in / in~ / !in~ / has_any / has_all
  between,   // args[0] between (args[1] .. args[2]); negated when op == BinOp::not_between
  subquery,  // a tabular expression used as a value list (in, has_any) or by toscalar()
  star,      // `*` as an argument (arg_max(X, *))
};

enum class BinOp {
  none, or_, and_, eq, ne, lt, le, gt, ge, eq_ci, ne_ci, add, sub, mul, div, mod,
  has, not_has, has_cs, not_has_cs, hasprefix, not_hasprefix, hassuffix, not_hassuffix,
  contains, not_contains, contains_cs, not_contains_cs,
  startswith, not_startswith, startswith_cs, not_startswith_cs, endswith, not_endswith, endswith_cs, not_endswith_cs,
  in, not_in, in_ci, not_in_ci, has_any, has_all, between, not_between, matches_regex,
};

struct TabularExpr;
struct Expr;
using ExprPtr = std::unique_ptr<Expr>;
using TabularPtr = std::shared_ptr<TabularExpr>;

struct Expr {
  ExprKind kind = ExprKind::literal;
  Pos pos;
  std::string name;  // name, call, member
  Value literal;     // literal
  BinOp op = BinOp::none;
  std::vector<ExprPtr> args;
  TabularPtr subquery;
  int depth = 1;  // height of this subtree (bounded by the parser so evaluation cannot overflow the stack)

  // Binding results.
  int column = -1;                    // name bound to a column of the input
  Type type = Type::dynamic;          // static type
  bool bound = false;
  std::shared_ptr<const std::vector<Value>> constant_list;  // in_list / has_any with constant elements
  std::shared_ptr<const void> compiled;                     // a compiled regex
  const void* function = nullptr;                           // the scalar function of a call
};

// `Name = expr` or a bare `expr` (name empty).
struct NamedExpr {
  std::string name;
  ExprPtr expr;
  Pos pos;
};

struct SortKey {
  ExprPtr expr;
  bool ascending = false;
  std::optional<bool> nulls_first;
};

enum class OpKind {
  where, project, project_away, project_keep, project_rename, extend, summarize, top, take, sort,
  distinct, count, join, union_, mv_expand,
};

struct JoinKey {
  std::string left;
  std::string right;
  Pos pos;
};

struct Operator {
  OpKind kind = OpKind::where;
  Pos pos;
  std::string keyword;                // as written, for messages ("where", "order by", ...)
  ExprPtr predicate;                  // where; take/top count
  std::vector<NamedExpr> items;       // project, extend, summarize aggregates, distinct, mv-expand
  std::vector<NamedExpr> by;          // summarize keys
  std::vector<std::string> patterns;  // project-away / project-keep (may contain '*')
  std::vector<std::pair<std::string, std::string>> renames;  // project-rename: new, old
  std::vector<SortKey> sort_keys;     // sort, top
  std::string join_kind;              // as written; empty = default (innerunique)
  std::vector<JoinKey> join_keys;
  std::vector<TabularPtr> tables;     // join right side; union legs
  std::vector<std::string> table_names;  // union: leg names for withsource
  std::string with_source;            // union withsource=
  std::optional<Type> to_type;        // mv-expand ... to typeof(T)
};

enum class SourceKind { table, union_, print, subquery };

struct TabularExpr {
  Pos pos;
  SourceKind source = SourceKind::table;
  std::string name;                 // table or tabular let
  std::vector<TabularPtr> legs;     // union legs / the parenthesised subquery
  std::vector<std::string> leg_names;
  std::string with_source;
  std::vector<NamedExpr> print_items;
  std::vector<Operator> ops;
};

struct LetStatement {
  std::string name;
  Pos pos;
  ExprPtr scalar;      // exactly one of scalar / tabular
  TabularPtr tabular;
};

// let statements in order, then the one tabular expression whose result is returned.
struct Query {
  std::vector<LetStatement> lets;
  TabularPtr body;
};

} // namespace xdr::emulator::kql
