#include <emulator/kql/scalar.hpp>

#include <algorithm>
#include <cmath>
#include <regex>
#include <unordered_map>

namespace xdr::emulator::kql::detail {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         static_cast<unsigned char>(c) >= 0x80;
}

size_t find_ci(std::string_view hay, std::string_view needle, size_t from, bool cs) {
  if (needle.empty()) return from <= hay.size() ? from : std::string_view::npos;
  if (needle.size() > hay.size()) return std::string_view::npos;
  if (cs) return hay.find(needle, from);
  const char first = lower(needle[0]);
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (lower(hay[i]) != first) continue;
    size_t k = 1;
    while (k < needle.size() && lower(hay[i + k]) == lower(needle[k])) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

bool starts_ci(std::string_view s, std::string_view p, bool cs) {
  if (p.size() > s.size()) return false;
  return cs ? s.substr(0, p.size()) == p : iequals_ascii(s.substr(0, p.size()), p);
}
bool ends_ci(std::string_view s, std::string_view p, bool cs) {
  if (p.size() > s.size()) return false;
  return cs ? s.substr(s.size() - p.size()) == p : iequals_ascii(s.substr(s.size() - p.size()), p);
}

bool is_numeric(Type t) { return t == Type::int32 || t == Type::int64 || t == Type::real; }
bool is_stringish(Type t) { return t == Type::string || t == Type::guid || t == Type::dynamic; }

std::string str(const Value& v) { return v.is_string() ? v.as_string() : to_display_string(v); }

Value arith(BinOp op, const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return Value();
  if (a.is_number() && b.is_number()) {
    if (a.is_real() || b.is_real() || (op == BinOp::div && false)) {
      const double x = a.as_real();
      const double y = b.as_real();
      switch (op) {
        case BinOp::add: return Value(x + y);
        case BinOp::sub: return Value(x - y);
        case BinOp::mul: return Value(x * y);
        case BinOp::div: return Value(x / y);
        case BinOp::mod: return Value(std::fmod(x, y));
        default: return Value();
      }
    }
    const int64_t x = a.as_long();
    const int64_t y = b.as_long();
    int64_t r = 0;
    switch (op) {
      case BinOp::add: r = static_cast<int64_t>(static_cast<uint64_t>(x) + static_cast<uint64_t>(y)); break;
      case BinOp::sub: r = static_cast<int64_t>(static_cast<uint64_t>(x) - static_cast<uint64_t>(y)); break;
      case BinOp::mul: r = static_cast<int64_t>(static_cast<uint64_t>(x) * static_cast<uint64_t>(y)); break;
      case BinOp::div:
        if (y == 0 || (y == -1 && x == INT64_MIN)) return Value();
        r = x / y;
        break;
      case BinOp::mod:
        if (y == 0 || y == -1) return y == -1 ? Value(int64_t{0}) : Value();
        r = x % y;
        break;
      default: return Value();
    }
    if (a.is_int() && b.is_int()) return Value(static_cast<int32_t>(r));
    return Value(r);
  }
  // Ticks arithmetic; null on overflow.
  auto ticks = [&op](int64_t x, int64_t y, bool subtract) -> std::optional<int64_t> {
    int64_t r = 0;
    const bool overflow = subtract ? __builtin_sub_overflow(x, y, &r) : __builtin_add_overflow(x, y, &r);
    (void)op;
    if (overflow) return std::nullopt;
    return r;
  };
  auto scaled = [](double v) -> Value {
    if (!std::isfinite(v) || std::fabs(v) >= 9.2e18) return Value();
    return Value(TimeSpan{static_cast<int64_t>(std::llround(v))});
  };
  if (a.is_datetime() && b.is_datetime() && op == BinOp::sub) {
    auto r = ticks(a.as_datetime().ticks, b.as_datetime().ticks, true);
    return r ? Value(TimeSpan{*r}) : Value();
  }
  if (a.is_datetime() && b.is_timespan() && (op == BinOp::add || op == BinOp::sub)) {
    auto r = ticks(a.as_datetime().ticks, b.as_timespan().ticks, op == BinOp::sub);
    return r ? Value(DateTime{*r}) : Value();
  }
  if (a.is_timespan() && b.is_datetime() && op == BinOp::add) {
    auto r = ticks(a.as_timespan().ticks, b.as_datetime().ticks, false);
    return r ? Value(DateTime{*r}) : Value();
  }
  if (a.is_timespan() && b.is_timespan()) {
    const int64_t x = a.as_timespan().ticks;
    const int64_t y = b.as_timespan().ticks;
    if (op == BinOp::add || op == BinOp::sub) {
      auto r = ticks(x, y, op == BinOp::sub);
      return r ? Value(TimeSpan{*r}) : Value();
    }
    if (op == BinOp::div) return y == 0 ? Value() : Value(static_cast<double>(x) / static_cast<double>(y));
    if (op == BinOp::mod) return (y == 0 || y == -1) ? Value() : Value(TimeSpan{x % y});
  }
  if (a.is_timespan() && b.is_number()) {
    const double x = static_cast<double>(a.as_timespan().ticks);
    if (op == BinOp::mul) return scaled(x * b.as_real());
    if (op == BinOp::div) return b.as_real() == 0 ? Value() : scaled(x / b.as_real());
  }
  if (a.is_number() && b.is_timespan() && op == BinOp::mul) {
    return scaled(a.as_real() * static_cast<double>(b.as_timespan().ticks));
  }
  return Value();
}

Value compare(BinOp op, const Value& a, const Value& b) {
  if (op == BinOp::eq_ci || op == BinOp::ne_ci) {
    if (a.is_null() || b.is_null()) return Value();
    const bool eq = iequals_ascii(str(a), str(b));
    return Value(op == BinOp::eq_ci ? eq : !eq);
  }
  if ((op == BinOp::eq || op == BinOp::ne) && a.is_string() && b.is_string()) {
    const bool eq = a.as_string() == b.as_string();
    return Value(op == BinOp::eq ? eq : !eq);
  }
  auto c = compare_values(a, b);
  if (!c) {
    if ((op == BinOp::eq || op == BinOp::ne) && !a.is_null() && !b.is_null()) {
      // Different kinds (for example dynamic vs string): compare the display forms.
      const bool eq = str(a) == str(b);
      return Value(op == BinOp::eq ? eq : !eq);
    }
    return Value();
  }
  switch (op) {
    case BinOp::eq: return Value(*c == 0);
    case BinOp::ne: return Value(*c != 0);
    case BinOp::lt: return Value(*c < 0);
    case BinOp::le: return Value(*c <= 0);
    case BinOp::gt: return Value(*c > 0);
    case BinOp::ge: return Value(*c >= 0);
    default: return Value();
  }
}

Value string_predicate(BinOp op, const Value& a, const Value& b) {
  if (b.is_null()) return Value();
  const std::string lhs = a.is_null() ? std::string() : str(a);
  const std::string rhs = str(b);
  switch (op) {
    case BinOp::has: return Value(has_term(lhs, rhs, false, true, true));
    case BinOp::not_has: return Value(!has_term(lhs, rhs, false, true, true));
    case BinOp::has_cs: return Value(has_term(lhs, rhs, true, true, true));
    case BinOp::not_has_cs: return Value(!has_term(lhs, rhs, true, true, true));
    case BinOp::hasprefix: return Value(has_term(lhs, rhs, false, true, false));
    case BinOp::not_hasprefix: return Value(!has_term(lhs, rhs, false, true, false));
    case BinOp::hassuffix: return Value(has_term(lhs, rhs, false, false, true));
    case BinOp::not_hassuffix: return Value(!has_term(lhs, rhs, false, false, true));
    case BinOp::contains: return Value(find_ci(lhs, rhs, 0, false) != std::string_view::npos);
    case BinOp::not_contains: return Value(find_ci(lhs, rhs, 0, false) == std::string_view::npos);
    case BinOp::contains_cs: return Value(lhs.find(rhs) != std::string::npos);
    case BinOp::not_contains_cs: return Value(lhs.find(rhs) == std::string::npos);
    case BinOp::startswith: return Value(starts_ci(lhs, rhs, false));
    case BinOp::not_startswith: return Value(!starts_ci(lhs, rhs, false));
    case BinOp::startswith_cs: return Value(starts_ci(lhs, rhs, true));
    case BinOp::not_startswith_cs: return Value(!starts_ci(lhs, rhs, true));
    case BinOp::endswith: return Value(ends_ci(lhs, rhs, false));
    case BinOp::not_endswith: return Value(!ends_ci(lhs, rhs, false));
    case BinOp::endswith_cs: return Value(ends_ci(lhs, rhs, true));
    case BinOp::not_endswith_cs: return Value(!ends_ci(lhs, rhs, true));
    default: return Value();
  }
}

// ---- function typing helpers ----

#define KQL_RETURNS(NAME, TYPE)                                                                                  \
  std::optional<Type> NAME(const std::vector<Type>&, std::string&) { return TYPE; }
KQL_RETURNS(returns_string, Type::string)
KQL_RETURNS(returns_bool, Type::boolean)
KQL_RETURNS(returns_long, Type::int64)
KQL_RETURNS(returns_int, Type::int32)
KQL_RETURNS(returns_real, Type::real)
KQL_RETURNS(returns_datetime, Type::datetime)
KQL_RETURNS(returns_timespan, Type::timespan)
KQL_RETURNS(returns_dynamic, Type::dynamic)
#undef KQL_RETURNS

bool arg_is(Type actual, std::initializer_list<Type> allowed) {
  if (actual == Type::dynamic) return true;
  return std::find(allowed.begin(), allowed.end(), actual) != allowed.end();
}

std::string bad_arg(std::string_view fn, size_t index, std::string_view expected, Type actual) {
  return std::string(fn) + "(): argument #" + std::to_string(index + 1) + " expected to be " + std::string(expected) +
         " but was " + std::string(kql_type_name(actual));
}

std::optional<Type> common_type(Type a, Type b) {
  if (a == b) return a;
  if (is_numeric(a) && is_numeric(b)) {
    if (a == Type::real || b == Type::real) return Type::real;
    return Type::int64;
  }
  if (a == Type::dynamic || b == Type::dynamic) return Type::dynamic;
  if ((a == Type::string && b == Type::guid) || (a == Type::guid && b == Type::string)) return Type::string;
  return std::nullopt;
}

// ---- function implementations ----
Value fn_ago(const Expr&, const Value* const* a, size_t, const EvalEnv& env) {
  const Value& v = *a[0];
  if (!v.is_timespan()) return Value();
  return Value(DateTime{env.now_ticks - v.as_timespan().ticks});
}
std::optional<Type> ty_ago(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::timespan})) { e = bad_arg("ago", 0, "timespan", t[0]); return std::nullopt; }
  return Type::datetime;
}
Value fn_now(const Expr&, const Value* const* a, size_t n, const EvalEnv& env) {
  int64_t offset = 0;
  if (n == 1) {
    if (!a[0]->is_timespan()) return Value();
    offset = a[0]->as_timespan().ticks;
  }
  return Value(DateTime{env.now_ticks + offset});
}

int64_t floor_to(int64_t x, int64_t size) {
  int64_t q = x / size;
  if ((x % size != 0) && ((x < 0) != (size < 0))) --q;
  return q * size;
}

Value fn_bin(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value v = unwrap_dynamic(*a[0]);
  const Value s = unwrap_dynamic(*a[1]);
  if (v.is_null() || s.is_null()) return Value();
  if (v.is_datetime()) {
    const int64_t size = s.is_timespan() ? s.as_timespan().ticks : 0;
    if (size <= 0) return Value();
    return Value(DateTime{floor_to(v.as_datetime().ticks, size)});
  }
  if (v.is_timespan()) {
    const int64_t size = s.is_timespan() ? s.as_timespan().ticks : (s.is_integer() ? s.as_long() : 0);
    if (size <= 0) return Value();
    return Value(TimeSpan{floor_to(v.as_timespan().ticks, size)});
  }
  if (!s.is_number() || s.as_real() <= 0) return Value();
  if (v.is_integer() && s.is_integer()) {
    const int64_t r = floor_to(v.as_long(), s.as_long());
    return v.is_int() ? Value(static_cast<int32_t>(r)) : Value(r);
  }
  if (v.is_number()) {
    const double r = std::floor(v.as_real() / s.as_real()) * s.as_real();
    if (v.is_int()) return Value(static_cast<int32_t>(r));
    if (v.is_long()) return Value(static_cast<int64_t>(r));
    return Value(r);
  }
  return Value();
}
std::optional<Type> ty_bin(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::int32, Type::int64, Type::real, Type::datetime, Type::timespan})) {
    e = bad_arg("bin", 0, "a number, datetime or timespan", t[0]);
    return std::nullopt;
  }
  if (t[0] == Type::datetime && !arg_is(t[1], {Type::timespan})) { e = bad_arg("bin", 1, "timespan", t[1]); return std::nullopt; }
  if (!arg_is(t[1], {Type::int32, Type::int64, Type::real, Type::timespan})) { e = bad_arg("bin", 1, "a number or timespan", t[1]); return std::nullopt; }
  return t[0];
}

Value fn_tostring(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return Value(to_display_string(*a[0])); }
Value fn_toint(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value v = unwrap_dynamic(*a[0]);
  if (v.is_datetime() || v.is_timespan()) return Value();
  return coerce(v, Type::int32);
}
Value fn_tolong(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return coerce(*a[0], Type::int64); }
Value fn_toreal(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return coerce(*a[0], Type::real); }
Value fn_tobool(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return coerce(*a[0], Type::boolean); }
Value fn_todatetime(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return coerce(*a[0], Type::datetime); }
Value fn_totimespan(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return coerce(*a[0], Type::timespan); }

Value fn_strcat(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += to_display_string(*a[i]);
  return Value(std::move(out));
}
Value fn_tolower(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  if (a[0]->is_null()) return Value(std::string());
  std::string s = str(unwrap_dynamic(*a[0]));
  for (char& c : s) c = lower(c);
  return Value(std::move(s));
}
Value fn_toupper(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  if (a[0]->is_null()) return Value(std::string());
  std::string s = str(unwrap_dynamic(*a[0]));
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return Value(std::move(s));
}
std::optional<Type> ty_string_fn(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::string, Type::guid})) { e = bad_arg("string function", 0, "string", t[0]); return std::nullopt; }
  return Type::string;
}
Value fn_strlen(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  if (a[0]->is_null()) return Value(int64_t{0});
  const std::string s = str(unwrap_dynamic(*a[0]));
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count UTF-8 code points
  return Value(n);
}
std::optional<Type> ty_strlen(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::string, Type::guid})) { e = bad_arg("strlen", 0, "string", t[0]); return std::nullopt; }
  return Type::int64;
}
Value fn_substring(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  if (a[0]->is_null()) return Value(std::string());
  const std::string s = str(unwrap_dynamic(*a[0]));
  const Value start_v = unwrap_dynamic(*a[1]);
  if (!start_v.is_integer()) return Value();
  int64_t start = std::max<int64_t>(0, start_v.as_long());
  if (start >= static_cast<int64_t>(s.size())) return Value(std::string());
  int64_t len = static_cast<int64_t>(s.size()) - start;
  if (n == 3) {
    const Value len_v = unwrap_dynamic(*a[2]);
    if (!len_v.is_integer()) return Value();
    len = std::clamp<int64_t>(len_v.as_long(), 0, len);
  }
  return Value(s.substr(static_cast<size_t>(start), static_cast<size_t>(len)));
}
std::optional<Type> ty_substring(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[1], {Type::int32, Type::int64})) { e = bad_arg("substring", 1, "long", t[1]); return std::nullopt; }
  if (t.size() == 3 && !arg_is(t[2], {Type::int32, Type::int64})) { e = bad_arg("substring", 2, "long", t[2]); return std::nullopt; }
  return Type::string;
}
Value fn_split(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  const std::string s = a[0]->is_null() ? std::string() : str(unwrap_dynamic(*a[0]));
  const std::string d = str(unwrap_dynamic(*a[1]));
  nlohmann::json arr = nlohmann::json::array();
  if (d.empty()) {
    arr.push_back(s);
  } else {
    size_t from = 0;
    for (;;) {
      const size_t at = s.find(d, from);
      if (at == std::string::npos) {
        arr.push_back(s.substr(from));
        break;
      }
      arr.push_back(s.substr(from, at - from));
      from = at + d.size();
    }
  }
  if (n == 3) {
    const Value ix = unwrap_dynamic(*a[2]);
    if (!ix.is_integer() || ix.as_long() < 0 || ix.as_long() >= static_cast<int64_t>(arr.size())) {
      return Value::dynamic(nlohmann::json::array());
    }
    return Value::dynamic(nlohmann::json::array({arr[static_cast<size_t>(ix.as_long())]}));
  }
  return Value::dynamic(std::move(arr));
}
std::optional<Type> ty_split(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[1], {Type::string})) { e = bad_arg("split", 1, "string", t[1]); return std::nullopt; }
  return Type::dynamic;
}

struct CompiledRegex {
  std::regex re;
};

Value fn_extract(const Expr& call, const Value* const* a, size_t n, const EvalEnv& env) {
  if (a[2]->is_null() || a[0]->is_null()) return Value();
  std::shared_ptr<const void> re = call.compiled;
  if (!re) {
    std::string error;
    re = compile_regex(str(*a[0]), error);
    if (!re) return Value();
  }
  const Value group_v = unwrap_dynamic(*a[1]);
  if (!group_v.is_integer() || group_v.as_long() < 0) return Value();
  const std::string text = str(unwrap_dynamic(*a[2]));
  if (text.size() > k_max_regex_input) {
    env.runtime_error = "regular expressions over values longer than " + std::to_string(k_max_regex_input) + " characters";
    return Value();
  }
  std::smatch m;
  const auto* compiled = static_cast<const CompiledRegex*>(re.get());
  bool found = false;
  try {
    found = std::regex_search(text, m, compiled->re);
  } catch (const std::regex_error&) {
    env.runtime_error = "this regular expression on this input (it exceeds the regex engine's complexity limit)";
    return Value();
  }
  if (!found) return n == 4 ? Value() : Value(std::string());
  const auto g = static_cast<size_t>(group_v.as_long());
  if (g >= m.size() || !m[g].matched) return n == 4 ? Value() : Value(std::string());
  Value out(m[g].str());
  (void)n;
  return out;
}
std::optional<Type> ty_extract(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::string})) { e = bad_arg("extract", 0, "string", t[0]); return std::nullopt; }
  if (!arg_is(t[1], {Type::int32, Type::int64})) { e = bad_arg("extract", 1, "long", t[1]); return std::nullopt; }
  if (t.size() == 4) { e = "extract(): the typeof() argument is not supported"; return std::nullopt; }
  return Type::string;
}

Value fn_iff(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value c = unwrap_dynamic(*a[0]);
  return (c.is_bool() && c.as_bool()) ? *a[1] : *a[2];
}
std::optional<Type> ty_iff(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::boolean})) { e = bad_arg("iff", 0, "bool", t[0]); return std::nullopt; }
  auto c = common_type(t[1], t[2]);
  if (!c) e = "iff(): arguments #2 and #3 must have the same type (got " + std::string(kql_type_name(t[1])) + " and " + std::string(kql_type_name(t[2])) + ")";
  return c;
}
Value fn_case(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  for (size_t i = 0; i + 1 < n; i += 2) {
    const Value c = unwrap_dynamic(*a[i]);
    if (c.is_bool() && c.as_bool()) return *a[i + 1];
  }
  return *a[n - 1];
}
std::optional<Type> ty_case(const std::vector<Type>& t, std::string& e) {
  if (t.size() % 2 == 0) { e = "case(): expects predicate/value pairs followed by an else value"; return std::nullopt; }
  std::optional<Type> result = t.back();
  for (size_t i = 0; i + 1 < t.size(); i += 2) {
    if (!arg_is(t[i], {Type::boolean})) { e = bad_arg("case", i, "bool", t[i]); return std::nullopt; }
    result = common_type(*result, t[i + 1]);
    if (!result) { e = "case(): all values must have the same type"; return std::nullopt; }
  }
  return result;
}
bool empty_value(const Value& v) {
  if (v.is_null()) return true;
  if (v.is_string()) return v.as_string().empty();
  if (v.is_dynamic()) {
    const auto& j = v.as_json();
    return j.is_null() || (j.is_string() && j.get_ref<const std::string&>().empty());
  }
  return false;
}
Value fn_isempty(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return Value(empty_value(*a[0])); }
Value fn_isnotempty(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return Value(!empty_value(*a[0])); }
bool null_value(const Value& v) { return v.is_null() || (v.is_dynamic() && v.as_json().is_null()); }
Value fn_isnull(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return Value(null_value(*a[0])); }
Value fn_isnotnull(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return Value(!null_value(*a[0])); }
Value fn_parse_json(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value& v = *a[0];
  if (v.is_dynamic()) return v;
  if (v.is_null()) return Value::dynamic(nullptr);
  if (!v.is_string()) return Value::dynamic(to_json(v));
  nlohmann::json j = nlohmann::json::parse(v.as_string(), nullptr, false);
  if (j.is_discarded()) return Value::dynamic(v.as_string());  // Kusto keeps unparsable text as a string
  return Value::dynamic(std::move(j));
}
Value fn_not(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value v = unwrap_dynamic(*a[0]);
  if (!v.is_bool()) return Value();
  return Value(!v.as_bool());
}
std::optional<Type> ty_not(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::boolean})) { e = bad_arg("not", 0, "bool", t[0]); return std::nullopt; }
  return Type::boolean;
}
Value fn_array_length(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  if (!a[0]->is_dynamic() || !a[0]->as_json().is_array()) return Value();
  return Value(static_cast<int64_t>(a[0]->as_json().size()));
}
Value fn_coalesce(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  for (size_t i = 0; i < n; ++i) {
    if (!null_value(*a[i]) && !(a[i]->is_string() && a[i]->as_string().empty())) return *a[i];
  }
  return *a[n - 1];
}
std::optional<Type> ty_coalesce(const std::vector<Type>& t, std::string& e) {
  std::optional<Type> r = t[0];
  for (size_t i = 1; i < t.size() && r; ++i) r = common_type(*r, t[i]);
  if (!r) e = "coalesce(): all arguments must have the same type";
  return r;
}
Value fn_replace_string(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  std::string s = a[0]->is_null() ? std::string() : str(unwrap_dynamic(*a[0]));
  const std::string from = str(unwrap_dynamic(*a[1]));
  const std::string to = str(unwrap_dynamic(*a[2]));
  if (from.empty()) return Value(std::move(s));
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t at = s.find(from, pos);
    if (at == std::string::npos) break;
    out.append(s, pos, at - pos);
    out += to;
    pos = at + from.size();
  }
  out.append(s, pos, std::string::npos);
  return Value(std::move(out));
}
Value fn_pack_array(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  nlohmann::json arr = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) arr.push_back(to_json(*a[i]));
  return Value::dynamic(std::move(arr));
}
Value fn_bag_pack(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  nlohmann::json obj = nlohmann::json::object();
  for (size_t i = 0; i + 1 < n; i += 2) obj[str(unwrap_dynamic(*a[i]))] = to_json(*a[i + 1]);
  return Value::dynamic(std::move(obj));
}
std::optional<Type> ty_bag_pack(const std::vector<Type>& t, std::string& e) {
  if (t.size() % 2 != 0) { e = "bag_pack(): expects key/value pairs"; return std::nullopt; }
  return Type::dynamic;
}
Value fn_set_has_element(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  if (!a[0]->is_dynamic() || !a[0]->as_json().is_array()) return Value();
  const Value needle = unwrap_dynamic(*a[1]);
  for (const auto& el : a[0]->as_json()) {
    if (key_equal(unwrap_dynamic(Value::dynamic(el)), needle)) return Value(true);
  }
  return Value(false);
}
Value fn_startofday(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value v = unwrap_dynamic(*a[0]);
  if (!v.is_datetime()) return Value();
  return Value(DateTime{floor_to(v.as_datetime().ticks, k_ticks_per_day)});
}
std::optional<Type> ty_startofday(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::datetime})) { e = bad_arg("startofday", 0, "datetime", t[0]); return std::nullopt; }
  return Type::datetime;
}
Value fn_abs(const Expr&, const Value* const* a, size_t, const EvalEnv&) {
  const Value v = unwrap_dynamic(*a[0]);
  if (v.is_int()) return Value(static_cast<int32_t>(std::abs(static_cast<int64_t>(v.as_long()))));
  if (v.is_long()) return Value(v.as_long() < 0 ? -v.as_long() : v.as_long());
  if (v.is_real()) return Value(std::fabs(v.as_real()));
  if (v.is_timespan()) return Value(TimeSpan{std::abs(v.as_timespan().ticks)});
  return Value();
}
std::optional<Type> ty_numeric_first(const std::vector<Type>& t, std::string& e) {
  if (!arg_is(t[0], {Type::int32, Type::int64, Type::real, Type::timespan})) { e = bad_arg("abs/round", 0, "a number", t[0]); return std::nullopt; }
  return t[0];
}
Value fn_round(const Expr&, const Value* const* a, size_t n, const EvalEnv&) {
  const Value v = unwrap_dynamic(*a[0]);
  if (!v.is_number()) return Value();
  int64_t digits = 0;
  if (n == 2) {
    const Value d = unwrap_dynamic(*a[1]);
    if (!d.is_integer()) return Value();
    digits = d.as_long();
  }
  if (v.is_integer() && digits >= 0) return v;
  const double scale = std::pow(10.0, static_cast<double>(digits));
  const double r = std::round(v.as_real() * scale) / scale;
  if (v.is_int()) return Value(static_cast<int32_t>(r));
  if (v.is_long()) return Value(static_cast<int64_t>(r));
  return Value(r);
}

Value typed_literal_int(const Expr&, const Value* const* a, size_t, const EvalEnv&) { return coerce(*a[0], Type::int32); }

const std::unordered_map<std::string_view, FunctionDef>& registry() {
  static const std::unordered_map<std::string_view, FunctionDef> table = [] {
    std::unordered_map<std::string_view, FunctionDef> m;
    auto add = [&m](FunctionDef d) { m.emplace(d.name, d); };
    add({"ago", 1, 1, ty_ago, fn_ago});
    add({"now", 0, 1, returns_datetime, fn_now});
    add({"bin", 2, 2, ty_bin, fn_bin});
    add({"floor", 2, 2, ty_bin, fn_bin});
    add({"tostring", 1, 1, returns_string, fn_tostring});
    add({"toint", 1, 1, returns_int, fn_toint});
    add({"int", 1, 1, returns_int, typed_literal_int});
    add({"tolong", 1, 1, returns_long, fn_tolong});
    add({"long", 1, 1, returns_long, fn_tolong});
    add({"todouble", 1, 1, returns_real, fn_toreal});
    add({"toreal", 1, 1, returns_real, fn_toreal});
    add({"real", 1, 1, returns_real, fn_toreal});
    add({"double", 1, 1, returns_real, fn_toreal});
    add({"tobool", 1, 1, returns_bool, fn_tobool});
    add({"toboolean", 1, 1, returns_bool, fn_tobool});
    add({"bool", 1, 1, returns_bool, fn_tobool});
    add({"todatetime", 1, 1, returns_datetime, fn_todatetime});
    add({"totimespan", 1, 1, returns_timespan, fn_totimespan});
    add({"totime", 1, 1, returns_timespan, fn_totimespan});
    add({"strcat", 1, 64, returns_string, fn_strcat});
    add({"tolower", 1, 1, ty_string_fn, fn_tolower});
    add({"toupper", 1, 1, ty_string_fn, fn_toupper});
    add({"strlen", 1, 1, ty_strlen, fn_strlen});
    add({"substring", 2, 3, ty_substring, fn_substring});
    add({"split", 2, 3, ty_split, fn_split});
    add({"extract", 3, 4, ty_extract, fn_extract});
    add({"iff", 3, 3, ty_iff, fn_iff});
    add({"iif", 3, 3, ty_iff, fn_iff});
    add({"case", 3, 63, ty_case, fn_case});
    add({"isempty", 1, 1, returns_bool, fn_isempty});
    add({"isnotempty", 1, 1, returns_bool, fn_isnotempty});
    add({"isnull", 1, 1, returns_bool, fn_isnull});
    add({"isnotnull", 1, 1, returns_bool, fn_isnotnull});
    add({"parse_json", 1, 1, returns_dynamic, fn_parse_json});
    add({"todynamic", 1, 1, returns_dynamic, fn_parse_json});
    add({"not", 1, 1, ty_not, fn_not});
    add({"array_length", 1, 1, returns_long, fn_array_length});
    add({"coalesce", 2, 64, ty_coalesce, fn_coalesce});
    add({"replace_string", 3, 3, returns_string, fn_replace_string});
    add({"pack_array", 1, 64, returns_dynamic, fn_pack_array});
    add({"bag_pack", 2, 64, ty_bag_pack, fn_bag_pack});
    add({"pack", 2, 64, ty_bag_pack, fn_bag_pack});
    add({"set_has_element", 2, 2, returns_bool, fn_set_has_element});
    add({"startofday", 1, 1, ty_startofday, fn_startofday});
    add({"abs", 1, 1, ty_numeric_first, fn_abs});
    add({"round", 1, 2, ty_numeric_first, fn_round});
    return m;
  }();
  return table;
}

} // namespace

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool has_term(std::string_view text, std::string_view term, bool cs, bool need_left, bool need_right) {
  if (term.empty()) return true;
  size_t from = 0;
  for (;;) {
    const size_t at = find_ci(text, term, from, cs);
    if (at == std::string_view::npos) return false;
    const size_t end = at + term.size();
    const bool left_ok = !need_left || at == 0 || !alnum(text[at - 1]) || !alnum(term.front());
    const bool right_ok = !need_right || end == text.size() || !alnum(text[end]) || !alnum(term.back());
    if (left_ok && right_ok) return true;
    from = at + 1;
  }
}

std::string_view op_text(BinOp op) {
  switch (op) {
    case BinOp::none: return "?";
    case BinOp::or_: return "or";
    case BinOp::and_: return "and";
    case BinOp::eq: return "==";
    case BinOp::ne: return "!=";
    case BinOp::lt: return "<";
    case BinOp::le: return "<=";
    case BinOp::gt: return ">";
    case BinOp::ge: return ">=";
    case BinOp::eq_ci: return "=~";
    case BinOp::ne_ci: return "!~";
    case BinOp::add: return "+";
    case BinOp::sub: return "-";
    case BinOp::mul: return "*";
    case BinOp::div: return "/";
    case BinOp::mod: return "%";
    case BinOp::has: return "has";
    case BinOp::not_has: return "!has";
    case BinOp::has_cs: return "has_cs";
    case BinOp::not_has_cs: return "!has_cs";
    case BinOp::hasprefix: return "hasprefix";
    case BinOp::not_hasprefix: return "!hasprefix";
    case BinOp::hassuffix: return "hassuffix";
    case BinOp::not_hassuffix: return "!hassuffix";
    case BinOp::contains: return "contains";
    case BinOp::not_contains: return "!contains";
    case BinOp::contains_cs: return "contains_cs";
    case BinOp::not_contains_cs: return "!contains_cs";
    case BinOp::startswith: return "startswith";
    case BinOp::not_startswith: return "!startswith";
    case BinOp::startswith_cs: return "startswith_cs";
    case BinOp::not_startswith_cs: return "!startswith_cs";
    case BinOp::endswith: return "endswith";
    case BinOp::not_endswith: return "!endswith";
    case BinOp::endswith_cs: return "endswith_cs";
    case BinOp::not_endswith_cs: return "!endswith_cs";
    case BinOp::in: return "in";
    case BinOp::not_in: return "!in";
    case BinOp::in_ci: return "in~";
    case BinOp::not_in_ci: return "!in~";
    case BinOp::has_any: return "has_any";
    case BinOp::has_all: return "has_all";
    case BinOp::between: return "between";
    case BinOp::not_between: return "!between";
    case BinOp::matches_regex: return "matches regex";
  }
  return "?";
}

std::optional<Type> binary_type(BinOp op, Type l, Type r, std::string& error) {
  auto mismatch = [&](std::string_view verb) {
    error = "Cannot " + std::string(verb) + " values of types " + std::string(kql_type_name(l)) + " and " +
            std::string(kql_type_name(r)) + " with '" + std::string(op_text(op)) + "'. Try adding explicit casts";
    return std::nullopt;
  };
  const bool dyn = l == Type::dynamic || r == Type::dynamic;
  switch (op) {
    case BinOp::add:
    case BinOp::sub:
    case BinOp::mul:
    case BinOp::div:
    case BinOp::mod:
      if (dyn) return Type::dynamic;
      if (is_numeric(l) && is_numeric(r)) {
        if (l == Type::real || r == Type::real) return Type::real;
        if (l == Type::int32 && r == Type::int32) return Type::int32;
        return Type::int64;
      }
      if (l == Type::datetime && r == Type::datetime && op == BinOp::sub) return Type::timespan;
      if (l == Type::datetime && r == Type::timespan && (op == BinOp::add || op == BinOp::sub)) return Type::datetime;
      if (l == Type::timespan && r == Type::datetime && op == BinOp::add) return Type::datetime;
      if (l == Type::timespan && r == Type::timespan) {
        if (op == BinOp::add || op == BinOp::sub || op == BinOp::mod) return Type::timespan;
        if (op == BinOp::div) return Type::real;
      }
      if (l == Type::timespan && is_numeric(r) && (op == BinOp::mul || op == BinOp::div)) return Type::timespan;
      if (is_numeric(l) && r == Type::timespan && op == BinOp::mul) return Type::timespan;
      return mismatch("combine");
    case BinOp::eq:
    case BinOp::ne:
    case BinOp::lt:
    case BinOp::le:
    case BinOp::gt:
    case BinOp::ge:
      if (dyn || l == r || (is_numeric(l) && is_numeric(r)) ||
          ((l == Type::string || l == Type::guid) && (r == Type::string || r == Type::guid))) {
        return Type::boolean;
      }
      return mismatch("compare");
    case BinOp::eq_ci:
    case BinOp::ne_ci:
      if (dyn || (is_stringish(l) && is_stringish(r))) return Type::boolean;
      return mismatch("compare");
    default:
      return Type::boolean;
  }
}

Value eval_binary(BinOp op, const Value& l0, const Value& r0) {
  if (l0.is_integer() && r0.is_integer()) {  // the common case, without the generic dispatch
    const int64_t x = l0.as_long();
    const int64_t y = r0.as_long();
    switch (op) {
      case BinOp::eq: return Value(x == y);
      case BinOp::ne: return Value(x != y);
      case BinOp::lt: return Value(x < y);
      case BinOp::le: return Value(x <= y);
      case BinOp::gt: return Value(x > y);
      case BinOp::ge: return Value(x >= y);
      default: break;
    }
  } else if (l0.is_string() && r0.is_string() && (op == BinOp::eq || op == BinOp::ne)) {
    return Value((l0.as_string() == r0.as_string()) == (op == BinOp::eq));
  }
  const bool unwrap = l0.is_dynamic() || r0.is_dynamic();
  const Value lu = unwrap ? unwrap_dynamic(l0) : Value();
  const Value ru = unwrap ? unwrap_dynamic(r0) : Value();
  const Value& l = unwrap ? lu : l0;
  const Value& r = unwrap ? ru : r0;
  switch (op) {
    case BinOp::add:
    case BinOp::sub:
    case BinOp::mul:
    case BinOp::div:
    case BinOp::mod: return arith(op, l, r);
    case BinOp::eq:
    case BinOp::ne:
    case BinOp::lt:
    case BinOp::le:
    case BinOp::gt:
    case BinOp::ge:
    case BinOp::eq_ci:
    case BinOp::ne_ci: return compare(op, l, r);
    default: return string_predicate(op, l, r);
  }
}

const FunctionDef* find_function(std::string_view name) {
  const auto& r = registry();
  auto it = r.find(name);
  return it == r.end() ? nullptr : &it->second;
}

bool is_aggregate_name(std::string_view name) {
  for (std::string_view a : {"count", "countif", "dcount", "sum", "avg", "min", "max", "make_set", "makeset",
                             "make_list", "makelist", "arg_max", "arg_min", "take_any", "any"}) {
    if (name == a) return true;
  }
  return false;
}

std::shared_ptr<const void> compile_regex(const std::string& pattern, std::string& error) {
  std::string p = pattern;
  auto flags = std::regex::ECMAScript;
  if (p.rfind("(?i)", 0) == 0) {
    p = p.substr(4);
    flags |= std::regex::icase;
  }
  try {
    auto compiled = std::make_shared<CompiledRegex>();
    compiled->re = std::regex(p, flags);
    return compiled;
  } catch (const std::regex_error& e) {
    error = std::string("invalid or unsupported regular expression '") + pattern + "': " + e.what();
    return nullptr;
  }
}

bool regex_search(const std::shared_ptr<const void>& re, const std::string& text, const EvalEnv& env) {
  if (text.size() > k_max_regex_input) {
    env.runtime_error = "regular expressions over values longer than " + std::to_string(k_max_regex_input) + " characters";
    return false;
  }
  try {
    return std::regex_search(text, static_cast<const CompiledRegex*>(re.get())->re);
  } catch (const std::regex_error&) {
    env.runtime_error = "this regular expression on this input (it exceeds the regex engine's complexity limit)";
    return false;
  }
}

} // namespace xdr::emulator::kql::detail
