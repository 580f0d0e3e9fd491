#include <emulator/kql/value.hpp>

#include <xdr/util/time.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <functional>

namespace xdr::emulator::kql {

namespace {

using util::civil_from_days;
using util::days_from_civil;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool read_digits(std::string_view s, size_t& i, size_t count, int64_t& out) {
  out = 0;
  for (size_t k = 0; k < count; ++k) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i++] - '0');
  }
  return true;
}

// Reads ".ddddddd" into ticks (extra digits beyond 7 are ignored).
int64_t read_fraction(std::string_view s, size_t& i) {
  int64_t ticks = 0;
  int digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    if (digits < 7) {
      ticks = ticks * 10 + (s[i] - '0');
      ++digits;
    }
    ++i;
  }
  while (digits++ < 7) ticks *= 10;
  return ticks;
}

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string format_real(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  if (d == std::floor(d) && std::fabs(d) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", d);
    return buf;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", d);
  double back = std::strtod(buf, nullptr);
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    back = std::strtod(buf, nullptr);
    if (back == d) break;
  }
  return buf;
}

} // namespace

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string_view type_name(Type type) {
  switch (type) {
    case Type::boolean: return "Boolean";
    case Type::int32: return "Int32";
    case Type::int64: return "Int64";
    case Type::real: return "Double";
    case Type::string: return "String";
    case Type::datetime: return "DateTime";
    case Type::timespan: return "TimeSpan";
    case Type::dynamic: return "Object";
    case Type::guid: return "Guid";
  }
  return "Object";
}

std::string_view kql_type_name(Type type) {
  switch (type) {
    case Type::boolean: return "bool";
    case Type::int32: return "int";
    case Type::int64: return "long";
    case Type::real: return "real";
    case Type::string: return "string";
    case Type::datetime: return "datetime";
    case Type::timespan: return "timespan";
    case Type::dynamic: return "dynamic";
    case Type::guid: return "guid";
  }
  return "dynamic";
}

std::optional<Type> parse_kql_type(std::string_view name) {
  if (name == "bool" || name == "boolean") return Type::boolean;
  if (name == "int") return Type::int32;
  if (name == "long") return Type::int64;
  if (name == "real" || name == "double") return Type::real;
  if (name == "string") return Type::string;
  if (name == "datetime" || name == "date") return Type::datetime;
  if (name == "timespan" || name == "time") return Type::timespan;
  if (name == "dynamic") return Type::dynamic;
  if (name == "guid" || name == "uniqueid") return Type::guid;
  return std::nullopt;
}

std::string format_datetime(DateTime dt) {
  const int64_t days = floor_div(dt.ticks, k_ticks_per_day);
  int64_t rem = dt.ticks - days * k_ticks_per_day;
  int64_t y = 0;
  unsigned m = 0;
  unsigned d = 0;
  civil_from_days(days, y, m, d);
  const int64_t frac = rem % k_ticks_per_second;
  int64_t secs = rem / k_ticks_per_second;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%07lldZ", static_cast<long long>(y), m,
                d, static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60), static_cast<long long>(frac));
  return buf;
}

std::string format_timespan(TimeSpan ts) {
  uint64_t t = ts.ticks < 0 ? static_cast<uint64_t>(-(ts.ticks + 1)) + 1 : static_cast<uint64_t>(ts.ticks);
  const uint64_t frac = t % k_ticks_per_second;
  uint64_t secs = t / k_ticks_per_second;
  const uint64_t days = secs / 86400;
  secs %= 86400;
  char buf[64];
  int n = 0;
  if (days > 0) {
    n = std::snprintf(buf, sizeof buf, "%s%llu.%02llu:%02llu:%02llu", ts.ticks < 0 ? "-" : "",
                      static_cast<unsigned long long>(days), static_cast<unsigned long long>(secs / 3600),
                      static_cast<unsigned long long>(secs / 60 % 60), static_cast<unsigned long long>(secs % 60));
  } else {
    n = std::snprintf(buf, sizeof buf, "%s%02llu:%02llu:%02llu", ts.ticks < 0 ? "-" : "",
                      static_cast<unsigned long long>(secs / 3600), static_cast<unsigned long long>(secs / 60 % 60),
                      static_cast<unsigned long long>(secs % 60));
  }
  if (frac != 0) std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%07llu", static_cast<unsigned long long>(frac));
  return buf;
}

std::optional<DateTime> parse_datetime(std::string_view text) {
  std::string_view s = trim_view(text);
  size_t i = 0;
  int64_t y = 0;
  int64_t mo = 0;
  int64_t d = 0;
  if (!read_digits(s, i, 4, y) || i >= s.size() || s[i++] != '-') return std::nullopt;
  if (!read_digits(s, i, 2, mo) || i >= s.size() || s[i++] != '-') return std::nullopt;
  if (!read_digits(s, i, 2, d)) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  int64_t ticks = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * k_ticks_per_day;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    ++i;
    int64_t hh = 0;
    int64_t mm = 0;
    int64_t ss = 0;
    if (!read_digits(s, i, 2, hh) || i >= s.size() || s[i++] != ':') return std::nullopt;
    if (!read_digits(s, i, 2, mm)) return std::nullopt;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!read_digits(s, i, 2, ss)) return std::nullopt;
    }
    if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    ticks += (hh * 3600 + mm * 60 + ss) * k_ticks_per_second;
    if (i < s.size() && s[i] == '.') {
      ++i;
      ticks += read_fraction(s, i);
    }
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int64_t sign = s[i++] == '+' ? 1 : -1;
    int64_t oh = 0;
    int64_t om = 0;
    if (!read_digits(s, i, 2, oh)) return std::nullopt;
    if (i < s.size() && s[i] == ':') ++i;
    if (!read_digits(s, i, 2, om)) return std::nullopt;
    ticks -= sign * (oh * 3600 + om * 60) * k_ticks_per_second;
  }
  if (i != s.size()) return std::nullopt;
  return DateTime{ticks};
}

std::optional<TimeSpan> parse_timespan(std::string_view text) {
  std::string_view s = trim_view(text);
  if (s.empty()) return std::nullopt;
  bool negative = false;
  if (s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s.find(':') != std::string_view::npos) {
    size_t i = 0;
    int64_t days = 0;
    int64_t first = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && first < 100'000'000) first = first * 10 + (s[i++] - '0');
    if (i == start || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return std::nullopt;
    int64_t hh = first;
    if (i < s.size() && s[i] == '.') {
      ++i;
      days = first;
      hh = 0;
      start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9' && hh < 100) hh = hh * 10 + (s[i++] - '0');
      if (i == start || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return std::nullopt;
    }
    int64_t mm = 0;
    int64_t ss = 0;
    if (i >= s.size() || s[i++] != ':' || !read_digits(s, i, 2, mm)) return std::nullopt;
    int64_t ticks = 0;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!read_digits(s, i, 2, ss)) return std::nullopt;
      if (i < s.size() && s[i] == '.') {
        ++i;
        ticks = read_fraction(s, i);
      }
    }
    if (i != s.size()) return std::nullopt;
    ticks += ((days * 24 + hh) * 3600 + mm * 60 + ss) * k_ticks_per_second;
    return TimeSpan{negative ? -ticks : ticks};
  }
  size_t i = 0;
  double number = 0;
  const size_t start = i;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  if (i == start) return std::nullopt;
  number = std::strtod(std::string(s.substr(start, i - start)).c_str(), nullptr);
  const std::string_view unit = s.substr(i);
  double per = 0;
  if (unit == "d" || unit == "day" || unit == "days") per = static_cast<double>(k_ticks_per_day);
  else if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" || unit == "hours") per = 3600.0 * k_ticks_per_second;
  else if (unit == "m" || unit == "min" || unit == "minute" || unit == "minutes") per = 60.0 * k_ticks_per_second;
  else if (unit == "s" || unit == "sec" || unit == "second" || unit == "seconds") per = static_cast<double>(k_ticks_per_second);
  else if (unit == "ms" || unit == "milli" || unit == "millis" || unit == "millisecond" || unit == "milliseconds") per = 10'000.0;
  else if (unit == "microsecond" || unit == "microseconds") per = 10.0;
  else if (unit == "tick" || unit == "ticks") per = 1.0;
  else return std::nullopt;
  const double total = number * per;
  if (!std::isfinite(total) || total >= 9.2e18) return std::nullopt;
  const auto ticks = static_cast<int64_t>(std::llround(total));
  return TimeSpan{negative ? -ticks : ticks};
}

std::string to_display_string(const Value& v) {
  struct Visitor {
    std::string operator()(std::monostate) const { return {}; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int32_t i) const { return std::to_string(i); }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_real(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(DateTime d) const { return format_datetime(d); }
    std::string operator()(TimeSpan t) const { return format_timespan(t); }
    std::string operator()(const Dynamic& j) const { return j->is_string() ? j->get<std::string>() : dump_json(*j); }
  };
  return std::visit(Visitor{}, v.storage());
}

Value unwrap_dynamic(const Value& v) {
  if (!v.is_dynamic()) return v;
  const nlohmann::json& j = v.as_json();
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value();
    case nlohmann::json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return Value(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::json::value_t::string: return Value(j.get<std::string>());
    default: return v;
  }
}

nlohmann::json to_json(const Value& v) {
  struct Visitor {
    nlohmann::json operator()(std::monostate) const { return nullptr; }
    nlohmann::json operator()(bool b) const { return b; }
    nlohmann::json operator()(int32_t i) const { return i; }
    nlohmann::json operator()(int64_t i) const { return i; }
    nlohmann::json operator()(double d) const {
      if (std::isfinite(d)) return d;
      return format_real(d);
    }
    nlohmann::json operator()(const std::string& s) const { return s; }
    nlohmann::json operator()(DateTime d) const { return format_datetime(d); }
    nlohmann::json operator()(TimeSpan t) const { return format_timespan(t); }
    nlohmann::json operator()(const Dynamic& j) const { return *j; }
  };
  return std::visit(Visitor{}, v.storage());
}

Value coerce(const Value& in, Type t) {
  if (in.is_null()) return in;
  if (t == Type::dynamic) {
    if (in.is_dynamic()) return in;
    return Value::dynamic(to_json(in));
  }
  const Value v = unwrap_dynamic(in);
  if (v.is_null()) return v;
  switch (t) {
    case Type::boolean:
      if (v.is_bool()) return v;
      if (v.is_integer()) return Value(v.as_long() != 0);
      if (v.is_string()) {
        if (v.as_string() == "true" || v.as_string() == "True" || v.as_string() == "1") return Value(true);
        if (v.as_string() == "false" || v.as_string() == "False" || v.as_string() == "0") return Value(false);
      }
      return Value();
    case Type::int32:
    case Type::int64: {
      int64_t out = 0;
      if (v.is_integer()) out = v.as_long();
      else if (v.is_real()) {
        if (!std::isfinite(v.as_real())) return Value();
        out = static_cast<int64_t>(v.as_real());
      } else if (v.is_bool()) out = v.as_bool() ? 1 : 0;
      else if (v.is_datetime()) out = v.as_datetime().ticks;
      else if (v.is_timespan()) out = v.as_timespan().ticks;
      else if (v.is_string()) {
        const std::string s(trim_view(v.as_string()));
        if (s.empty()) return Value();
        char* end = nullptr;
        errno = 0;
        const long long parsed = std::strtoll(s.c_str(), &end, 10);
        if (end != s.c_str() + s.size() || errno != 0) {
          const double dv = std::strtod(s.c_str(), &end);
          if (end != s.c_str() + s.size() || !std::isfinite(dv)) return Value();
          out = static_cast<int64_t>(dv);
        } else {
          out = parsed;
        }
      } else return Value();
      if (t == Type::int32) return Value(static_cast<int32_t>(out));
      return Value(out);
    }
    case Type::real:
      if (v.is_number()) return Value(v.as_real());
      if (v.is_bool()) return Value(v.as_bool() ? 1.0 : 0.0);
      if (v.is_string()) {
        const std::string s(trim_view(v.as_string()));
        char* end = nullptr;
        const double dv = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size()) return Value();
        return Value(dv);
      }
      if (v.is_timespan()) return Value(static_cast<double>(v.as_timespan().ticks));
      return Value();
    case Type::string:
    case Type::guid:
      if (v.is_string()) return v;
      return Value(to_display_string(v));
    case Type::datetime:
      if (v.is_datetime()) return v;
      if (v.is_string()) {
        auto dt = parse_datetime(v.as_string());
        return dt ? Value(*dt) : Value();
      }
      if (v.is_integer()) return Value(DateTime{v.as_long()});
      return Value();
    case Type::timespan:
      if (v.is_timespan()) return v;
      if (v.is_string()) {
        auto ts = parse_timespan(v.as_string());
        return ts ? Value(*ts) : Value();
      }
      if (v.is_integer()) return Value(TimeSpan{v.as_long()});
      return Value();
    case Type::dynamic: break;
  }
  return Value();
}

bool key_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_real() || b.is_real()) return a.as_real() == b.as_real();
    return a.as_long() == b.as_long();
  }
  if (a.storage().index() != b.storage().index()) return false;
  if (a.is_dynamic()) return a.as_json() == b.as_json();
  return a.storage() == b.storage();
}

size_t key_hash(const Value& v) {
  struct Visitor {
    size_t operator()(std::monostate) const { return 0x9e3779b9; }
    size_t operator()(bool b) const { return b ? 1 : 2; }
    size_t operator()(int32_t i) const { return std::hash<double>{}(static_cast<double>(i)); }
    size_t operator()(int64_t i) const { return std::hash<double>{}(static_cast<double>(i)); }
    size_t operator()(double d) const { return std::hash<double>{}(d); }
    size_t operator()(const std::string& s) const { return std::hash<std::string>{}(s); }
    size_t operator()(DateTime d) const { return std::hash<int64_t>{}(d.ticks) ^ 0x51; }
    size_t operator()(TimeSpan t) const { return std::hash<int64_t>{}(t.ticks) ^ 0x73; }
    size_t operator()(const Dynamic& j) const { return std::hash<std::string>{}(dump_json(*j)); }
  };
  return std::visit(Visitor{}, v.storage());
}

std::optional<int> compare_values(const Value& a0, const Value& b0) {
  const Value& a = a0;
  const Value& b = b0;
  if (a.is_null() || b.is_null()) return std::nullopt;
  auto sign = [](auto x, auto y) { return x < y ? -1 : (y < x ? 1 : 0); };
  if (a.is_number() && b.is_number()) {
    if (a.is_real() || b.is_real()) {
      const double x = a.as_real();
      const double y = b.as_real();
      if (std::isnan(x) || std::isnan(y)) return std::nullopt;
      return sign(x, y);
    }
    return sign(a.as_long(), b.as_long());
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_datetime() && b.is_datetime()) return sign(a.as_datetime().ticks, b.as_datetime().ticks);
  if (a.is_timespan() && b.is_timespan()) return sign(a.as_timespan().ticks, b.as_timespan().ticks);
  if (a.is_bool() && b.is_bool()) return sign(static_cast<int>(a.as_bool()), static_cast<int>(b.as_bool()));
  if (a.is_dynamic() || b.is_dynamic()) {
    const Value ua = unwrap_dynamic(a);
    const Value ub = unwrap_dynamic(b);
    if (ua.is_dynamic() || ub.is_dynamic()) {
      if (ua.is_dynamic() && ub.is_dynamic()) {
        const std::string x = dump_json(ua.as_json());
        const std::string y = dump_json(ub.as_json());
        return sign(x, y);
      }
      return std::nullopt;
    }
    return compare_values(ua, ub);
  }
  return std::nullopt;
}

} // namespace xdr::emulator::kql
