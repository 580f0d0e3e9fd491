#include <emulator/odata_filter.hpp>

#include <algorithm>
#include <cctype>

#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::emulator {
namespace {

int64_t ticks_of_time(util::TimePoint tp) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(tp.time_since_epoch()).count() / 100;
}

struct Parser {
  std::string_view text;
  const std::vector<ODataField>& fields;
  const ODataSyntax& syntax;
  size_t pos = 0;

  void skip_ws() {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
  }
  Error problem(const std::string& what) const {
    return Error{ErrorKind::invalid_request,
                 std::string(syntax.error_prefix) + what + " at position " + std::to_string(pos) + "."};
  }
  std::string word() {
    skip_ws();
    size_t start = pos;
    while (pos < text.size() && (std::isalnum(static_cast<unsigned char>(text[pos])) || text[pos] == '-' ||
                                 text[pos] == ':' || text[pos] == '.' || text[pos] == '+' || text[pos] == '_'))
      ++pos;
    return std::string(text.substr(start, pos - start));
  }
  bool peek_keyword(std::string_view kw) {
    size_t save = pos;
    std::string w = word();
    pos = save;
    return syntax.any_case_keywords ? util::iequals(w, kw) : w == kw;
  }
  Result<std::string> quoted() {
    std::string s;
    ++pos;
    while (pos < text.size()) {
      if (text[pos] == '\'') {
        if (pos + 1 < text.size() && text[pos + 1] == '\'') {
          s += '\'';
          pos += 2;
          continue;
        }
        ++pos;
        return s;
      }
      s += text[pos++];
    }
    return tl::unexpected(problem("an unterminated string literal"));
  }

  Result<ODataFilter::Node> parse_or() {
    XDR_TRY_ASSIGN(auto left, parse_and());
    if (!peek_keyword("or")) return left;
    ODataFilter::Node n;
    n.type = ODataFilter::Node::Type::any;
    n.children.push_back(std::move(left));
    while (peek_keyword("or")) {
      word();
      XDR_TRY_ASSIGN(auto right, parse_and());
      n.children.push_back(std::move(right));
    }
    return n;
  }
  Result<ODataFilter::Node> parse_and() {
    XDR_TRY_ASSIGN(auto left, parse_primary());
    if (!peek_keyword("and")) return left;
    ODataFilter::Node n;
    n.type = ODataFilter::Node::Type::all;
    n.children.push_back(std::move(left));
    while (peek_keyword("and")) {
      word();
      XDR_TRY_ASSIGN(auto right, parse_primary());
      n.children.push_back(std::move(right));
    }
    return n;
  }
  Result<ODataFilter::Node> parse_primary() {
    skip_ws();
    if (pos < text.size() && text[pos] == '(') {
      ++pos;
      XDR_TRY_ASSIGN(auto inner, parse_or());
      skip_ws();
      if (pos >= text.size() || text[pos] != ')') return tl::unexpected(problem("a missing closing ')'"));
      ++pos;
      return inner;
    }
    if (pos >= text.size()) return tl::unexpected(problem("the end of the text where a comparison was expected"));
    std::string name = word();
    if (name.empty()) return tl::unexpected(problem("an unexpected character '" + std::string(1, text[pos]) + "'"));
    auto f = std::find_if(fields.begin(), fields.end(), [&](const ODataField& x) { return x.name == name; });
    if (f == fields.end()) {
      std::vector<std::string> names;
      for (const auto& x : fields) names.push_back(x.name);
      return tl::unexpected(problem("the property '" + name + "', which cannot be filtered (filterable: " +
                                    util::join(names, ", ") + ")"));
    }
    ODataFilter::Node n;
    n.field = static_cast<size_t>(f - fields.begin());
    n.kind = f->kind;
    n.op = word();
    static constexpr std::string_view ops[] = {"eq", "ne", "gt", "ge", "lt", "le"};
    if (std::find(std::begin(ops), std::end(ops), n.op) == std::end(ops))
      return tl::unexpected(problem("'" + n.op + "' where an operator (eq, ne, gt, ge, lt, le) was expected after '" +
                                    name + "'"));
    skip_ws();
    bool quote = pos < text.size() && text[pos] == '\'';
    if (f->kind == ODataKind::datetime) {
      if (quote)
        return tl::unexpected(problem("a quoted value compared with '" + name +
                                      "': a binary operator with incompatible types was detected (Edm.DateTimeOffset and "
                                      "Edm.String); write the datetime unquoted, e.g. 2024-01-01T00:00:00Z"));
      std::string lit = word();
      if (lit == "null" && syntax.null_datetimes) {
        n.is_null = true;
        return n;
      }
      auto parsed = util::parse_rfc3339(lit);
      if (!parsed || lit.find('T') == std::string::npos)
        return tl::unexpected(problem("'" + lit + "', which is not a datetime literal for '" + name +
                                      "' (write e.g. 2024-01-01T00:00:00Z, unquoted)"));
      n.literal.number = ticks_of_time(*parsed);
      return n;
    }
    if (!quote) {
      std::string lit = word();
      if (lit == "null") {
        n.is_null = true;
        return n;
      }
      // The typed enum form: microsoft.graph.security.incidentStatus'active'.
      if (syntax.typed_enums && f->kind == ODataKind::enumeration && util::istarts_with(lit, "microsoft.graph.") &&
          pos < text.size() && text[pos] == '\'') {
        quote = true;
      } else {
        return tl::unexpected(problem("'" + lit + "' compared with '" + name + "', which takes a quoted value"));
      }
    }
    XDR_TRY_ASSIGN(auto value, quoted());
    if (f->kind == ODataKind::enumeration) {
      auto m = std::find_if(f->members.begin(), f->members.end(),
                            [&](const std::string& x) { return util::iequals(x, value); });
      if (m == f->members.end())
        return tl::unexpected(problem("the string '" + value + "', which is not a valid enumeration type constant for '" +
                                      name + "' (one of " + util::join(f->members, ", ") + ")"));
      n.literal.number = m - f->members.begin();
      return n;
    }
    n.literal.text = value;
    return n;
  }
};

bool eval(const ODataFilter::Node& n, const std::function<ODataOperand(size_t)>& get) {
  using T = ODataFilter::Node::Type;
  if (n.type == T::all) {
    for (const auto& c : n.children)
      if (!eval(c, get)) return false;
    return true;
  }
  if (n.type == T::any) {
    for (const auto& c : n.children)
      if (eval(c, get)) return true;
    return false;
  }
  ODataOperand v = get(n.field);
  bool value_null = n.kind == ODataKind::string ? !v.text.has_value() : false;
  if (n.is_null || value_null) {
    bool same = n.is_null == value_null;
    return n.op == "eq" ? same : n.op == "ne" ? !same : false;
  }
  int c = 0;
  if (n.kind == ODataKind::string) {
    int r = util::to_lower(*v.text).compare(util::to_lower(*n.literal.text));
    c = r < 0 ? -1 : r > 0 ? 1 : 0;
  } else {
    c = v.number < n.literal.number ? -1 : v.number > n.literal.number ? 1 : 0;
  }
  const std::string& op = n.op;
  return op == "eq" ? c == 0 : op == "ne" ? c != 0 : op == "gt" ? c > 0 : op == "ge" ? c >= 0 : op == "lt" ? c < 0 : c <= 0;
}

} // namespace

bool ODataFilter::matches(const std::function<ODataOperand(size_t)>& get) const { return eval(root, get); }

Result<ODataFilter> parse_odata_filter(std::string_view text, const std::vector<ODataField>& fields,
                                       const ODataSyntax& syntax) {
  Parser p{text, fields, syntax};
  p.skip_ws();
  if (p.pos >= text.size()) return tl::unexpected(p.problem("an empty clause"));
  XDR_TRY_ASSIGN(auto root, p.parse_or());
  p.skip_ws();
  if (p.pos != text.size())
    return tl::unexpected(p.problem("unexpected text '" + std::string(text.substr(p.pos)) + "'"));
  ODataFilter f;
  f.root = std::move(root);
  return f;
}

} // namespace xdr::emulator
