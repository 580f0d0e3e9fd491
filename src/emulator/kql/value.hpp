#pragma once
// KQL scalar values and column types: null, bool, int, long, real, string, datetime, timespan,
// dynamic (JSON) and guid (a string with its own column type).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

namespace xdr::emulator::kql {

// 100-nanosecond ticks since 1970-01-01T00:00:00Z (UTC).
struct DateTime {
  int64_t ticks = 0;
  friend bool operator==(DateTime a, DateTime b) { return a.ticks == b.ticks; }
};

// A duration in 100-nanosecond ticks.
struct TimeSpan {
  int64_t ticks = 0;
  friend bool operator==(TimeSpan a, TimeSpan b) { return a.ticks == b.ticks; }
};

inline constexpr int64_t k_ticks_per_second = 10'000'000;
inline constexpr int64_t k_ticks_per_day = 86'400 * k_ticks_per_second;

using Dynamic = std::shared_ptr<const nlohmann::json>;

// The column types; names as advanced hunting's Schema[].Type spells them (see type_name).
enum class Type { boolean, int32, int64, real, string, datetime, timespan, dynamic, guid };

// "Boolean", "Int32", "Int64", "Double", "String", "DateTime", "TimeSpan", "Object", "Guid".
std::string_view type_name(Type type);
// KQL's own spelling ("bool", "int", "long", "real", "string", "datetime", "timespan", "dynamic", "guid").
std::string_view kql_type_name(Type type);
// Parses a KQL type name as in `typeof(long)`; nullopt when unknown.
std::optional<Type> parse_kql_type(std::string_view name);

// One cell. A guid is stored as a string; its column carries Type::guid.
class Value {
public:
  using Storage = std::variant<std::monostate, bool, int32_t, int64_t, double, std::string, DateTime,
                               TimeSpan, Dynamic>;

  Value() = default;
  Value(bool v) : m_v(v) {}
  Value(int32_t v) : m_v(v) {}
  Value(int64_t v) : m_v(v) {}
  Value(double v) : m_v(v) {}
  Value(std::string v) : m_v(std::move(v)) {}
  Value(const char* v) : m_v(std::string(v)) {}
  Value(DateTime v) : m_v(v) {}
  Value(TimeSpan v) : m_v(v) {}
  Value(Dynamic v) : m_v(std::move(v)) {}
  // Wraps a JSON value as dynamic.
  static Value dynamic(nlohmann::json j) { return Value(std::make_shared<const nlohmann::json>(std::move(j))); }

  bool is_null() const { return std::holds_alternative<std::monostate>(m_v); }
  bool is_bool() const { return std::holds_alternative<bool>(m_v); }
  bool is_int() const { return std::holds_alternative<int32_t>(m_v); }
  bool is_long() const { return std::holds_alternative<int64_t>(m_v); }
  bool is_real() const { return std::holds_alternative<double>(m_v); }
  bool is_number() const { return is_int() || is_long() || is_real(); }
  bool is_integer() const { return is_int() || is_long(); }
  bool is_string() const { return std::holds_alternative<std::string>(m_v); }
  bool is_datetime() const { return std::holds_alternative<DateTime>(m_v); }
  bool is_timespan() const { return std::holds_alternative<TimeSpan>(m_v); }
  bool is_dynamic() const { return std::holds_alternative<Dynamic>(m_v); }

  bool as_bool() const { return std::get<bool>(m_v); }
  int64_t as_long() const { return is_int() ? std::get<int32_t>(m_v) : std::get<int64_t>(m_v); }
  double as_real() const {
    return is_real() ? std::get<double>(m_v) : static_cast<double>(as_long());
  }
  const std::string& as_string() const { return std::get<std::string>(m_v); }
  DateTime as_datetime() const { return std::get<DateTime>(m_v); }
  TimeSpan as_timespan() const { return std::get<TimeSpan>(m_v); }
  const nlohmann::json& as_json() const { return *std::get<Dynamic>(m_v); }

  const Storage& storage() const { return m_v; }

private:
  Storage m_v;
};

// Kusto's tostring(): "" for null, 7-digit ISO datetimes, "d.hh:mm:ss.fffffff" timespans, compact JSON.
std::string to_display_string(const Value& v);
// "2020-08-30T06:38:35.7664356Z".
std::string format_datetime(DateTime dt);
// "[-][d.]hh:mm:ss[.fffffff]".
std::string format_timespan(TimeSpan ts);
// Accepts "2020-08-30", "2020-08-30T06:38:35Z", "2020-08-30 06:38:35.1234567", "+hh:mm" offsets.
std::optional<DateTime> parse_datetime(std::string_view text);
// Accepts "1.02:03:04.5", "02:03:04", "1d", "2h", "30m", "10s", "100ms".
std::optional<TimeSpan> parse_timespan(std::string_view text);

// Compact JSON text; invalid UTF-8 in strings is replaced (U+FFFD) instead of throwing.
std::string dump_json(const nlohmann::json& j);
// Converts a scalar JSON value held in a dynamic into the matching KQL value; objects and arrays stay dynamic.
Value unwrap_dynamic(const Value& v);
// The value as JSON (datetimes and timespans as their strings), for dynamic building and rendering.
nlohmann::json to_json(const Value& v);
// Converts a value to the column type `t` (a no-op when it already matches; null when it cannot).
Value coerce(const Value& v, Type t);

// Strict equality used by grouping, distinct and join keys (numbers compare by value, strings exactly).
bool key_equal(const Value& a, const Value& b);
size_t key_hash(const Value& v);

// Three-way ordering for sorting: nullopt when either side is null or the kinds are not comparable.
std::optional<int> compare_values(const Value& a, const Value& b);

struct ValueHash {
  size_t operator()(const Value& v) const { return key_hash(v); }
};
struct ValueEq {
  bool operator()(const Value& a, const Value& b) const { return key_equal(a, b); }
};

} // namespace xdr::emulator::kql
