#include <emulator/kql/kql.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <emulator/kql/errors.hpp>
#include <emulator/kql/parser.hpp>
#include <emulator/kql/scalar.hpp>

namespace xdr::emulator::kql {

namespace {

using TablePtr = std::shared_ptr<const Table>;
using detail::EvalEnv;
using detail::FunctionDef;

constexpr size_t k_max_call_args = 64;

Type type_of(const Value& v, Type fallback) {
  if (v.is_bool()) return Type::boolean;
  if (v.is_int()) return Type::int32;
  if (v.is_long()) return Type::int64;
  if (v.is_real()) return Type::real;
  if (v.is_string()) return fallback == Type::guid ? Type::guid : Type::string;
  if (v.is_datetime()) return Type::datetime;
  if (v.is_timespan()) return Type::timespan;
  if (v.is_dynamic()) return Type::dynamic;
  return fallback;
}

// True when `v` already has the representation of column type `t` (or is null).
bool fits(const Value& v, Type t) {
  if (v.is_null()) return true;
  switch (t) {
    case Type::boolean: return v.is_bool();
    case Type::int32: return v.is_int();
    case Type::int64: return v.is_long();
    case Type::real: return v.is_real();
    case Type::string:
    case Type::guid: return v.is_string();
    case Type::datetime: return v.is_datetime();
    case Type::timespan: return v.is_timespan();
    case Type::dynamic: return true;
  }
  return false;
}

bool wildcard_match(std::string_view pattern, std::string_view text) {
  size_t p = 0;
  size_t t = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct KeyHash {
  size_t operator()(const std::vector<Value>& key) const {
    size_t h = 0x12345;
    for (const auto& v : key) h = h * 1000003u ^ key_hash(v);
    return h;
  }
};
struct KeyEq {
  bool operator()(const std::vector<Value>& a, const std::vector<Value>& b) const {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!key_equal(a[i], b[i])) return false;
    }
    return true;
  }
};
using GroupMap = std::unordered_map<std::vector<Value>, size_t, KeyHash, KeyEq>;

enum class AggKind { count, countif, dcount, sum, avg, min, max, make_set, make_list, arg_max, arg_min, take_any };

struct AggSpec {
  AggKind kind = AggKind::count;
  Expr* arg = nullptr;                 // the aggregated / maximised expression
  size_t max_items = 1'048'576;        // make_set / make_list cap
  std::vector<int> extra_columns;      // arg_max / arg_min: input columns returned from the best row
  std::vector<std::string> out_names;  // one per output column
  std::vector<Type> out_types;
};

struct AggState {
  int64_t count = 0;
  int64_t isum = 0;
  double dsum = 0;
  bool real_sum = false;
  Value best;
  size_t best_row = 0;
  bool has_best = false;
  std::vector<Value> list;
  std::unique_ptr<std::unordered_set<Value, ValueHash, ValueEq>> set;
};

struct LetBinding {
  bool tabular = false;
  Value scalar;
  Type type = Type::dynamic;
  TabularExpr* tab = nullptr;
  TablePtr cached;
};

class Engine {
public:
  Engine(const Catalog& catalog, const QueryOptions& options, QueryStats& stats)
      : m_catalog(catalog), m_options(options), m_stats(stats) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options.now.time_since_epoch()).count();
    m_env.now_ticks = ns / 100;
  }

  Result<TablePtr> run(Query& q) {
    for (auto& let : q.lets) {
      LetBinding b;
      if (let.tabular) {
        b.tabular = true;
        b.tab = let.tabular.get();
      } else {
        Table empty;
        XDR_TRY(bind(*let.scalar, empty, "let"));
        if (let.scalar->kind != ExprKind::literal) {
          return fail(semantic_error("let " + let.name + ": the value must not depend on columns", let.pos));
        }
        b.scalar = let.scalar->literal;
        b.type = let.scalar->type;
      }
      m_lets[let.name] = std::move(b);
    }
    XDR_TRY_ASSIGN(TablePtr result, eval_tabular(*q.body));
    XDR_TRY(check_limits());
    return result;
  }

private:
  // ---- limits ----
  Status check_limits() {
    if (!m_env.runtime_error.empty()) {
      return fail(Error(ErrorKind::invalid_request, "not supported: " + m_env.runtime_error +
                                                        " (the emulator implements a subset of KQL)")
                      .with_code(std::string(k_code_not_supported)));
    }
    if (m_options.cancel && m_options.cancel->load()) {
      return fail(Error(ErrorKind::cancelled, "The query was cancelled").with_code(std::string(k_code_cancelled)));
    }
    if (m_options.deadline && std::chrono::steady_clock::now() > *m_options.deadline) {
      return fail(Error(ErrorKind::timeout,
                        "The query exceeded its time limit and was stopped; narrow the time range or simplify the query")
                      .with_code(std::string(k_code_timeout)));
    }
    return {};
  }
  Status tick() {
    if ((++m_ticks & 0xFFF) == 0 || !m_env.runtime_error.empty()) return check_limits();
    return {};
  }
  Status check_size(size_t rows) const {
    if (rows > m_options.max_intermediate_rows) {
      return fail(limit_error(k_code_limit, "The query produced more than " + std::to_string(m_options.max_intermediate_rows) +
                                                " intermediate rows (memory limit); add filters before joins and expansions"));
    }
    return {};
  }

  // ---- tabular evaluation ----
  Result<TablePtr> eval_tabular(TabularExpr& tab) {
    TablePtr current;
    switch (tab.source) {
      case SourceKind::table: {
        auto let = m_lets.find(tab.name);
        if (let != m_lets.end() && let->second.tabular) {
          if (!let->second.cached) {
            XDR_TRY_ASSIGN(TablePtr t, eval_tabular(*let->second.tab));
            let->second.cached = t;
          }
          current = let->second.cached;
        } else {
          current = m_catalog.find(tab.name);
          if (!current) {
            return fail(semantic_error("Failed to resolve table or column expression named '" + tab.name + "'", tab.pos));
          }
          m_stats.rows_scanned += current->row_count;
          m_stats.tables.push_back({tab.name, current->row_count});
        }
        break;
      }
      case SourceKind::subquery: {
        XDR_TRY_ASSIGN(current, eval_tabular(*tab.legs.at(0)));
        break;
      }
      case SourceKind::union_: {
        Operator op;
        op.kind = OpKind::union_;
        op.pos = tab.pos;
        op.tables = tab.legs;
        op.table_names = tab.leg_names;
        op.with_source = tab.with_source;
        XDR_TRY_ASSIGN(current, op_union(op, nullptr));
        break;
      }
      case SourceKind::print: {
        Table one;
        one.row_count = 1;
        Operator op;
        op.kind = OpKind::extend;
        op.keyword = "print";
        op.pos = tab.pos;
        op.items = std::move(tab.print_items);
        XDR_TRY_ASSIGN(current, op_extend(op, std::make_shared<const Table>(std::move(one))));
        tab.print_items = std::move(op.items);
        break;
      }
    }
    for (auto& op : tab.ops) {
      XDR_TRY(check_limits());
      XDR_TRY_ASSIGN(current, apply(op, current));
      XDR_TRY(check_size(current->row_count));
    }
    return current;
  }

  Result<TablePtr> apply(Operator& op, const TablePtr& in) {
    switch (op.kind) {
      case OpKind::where: return op_where(op, in);
      case OpKind::project: return op_project(op, in);
      case OpKind::project_away:
      case OpKind::project_keep: return op_project_away(op, in);
      case OpKind::project_rename: return op_project_rename(op, in);
      case OpKind::extend: return op_extend(op, in);
      case OpKind::summarize: return op_summarize(op, in);
      case OpKind::top: return op_sort(op, in, true);
      case OpKind::sort: return op_sort(op, in, false);
      case OpKind::take: return op_take(op, in);
      case OpKind::distinct: return op_distinct(op, in);
      case OpKind::count: {
        Table t;
        t.schema.push_back({"Count", Type::int64});
        t.columns.push_back(std::make_shared<const ColumnData>(ColumnData{Value(static_cast<int64_t>(in->row_count))}));
        t.row_count = 1;
        return std::make_shared<const Table>(std::move(t));
      }
      case OpKind::join: return op_join(op, in);
      case OpKind::union_: return op_union(op, in);
      case OpKind::mv_expand: return op_mv_expand(op, in);
    }
    return fail(not_supported("operator", op.pos));
  }

  // ---- binding ----
  Error unresolved(const Expr& e, std::string_view op) const {
    return semantic_error("'" + std::string(op) + "' operator: Failed to resolve column or scalar expression named '" +
                              e.name + "'",
                          e.pos);
  }

  Status collect_list_element(Expr& el, std::vector<Value>& out, std::string_view op) {
    if (el.kind == ExprKind::subquery) {
      XDR_TRY_ASSIGN(TablePtr t, eval_tabular(*el.subquery));
      if (t->schema.empty()) return fail(semantic_error("the subquery returns no columns", el.pos));
      for (size_t r = 0; r < t->row_count; ++r) out.push_back(t->at(r, 0));
      return {};
    }
    (void)op;
    const Value& v = el.literal;
    if (v.is_dynamic() && v.as_json().is_array()) {
      for (const auto& item : v.as_json()) out.push_back(unwrap_dynamic(Value::dynamic(item)));
    } else {
      out.push_back(unwrap_dynamic(v));
    }
    return {};
  }

  Status bind(Expr& e, const Table& in, std::string_view op, bool allow_aggregates = false) {
    switch (e.kind) {
      case ExprKind::literal:
        if (!e.literal.is_null()) e.type = type_of(e.literal, e.type);
        break;
      case ExprKind::name: {
        const int col = in.find_column(e.name);
        if (col >= 0) {
          e.column = col;
          e.type = in.schema[static_cast<size_t>(col)].type;
          break;
        }
        auto let = m_lets.find(e.name);
        if (let != m_lets.end() && !let->second.tabular) {
          e.kind = ExprKind::literal;
          e.literal = let->second.scalar;
          e.type = let->second.type;
          break;
        }
        return fail(unresolved(e, op));
      }
      case ExprKind::star:
        return fail(semantic_error("'*' is only valid as an argument of arg_max() or arg_min()", e.pos));
      case ExprKind::subquery:
        return fail(semantic_error("a tabular expression cannot be used as a scalar here (use toscalar())", e.pos));
      case ExprKind::negate: {
        XDR_TRY(bind(*e.args[0], in, op, allow_aggregates));
        const Type t = e.args[0]->type;
        if (t != Type::int32 && t != Type::int64 && t != Type::real && t != Type::timespan && t != Type::dynamic) {
          return fail(semantic_error("unary '-' cannot be applied to a " + std::string(kql_type_name(t)), e.pos));
        }
        e.type = t;
        break;
      }
      case ExprKind::binary: {
        XDR_TRY(bind(*e.args[0], in, op, allow_aggregates));
        XDR_TRY(bind(*e.args[1], in, op, allow_aggregates));
        const Type l = e.args[0]->type;
        const Type r = e.args[1]->type;
        if (e.op == BinOp::and_ || e.op == BinOp::or_) {
          for (const auto& a : e.args) {
            if (a->type != Type::boolean && a->type != Type::dynamic) {
              return fail(semantic_error("'" + std::string(detail::op_text(e.op)) + "' expects bool operands, got " +
                                             std::string(kql_type_name(a->type)),
                                         a->pos));
            }
          }
          e.type = Type::boolean;
          break;
        }
        if (e.op == BinOp::matches_regex) {
          if (e.args[1]->kind == ExprKind::literal && e.args[1]->literal.is_string()) {
            std::string error;
            e.compiled = detail::compile_regex(e.args[1]->literal.as_string(), error);
            if (!e.compiled) return fail(not_supported(error, e.args[1]->pos));
          }
          e.type = Type::boolean;
          break;
        }
        std::string error;
        auto t = detail::binary_type(e.op, l, r, error);
        if (!t) return fail(semantic_error(error, e.pos));
        e.type = *t;
        break;
      }
      case ExprKind::member:
      case ExprKind::index: {
        XDR_TRY(bind(*e.args[0], in, op, allow_aggregates));
        if (e.args[0]->type != Type::dynamic) {
          return fail(semantic_error("member access needs a dynamic value, but the expression is " +
                                         std::string(kql_type_name(e.args[0]->type)) + " (use parse_json())",
                                     e.pos));
        }
        if (e.kind == ExprKind::index) XDR_TRY(bind(*e.args[1], in, op, allow_aggregates));
        e.type = Type::dynamic;
        break;
      }
      case ExprKind::in_list: {
        XDR_TRY(bind(*e.args[0], in, op, allow_aggregates));
        bool constant = true;
        std::vector<Value> values;
        for (size_t i = 1; i < e.args.size(); ++i) {
          Expr& el = *e.args[i];
          if (el.kind != ExprKind::subquery) XDR_TRY(bind(el, in, op, allow_aggregates));
          if (el.kind == ExprKind::subquery || el.kind == ExprKind::literal) {
            XDR_TRY(collect_list_element(el, values, op));
          } else {
            constant = false;
          }
        }
        if (constant) {
          e.constant_list = std::make_shared<const std::vector<Value>>(std::move(values));
          e.args.resize(1);
        } else {
          for (size_t i = 1; i < e.args.size(); ++i) {
            if (e.args[i]->kind == ExprKind::subquery) {
              return fail(not_supported("mixing a subquery with non-constant values in an 'in' list", e.args[i]->pos));
            }
          }
        }
        e.type = Type::boolean;
        break;
      }
      case ExprKind::between: {
        for (auto& a : e.args) XDR_TRY(bind(*a, in, op, allow_aggregates));
        std::string error;
        if (!detail::binary_type(BinOp::le, e.args[0]->type, e.args[1]->type, error)) {
          return fail(semantic_error(error, e.pos));
        }
        const bool span_upper = e.args[0]->type == Type::datetime && e.args[2]->type == Type::timespan;
        if (!span_upper && !detail::binary_type(BinOp::le, e.args[0]->type, e.args[2]->type, error)) {
          return fail(semantic_error(error, e.pos));
        }
        e.type = Type::boolean;
        break;
      }
      case ExprKind::call: {
        if (detail::is_aggregate_name(e.name) && !allow_aggregates) {
          return fail(semantic_error("Function '" + e.name + "' cannot be invoked in current context (aggregation "
                                                             "functions are only valid in summarize)",
                                     e.pos));
        }
        if (e.name == "toscalar") {
          if (e.args.size() != 1 || e.args[0]->kind != ExprKind::subquery) {
            return fail(semantic_error("toscalar() expects one tabular expression", e.pos));
          }
          XDR_TRY_ASSIGN(TablePtr t, eval_tabular(*e.args[0]->subquery));
          e.kind = ExprKind::literal;
          e.args.clear();
          if (t->schema.empty()) return fail(semantic_error("toscalar(): the subquery returns no columns", e.pos));
          e.type = t->schema[0].type;
          e.literal = t->row_count > 0 ? t->at(0, 0) : Value();
          break;
        }
        const FunctionDef* fd = detail::find_function(e.name);
        if (!fd) return fail(not_supported("function '" + e.name + "'", e.pos));
        if (e.args.size() < fd->min_args || e.args.size() > fd->max_args || e.args.size() > k_max_call_args) {
          return fail(semantic_error("function '" + e.name + "' expects " +
                                         (fd->min_args == fd->max_args ? std::to_string(fd->min_args)
                                                                       : std::to_string(fd->min_args) + " to " + std::to_string(fd->max_args)) +
                                         " arguments, got " + std::to_string(e.args.size()),
                                     e.pos));
        }
        std::vector<Type> types;
        for (auto& a : e.args) {
          XDR_TRY(bind(*a, in, op, allow_aggregates));
          types.push_back(a->type);
        }
        std::string error;
        auto t = fd->type(types, error);
        if (!t) return fail(semantic_error(error, e.pos));
        e.type = *t;
        e.function = fd;
        if (e.name == "extract" && e.args[0]->kind == ExprKind::literal && e.args[0]->literal.is_string()) {
          e.compiled = detail::compile_regex(e.args[0]->literal.as_string(), error);
          if (!e.compiled) return fail(not_supported(error, e.args[0]->pos));
        }
        break;
      }
    }
    e.bound = true;
    fold(e);
    return {};
  }

  // Replaces an expression whose operands are all literals by its value (now() is fixed per query).
  void fold(Expr& e) {
    if (e.kind == ExprKind::literal || e.kind == ExprKind::name) return;
    if (e.kind == ExprKind::call && detail::is_aggregate_name(e.name)) return;
    for (const auto& a : e.args) {
      if (a->kind != ExprKind::literal) return;
    }
    static const Table empty;
    Value scratch;
    Value v = eval(e, empty, 0, scratch);
    e.kind = ExprKind::literal;
    e.literal = std::move(v);
    e.args.clear();
  }

  // ---- scalar evaluation ----
  static bool truthy(const Value& v) {
    if (v.is_bool()) return v.as_bool();
    if (v.is_dynamic()) {
      const Value u = unwrap_dynamic(v);
      return u.is_bool() && u.as_bool();
    }
    return false;
  }

  static Value dynamic_child(const Value& base, const Value& key) {
    if (!base.is_dynamic()) return Value();
    const auto& j = base.as_json();
    const Value k = unwrap_dynamic(key);
    if (j.is_object() && k.is_string()) {
      auto it = j.find(k.as_string());
      if (it == j.end()) return Value();
      return Value::dynamic(*it);
    }
    if (j.is_array() && k.is_integer()) {
      int64_t ix = k.as_long();
      const auto n = static_cast<int64_t>(j.size());
      if (ix < 0) ix += n;
      if (ix < 0 || ix >= n) return Value();
      return Value::dynamic(j[static_cast<size_t>(ix)]);
    }
    return Value();
  }

  bool in_match(BinOp op, const Value& lhs, const Value& candidate) const {
    if (op == BinOp::in_ci || op == BinOp::not_in_ci) {
      if (lhs.is_null() || candidate.is_null()) return false;
      const std::string a = lhs.is_string() ? lhs.as_string() : to_display_string(lhs);
      const std::string b = candidate.is_string() ? candidate.as_string() : to_display_string(candidate);
      return detail::iequals_ascii(a, b);
    }
    if (op == BinOp::has_any || op == BinOp::has_all) {
      if (candidate.is_null()) return false;
      const std::string a = lhs.is_null() ? std::string() : (lhs.is_string() ? lhs.as_string() : to_display_string(lhs));
      const std::string b = candidate.is_string() ? candidate.as_string() : to_display_string(candidate);
      return detail::has_term(a, b, false, true, true);
    }
    return key_equal(lhs, candidate);
  }

  const Value& eval(const Expr& e, const Table& t, size_t row, Value& out) const {
    switch (e.kind) {
      case ExprKind::literal: return e.literal;
      case ExprKind::name: return t.at(row, static_cast<size_t>(e.column));
      case ExprKind::binary: {
        Value s1;
        const Value& a = eval(*e.args[0], t, row, s1);
        if (e.op == BinOp::and_ || e.op == BinOp::or_) {
          const Value ua = unwrap_dynamic(a);
          const bool is_and = e.op == BinOp::and_;
          if (ua.is_bool() && ua.as_bool() != is_and) {
            out = Value(!is_and);
            return out;
          }
          Value s2;
          const Value ub = unwrap_dynamic(eval(*e.args[1], t, row, s2));
          if (ub.is_bool() && ub.as_bool() != is_and) {
            out = Value(!is_and);
          } else if (ua.is_bool() && ub.is_bool()) {
            out = Value(is_and);
          } else {
            out = Value();
          }
          return out;
        }
        Value s2;
        const Value& b = eval(*e.args[1], t, row, s2);
        if (e.op == BinOp::matches_regex) {
          if (a.is_null() || b.is_null()) {
            out = Value();
            return out;
          }
          const std::string text = a.is_string() ? a.as_string() : to_display_string(unwrap_dynamic(a));
          std::shared_ptr<const void> re = e.compiled;
          if (!re) {
            std::string error;
            re = detail::compile_regex(to_display_string(b), error);
          }
          out = re ? Value(detail::regex_search(re, text, m_env)) : Value();
          return out;
        }
        out = detail::eval_binary(e.op, a, b);
        return out;
      }
      case ExprKind::negate: {
        Value s;
        const Value v = unwrap_dynamic(eval(*e.args[0], t, row, s));
        if (v.is_int()) out = Value(static_cast<int32_t>(-static_cast<int64_t>(v.as_long())));
        else if (v.is_long()) out = Value(static_cast<int64_t>(0ULL - static_cast<uint64_t>(v.as_long())));
        else if (v.is_real()) out = Value(-v.as_real());
        else if (v.is_timespan()) out = Value(TimeSpan{-v.as_timespan().ticks});
        else out = Value();
        return out;
      }
      case ExprKind::call: {
        const auto* fd = static_cast<const FunctionDef*>(e.function);
        const size_t n = e.args.size();
        if (n <= 4) {
          Value scratch[4];
          const Value* argv[4] = {};
          for (size_t i = 0; i < n; ++i) argv[i] = &eval(*e.args[i], t, row, scratch[i]);
          out = fd->eval(e, argv, n, m_env);
          return out;
        }
        std::vector<Value> scratch(n);
        std::vector<const Value*> argv(n);
        for (size_t i = 0; i < n; ++i) argv[i] = &eval(*e.args[i], t, row, scratch[i]);
        out = fd->eval(e, argv.data(), n, m_env);
        return out;
      }
      case ExprKind::member: {
        Value s;
        const Value& base = eval(*e.args[0], t, row, s);
        out = dynamic_child(base, Value(e.name));
        return out;
      }
      case ExprKind::index: {
        Value s1;
        Value s2;
        const Value& base = eval(*e.args[0], t, row, s1);
        const Value& key = eval(*e.args[1], t, row, s2);
        out = dynamic_child(base, key);
        return out;
      }
      case ExprKind::in_list: {
        Value s;
        const Value lhs = unwrap_dynamic(eval(*e.args[0], t, row, s));
        const bool negated = e.op == BinOp::not_in || e.op == BinOp::not_in_ci;
        if (lhs.is_null() && e.op != BinOp::has_any && e.op != BinOp::has_all) {
          out = Value(negated);
          return out;
        }
        std::vector<Value> dynamic_values;
        const std::vector<Value>* values = e.constant_list.get();
        if (!values) {
          for (size_t i = 1; i < e.args.size(); ++i) {
            Value si;
            const Value& v = eval(*e.args[i], t, row, si);
            if (v.is_dynamic() && v.as_json().is_array()) {
              for (const auto& item : v.as_json()) dynamic_values.push_back(unwrap_dynamic(Value::dynamic(item)));
            } else {
              dynamic_values.push_back(unwrap_dynamic(v));
            }
          }
          values = &dynamic_values;
        }
        if (e.op == BinOp::has_all) {
          bool all = true;
          for (const auto& v : *values) all = all && in_match(e.op, lhs, v);
          out = Value(all);
          return out;
        }
        bool found = false;
        for (const auto& v : *values) {
          if (in_match(e.op, lhs, v)) {
            found = true;
            break;
          }
        }
        out = Value(negated ? !found : found);
        return out;
      }
      case ExprKind::between: {
        Value s0;
        Value s1;
        Value s2;
        const Value x = unwrap_dynamic(eval(*e.args[0], t, row, s0));
        const Value lo = unwrap_dynamic(eval(*e.args[1], t, row, s1));
        Value hi = unwrap_dynamic(eval(*e.args[2], t, row, s2));
        if (lo.is_datetime() && hi.is_timespan()) hi = Value(DateTime{lo.as_datetime().ticks + hi.as_timespan().ticks});
        const auto c1 = compare_values(x, lo);
        const auto c2 = compare_values(x, hi);
        if (!c1 || !c2) {
          out = Value();
          return out;
        }
        const bool inside = *c1 >= 0 && *c2 <= 0;
        out = Value(e.op == BinOp::not_between ? !inside : inside);
        return out;
      }
      case ExprKind::subquery:
      case ExprKind::star: break;
    }
    out = Value();
    return out;
  }

  // mv-expand's `to typeof(T)`: a cast, not a parse; elements of another kind become null.
  static Value cast_element(const Value& in, Type to) {
    const Value v = unwrap_dynamic(in);
    if (fits(v, to)) return v;
    if (v.is_number() && (to == Type::int32 || to == Type::int64 || to == Type::real)) return coerce(v, to);
    if (v.is_string() && (to == Type::datetime || to == Type::timespan || to == Type::guid)) return coerce(v, to);
    return Value();
  }

  // ---- naming ----
  static std::string derived_name(const Expr& e, bool for_key) {
    if (e.kind == ExprKind::name) return e.name;
    if (e.kind == ExprKind::member) {
      const std::string base = derived_name(*e.args[0], false);
      return base.empty() ? std::string() : base + "_" + e.name;
    }
    if (e.kind == ExprKind::index && e.args[1]->kind == ExprKind::literal && e.args[1]->literal.is_string()) {
      const std::string base = derived_name(*e.args[0], false);
      return base.empty() ? std::string() : base + "_" + e.args[1]->literal.as_string();
    }
    if (for_key && e.kind == ExprKind::call && (e.name == "bin" || e.name == "floor") && !e.args.empty()) {
      return derived_name(*e.args[0], false);
    }
    return {};
  }

  // The names of a list of items: given, derived, or Column1, Column2 ... (as Kusto names them).
  static std::string unique_name(std::string name, const std::vector<ColumnDef>& existing, int& counter) {
    if (name.empty()) {
      for (;;) {
        name = "Column" + std::to_string(++counter);
        bool taken = false;
        for (const auto& c : existing) taken = taken || c.name == name;
        if (!taken) break;
      }
    }
    return name;
  }

  // ---- column materialisation ----
  Result<std::shared_ptr<const ColumnData>> compute_column(const Expr& e, const Table& in) {
    if (e.kind == ExprKind::name) return in.dense_column(static_cast<size_t>(e.column));
    auto data = std::make_shared<ColumnData>();
    data->reserve(in.row_count);
    Value scratch;
    for (size_t r = 0; r < in.row_count; ++r) {
      XDR_TRY(tick());
      const Value& v = eval(e, in, r, scratch);
      data->push_back(fits(v, e.type) ? v : coerce(v, e.type));
    }
    return std::shared_ptr<const ColumnData>(std::move(data));
  }

  // The rows `rows` of `in`, in that order, sharing its columns.
  static TablePtr gather(const TablePtr& in, std::vector<size_t> rows) {
    bool identity = rows.size() == in->row_count;
    for (size_t i = 0; identity && i < rows.size(); ++i) identity = rows[i] == i;
    if (identity) return in;
    if (in->selection) {
      for (size_t& r : rows) r = (*in->selection)[r];
    }
    auto out = std::make_shared<Table>();
    out->schema = in->schema;
    out->columns = in->columns;
    out->row_count = rows.size();
    out->selection = std::make_shared<const std::vector<size_t>>(std::move(rows));
    return out;
  }

  // `in` with every column materialised, so new columns can be appended.
  static TablePtr densify(const TablePtr& in) {
    if (!in->selection) return in;
    auto out = std::make_shared<Table>();
    out->schema = in->schema;
    out->row_count = in->row_count;
    for (size_t c = 0; c < in->columns.size(); ++c) out->columns.push_back(in->dense_column(c));
    return out;
  }

  // ---- operators ----
  Result<TablePtr> op_where(Operator& op, const TablePtr& in) {
    XDR_TRY(bind(*op.predicate, *in, op.keyword));
    if (op.predicate->type != Type::boolean && op.predicate->type != Type::dynamic) {
      return fail(semantic_error("'where' operator: the predicate must be bool, not " +
                                     std::string(kql_type_name(op.predicate->type)),
                                 op.predicate->pos));
    }
    std::vector<size_t> rows;
    Value scratch;
    for (size_t r = 0; r < in->row_count; ++r) {
      XDR_TRY(tick());
      if (truthy(eval(*op.predicate, *in, r, scratch))) rows.push_back(r);
    }
    return gather(in, std::move(rows));
  }

  Result<TablePtr> op_project(Operator& op, const TablePtr& in) {
    Table out;
    out.row_count = in->row_count;
    int counter = 0;
    for (auto& item : op.items) {
      XDR_TRY(bind(*item.expr, *in, op.keyword));
      std::string name = item.name.empty() ? derived_name(*item.expr, false) : item.name;
      name = unique_name(std::move(name), out.schema, counter);
      if (out.find_column(name) >= 0) {
        return fail(semantic_error("'project' operator: a column named '" + name + "' is already projected", item.pos));
      }
      XDR_TRY_ASSIGN(auto column, compute_column(*item.expr, *in));
      out.schema.push_back({name, item.expr->type});
      out.columns.push_back(std::move(column));
    }
    return std::make_shared<const Table>(std::move(out));
  }

  Result<TablePtr> op_extend(Operator& op, const TablePtr& in) {
    auto out = std::make_shared<Table>(*densify(in));
    int counter = 0;
    for (auto& item : op.items) {
      XDR_TRY(bind(*item.expr, *out, op.keyword.empty() ? "extend" : op.keyword));
      std::string name = item.name.empty() ? derived_name(*item.expr, false) : item.name;
      name = unique_name(std::move(name), out->schema, counter);
      XDR_TRY_ASSIGN(auto column, compute_column(*item.expr, *out));
      const int existing = out->find_column(name);
      if (existing >= 0) {
        out->schema[static_cast<size_t>(existing)].type = item.expr->type;
        out->columns[static_cast<size_t>(existing)] = std::move(column);
      } else {
        out->schema.push_back({name, item.expr->type});
        out->columns.push_back(std::move(column));
      }
    }
    return TablePtr(std::move(out));
  }

  Result<TablePtr> op_project_away(Operator& op, const TablePtr& in) {
    std::vector<bool> matched(in->schema.size(), false);
    for (const auto& pattern : op.patterns) {
      bool any = false;
      for (size_t c = 0; c < in->schema.size(); ++c) {
        if (wildcard_match(pattern, in->schema[c].name)) {
          matched[c] = true;
          any = true;
        }
      }
      if (!any && pattern.find('*') == std::string::npos) {
        return fail(semantic_error("'" + op.keyword + "' operator: Failed to resolve column or scalar expression named '" +
                                       pattern + "'",
                                   op.pos));
      }
    }
    const bool keep_matched = op.kind == OpKind::project_keep;
    Table out;
    out.row_count = in->row_count;
    out.selection = in->selection;
    for (size_t c = 0; c < in->schema.size(); ++c) {
      if (matched[c] == keep_matched) {
        out.schema.push_back(in->schema[c]);
        out.columns.push_back(in->columns[c]);
      }
    }
    return std::make_shared<const Table>(std::move(out));
  }

  Result<TablePtr> op_project_rename(Operator& op, const TablePtr& in) {
    auto out = std::make_shared<Table>(*in);
    for (const auto& [to, from] : op.renames) {
      const int c = out->find_column(from);
      if (c < 0) {
        return fail(semantic_error("'project-rename' operator: Failed to resolve column or scalar expression named '" +
                                       from + "'",
                                   op.pos));
      }
      const int clash = out->find_column(to);
      if (clash >= 0 && clash != c) {
        return fail(semantic_error("'project-rename' operator: a column named '" + to + "' already exists", op.pos));
      }
      out->schema[static_cast<size_t>(c)].name = to;
    }
    return TablePtr(std::move(out));
  }

  Result<TablePtr> op_take(Operator& op, const TablePtr& in) {
    Table empty;
    XDR_TRY(bind(*op.predicate, empty, op.keyword));
    const Value n = op.predicate->literal;
    if (op.predicate->kind != ExprKind::literal || !n.is_integer() || n.as_long() < 0) {
      return fail(semantic_error("'" + op.keyword + "' operator expects a constant, non-negative row count", op.predicate->pos));
    }
    std::vector<size_t> rows(std::min(in->row_count, static_cast<size_t>(n.as_long())));
    std::iota(rows.begin(), rows.end(), size_t{0});
    return gather(in, std::move(rows));
  }

  // Sort, or top when `top` (the first `predicate` rows after sorting).
  Result<TablePtr> op_sort(Operator& op, const TablePtr& in, bool top) {
    size_t limit = in->row_count;
    if (top) {
      Table empty;
      XDR_TRY(bind(*op.predicate, empty, "top"));
      const Value n = op.predicate->literal;
      if (op.predicate->kind != ExprKind::literal || !n.is_integer() || n.as_long() < 0) {
        return fail(semantic_error("'top' operator expects a constant, non-negative row count", op.predicate->pos));
      }
      limit = std::min(limit, static_cast<size_t>(n.as_long()));
    }
    std::vector<std::shared_ptr<const ColumnData>> keys;
    for (auto& key : op.sort_keys) {
      XDR_TRY(bind(*key.expr, *in, top ? "top" : op.keyword));
      XDR_TRY_ASSIGN(auto column, compute_column(*key.expr, *in));
      keys.push_back(std::move(column));
    }
    std::vector<size_t> rows(in->row_count);
    std::iota(rows.begin(), rows.end(), size_t{0});
    auto less = [&](size_t a, size_t b) {
      for (size_t k = 0; k < keys.size(); ++k) {
        const Value& x = (*keys[k])[a];
        const Value& y = (*keys[k])[b];
        const bool asc = op.sort_keys[k].ascending;
        const bool nulls_first = op.sort_keys[k].nulls_first.value_or(asc);
        if (x.is_null() || y.is_null()) {
          if (x.is_null() && y.is_null()) continue;
          return x.is_null() ? nulls_first : !nulls_first;
        }
        auto c = compare_values(x, y);
        int cmp = c ? *c : (x.storage().index() < y.storage().index() ? -1 : (x.storage().index() > y.storage().index() ? 1 : 0));
        if (cmp != 0) return asc ? cmp < 0 : cmp > 0;
      }
      return false;
    };
    XDR_TRY(check_limits());
    if (top && limit < rows.size()) {
      std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(limit), rows.end(),
                        [&](size_t a, size_t b) { return less(a, b) || (!less(b, a) && a < b); });
      rows.resize(limit);
    } else {
      std::stable_sort(rows.begin(), rows.end(), less);
    }
    XDR_TRY(check_limits());
    return gather(in, std::move(rows));
  }

  Result<AggSpec> make_agg(NamedExpr& item, const Table& in, const std::vector<ColumnDef>& key_schema,
                           std::vector<ColumnDef>& out_schema, int& counter) {
    Expr& call = *item.expr;
    if (call.kind != ExprKind::call || !detail::is_aggregate_name(call.name)) {
      if (call.kind == ExprKind::call && !detail::find_function(call.name) && call.name != "toscalar") {
        return fail(not_supported("aggregation function '" + call.name + "'", call.pos));
      }
      return fail(not_supported("a summarize expression that is not a single aggregation function call", call.pos));
    }
    AggSpec spec;
    const std::string& fn = call.name;
    auto expect_args = [&](size_t lo, size_t hi) -> Status {
      if (call.args.size() < lo || call.args.size() > hi) {
        return fail(semantic_error("aggregation '" + fn + "' expects " + std::to_string(lo) +
                                       (lo == hi ? "" : " to " + std::to_string(hi)) + " arguments, got " +
                                       std::to_string(call.args.size()),
                                   call.pos));
      }
      return {};
    };
    auto bind_arg = [&](size_t i) -> Status { return bind(*call.args[i], in, "summarize"); };
    std::string base_name;
    if (fn == "count") {
      XDR_TRY(expect_args(0, 0));
      spec.kind = AggKind::count;
      base_name = "count_";
      spec.out_types = {Type::int64};
    } else if (fn == "countif") {
      XDR_TRY(expect_args(1, 1));
      XDR_TRY(bind_arg(0));
      spec.kind = AggKind::countif;
      base_name = "countif_";
      spec.out_types = {Type::int64};
    } else if (fn == "dcount") {
      XDR_TRY(expect_args(1, 2));
      XDR_TRY(bind_arg(0));
      spec.kind = AggKind::dcount;
      spec.out_types = {Type::int64};
      base_name = "dcount_";
    } else if (fn == "sum" || fn == "avg" || fn == "min" || fn == "max" || fn == "take_any" || fn == "any") {
      XDR_TRY(expect_args(1, 1));
      XDR_TRY(bind_arg(0));
      const Type t = call.args[0]->type;
      if (fn == "sum" || fn == "avg") {
        if (t != Type::int32 && t != Type::int64 && t != Type::real && t != Type::dynamic && t != Type::timespan) {
          return fail(semantic_error(fn + "(): argument must be numeric, got " + std::string(kql_type_name(t)), call.pos));
        }
        spec.kind = fn == "sum" ? AggKind::sum : AggKind::avg;
        spec.out_types = {fn == "avg" ? (t == Type::timespan ? Type::timespan : Type::real)
                                      : (t == Type::int32 || t == Type::int64 ? Type::int64 : t == Type::timespan ? Type::timespan : Type::real)};
      } else {
        spec.kind = fn == "min" ? AggKind::min : fn == "max" ? AggKind::max : AggKind::take_any;
        spec.out_types = {t};
      }
      base_name = (fn == "any" ? std::string("any") : fn) + "_";
    } else if (fn == "make_set" || fn == "makeset" || fn == "make_list" || fn == "makelist") {
      XDR_TRY(expect_args(1, 2));
      XDR_TRY(bind_arg(0));
      if (call.args.size() == 2) {
        XDR_TRY(bind_arg(1));
        const Value& m = call.args[1]->literal;
        if (call.args[1]->kind != ExprKind::literal || !m.is_integer() || m.as_long() <= 0) {
          return fail(semantic_error(fn + "(): the maximum size must be a positive constant", call.args[1]->pos));
        }
        spec.max_items = static_cast<size_t>(m.as_long());
      }
      const bool is_set = fn == "make_set" || fn == "makeset";
      spec.kind = is_set ? AggKind::make_set : AggKind::make_list;
      spec.out_types = {Type::dynamic};
      base_name = is_set ? "set_" : "list_";
    } else if (fn == "arg_max" || fn == "arg_min") {
      if (call.args.size() < 2) {
        return fail(semantic_error(fn + "() expects the expression to maximise and at least one column (or *)", call.pos));
      }
      XDR_TRY(bind_arg(0));
      spec.kind = fn == "arg_max" ? AggKind::arg_max : AggKind::arg_min;
      std::string first = item.name.empty() ? derived_name(*call.args[0], false) : item.name;
      if (first.empty()) first = (fn == "arg_max" ? "max_" : "min_") + std::to_string(++counter);
      spec.out_names.push_back(first);
      spec.out_types.push_back(call.args[0]->type);
      auto taken = [&](const std::string& name) {
        for (const auto& c : key_schema) if (c.name == name) return true;
        for (const auto& c : out_schema) if (c.name == name) return true;
        for (const auto& n : spec.out_names) if (n == name) return true;
        return false;
      };
      for (size_t i = 1; i < call.args.size(); ++i) {
        Expr& a = *call.args[i];
        if (a.kind == ExprKind::star) {
          for (size_t c = 0; c < in.schema.size(); ++c) {
            if (taken(in.schema[c].name)) continue;
            spec.extra_columns.push_back(static_cast<int>(c));
            spec.out_names.push_back(in.schema[c].name);
            spec.out_types.push_back(in.schema[c].type);
          }
        } else if (a.kind == ExprKind::name) {
          const int c = in.find_column(a.name);
          if (c < 0) return fail(unresolved(a, "summarize"));
          std::string name = a.name;
          while (taken(name)) name += "1";
          spec.extra_columns.push_back(c);
          spec.out_names.push_back(name);
          spec.out_types.push_back(in.schema[static_cast<size_t>(c)].type);
        } else {
          return fail(not_supported(fn + "() with computed return expressions (project them first)", a.pos));
        }
      }
      spec.arg = call.args[0].get();
      return spec;
    }
    spec.arg = call.args.empty() ? nullptr : call.args[0].get();
    std::string name = item.name;
    if (name.empty()) {
      if (spec.kind == AggKind::count || spec.kind == AggKind::countif) {
        name = base_name;
      } else {
        std::string derived = derived_name(*call.args[0], false);
        name = derived.empty() ? base_name : base_name + derived;
      }
    }
    spec.out_names = {name};
    return spec;
  }

  void update(const AggSpec& spec, AggState& s, const Table& in, size_t row) const {
    Value scratch;
    switch (spec.kind) {
      case AggKind::count: ++s.count; return;
      case AggKind::countif:
        if (truthy(eval(*spec.arg, in, row, scratch))) ++s.count;
        return;
      default: break;
    }
    const Value v = unwrap_dynamic(eval(*spec.arg, in, row, scratch));
    switch (spec.kind) {
      case AggKind::dcount:
        if (v.is_null()) return;
        if (!s.set) s.set = std::make_unique<std::unordered_set<Value, ValueHash, ValueEq>>();
        s.set->insert(v);
        return;
      case AggKind::sum:
      case AggKind::avg:
        if (v.is_timespan()) {
          s.isum = static_cast<int64_t>(static_cast<uint64_t>(s.isum) + static_cast<uint64_t>(v.as_timespan().ticks));
          ++s.count;
        } else if (v.is_integer()) {
          s.isum = static_cast<int64_t>(static_cast<uint64_t>(s.isum) + static_cast<uint64_t>(v.as_long()));
          s.dsum += static_cast<double>(v.as_long());
          ++s.count;
        } else if (v.is_real()) {
          s.real_sum = true;
          s.dsum += v.as_real();
          ++s.count;
        }
        return;
      case AggKind::min:
      case AggKind::max:
      case AggKind::arg_max:
      case AggKind::arg_min: {
        if (v.is_null()) {
          if (!s.has_best && (spec.kind == AggKind::arg_max || spec.kind == AggKind::arg_min)) s.best_row = row, s.has_best = true;
          return;
        }
        const bool want_max = spec.kind == AggKind::max || spec.kind == AggKind::arg_max;
        bool better = s.best.is_null();
        if (!better) {
          auto c = compare_values(v, s.best);
          better = c && (want_max ? *c > 0 : *c < 0);
        }
        if (better) {
          s.best = v;
          s.best_row = row;
          s.has_best = true;
        }
        return;
      }
      case AggKind::take_any:
        if (!s.has_best && !v.is_null()) {
          s.best = v;
          s.has_best = true;
        }
        return;
      case AggKind::make_set:
        if (v.is_null() || s.list.size() >= spec.max_items) return;
        if (!s.set) s.set = std::make_unique<std::unordered_set<Value, ValueHash, ValueEq>>();
        if (s.set->insert(v).second) s.list.push_back(v);
        return;
      case AggKind::make_list:
        if (v.is_null() || s.list.size() >= spec.max_items) return;
        s.list.push_back(v);
        return;
      default: return;
    }
  }

  static void finish(const AggSpec& spec, const AggState& s, const Table& in, std::vector<ColumnData>& out, size_t first) {
    switch (spec.kind) {
      case AggKind::count:
      case AggKind::countif: out[first].push_back(Value(s.count)); return;
      case AggKind::dcount: out[first].push_back(Value(static_cast<int64_t>(s.set ? s.set->size() : 0))); return;
      case AggKind::sum:
        if (spec.out_types[0] == Type::timespan) out[first].push_back(Value(TimeSpan{s.isum}));
        else if (spec.out_types[0] == Type::int64) out[first].push_back(Value(s.isum));
        else out[first].push_back(Value(s.dsum));
        return;
      case AggKind::avg:
        if (s.count == 0) out[first].push_back(Value());
        else if (spec.out_types[0] == Type::timespan) out[first].push_back(Value(TimeSpan{s.isum / s.count}));
        else out[first].push_back(Value(s.dsum / static_cast<double>(s.count)));
        return;
      case AggKind::min:
      case AggKind::max:
      case AggKind::take_any: out[first].push_back(coerce(s.best, spec.out_types[0])); return;
      case AggKind::make_set:
      case AggKind::make_list: {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& v : s.list) arr.push_back(to_json(v));
        out[first].push_back(Value::dynamic(std::move(arr)));
        return;
      }
      case AggKind::arg_max:
      case AggKind::arg_min:
        out[first].push_back(coerce(s.best, spec.out_types[0]));
        for (size_t i = 0; i < spec.extra_columns.size(); ++i) {
          out[first + 1 + i].push_back(s.has_best ? in.at(s.best_row, static_cast<size_t>(spec.extra_columns[i])) : Value());
        }
        return;
    }
  }

  Result<TablePtr> op_summarize(Operator& op, const TablePtr& in) {
    // Keys first: their names are excluded from arg_max(*, ...) columns.
    std::vector<ColumnDef> key_schema;
    int counter = 0;
    for (auto& key : op.by) {
      XDR_TRY(bind(*key.expr, *in, "summarize"));
      std::string name = key.name.empty() ? derived_name(*key.expr, true) : key.name;
      name = unique_name(std::move(name), key_schema, counter);
      for (const auto& c : key_schema) {
        if (c.name == name) return fail(semantic_error("'summarize' operator: duplicate column name '" + name + "'", key.pos));
      }
      key_schema.push_back({name, key.expr->type});
    }
    std::vector<AggSpec> specs;
    std::vector<ColumnDef> agg_schema;
    for (auto& item : op.items) {
      XDR_TRY_ASSIGN(AggSpec spec, make_agg(item, *in, key_schema, agg_schema, counter));
      for (size_t i = 0; i < spec.out_names.size(); ++i) {
        std::string name = spec.out_names[i];
        auto taken = [&](const std::string& n) {
          for (const auto& c : key_schema) if (c.name == n) return true;
          for (const auto& c : agg_schema) if (c.name == n) return true;
          return false;
        };
        if (taken(name)) {
          if (!item.name.empty() && i == 0) {
            return fail(semantic_error("'summarize' operator: duplicate column name '" + name + "'", item.pos));
          }
          int suffix = 0;
          while (taken(name + std::to_string(suffix))) ++suffix;
          name += std::to_string(suffix);
          spec.out_names[i] = name;
        }
        agg_schema.push_back({name, spec.out_types[i]});
      }
      specs.push_back(std::move(spec));
    }

    GroupMap groups;
    std::vector<std::vector<Value>> group_keys;
    std::vector<AggState> states;
    const size_t na = specs.size();
    std::vector<Value> key(op.by.size());
    if (op.by.empty()) {
      group_keys.emplace_back();
      states.resize(na);
    }
    Value scratch;
    for (size_t r = 0; r < in->row_count; ++r) {
      XDR_TRY(tick());
      size_t g = 0;
      if (!op.by.empty()) {
        for (size_t k = 0; k < op.by.size(); ++k) {
          const Value& v = eval(*op.by[k].expr, *in, r, scratch);
          key[k] = v;
        }
        auto it = groups.find(key);
        if (it == groups.end()) {
          g = group_keys.size();
          groups.emplace(key, g);
          group_keys.push_back(key);
          states.resize(states.size() + na);
          XDR_TRY(check_size(group_keys.size()));
        } else {
          g = it->second;
        }
      }
      for (size_t a = 0; a < na; ++a) update(specs[a], states[g * na + a], *in, r);
    }

    const size_t nk = key_schema.size();
    std::vector<ColumnData> cols(nk + agg_schema.size());
    for (auto& c : cols) c.reserve(group_keys.size());
    for (size_t g = 0; g < group_keys.size(); ++g) {
      for (size_t k = 0; k < nk; ++k) {
        const Value& v = group_keys[g][k];
        cols[k].push_back(fits(v, key_schema[k].type) ? v : coerce(v, key_schema[k].type));
      }
      size_t column = nk;
      for (size_t a = 0; a < na; ++a) {
        finish(specs[a], states[g * na + a], *in, cols, column);
        column += specs[a].out_names.size();
      }
    }
    Table out;
    out.schema = key_schema;
    out.schema.insert(out.schema.end(), agg_schema.begin(), agg_schema.end());
    out.row_count = group_keys.size();
    for (auto& c : cols) out.columns.push_back(std::make_shared<const ColumnData>(std::move(c)));
    return std::make_shared<const Table>(std::move(out));
  }

  Result<TablePtr> op_distinct(Operator& op, const TablePtr& in) {
    Operator summarize;
    summarize.kind = OpKind::summarize;
    summarize.keyword = "distinct";
    summarize.pos = op.pos;
    if (op.items.empty()) {
      for (const auto& c : in->schema) {
        NamedExpr item;
        item.expr = std::make_unique<Expr>();
        item.expr->kind = ExprKind::name;
        item.expr->name = c.name;
        item.expr->pos = op.pos;
        item.pos = op.pos;
        summarize.by.push_back(std::move(item));
      }
    } else {
      summarize.by = std::move(op.items);
    }
    return op_summarize(summarize, in);
  }

  Result<TablePtr> op_join(Operator& op, const TablePtr& left) {
    const std::string kind = op.join_kind.empty() ? "innerunique" : op.join_kind;
    static const std::set<std::string, std::less<>> supported = {"innerunique", "inner", "leftouter", "leftanti",
                                                                  "leftantisemi", "leftsemi", "rightanti",
                                                                  "rightantisemi", "rightsemi"};
    if (!supported.count(kind)) return fail(not_supported("join kind=" + kind, op.pos));
    XDR_TRY_ASSIGN(TablePtr right, eval_tabular(*op.tables.at(0)));
    std::vector<size_t> lk;
    std::vector<size_t> rk;
    for (const auto& key : op.join_keys) {
      const int l = left->find_column(key.left);
      const int r = right->find_column(key.right);
      if (l < 0 || r < 0) {
        return fail(semantic_error("'join' operator: Failed to resolve column named '" + (l < 0 ? key.left : key.right) +
                                       "' on the " + (l < 0 ? "left" : "right") + " side",
                                   key.pos));
      }
      const Type lt = left->schema[static_cast<size_t>(l)].type;
      const Type rt = right->schema[static_cast<size_t>(r)].type;
      std::string error;
      if (!detail::binary_type(BinOp::eq, lt, rt, error)) {
        return fail(semantic_error("'join' operator: key types differ (" + std::string(kql_type_name(lt)) + " and " +
                                       std::string(kql_type_name(rt)) + ")",
                                   key.pos));
      }
      lk.push_back(static_cast<size_t>(l));
      rk.push_back(static_cast<size_t>(r));
    }
    auto key_of = [](const Table& t, const std::vector<size_t>& cols, size_t row, std::vector<Value>& key) {
      bool has_null = false;
      for (size_t i = 0; i < cols.size(); ++i) {
        key[i] = t.at(row, cols[i]);
        has_null = has_null || key[i].is_null();
      }
      return !has_null;
    };
    std::vector<Value> key(lk.size());
    const bool right_only = kind == "rightanti" || kind == "rightantisemi" || kind == "rightsemi";
    if (right_only) {
      std::unordered_set<std::vector<Value>, KeyHash, KeyEq> left_keys;
      for (size_t r = 0; r < left->row_count; ++r) {
        XDR_TRY(tick());
        if (key_of(*left, lk, r, key)) left_keys.insert(key);
      }
      std::vector<size_t> rows;
      const bool semi = kind == "rightsemi";
      for (size_t r = 0; r < right->row_count; ++r) {
        XDR_TRY(tick());
        const bool found = key_of(*right, rk, r, key) && left_keys.count(key) > 0;
        if (found == semi) rows.push_back(r);
      }
      return gather(right, std::move(rows));
    }
    std::unordered_map<std::vector<Value>, std::vector<size_t>, KeyHash, KeyEq> index;
    for (size_t r = 0; r < right->row_count; ++r) {
      XDR_TRY(tick());
      if (key_of(*right, rk, r, key)) index[key].push_back(r);
    }
    if (kind == "leftanti" || kind == "leftantisemi" || kind == "leftsemi") {
      const bool semi = kind == "leftsemi";
      std::vector<size_t> rows;
      for (size_t r = 0; r < left->row_count; ++r) {
        XDR_TRY(tick());
        const bool found = key_of(*left, lk, r, key) && index.count(key) > 0;
        if (found == semi) rows.push_back(r);
      }
      return gather(left, std::move(rows));
    }
    // innerunique: one (the first) left row per key, as Kusto's default join deduplicates the left side.
    std::vector<std::pair<size_t, std::optional<size_t>>> pairs;
    std::unordered_set<std::vector<Value>, KeyHash, KeyEq> seen_left;
    const bool outer = kind == "leftouter";
    for (size_t r = 0; r < left->row_count; ++r) {
      XDR_TRY(tick());
      const bool valid = key_of(*left, lk, r, key);
      const std::vector<size_t>* matches = nullptr;
      if (valid) {
        auto it = index.find(key);
        if (it != index.end()) matches = &it->second;
      }
      if (kind == "innerunique") {
        if (!valid || !seen_left.insert(key).second) continue;
      }
      if (matches) {
        for (size_t m : *matches) pairs.emplace_back(r, m);
        XDR_TRY(check_size(pairs.size()));
      } else if (outer) {
        pairs.emplace_back(r, std::nullopt);
      }
    }
    Table out;
    out.row_count = pairs.size();
    out.schema = left->schema;
    for (const auto& c : right->schema) {
      std::string name = c.name;
      int suffix = 1;
      while (out.find_column(name) >= 0) name = c.name + std::to_string(suffix++);
      out.schema.push_back({name, c.type});
    }
    for (size_t c = 0; c < left->schema.size(); ++c) {
      auto data = std::make_shared<ColumnData>();
      data->reserve(pairs.size());
      for (const auto& p : pairs) data->push_back(left->at(p.first, c));
      out.columns.push_back(std::move(data));
    }
    for (size_t c = 0; c < right->schema.size(); ++c) {
      auto data = std::make_shared<ColumnData>();
      data->reserve(pairs.size());
      for (const auto& p : pairs) data->push_back(p.second ? right->at(*p.second, c) : Value());
      out.columns.push_back(std::move(data));
    }
    return std::make_shared<const Table>(std::move(out));
  }

  Result<TablePtr> op_union(Operator& op, const TablePtr& input) {
    std::vector<TablePtr> tables;
    std::vector<std::string> names;
    if (input) {
      tables.push_back(input);
      names.push_back("union_arg0");
    }
    for (size_t i = 0; i < op.tables.size(); ++i) {
      XDR_TRY_ASSIGN(TablePtr t, eval_tabular(*op.tables[i]));
      tables.push_back(std::move(t));
      std::string name = i < op.table_names.size() ? op.table_names[i] : "union_arg" + std::to_string(i);
      if (input && name.rfind("union_arg", 0) == 0) name = "union_arg" + std::to_string(i + 1);
      names.push_back(std::move(name));
    }
    Table out;
    if (!op.with_source.empty()) out.schema.push_back({op.with_source, Type::string});
    // Column mapping: per table, per input column, the output column index.
    std::vector<std::vector<size_t>> mapping(tables.size());
    for (size_t t = 0; t < tables.size(); ++t) {
      for (const auto& c : tables[t]->schema) {
        int found = out.find_column(c.name);
        if (found >= 0 && out.schema[static_cast<size_t>(found)].type != c.type) {
          const std::string typed = c.name + "_" + std::string(kql_type_name(c.type));
          found = out.find_column(typed);
          if (found < 0) {
            out.schema.push_back({typed, c.type});
            found = static_cast<int>(out.schema.size() - 1);
          }
        } else if (found < 0) {
          out.schema.push_back(c);
          found = static_cast<int>(out.schema.size() - 1);
        }
        mapping[t].push_back(static_cast<size_t>(found));
      }
    }
    std::vector<ColumnData> cols(out.schema.size());
    size_t total = 0;
    for (const auto& t : tables) total += t->row_count;
    XDR_TRY(check_size(total));
    for (auto& c : cols) c.reserve(total);
    for (size_t t = 0; t < tables.size(); ++t) {
      const Table& tab = *tables[t];
      std::vector<int> source(out.schema.size(), -1);
      for (size_t c = 0; c < mapping[t].size(); ++c) source[mapping[t][c]] = static_cast<int>(c);
      for (size_t r = 0; r < tab.row_count; ++r) {
        XDR_TRY(tick());
        for (size_t c = 0; c < out.schema.size(); ++c) {
          if (!op.with_source.empty() && c == 0) cols[c].push_back(Value(names[t]));
          else cols[c].push_back(source[c] >= 0 ? tab.at(r, static_cast<size_t>(source[c])) : Value());
        }
      }
    }
    out.row_count = total;
    for (auto& c : cols) out.columns.push_back(std::make_shared<const ColumnData>(std::move(c)));
    return std::make_shared<const Table>(std::move(out));
  }

  Result<TablePtr> op_mv_expand(Operator& op, const TablePtr& in) {
    struct Target {
      size_t column;  // output column index
      std::shared_ptr<const ColumnData> values;
    };
    Table shape = *in;
    std::vector<Target> targets;
    for (auto& item : op.items) {
      XDR_TRY(bind(*item.expr, *in, "mv-expand"));
      std::string name = item.name.empty() ? derived_name(*item.expr, false) : item.name;
      if (name.empty()) return fail(semantic_error("'mv-expand' operator: name the expanded expression (Name = expr)", item.pos));
      XDR_TRY_ASSIGN(auto values, compute_column(*item.expr, *in));
      const Type t = op.to_type.value_or(Type::dynamic);
      int c = shape.find_column(name);
      if (c < 0) {
        shape.schema.push_back({name, t});
        shape.columns.push_back(nullptr);
        c = static_cast<int>(shape.schema.size() - 1);
      } else {
        shape.schema[static_cast<size_t>(c)].type = t;
      }
      targets.push_back({static_cast<size_t>(c), std::move(values)});
    }
    std::vector<ColumnData> cols(shape.schema.size());
    std::vector<bool> is_target(shape.schema.size(), false);
    for (const auto& t : targets) is_target[t.column] = true;
    const Type to = op.to_type.value_or(Type::dynamic);
    size_t produced = 0;
    for (size_t r = 0; r < in->row_count; ++r) {
      XDR_TRY(tick());
      // Each expanded value: its elements (arrays), one-property bags (objects), or itself.
      std::vector<std::vector<Value>> parts(targets.size());
      size_t n = 0;
      for (size_t i = 0; i < targets.size(); ++i) {
        const Value& v = (*targets[i].values)[r];
        if (v.is_dynamic() && v.as_json().is_array()) {
          for (const auto& el : v.as_json()) parts[i].push_back(Value::dynamic(el));
        } else if (v.is_dynamic() && v.as_json().is_object()) {
          for (const auto& [k, val] : v.as_json().items()) parts[i].push_back(Value::dynamic(nlohmann::json{{k, val}}));
        } else {
          // A null expands to one null record; any other scalar to itself.
          parts[i].push_back(v.is_dynamic() && v.as_json().is_null() ? Value() : v);
        }
        n = std::max(n, parts[i].size());
      }
      produced += n;
      XDR_TRY(check_size(produced));
      for (size_t k = 0; k < n; ++k) {
        for (size_t c = 0; c < shape.schema.size(); ++c) {
          if (!is_target[c]) cols[c].push_back(in->at(r, c));
        }
        for (size_t i = 0; i < targets.size(); ++i) {
          Value v = k < parts[i].size() ? parts[i][k] : Value();
          if (to != Type::dynamic) v = cast_element(v, to);
          cols[targets[i].column].push_back(std::move(v));
        }
      }
    }
    Table out;
    out.schema = shape.schema;
    out.row_count = produced;
    for (auto& c : cols) out.columns.push_back(std::make_shared<const ColumnData>(std::move(c)));
    return std::make_shared<const Table>(std::move(out));
  }

  const Catalog& m_catalog;
  const QueryOptions& m_options;
  QueryStats& m_stats;
  EvalEnv m_env;
  std::map<std::string, LetBinding, std::less<>> m_lets;
  uint64_t m_ticks = 0;
};

} // namespace

Result<QueryResult> run(std::string_view query, const Catalog& catalog, const QueryOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  ParseOptions parse_options;
  parse_options.max_query_length = options.max_query_length;
  parse_options.max_depth = options.max_depth;
  XDR_TRY_ASSIGN(Query parsed, parse_query(query, [&catalog](std::string_view name) { return catalog.contains(name); },
                                           parse_options));
  QueryResult result;
  Engine engine(catalog, options, result.stats);
  XDR_TRY_ASSIGN(TablePtr table, engine.run(parsed));
  if (table->row_count > options.max_rows) {
    return fail(limit_error(k_code_result_too_large,
                            "Query result exceeded the limit of " + std::to_string(options.max_rows) +
                                " rows; add 'take' or 'summarize' to reduce the number of rows"));
  }
  result.schema = table->schema;
  result.rows.resize(table->row_count);
  for (size_t r = 0; r < table->row_count; ++r) {
    result.rows[r].reserve(table->schema.size());
    for (size_t c = 0; c < table->schema.size(); ++c) result.rows[r].push_back(table->at(r, c));
  }
  result.stats.execution_time = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started);
  return result;
}

} // namespace xdr::emulator::kql
