#pragma once
// The OData $filter language of the incident lists: comparisons of declared fields (eq ne gt ge lt le)
// combined with and, or and parentheses; quoted strings, quoted enum members, unquoted datetimes, null.
// One parser for both services, each with its own syntax (ODataSyntax): Graph's security lists (typed enum
// literals such as microsoft.graph.security.alertStatus'new', null datetimes) and the Defender XDR API's
// GET /api/incidents (and/or in any case, its own error wording).

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

// What differs between the services' $filter.
struct ODataSyntax {
  std::string_view error_prefix;  // the start of every error message
  bool any_case_keywords = false; // "AND", "Or" as well as "and", "or"
  bool null_datetimes = true;     // `createdTime eq null` is a valid comparison
  bool typed_enums = true;        // microsoft.graph.security.incidentStatus'active'

  static ODataSyntax graph() { return {"Invalid filter clause: ", false, true, true}; }
  static ODataSyntax defender() { return {"Invalid OData URI query: $filter has ", true, false, false}; }
};

// Parses `text` against `fields`; errors (kind invalid_request) name the problem and its position.
Result<ODataFilter> parse_odata_filter(std::string_view text, const std::vector<ODataField>& fields,
                                       const ODataSyntax& syntax = ODataSyntax::graph());

} // namespace xdr::emulator
