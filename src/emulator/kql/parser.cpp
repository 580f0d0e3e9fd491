#include <emulator/kql/parser.hpp>

#include <array>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <emulator/kql/errors.hpp>

namespace xdr::emulator::kql {

namespace {

enum class Tok { end, ident, string, integer, real, timespan, raw, punct };

struct Token {
  Tok kind = Tok::end;
  std::string text;  // identifier, punctuation, decoded string, or the raw literal's function name
  std::string raw;   // raw literal body: datetime(...), dynamic(...), timespan(...)
  Value value;       // numbers and timespans
  size_t offset = 0;
  size_t end = 0;
};

// Internal to the parser: carries an Error up the recursive descent to parse_query, which returns it.
struct ParseFailure {
  Error error;
};

constexpr std::array<std::string_view, 13> k_hyphenated = {
    "project-away", "project-rename", "project-keep", "project-reorder", "mv-expand", "mv-apply", "make-series",
    "top-nested", "top-hitters", "parse-where", "parse-kv", "sample-distinct", "project-smart"};

constexpr std::array<std::string_view, 24> k_punct = {
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "<", ">", "=", "+", "-", "*",
    "/",  "%",  "(",  ")",  "[",  "]",  ",",  ";",  ".", "|"};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }

class Lexer {
public:
  Lexer(std::string_view text, const std::vector<size_t>& line_starts) : m_s(text), m_lines(line_starts) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    for (;;) {
      skip_space();
      Token t;
      t.offset = m_i;
      if (m_i >= m_s.size()) {
        t.kind = Tok::end;
        t.end = m_i;
        out.push_back(std::move(t));
        return out;
      }
      const char c = m_s[m_i];
      if ((c == '@' || c == 'h' || c == 'H') && m_i + 1 < m_s.size() && (m_s[m_i + 1] == '\'' || m_s[m_i + 1] == '"')) {
        ++m_i;
        lex_string(t, c == '@');
      } else if (c == '\'' || c == '"') {
        lex_string(t, false);
      } else if (is_digit(c) || (c == '.' && m_i + 1 < m_s.size() && is_digit(m_s[m_i + 1]))) {
        lex_number(t);
      } else if (is_ident_start(c) || (c == '$' && m_i + 1 < m_s.size() && is_ident_start(m_s[m_i + 1]))) {
        lex_ident(t);
      } else {
        lex_punct(t);
      }
      t.end = m_i;
      out.push_back(std::move(t));
    }
  }

private:
  [[noreturn]] void fail_at(size_t offset, std::string_view detail) {
    const size_t len = std::min<size_t>(20, m_s.size() - std::min(offset, m_s.size()));
    throw ParseFailure{syntax_error(m_s.substr(offset, len), pos_at(offset), detail)};
  }

  Pos pos_at(size_t offset) const {
    size_t line = 0;
    while (line + 1 < m_lines.size() && m_lines[line + 1] <= offset) ++line;
    return Pos{offset, static_cast<int>(line + 1), static_cast<int>(offset - m_lines[line] + 1)};
  }

  void skip_space() {
    for (;;) {
      while (m_i < m_s.size() && (m_s[m_i] == ' ' || m_s[m_i] == '\t' || m_s[m_i] == '\n' || m_s[m_i] == '\r')) ++m_i;
      if (m_i + 1 < m_s.size() && m_s[m_i] == '/' && m_s[m_i + 1] == '/') {
        while (m_i < m_s.size() && m_s[m_i] != '\n') ++m_i;
        continue;
      }
      return;
    }
  }

  void lex_string(Token& t, bool verbatim) {
    const char quote = m_s[m_i];
    const size_t start = m_i;
    ++m_i;
    std::string out;
    for (;;) {
      if (m_i >= m_s.size() || (m_s[m_i] == '\n' && !verbatim)) fail_at(start, "unterminated string literal");
      const char c = m_s[m_i++];
      if (c == quote) {
        if (verbatim && m_i < m_s.size() && m_s[m_i] == quote) {
          out += quote;
          ++m_i;
          continue;
        }
        break;
      }
      if (c == '\\' && !verbatim) {
        if (m_i >= m_s.size()) fail_at(start, "unterminated string literal");
        const char e = m_s[m_i++];
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '0': out += '\0'; break;
          case '\\': out += '\\'; break;
          case '\'': out += '\''; break;
          case '"': out += '"'; break;
          default: fail_at(m_i - 2, "unknown escape sequence in string literal");
        }
        continue;
      }
      out += c;
    }
    t.kind = Tok::string;
    t.text = std::move(out);
  }

  void lex_number(Token& t) {
    const size_t start = m_i;
    bool real = false;
    if (m_i + 1 < m_s.size() && m_s[m_i] == '0' && (m_s[m_i + 1] == 'x' || m_s[m_i + 1] == 'X')) {
      m_i += 2;
      const size_t hex_start = m_i;
      while (m_i < m_s.size() && std::isxdigit(static_cast<unsigned char>(m_s[m_i]))) ++m_i;
      if (m_i == hex_start) fail_at(start, "malformed hexadecimal number");
      t.kind = Tok::integer;
      t.value = Value(static_cast<int64_t>(std::strtoull(std::string(m_s.substr(hex_start, m_i - hex_start)).c_str(), nullptr, 16)));
      return;
    }
    while (m_i < m_s.size() && is_digit(m_s[m_i])) ++m_i;
    if (m_i + 1 < m_s.size() && m_s[m_i] == '.' && m_s[m_i + 1] != '.') {
      real = true;
      ++m_i;
      while (m_i < m_s.size() && is_digit(m_s[m_i])) ++m_i;
    } else if (m_i + 1 == m_s.size() && m_s[m_i] == '.') {
      real = true;
      ++m_i;
    }
    if (m_i < m_s.size() && (m_s[m_i] == 'e' || m_s[m_i] == 'E')) {
      size_t j = m_i + 1;
      if (j < m_s.size() && (m_s[j] == '+' || m_s[j] == '-')) ++j;
      if (j < m_s.size() && is_digit(m_s[j])) {
        real = true;
        m_i = j;
        while (m_i < m_s.size() && is_digit(m_s[m_i])) ++m_i;
      }
    }
    const std::string number(m_s.substr(start, m_i - start));
    if (m_i < m_s.size() && is_ident_start(m_s[m_i])) {
      const size_t unit_start = m_i;
      while (m_i < m_s.size() && is_ident_char(m_s[m_i])) ++m_i;
      auto ts = parse_timespan(m_s.substr(start, m_i - start));
      if (!ts) fail_at(unit_start, "unknown timespan unit");
      t.kind = Tok::timespan;
      t.value = Value(*ts);
      return;
    }
    if (real) {
      t.kind = Tok::real;
      t.value = Value(std::strtod(number.c_str(), nullptr));
      return;
    }
    errno = 0;
    const long long v = std::strtoll(number.c_str(), nullptr, 10);
    if (errno != 0) fail_at(start, "integer literal out of range");
    t.kind = Tok::integer;
    t.value = Value(static_cast<int64_t>(v));
  }

  void lex_ident(Token& t) {
    const size_t start = m_i;
    ++m_i;
    while (m_i < m_s.size() && is_ident_char(m_s[m_i])) ++m_i;
    t.kind = Tok::ident;
    t.text = std::string(m_s.substr(start, m_i - start));
    if (m_i + 1 < m_s.size() && m_s[m_i] == '-' && is_ident_start(m_s[m_i + 1])) {
      size_t j = m_i + 1;
      while (j < m_s.size() && is_ident_char(m_s[j])) ++j;
      const std::string joined = t.text + std::string(m_s.substr(m_i, j - m_i));
      for (auto h : k_hyphenated) {
        if (joined == h) {
          t.text = joined;
          m_i = j;
          return;
        }
      }
    }
    if (t.text == "datetime" || t.text == "dynamic" || t.text == "timespan" || t.text == "time") {
      size_t j = m_i;
      while (j < m_s.size() && (m_s[j] == ' ' || m_s[j] == '\t')) ++j;
      if (j < m_s.size() && m_s[j] == '(') lex_raw(t, j);
    }
  }

  // datetime(2020-01-01 10:00), dynamic(["a", {"b": 1}]), timespan(1.02:00:00): the body as written.
  void lex_raw(Token& t, size_t open) {
    size_t j = open + 1;
    int depth = 1;
    while (j < m_s.size()) {
      const char c = m_s[j];
      if (c == '"' || c == '\'') {
        const char q = c;
        ++j;
        while (j < m_s.size() && m_s[j] != q) {
          if (m_s[j] == '\\') ++j;
          ++j;
        }
        if (j >= m_s.size()) fail_at(open, "unterminated string literal");
      } else if (c == '(' || c == '[' || c == '{') {
        ++depth;
      } else if (c == ')' || c == ']' || c == '}') {
        if (--depth == 0) break;
      }
      ++j;
    }
    if (j >= m_s.size()) fail_at(open, "missing ')'");
    t.kind = Tok::raw;
    t.raw = std::string(m_s.substr(open + 1, j - open - 1));
    m_i = j + 1;
  }

  void lex_punct(Token& t) {
    for (auto p : k_punct) {
      if (m_s.substr(m_i, p.size()) == p) {
        t.kind = Tok::punct;
        t.text = std::string(p);
        m_i += p.size();
        return;
      }
    }
    const char c = m_s[m_i];
    if (c == '!' || c == '~' || c == '{' || c == '}' || c == ':' || c == '?') {
      t.kind = Tok::punct;
      t.text = std::string(1, c);
      ++m_i;
      return;
    }
    fail_at(m_i, "unexpected character");
  }

  std::string_view m_s;
  const std::vector<size_t>& m_lines;
  size_t m_i = 0;
};

constexpr std::array<std::string_view, 30> k_unsupported_operators = {
    "parse", "parse-where", "parse-kv", "make-series", "evaluate", "render", "lookup", "mv-apply", "invoke",
    "as", "serialize", "sample", "sample-distinct", "facet", "fork", "getschema", "partition", "scan", "search",
    "top-nested", "top-hitters", "reduce", "externaldata", "find", "consume", "project-reorder", "project-smart",
    "range", "datatable", "extend-with"};

constexpr std::array<std::string_view, 9> k_unsupported_sources = {
    "datatable", "range", "find", "search", "externaldata", "evaluate", "materialize", "cluster", "database"};

// Kusto's dynamic literals accept 'single-quoted' strings; JSON does not.
std::string single_to_double_quotes(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      const size_t start = i++;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      out.append(text.substr(start, i - start + 1));
    } else if (c == '\'') {
      out += '"';
      for (++i; i < text.size() && text[i] != '\''; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
          if (text[i + 1] == '\'') {
            out += '\'';
          } else {
            out += text[i];
            out += text[i + 1];
          }
          ++i;
        } else if (text[i] == '"') {
          out += "\\\"";
        } else {
          out += text[i];
        }
      }
      out += '"';
    } else {
      out += c;
    }
  }
  return out;
}

class Parser {
public:
  Parser(std::string_view text, std::vector<Token> tokens, std::vector<size_t> line_starts,
         const std::function<bool(std::string_view)>& is_table, const ParseOptions& options)
      : m_text(text), m_t(std::move(tokens)), m_lines(std::move(line_starts)), m_is_table(is_table), m_options(options) {}

  Query parse() {
    Query q;
    for (;;) {
      while (punct(";")) ++m_i;
      if (at_end()) break;
      if (ident("let")) {
        q.lets.push_back(parse_let());
      } else if (ident("set") || ident("declare") || ident("alias") || ident("pattern") || ident("restrict")) {
        throw ParseFailure{not_supported("'" + peek().text + "' statement", pos())};
      } else {
        if (q.body) throw ParseFailure{not_supported("more than one tabular statement (multiple result sets)", pos())};
        q.body = parse_tabular();
      }
      if (!at_end() && !punct(";")) unexpected();
    }
    if (!q.body) {
      throw ParseFailure{syntax_error("", pos(), "the query has no tabular expression to run")};
    }
    return q;
  }

private:
  // ---- token helpers ----
  const Token& peek(size_t k = 0) const { return m_t[std::min(m_i + k, m_t.size() - 1)]; }
  bool at_end() const { return peek().kind == Tok::end; }
  bool punct(std::string_view p, size_t k = 0) const { return peek(k).kind == Tok::punct && peek(k).text == p; }
  bool ident(std::string_view name, size_t k = 0) const { return peek(k).kind == Tok::ident && peek(k).text == name; }
  bool adjacent(size_t k) const { return peek(k).offset == peek(k - 1).end; }
  Pos pos_of(size_t offset) const {
    size_t line = 0;
    while (line + 1 < m_lines.size() && m_lines[line + 1] <= offset) ++line;
    return Pos{offset, static_cast<int>(line + 1), static_cast<int>(offset - m_lines[line] + 1)};
  }
  Pos pos() const { return pos_of(peek().offset); }

  [[noreturn]] void unexpected(std::string_view detail = {}) const {
    const Token& t = peek();
    std::string near = t.kind == Tok::end ? std::string("<end of query>") : std::string(m_text.substr(t.offset, t.end - t.offset));
    throw ParseFailure{syntax_error(near, pos(), detail)};
  }
  void expect_punct(std::string_view p) {
    if (!punct(p)) unexpected("expected '" + std::string(p) + "'");
    ++m_i;
  }
  void expect_ident(std::string_view name) {
    if (!ident(name)) unexpected("expected '" + std::string(name) + "'");
    ++m_i;
  }
  std::string take_name(std::string_view what) {
    if (peek().kind == Tok::ident) return m_t[m_i++].text;
    if (punct("[") && peek(1).kind == Tok::string && punct("]", 2)) {
      std::string name = peek(1).text;
      m_i += 3;
      return name;
    }
    unexpected("expected " + std::string(what));
  }
  bool is_name_start() const {
    return peek().kind == Tok::ident || (punct("[") && peek(1).kind == Tok::string && punct("]", 2));
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : m_p(p) {
      if (++m_p.m_depth > m_p.m_options.max_depth) {
        throw ParseFailure{limit_error(k_code_limit, "The query is nested too deeply (more than " +
                                                         std::to_string(m_p.m_options.max_depth) +
                                                         " levels at " + describe_pos(m_p.pos()) +
                                                         "); simplify the expression")};
      }
    }
    ~DepthGuard() { --m_p.m_depth; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;
    Parser& m_p;
  };

  bool is_tabular_name(std::string_view name) const { return m_tabular_lets.count(std::string(name)) || m_is_table(name); }

  // ---- statements ----
  LetStatement parse_let() {
    expect_ident("let");
    LetStatement let;
    let.pos = pos();
    let.name = take_name("a name after 'let'");
    expect_punct("=");
    if (ident("view") || (punct("(") && (punct(")", 1) || (peek(1).kind == Tok::ident && punct(":", 2))))) {
      throw ParseFailure{not_supported("user-defined functions (let " + let.name + " = (...) { ... })", let.pos)};
    }
    if (ident("union") || ident("print")) {
      let.tabular = parse_tabular();
    } else {
      ExprPtr e = parse_expression();
      if (e->kind == ExprKind::subquery) {
        let.tabular = e->subquery;
      } else {
        let.scalar = std::move(e);
      }
    }
    if (let.tabular) {
      m_tabular_lets.insert(let.name);
    } else {
      m_tabular_lets.erase(let.name);
    }
    return let;
  }

  // ---- tabular expressions ----
  TabularPtr parse_tabular() {
    DepthGuard guard(*this);
    auto tab = std::make_shared<TabularExpr>();
    tab->pos = pos();
    if (punct("(")) {
      ++m_i;
      tab->source = SourceKind::subquery;
      tab->legs.push_back(parse_tabular());
      expect_punct(")");
    } else if (ident("union")) {
      ++m_i;
      tab->source = SourceKind::union_;
      parse_union_body(tab->legs, tab->leg_names, tab->with_source);
    } else if (ident("print")) {
      ++m_i;
      tab->source = SourceKind::print;
      tab->print_items = parse_named_list();
    } else if (peek().kind == Tok::ident || is_name_start()) {
      const Pos p = pos();
      const std::string name = take_name("a table name");
      if (is_tabular_name(name)) {
        tab->source = SourceKind::table;
        tab->name = name;
      } else {
        for (auto s : k_unsupported_sources) {
          if (name == s) throw ParseFailure{not_supported("'" + name + "'", p)};
        }
        throw ParseFailure{semantic_error("Failed to resolve table or column expression named '" + name + "'", p)};
      }
    } else {
      unexpected("expected a table name");
    }
    while (punct("|")) {
      ++m_i;
      tab->ops.push_back(parse_operator());
    }
    return tab;
  }

  void parse_union_body(std::vector<TabularPtr>& legs, std::vector<std::string>& names, std::string& with_source) {
    while (peek().kind == Tok::ident && punct("=", 1)) {
      const Pos p = pos();
      const std::string param = peek().text;
      m_i += 2;
      if (param == "withsource") {
        with_source = take_name("a column name after withsource=");
      } else if (param == "kind") {
        const std::string kind = take_name("outer or inner");
        if (kind != "outer") throw ParseFailure{not_supported("union kind=" + kind, p)};
      } else if (param == "isfuzzy") {
        take_name("true or false");
      } else {
        throw ParseFailure{not_supported("union parameter '" + param + "'", p)};
      }
    }
    for (;;) {
      const Pos p = pos();
      if (punct("(")) {
        ++m_i;
        legs.push_back(parse_tabular());
        expect_punct(")");
        names.push_back("union_arg" + std::to_string(legs.size() - 1));
      } else {
        const std::string name = take_name("a table name or (subquery)");
        if (punct("*") && adjacent(0)) throw ParseFailure{not_supported("wildcard table names in union", p)};
        if (!is_tabular_name(name)) {
          throw ParseFailure{semantic_error("Failed to resolve table or column expression named '" + name + "'", p)};
        }
        auto leg = std::make_shared<TabularExpr>();
        leg->pos = p;
        leg->name = name;
        legs.push_back(std::move(leg));
        names.push_back(name);
      }
      if (!punct(",")) break;
      ++m_i;
    }
  }

  Operator parse_operator() {
    Operator op;
    op.pos = pos();
    if (peek().kind != Tok::ident) unexpected("expected a query operator after '|'");
    const std::string kw = peek().text;
    op.keyword = kw;
    for (auto u : k_unsupported_operators) {
      if (kw == u) throw ParseFailure{not_supported("'" + kw + "' operator", op.pos)};
    }
    ++m_i;
    if (kw == "where" || kw == "filter") {
      op.kind = OpKind::where;
      op.predicate = parse_expression();
    } else if (kw == "project") {
      op.kind = OpKind::project;
      op.items = parse_named_list();
    } else if (kw == "extend") {
      op.kind = OpKind::extend;
      op.items = parse_named_list();
    } else if (kw == "project-away" || kw == "project-keep") {
      op.kind = kw == "project-away" ? OpKind::project_away : OpKind::project_keep;
      for (;;) {
        op.patterns.push_back(parse_pattern());
        if (!punct(",")) break;
        ++m_i;
      }
    } else if (kw == "project-rename") {
      op.kind = OpKind::project_rename;
      for (;;) {
        std::string to = take_name("the new column name");
        expect_punct("=");
        std::string from = take_name("an existing column name");
        op.renames.emplace_back(std::move(to), std::move(from));
        if (!punct(",")) break;
        ++m_i;
      }
    } else if (kw == "summarize") {
      op.kind = OpKind::summarize;
      reject_hints();
      if (!ident("by")) op.items = parse_named_list();
      if (ident("by")) {
        ++m_i;
        op.by = parse_named_list();
      }
      if (op.items.empty() && op.by.empty()) unexpected("summarize needs an aggregation or 'by'");
    } else if (kw == "top") {
      op.kind = OpKind::top;
      op.predicate = parse_expression();
      expect_ident("by");
      op.sort_keys.push_back(parse_sort_key());
      if (punct(",")) throw ParseFailure{not_supported("top with more than one 'by' expression", pos())};
    } else if (kw == "take" || kw == "limit") {
      op.kind = OpKind::take;
      op.predicate = parse_expression();
    } else if (kw == "sort" || kw == "order") {
      op.kind = OpKind::sort;
      op.keyword = kw + " by";
      expect_ident("by");
      for (;;) {
        op.sort_keys.push_back(parse_sort_key());
        if (!punct(",")) break;
        ++m_i;
      }
    } else if (kw == "distinct") {
      op.kind = OpKind::distinct;
      if (punct("*")) {
        ++m_i;
      } else {
        op.items = parse_named_list();
      }
    } else if (kw == "count") {
      op.kind = OpKind::count;
    } else if (kw == "join") {
      op.kind = OpKind::join;
      parse_join(op);
    } else if (kw == "union") {
      op.kind = OpKind::union_;
      parse_union_body(op.tables, op.table_names, op.with_source);
    } else if (kw == "mv-expand") {
      op.kind = OpKind::mv_expand;
      while (peek().kind == Tok::ident && punct("=", 1) &&
             (ident("bagexpansion") || ident("with_itemindex") || ident("kind"))) {
        throw ParseFailure{not_supported("mv-expand " + peek().text + "=", pos())};
      }
      op.items = parse_named_list();
      if (ident("to")) {
        ++m_i;
        expect_ident("typeof");
        expect_punct("(");
        const Pos tp = pos();
        const std::string tn = take_name("a type name");
        auto t = parse_kql_type(tn);
        if (!t) throw ParseFailure{semantic_error("unknown type '" + tn + "'", tp)};
        op.to_type = *t;
        expect_punct(")");
      }
      if (ident("limit")) throw ParseFailure{not_supported("mv-expand limit", pos())};
    } else {
      m_i--;
      unexpected("unknown query operator");
    }
    return op;
  }

  void reject_hints() {
    if (peek().kind == Tok::ident && peek().text.rfind("hint", 0) == 0 && punct(".", 1)) {
      throw ParseFailure{not_supported("query hints (" + peek().text + ".…)", pos())};
    }
  }

  void parse_join(Operator& op) {
    while (peek().kind == Tok::ident && (punct("=", 1) || (peek().text == "hint" && punct(".", 1)))) {
      const Pos p = pos();
      if (ident("kind")) {
        m_i += 2;
        op.join_kind = take_name("a join kind");
        continue;
      }
      if (ident("hint")) {
        throw ParseFailure{not_supported("query hints (hint.…)", p)};
      }
      throw ParseFailure{not_supported("join parameter '" + peek().text + "'", p)};
    }
    const Pos right_pos = pos();
    if (punct("(")) {
      ++m_i;
      op.tables.push_back(parse_tabular());
      expect_punct(")");
    } else {
      const std::string name = take_name("the right side of the join");
      if (!is_tabular_name(name)) {
        throw ParseFailure{semantic_error("Failed to resolve table or column expression named '" + name + "'", right_pos)};
      }
      auto leg = std::make_shared<TabularExpr>();
      leg->pos = right_pos;
      leg->name = name;
      op.tables.push_back(std::move(leg));
    }
    expect_ident("on");
    for (;;) {
      JoinKey key;
      key.pos = pos();
      if (ident("$left") || ident("$right")) {
        const bool left_first = ident("$left");
        ++m_i;
        expect_punct(".");
        std::string a = take_name("a column name");
        expect_punct("==");
        if (!(left_first ? ident("$right") : ident("$left"))) unexpected("expected $left or $right");
        ++m_i;
        expect_punct(".");
        std::string b = take_name("a column name");
        key.left = left_first ? a : b;
        key.right = left_first ? b : a;
      } else {
        key.left = take_name("a join key column");
        key.right = key.left;
      }
      op.join_keys.push_back(std::move(key));
      if (punct(",") || ident("and")) {
        ++m_i;
        continue;
      }
      break;
    }
  }

  std::string parse_pattern() {
    std::string out;
    const size_t start = m_i;
    for (;;) {
      if (m_i > start && !adjacent(0)) break;
      if (peek().kind == Tok::ident) {
        out += peek().text;
        ++m_i;
      } else if (punct("*")) {
        out += '*';
        ++m_i;
      } else if (m_i == start && is_name_start()) {
        out += take_name("a column name");
      } else {
        break;
      }
    }
    if (out.empty()) unexpected("expected a column name");
    return out;
  }

  SortKey parse_sort_key() {
    SortKey key;
    key.expr = parse_expression();
    if (ident("asc")) {
      key.ascending = true;
      ++m_i;
    } else if (ident("desc")) {
      ++m_i;
    }
    if (ident("nulls")) {
      ++m_i;
      if (ident("first")) key.nulls_first = true;
      else if (ident("last")) key.nulls_first = false;
      else unexpected("expected 'first' or 'last'");
      ++m_i;
    }
    return key;
  }

  std::vector<NamedExpr> parse_named_list() {
    std::vector<NamedExpr> out;
    for (;;) {
      NamedExpr item;
      item.pos = pos();
      if (punct("(") && peek(1).kind == Tok::ident && punct(",", 2)) {
        throw ParseFailure{not_supported("tuple assignment ((A, B) = ...)", pos())};
      }
      if (peek().kind == Tok::ident && punct("=", 1)) {
        item.name = peek().text;
        m_i += 2;
      } else if (punct("[") && peek(1).kind == Tok::string && punct("]", 2) && punct("=", 3)) {
        item.name = peek(1).text;
        m_i += 4;
      }
      item.expr = parse_expression();
      out.push_back(std::move(item));
      if (!punct(",")) break;
      ++m_i;
    }
    return out;
  }

  // ---- scalar expressions ----
  ExprPtr make(ExprKind kind, const Pos& p) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = p;
    return e;
  }

  ExprPtr binary(BinOp op, ExprPtr l, ExprPtr r, const Pos& p) {
    auto e = make(ExprKind::binary, p);
    e->op = op;
    e->args.push_back(std::move(l));
    e->args.push_back(std::move(r));
    return seal(std::move(e));
  }

  // Records the height of `e` and rejects trees too tall to evaluate recursively (long operator chains).
  ExprPtr seal(ExprPtr e) {
    int height = 0;
    for (const auto& a : e->args) height = std::max(height, a->depth);
    e->depth = height + 1;
    const int limit = m_options.max_depth * 16;
    if (e->depth > limit) {
      throw ParseFailure{limit_error(k_code_limit, "The expression at " + describe_pos(e->pos) + " is too long (more than " +
                                                       std::to_string(limit) + " chained operations); split it up")};
    }
    return e;
  }

  ExprPtr parse_expression() {
    DepthGuard guard(*this);
    return parse_or();
  }

  ExprPtr parse_or() {
    ExprPtr l = parse_and();
    while (ident("or")) {
      const Pos p = pos();
      ++m_i;
      l = binary(BinOp::or_, std::move(l), parse_and(), p);
    }
    return l;
  }

  ExprPtr parse_and() {
    ExprPtr l = parse_comparison();
    while (ident("and")) {
      const Pos p = pos();
      ++m_i;
      l = binary(BinOp::and_, std::move(l), parse_comparison(), p);
    }
    return l;
  }

  struct WordOp {
    std::string_view word;
    BinOp op;
    BinOp negated;
  };

  std::optional<BinOp> take_comparison_op() {
    static const std::array<std::pair<std::string_view, BinOp>, 9> puncts = {{
        {"==", BinOp::eq}, {"!=", BinOp::ne}, {"<>", BinOp::ne}, {"<=", BinOp::le}, {">=", BinOp::ge},
        {"<", BinOp::lt}, {">", BinOp::gt}, {"=~", BinOp::eq_ci}, {"!~", BinOp::ne_ci}}};
    static const std::array<WordOp, 17> words = {{
        {"has", BinOp::has, BinOp::not_has},
        {"has_cs", BinOp::has_cs, BinOp::not_has_cs},
        {"hasprefix", BinOp::hasprefix, BinOp::not_hasprefix},
        {"hassuffix", BinOp::hassuffix, BinOp::not_hassuffix},
        {"contains", BinOp::contains, BinOp::not_contains},
        {"contains_cs", BinOp::contains_cs, BinOp::not_contains_cs},
        {"startswith", BinOp::startswith, BinOp::not_startswith},
        {"startswith_cs", BinOp::startswith_cs, BinOp::not_startswith_cs},
        {"endswith", BinOp::endswith, BinOp::not_endswith},
        {"endswith_cs", BinOp::endswith_cs, BinOp::not_endswith_cs},
        {"in", BinOp::in, BinOp::not_in},
        {"has_any", BinOp::has_any, BinOp::none},
        {"has_all", BinOp::has_all, BinOp::none},
        {"between", BinOp::between, BinOp::not_between},
        {"matches", BinOp::matches_regex, BinOp::none},
        {"notcontains", BinOp::not_contains, BinOp::none},
        {"notbetween", BinOp::not_between, BinOp::none},
    }};
    for (const auto& [text, op] : puncts) {
      if (punct(text)) {
        ++m_i;
        return op;
      }
    }
    bool negated = false;
    size_t k = 0;
    if (punct("!") && peek(1).kind == Tok::ident && adjacent(1)) {
      negated = true;
      k = 1;
    }
    if (peek(k).kind != Tok::ident) return std::nullopt;
    const std::string& word = peek(k).text;
    for (const auto& w : words) {
      if (word != w.word) continue;
      if (negated && w.negated == BinOp::none) unexpected();
      m_i += k + 1;
      BinOp op = negated ? w.negated : w.op;
      if ((op == BinOp::in || op == BinOp::not_in) && punct("~") && adjacent(0)) {
        ++m_i;
        op = op == BinOp::in ? BinOp::in_ci : BinOp::not_in_ci;
      }
      if (op == BinOp::matches_regex) expect_ident("regex");
      return op;
    }
    for (std::string_view unsupported : {"like", "notlike", "has_any_cs", "in_cs", "has_all_cs", "startswith_any", "hasprefix_cs", "hassuffix_cs", "contains_any", "notin", "nothas"}) {
      if (word == unsupported) throw ParseFailure{not_supported("operator '" + std::string(negated ? "!" : "") + word + "'", pos())};
    }
    if (negated) unexpected();
    return std::nullopt;
  }

  ExprPtr parse_comparison() {
    ExprPtr l = parse_additive();
    for (;;) {
      const Pos p = pos();
      auto op = take_comparison_op();
      if (!op) return l;
      switch (*op) {
        case BinOp::in:
        case BinOp::not_in:
        case BinOp::in_ci:
        case BinOp::not_in_ci:
        case BinOp::has_any:
        case BinOp::has_all: {
          auto e = make(ExprKind::in_list, p);
          e->op = *op;
          e->args.push_back(std::move(l));
          if (punct("(")) {
            ++m_i;
            if (!punct(")")) {
              for (;;) {
                e->args.push_back(parse_expression());
                if (!punct(",")) break;
                ++m_i;
              }
            }
            expect_punct(")");
          } else {
            e->args.push_back(parse_additive());
          }
          l = seal(std::move(e));
          break;
        }
        case BinOp::between:
        case BinOp::not_between: {
          auto e = make(ExprKind::between, p);
          e->op = *op;
          e->args.push_back(std::move(l));
          expect_punct("(");
          e->args.push_back(parse_additive());
          expect_punct("..");
          e->args.push_back(parse_additive());
          expect_punct(")");
          l = seal(std::move(e));
          break;
        }
        default:
          l = binary(*op, std::move(l), parse_additive(), p);
      }
    }
  }

  ExprPtr parse_additive() {
    ExprPtr l = parse_multiplicative();
    for (;;) {
      const Pos p = pos();
      if (punct("+")) {
        ++m_i;
        l = binary(BinOp::add, std::move(l), parse_multiplicative(), p);
      } else if (punct("-")) {
        ++m_i;
        l = binary(BinOp::sub, std::move(l), parse_multiplicative(), p);
      } else {
        return l;
      }
    }
  }

  ExprPtr parse_multiplicative() {
    ExprPtr l = parse_unary();
    for (;;) {
      const Pos p = pos();
      BinOp op = BinOp::none;
      if (punct("*")) op = BinOp::mul;
      else if (punct("/")) op = BinOp::div;
      else if (punct("%")) op = BinOp::mod;
      else return l;
      ++m_i;
      l = binary(op, std::move(l), parse_unary(), p);
    }
  }

  ExprPtr parse_unary() {
    const Pos p = pos();
    if (punct("-")) {
      ++m_i;
      DepthGuard guard(*this);
      ExprPtr inner = parse_unary();
      if (inner->kind == ExprKind::literal) {
        const Value& v = inner->literal;
        if (v.is_long()) { inner->literal = Value(-v.as_long()); inner->pos = p; return inner; }
        if (v.is_real()) { inner->literal = Value(-v.as_real()); inner->pos = p; return inner; }
        if (v.is_timespan()) { inner->literal = Value(TimeSpan{-v.as_timespan().ticks}); inner->pos = p; return inner; }
      }
      auto e = make(ExprKind::negate, p);
      e->args.push_back(std::move(inner));
      return seal(std::move(e));
    }
    if (punct("+")) {
      ++m_i;
      return parse_unary();
    }
    return parse_postfix();
  }

  ExprPtr parse_postfix() {
    ExprPtr e = parse_primary();
    for (;;) {
      const Pos p = pos();
      if (punct(".") && (peek(1).kind == Tok::ident)) {
        m_i++;
        auto m = make(ExprKind::member, p);
        m->name = m_t[m_i++].text;
        m->args.push_back(std::move(e));
        e = seal(std::move(m));
      } else if (punct(".") && punct("[", 1)) {
        m_i++;
      } else if (punct("[")) {
        ++m_i;
        auto ix = make(ExprKind::index, p);
        ix->args.push_back(std::move(e));
        ix->args.push_back(parse_expression());
        expect_punct("]");
        e = seal(std::move(ix));
      } else {
        return e;
      }
    }
  }

  ExprPtr literal(Value v, const Pos& p) {
    auto e = make(ExprKind::literal, p);
    e->literal = std::move(v);
    return e;
  }

  ExprPtr parse_raw_literal(const Token& t, const Pos& p) {
    const std::string body(t.raw);
    std::string inner = body;
    while (!inner.empty() && inner.front() == ' ') inner.erase(0, 1);
    while (!inner.empty() && inner.back() == ' ') inner.pop_back();
    if (inner == "null") {
      ExprPtr e = literal(Value(), p);
      e->type = t.text == "dynamic" ? Type::dynamic : (t.text == "datetime" ? Type::datetime : Type::timespan);
      return e;
    }
    if (t.text == "dynamic") {
      nlohmann::json j = nlohmann::json::parse(single_to_double_quotes(inner), nullptr, false);
      if (j.is_discarded()) throw ParseFailure{syntax_error("dynamic(" + body + ")", p, "not a valid dynamic literal")};
      return literal(Value::dynamic(std::move(j)), p);
    }
    if (inner.size() >= 2 && (inner.front() == '"' || inner.front() == '\'') && inner.back() == inner.front()) {
      inner = inner.substr(1, inner.size() - 2);
    }
    if (t.text == "datetime") {
      auto dt = parse_datetime(inner);
      if (!dt) throw ParseFailure{syntax_error("datetime(" + body + ")", p, "not a valid datetime literal")};
      return literal(Value(*dt), p);
    }
    auto ts = parse_timespan(inner);
    if (!ts) throw ParseFailure{syntax_error(t.text + "(" + body + ")", p, "not a valid timespan literal")};
    return literal(Value(*ts), p);
  }

  ExprPtr parse_primary() {
    const Pos p = pos();
    const Token& t = peek();
    switch (t.kind) {
      case Tok::string: {
        std::string s = t.text;
        ++m_i;
        while (peek().kind == Tok::string) s += m_t[m_i++].text;  // adjacent literals concatenate
        return literal(Value(std::move(s)), p);
      }
      case Tok::integer:
      case Tok::real:
      case Tok::timespan:
        ++m_i;
        return literal(t.value, p);
      case Tok::raw: {
        ++m_i;
        return parse_raw_literal(t, p);
      }
      case Tok::end: unexpected("expected an expression");
      case Tok::punct: break;
      case Tok::ident: return parse_identifier_expression();
    }
    if (punct("(")) {
      if ((peek(1).kind == Tok::ident && is_tabular_name(peek(1).text) && !punct("(", 2)) || ident("union", 1)) {
        ++m_i;
        auto e = make(ExprKind::subquery, p);
        e->subquery = parse_tabular();
        expect_punct(")");
        return e;
      }
      ++m_i;
      ExprPtr inner = parse_expression();
      expect_punct(")");
      return inner;
    }
    if (punct("*")) {
      ++m_i;
      return make(ExprKind::star, p);
    }
    if (punct("[") && peek(1).kind == Tok::string && punct("]", 2)) {
      auto e = make(ExprKind::name, p);
      e->name = peek(1).text;
      m_i += 3;
      return e;
    }
    unexpected("expected an expression");
  }

  ExprPtr parse_identifier_expression() {
    const Pos p = pos();
    const std::string name = peek().text;
    if (name == "true" || name == "false") {
      ++m_i;
      return literal(Value(name == "true"), p);
    }
    if (punct("(", 1) && ident("null", 2) && punct(")", 3)) {
      if (auto t = parse_kql_type(name)) {
        m_i += 4;
        ExprPtr e = literal(Value(), p);
        e->type = *t;
        return e;
      }
    }
    if (punct("(", 1)) {
      m_i += 2;
      if (name == "materialize") {
        auto e = make(ExprKind::subquery, p);
        e->subquery = parse_tabular();
        expect_punct(")");
        return e;
      }
      auto call = make(ExprKind::call, p);
      call->name = name;
      if (!punct(")")) {
        for (;;) {
          call->args.push_back(parse_expression());
          if (!punct(",")) break;
          ++m_i;
        }
      }
      expect_punct(")");
      return seal(std::move(call));
    }
    if (is_tabular_name(name)) {
      auto e = make(ExprKind::subquery, p);
      e->subquery = parse_tabular();
      return e;
    }
    ++m_i;
    auto e = make(ExprKind::name, p);
    e->name = name;
    return e;
  }

  std::string_view m_text;
  std::vector<Token> m_t;
  std::vector<size_t> m_lines;
  const std::function<bool(std::string_view)>& m_is_table;
  const ParseOptions& m_options;
  std::set<std::string> m_tabular_lets;
  size_t m_i = 0;
  int m_depth = 0;
};

} // namespace

Result<Query> parse_query(std::string_view text, const std::function<bool(std::string_view)>& is_table,
                          const ParseOptions& options) {
  if (text.size() > options.max_query_length) {
    return fail(limit_error(k_code_limit, "The query is " + std::to_string(text.size()) +
                                              " characters long; the limit is " +
                                              std::to_string(options.max_query_length) + ". Shorten the query."));
  }
  std::vector<size_t> line_starts{0};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts.push_back(i + 1);
  }
  try {
    Lexer lexer(text, line_starts);
    std::vector<Token> tokens = lexer.run();
    Parser parser(text, std::move(tokens), std::move(line_starts), is_table, options);
    return parser.parse();
  } catch (ParseFailure& failure) {
    return fail(std::move(failure.error));
  }
}

} // namespace xdr::emulator::kql
