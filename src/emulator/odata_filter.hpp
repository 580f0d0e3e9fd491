#pragma once
// The $filter language of Graph's security lists: comparisons of declared fields (eq ne gt ge lt le) combined
// with and, or and parentheses, in Graph's literal forms: quoted strings, quoted enum members (or the typed
// form microsoft.graph.security.alertStatus'new'), unquoted datetimes, null.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/util/result.hpp>

namespace xdr::emulator {

enum class ODataKind { datetime, string, enumeration };

// A filterable property. Enum members are listed in their declared order (comparisons use it).
struct ODataField {
  std::string name;
  ODataKind kind = ODataKind::string;
  std::vector<std::string> members;
};

// A record's value of one field: text (strings; null when absent), ticks (datetimes) or member index (enums).
struct ODataOperand {
  std::optional<std::string> text;
  int64_t number = 0;
};

// A parsed filter over records whose fields are read through a callback.
class ODataFilter {
public:
  // True when the record matches; `get(i)` is the record's value of fields[i].
  bool matches(const std::function<ODataOperand(size_t)>& get) const;

  struct Node {
    enum class Type { all, any, compare } type = Type::compare;
    std::vector<Node> children;
    size_t field = 0;
    std::string op;
    ODataOperand literal;
    bool is_null = false;
    ODataKind kind = ODataKind::string;
  };
  Node root;
};

// Parses `text` against `fields`; errors (kind invalid_request) name the problem and its position.
Result<ODataFilter> parse_odata_filter(std::string_view text, const std::vector<ODataField>& fields);

} // namespace xdr::emulator
