#pragma once
// Scalar semantics shared by the evaluator: operator typing and evaluation, string predicates, and the
// scalar function table. Private to src/emulator/kql.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <emulator/kql/ast.hpp>
#include <emulator/kql/value.hpp>

namespace xdr::emulator::kql::detail {

// Longest value a regular expression is applied to (std::regex recurses per character).
inline constexpr size_t k_max_regex_input = 16 * 1024;

struct EvalEnv {
  int64_t now_ticks = 0;               // now() for the whole query
  mutable std::string runtime_error;   // set by a function that hit a limit; the engine fails the query
};

// Static result type of `l op r` for arithmetic and comparison operators, or nullopt with `error` set.
std::optional<Type> binary_type(BinOp op, Type l, Type r, std::string& error);
// `l op r` for arithmetic, comparison and string operators (not and/or, in, between).
Value eval_binary(BinOp op, const Value& l, const Value& r);
// The operator as written ("==", "has", "!contains", ...).
std::string_view op_text(BinOp op);

// Case-insensitive (ASCII) equality and Kusto's `has` term match.
bool iequals_ascii(std::string_view a, std::string_view b);
bool has_term(std::string_view text, std::string_view term, bool case_sensitive, bool need_left, bool need_right);

struct FunctionDef {
  std::string_view name;
  size_t min_args;
  size_t max_args;
  // Static result type for the argument types, or nullopt with `error` set.
  std::optional<Type> (*type)(const std::vector<Type>& args, std::string& error);
  // Evaluates the call; `call.compiled` may hold a regex compiled at bind time.
  Value (*eval)(const Expr& call, const Value* const* args, size_t argc, const EvalEnv& env);
};

// The scalar function named `name`, or nullptr.
const FunctionDef* find_function(std::string_view name);
// True for aggregation functions (count, sum, arg_max, ...), which only summarize accepts.
bool is_aggregate_name(std::string_view name);

// Compiles a regular expression (RE2-style "(?i)" prefix supported); nullptr with `error` when invalid.
std::shared_ptr<const void> compile_regex(const std::string& pattern, std::string& error);
// Searches with a compiled regex; false with env.runtime_error set when `text` is too long.
bool regex_search(const std::shared_ptr<const void>& re, const std::string& text, const EvalEnv& env);

} // namespace xdr::emulator::kql::detail
