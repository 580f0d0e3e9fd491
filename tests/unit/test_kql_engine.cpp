// The KQL interpreter: values, parser errors, each operator and function on small hand-built tables, rendering.

#include <gtest/gtest.h>

#include <emulator/kql/kql.hpp>
#include <emulator/kql/parser.hpp>
#include <emulator/kql/render.hpp>

#include "kql_test_catalog.hpp"

namespace xdr::emulator::kql {
namespace {

using testing::at_minutes_ago;
using testing::schema_of;

Catalog small_catalog() {
  Catalog c;
  TableBuilder events(schema_of({"Timestamp:datetime", "DeviceName", "FileName", "Size:long", "Port:int",
                                 "Score:real", "Ok:bool", "Extra:dynamic"}));
  events.add_row({at_minutes_ago(10), "alpha", "cmd.exe", int64_t{100}, int32_t{443}, 1.5, true,
                  Value::dynamic(nlohmann::json{{"a", {{"b", "deep"}}}, {"list", {1, 2, 3}}})});
  events.add_row({at_minutes_ago(70), "beta", "powershell.exe", int64_t{250}, int32_t{80}, 2.5, false,
                  Value::dynamic(nlohmann::json{{"a", {{"b", "other"}}}, {"list", nlohmann::json::array()}})});
  events.add_row({at_minutes_ago(130), "alpha", "PowerShell.EXE", int64_t{50}, int32_t{443}, Value(), true,
                  Value::dynamic(nlohmann::json{{"list", {"x"}}})});
  events.add_row({at_minutes_ago(60 * 24 * 2), "gamma", "notepad.exe", Value(), int32_t{22}, 0.25, false, Value()});
  c.add("Events", events.build());
  TableBuilder devices(schema_of({"DeviceName", "Os", "Owner"}));
  devices.add_row({"alpha", "Windows", "alice"});
  devices.add_row({"beta", "Linux", "bob"});
  devices.add_row({"beta", "Linux", "bob2"});
  devices.add_row({"delta", "macOS", "dan"});
  c.add("Devices", devices.build());
  return c;
}

QueryOptions options() {
  QueryOptions o;
  o.now = testing::test_now();
  return o;
}

QueryResult run_ok(std::string_view query, const Catalog& catalog = small_catalog()) {
  auto r = run(query, catalog, options());
  EXPECT_TRUE(r.has_value()) << query << "\n -> " << (r ? "" : r.error().message);
  if (!r) return {};
  return *r;
}

Error run_err(std::string_view query, const Catalog& catalog = small_catalog()) {
  auto r = run(query, catalog, options());
  EXPECT_FALSE(r.has_value()) << query;
  return r ? Error() : r.error();
}

// Column `name` of the result as display strings.
std::vector<std::string> col(const QueryResult& r, std::string_view name) {
  std::vector<std::string> out;
  for (size_t c = 0; c < r.schema.size(); ++c) {
    if (r.schema[c].name != name) continue;
    for (const auto& row : r.rows) out.push_back(row[c].is_null() ? "<null>" : to_display_string(row[c]));
    return out;
  }
  ADD_FAILURE() << "no column " << name;
  return out;
}

std::vector<std::string> names(const QueryResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.schema) out.push_back(c.name);
  return out;
}

std::string scalar(std::string_view expression) {
  const auto r = run_ok("print v = " + std::string(expression));
  if (r.rows.size() != 1) return "<no row>";
  return r.rows[0][0].is_null() ? "<null>" : to_display_string(r.rows[0][0]);
}

using Strings = std::vector<std::string>;

// ---- values ----

TEST(KqlValue, DatetimeFormatsWithSevenFractionDigits) {
  auto dt = parse_datetime("2020-08-30T06:38:35.7664356Z");
  ASSERT_TRUE(dt);
  EXPECT_EQ(format_datetime(*dt), "2020-08-30T06:38:35.7664356Z");
  EXPECT_EQ(format_datetime(*parse_datetime("2020-08-30")), "2020-08-30T00:00:00.0000000Z");
  EXPECT_EQ(format_datetime(*parse_datetime("2020-08-30 01:02:03+02:00")), "2020-08-29T23:02:03.0000000Z");
  EXPECT_EQ(format_datetime(*parse_datetime("1969-12-31T23:59:59.5Z")), "1969-12-31T23:59:59.5000000Z");
  EXPECT_FALSE(parse_datetime("2020-13-01"));
  EXPECT_FALSE(parse_datetime("yesterday"));
}

TEST(KqlValue, TimespanParsesLiteralsAndFormats) {
  EXPECT_EQ(parse_timespan("1d")->ticks, k_ticks_per_day);
  EXPECT_EQ(parse_timespan("2h")->ticks, 2 * 3600 * k_ticks_per_second);
  EXPECT_EQ(parse_timespan("100ms")->ticks, 1'000'000);
  EXPECT_EQ(parse_timespan("1.5h")->ticks, 5400 * k_ticks_per_second);
  EXPECT_EQ(format_timespan(TimeSpan{(86400 + 3723) * k_ticks_per_second + 5}), "1.01:02:03.0000005");
  EXPECT_EQ(format_timespan(TimeSpan{-30 * k_ticks_per_second}), "-00:00:30");
  EXPECT_EQ(parse_timespan("1.02:03:04")->ticks, (86400 + 7384) * k_ticks_per_second);
  EXPECT_FALSE(parse_timespan("3 parsecs"));
}

TEST(KqlValue, TypeNamesAreDefenders) {
  EXPECT_EQ(type_name(Type::datetime), "DateTime");
  EXPECT_EQ(type_name(Type::string), "String");
  EXPECT_EQ(type_name(Type::int32), "Int32");
  EXPECT_EQ(type_name(Type::int64), "Int64");
  EXPECT_EQ(type_name(Type::real), "Double");
  EXPECT_EQ(type_name(Type::boolean), "Boolean");
  EXPECT_EQ(type_name(Type::dynamic), "Object");
  EXPECT_EQ(type_name(Type::timespan), "TimeSpan");
  EXPECT_EQ(type_name(Type::guid), "Guid");
}

// ---- parser and errors ----

TEST(KqlErrors, SyntaxErrorNamesTokenAndPosition) {
  const Error e = run_err("Events\n| where Size > > 3");
  EXPECT_EQ(e.code, "SyntaxError");
  EXPECT_EQ(e.kind, ErrorKind::invalid_request);
  EXPECT_EQ(e.message, "Query could not be parsed at '>' on line [2,16] (expected an expression)");
}

TEST(KqlErrors, UnterminatedStringIsASyntaxError) {
  const Error e = run_err("Events | where FileName == 'cmd");
  EXPECT_EQ(e.code, "SyntaxError");
  EXPECT_NE(e.message.find("line [1,28]"), std::string::npos) << e.message;
}

TEST(KqlErrors, UnknownColumnIsASemanticErrorWithPosition) {
  const Error e = run_err("Events | where Nope == 1");
  EXPECT_EQ(e.code, "SemanticError");
  EXPECT_EQ(e.message,
            "Fix semantic errors in your query: 'where' operator: Failed to resolve column or scalar expression "
            "named 'Nope' on line [1,16]");
}

TEST(KqlErrors, UnknownTableIsASemanticError) {
  const Error e = run_err("NoSuchTable | take 1");
  EXPECT_EQ(e.code, "SemanticError");
  EXPECT_NE(e.message.find("Failed to resolve table or column expression named 'NoSuchTable'"), std::string::npos);
  EXPECT_NE(e.message.find("line [1,1]"), std::string::npos);
}

TEST(KqlErrors, WrongArgumentTypesAreSemanticErrors) {
  EXPECT_EQ(run_err("Events | where Size > 'big'").code, "SemanticError");
  EXPECT_EQ(run_err("Events | extend x = ago('yesterday')").code, "SemanticError");
  EXPECT_EQ(run_err("Events | extend x = substring(FileName, 'a')").code, "SemanticError");
  EXPECT_EQ(run_err("Events | extend x = strlen(FileName, 1)").code, "SemanticError");
  EXPECT_EQ(run_err("Events | where Size").code, "SemanticError");
  EXPECT_EQ(run_err("Events | extend c = count()").code, "SemanticError");
  EXPECT_EQ(run_err("Events | extend x = FileName.foo").code, "SemanticError");
}

TEST(KqlErrors, OperatorsOutsideTheSubsetAreNotSupported) {
  for (const char* q : {"Events | parse FileName with a '.' b", "Events | make-series count() on Timestamp step 1h",
                        "Events | evaluate bag_unpack(Extra)", "externaldata(a:string) [@'https://x'] ",
                        "Events | render timechart", "Events | lookup Devices on DeviceName",
                        "Events | mv-apply x = Extra on (take 1)", "Events | extend x = percentile(Size, 50)",
                        "Events | summarize percentile(Size, 50)", "let f = (x:long) { x + 1 }; Events",
                        "Events | join kind=fullouter Devices on DeviceName", "Events | where FileName like 'x'",
                        "set notruncation; Events", "union Event*", "Events | extend x = format_datetime(Timestamp, 'yy')"}) {
    auto r = run(q, small_catalog(), options());
    ASSERT_FALSE(r) << q;
    EXPECT_EQ(r.error().code, "NotSupported") << q << " -> " << r.error().message;
    EXPECT_EQ(r.error().message.rfind("not supported: ", 0), 0u) << r.error().message;
  }
}

TEST(KqlErrors, ParserRejectsWithoutCrashingOnGarbage) {
  for (const char* q : {"", "|", "Events |", "Events | where", "Events | where (", "let", "let x =", "Events | take",
                        "Events | summarize by", "Events | join", "Events | project", "print 'a", "Events | where a in (",
                        "Events | where x between (1 .. )", "Events | order", "Events | top 3", "@", "Events | extend = 1",
                        "dynamic([1,2", "datetime(2020-99-99)", "print x = 1d2", ")))", "Events | where [",
                        "print 0x", "print 99999999999999999999999"}) {
    auto r = run(q, small_catalog(), options());
    EXPECT_FALSE(r) << q;
  }
}

TEST(KqlErrors, LimitsOnQuerySizeNestingRowsAndTime) {
  QueryOptions o = options();
  o.max_query_length = 10;
  auto r = run("Events | take 1", small_catalog(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "LimitExceeded");

  std::string deep = "print x = ";
  for (int i = 0; i < 200; ++i) deep += "(";
  deep += "1";
  for (int i = 0; i < 200; ++i) deep += ")";
  r = run(deep, small_catalog(), options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "LimitExceeded");

  o = options();
  o.max_rows = 3;
  r = run("Events", small_catalog(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "ResultTooLarge");
  EXPECT_EQ(r.error().message.rfind("Query result exceeded the limit of 3 rows", 0), 0u);
  EXPECT_TRUE(run("Events | take 3", small_catalog(), o));

  o = options();
  o.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  r = run("Events | where Size > 1", small_catalog(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::timeout);

  std::atomic<bool> cancel{true};
  o = options();
  o.cancel = &cancel;
  r = run("Events | count", small_catalog(), o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::cancelled);
}

TEST(KqlErrors, LongChainsAndHugeValuesFailCleanly) {
  std::string chain = "print x = 1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  auto r = run(chain, small_catalog(), options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "LimitExceeded");
  std::string ors = "Events | where FileName == 'a'";
  for (int i = 0; i < 300; ++i) ors += " or FileName == 'f" + std::to_string(i) + "'";
  EXPECT_TRUE(run(ors, small_catalog(), options()));

  const std::string long_text(20000, 'a');
  r = run("print x = '" + long_text + "' matches regex 'a+'", small_catalog(), options());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "NotSupported");
  EXPECT_EQ(scalar("datetime(9999-12-31) + 10000000d"), "<null>");
  EXPECT_EQ(scalar("tostring(pack_array('a\xff'))"), "[\"a\xef\xbf\xbd\"]");  // invalid UTF-8 is replaced
  EXPECT_EQ(run_err("print x = 99999999999999999d").code, "SyntaxError");
}

TEST(KqlParser, ParsesLetsCommentsAndStringForms) {
  auto q = parse_query("// hunting\nlet a = 1; let t = Events | take 1;\n t | where FileName == @'c:\\x' or FileName == \"q\\\"\"",
                       [](std::string_view n) { return n == "Events"; });
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_EQ(q->lets.size(), 2u);
  EXPECT_TRUE(q->lets[0].scalar);
  EXPECT_TRUE(q->lets[1].tabular);
  ASSERT_TRUE(q->body);
  EXPECT_EQ(q->body->name, "t");
  ASSERT_EQ(q->body->ops.size(), 1u);
  const Expr& pred = *q->body->ops[0].predicate;
  EXPECT_EQ(pred.op, BinOp::or_);
  EXPECT_EQ(pred.args[0]->args[1]->literal.as_string(), "c:\\x");
  EXPECT_EQ(pred.args[1]->args[1]->literal.as_string(), "q\"");
}

// ---- tabular operators ----

TEST(KqlOperators, WhereProjectExtend) {
  auto r = run_ok("Events | where Size >= 100 | project DeviceName, Big = Size * 2 | extend Half = Big / 2");
  EXPECT_EQ(names(r), (Strings{"DeviceName", "Big", "Half"}));
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"alpha", "beta"}));
  EXPECT_EQ(col(r, "Big"), (Strings{"200", "500"}));
  EXPECT_EQ(col(r, "Half"), (Strings{"100", "250"}));
  EXPECT_EQ(r.schema[1].type, Type::int64);
}

TEST(KqlOperators, ExtendSeesEarlierItemsAndReplacesColumns) {
  auto r = run_ok("Events | take 1 | extend a = Size + 1, b = a * 10, Size = 0 | project Size, a, b");
  EXPECT_EQ(col(r, "Size"), (Strings{"0"}));
  EXPECT_EQ(col(r, "b"), (Strings{"1010"}));
  r = run_ok("Events | take 1 | extend tolower(FileName), Extra.a.b");
  EXPECT_EQ(names(r).back(), "Extra_a_b");
  EXPECT_EQ(names(r)[names(r).size() - 2], "Column1");
}

TEST(KqlOperators, ProjectAwayKeepRename) {
  auto r = run_ok("Events | project-away Extra, S* | take 1");
  EXPECT_EQ(names(r), (Strings{"Timestamp", "DeviceName", "FileName", "Port", "Ok"}));
  r = run_ok("Events | project-keep *Name | take 1");
  EXPECT_EQ(names(r), (Strings{"DeviceName", "FileName"}));
  r = run_ok("Events | project-rename Host = DeviceName | project Host | take 1");
  EXPECT_EQ(col(r, "Host"), (Strings{"alpha"}));
  EXPECT_EQ(run_err("Events | project-away Nope").code, "SemanticError");
  EXPECT_EQ(run_err("Events | project-rename A = Nope").code, "SemanticError");
}

TEST(KqlOperators, SummarizeAggregates) {
  auto r = run_ok(
      "Events | summarize n = count(), big = countif(Size > 60), d = dcount(FileName), total = sum(Size), "
      "mean = avg(Size), lo = min(Size), hi = max(Timestamp), files = make_set(FileName), ports = make_list(Port) "
      "by DeviceName | order by DeviceName asc");
  EXPECT_EQ(names(r), (Strings{"DeviceName", "n", "big", "d", "total", "mean", "lo", "hi", "files", "ports"}));
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"alpha", "beta", "gamma"}));
  EXPECT_EQ(col(r, "n"), (Strings{"2", "1", "1"}));
  EXPECT_EQ(col(r, "big"), (Strings{"1", "1", "0"}));
  EXPECT_EQ(col(r, "d"), (Strings{"2", "1", "1"}));
  EXPECT_EQ(col(r, "total"), (Strings{"150", "250", "0"}));
  EXPECT_EQ(col(r, "mean"), (Strings{"75", "250", "<null>"}));
  EXPECT_EQ(col(r, "lo"), (Strings{"50", "250", "<null>"}));
  EXPECT_EQ(col(r, "hi")[0], format_datetime(at_minutes_ago(10)));
  EXPECT_EQ(col(r, "files")[0], "[\"cmd.exe\",\"PowerShell.EXE\"]");
  EXPECT_EQ(col(r, "ports")[0], "[443,443]");
  EXPECT_EQ(r.schema[1].type, Type::int64);
  EXPECT_EQ(r.schema[5].type, Type::real);
  EXPECT_EQ(r.schema[7].type, Type::datetime);
  EXPECT_EQ(r.schema[8].type, Type::dynamic);
}

TEST(KqlOperators, SummarizeDefaultNamesAndNoKeys) {
  auto r = run_ok("Events | summarize count(), sum(Size), make_set(DeviceName), dcount(Port)");
  EXPECT_EQ(names(r), (Strings{"count_", "sum_Size", "set_DeviceName", "dcount_Port"}));
  EXPECT_EQ(col(r, "count_"), (Strings{"4"}));
  r = run_ok("Events | where Size > 100000 | summarize count()");
  EXPECT_EQ(col(r, "count_"), (Strings{"0"}));
  r = run_ok("Events | where Size > 100000 | summarize count() by DeviceName");
  EXPECT_TRUE(r.rows.empty());
}

TEST(KqlOperators, SummarizeByBinAndNamedKeys) {
  auto r = run_ok("Events | summarize c = count() by bin(Timestamp, 1d), Kind = tolower(FileName) | order by Kind asc");
  EXPECT_EQ(names(r), (Strings{"Timestamp", "Kind", "c"}));
  EXPECT_EQ(col(r, "Kind"), (Strings{"cmd.exe", "notepad.exe", "powershell.exe"}));
  EXPECT_EQ(col(r, "c"), (Strings{"1", "1", "2"}));
  EXPECT_EQ(col(r, "Timestamp")[0], "2024-05-01T00:00:00.0000000Z");
  r = run_ok("Events | summarize by DeviceName | order by DeviceName desc");
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"gamma", "beta", "alpha"}));
}

TEST(KqlOperators, ArgMaxAndArgMin) {
  auto r = run_ok("Events | summarize arg_max(Timestamp, *) by DeviceName | order by DeviceName asc");
  EXPECT_EQ(names(r)[0], "DeviceName");
  EXPECT_EQ(names(r)[1], "Timestamp");
  EXPECT_EQ(col(r, "FileName"), (Strings{"cmd.exe", "powershell.exe", "notepad.exe"}));
  r = run_ok("Events | summarize arg_min(Size, FileName, Port) by DeviceName | order by DeviceName asc");
  EXPECT_EQ(names(r), (Strings{"DeviceName", "Size", "FileName", "Port"}));
  EXPECT_EQ(col(r, "FileName")[0], "PowerShell.EXE");
  EXPECT_EQ(col(r, "Port")[0], "443");
}

TEST(KqlOperators, TopTakeOrderNulls) {
  auto r = run_ok("Events | top 2 by Size");
  EXPECT_EQ(col(r, "Size"), (Strings{"250", "100"}));
  r = run_ok("Events | top 2 by Size asc");
  EXPECT_EQ(col(r, "Size"), (Strings{"<null>", "50"}));
  r = run_ok("Events | order by Size asc nulls last");
  EXPECT_EQ(col(r, "Size"), (Strings{"50", "100", "250", "<null>"}));
  r = run_ok("Events | sort by Size desc");
  EXPECT_EQ(col(r, "Size"), (Strings{"250", "100", "50", "<null>"}));
  r = run_ok("Events | order by DeviceName asc, Size desc | project DeviceName, Size");
  EXPECT_EQ(col(r, "Size"), (Strings{"100", "50", "250", "<null>"}));
  EXPECT_EQ(run_ok("Events | take 2").rows.size(), 2u);
  EXPECT_EQ(run_ok("Events | limit 0").rows.size(), 0u);
  EXPECT_EQ(run_ok("Events | take 100").rows.size(), 4u);
}

TEST(KqlOperators, DistinctAndCount) {
  auto r = run_ok("Events | distinct DeviceName, Port | count");
  EXPECT_EQ(names(r), (Strings{"Count"}));
  EXPECT_EQ(col(r, "Count"), (Strings{"3"}));
  r = run_ok("Events | distinct DeviceName | order by DeviceName asc");
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"alpha", "beta", "gamma"}));
  r = run_ok("Devices | project Os | distinct * | count");
  EXPECT_EQ(col(r, "Count"), (Strings{"3"}));
}

TEST(KqlOperators, JoinKinds) {
  // Default: innerunique keeps one left row per key, then matches every right row.
  auto r = run_ok("Events | join Devices on DeviceName | project DeviceName, FileName, Owner, DeviceName1");
  EXPECT_EQ(col(r, "Owner"), (Strings{"alice", "bob", "bob2"}));
  EXPECT_EQ(col(r, "FileName"), (Strings{"cmd.exe", "powershell.exe", "powershell.exe"}));
  EXPECT_EQ(col(r, "DeviceName1"), (Strings{"alpha", "beta", "beta"}));
  r = run_ok("Events | join kind=inner Devices on DeviceName");
  EXPECT_EQ(r.rows.size(), 4u);
  r = run_ok("Events | join kind=leftouter Devices on DeviceName | project DeviceName, Owner");
  EXPECT_EQ(col(r, "Owner"), (Strings{"alice", "bob", "bob2", "alice", "<null>"}));
  r = run_ok("Events | join kind=leftanti Devices on DeviceName");
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"gamma"}));
  EXPECT_EQ(names(r).size(), 8u);
  r = run_ok("Events | join kind=leftsemi (Devices | where Os == 'Linux') on DeviceName");
  EXPECT_EQ(col(r, "FileName"), (Strings{"powershell.exe"}));
  r = run_ok("Devices | project Host = DeviceName, Owner | join kind=inner (Events | project DeviceName, FileName) "
             "on $left.Host == $right.DeviceName | project Owner, FileName");
  EXPECT_EQ(r.rows.size(), 4u);
  r = run_ok("Events | join kind=rightanti Devices on DeviceName");
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"delta"}));
  EXPECT_EQ(run_err("Events | join Devices on Owner").code, "SemanticError");
}

TEST(KqlOperators, UnionTablesAndSubqueries) {
  auto r = run_ok("union withsource=Src Devices, (Events | project DeviceName, FileName | take 1)");
  EXPECT_EQ(names(r), (Strings{"Src", "DeviceName", "Os", "Owner", "FileName"}));
  EXPECT_EQ(col(r, "Src"), (Strings{"Devices", "Devices", "Devices", "Devices", "union_arg1"}));
  EXPECT_EQ(col(r, "FileName").back(), "cmd.exe");
  EXPECT_EQ(col(r, "Os").back(), "<null>");
  r = run_ok("Devices | union Devices | count");
  EXPECT_EQ(col(r, "Count"), (Strings{"8"}));
  r = run_ok("union (print a = 1), (print a = 'x')");
  EXPECT_EQ(names(r), (Strings{"a", "a_string"}));
}

TEST(KqlOperators, MvExpand) {
  auto r = run_ok("Events | project DeviceName, L = Extra.list | mv-expand L | project DeviceName, L");
  // An empty array expands to no record (beta); a null to one null record (gamma).
  EXPECT_EQ(col(r, "DeviceName"), (Strings{"alpha", "alpha", "alpha", "alpha", "gamma"}));
  EXPECT_EQ(col(r, "L"), (Strings{"1", "2", "3", "x", "<null>"}));
  r = run_ok("Events | mv-expand Item = Extra.list to typeof(long) | where Item > 1 | project Item");
  EXPECT_EQ(col(r, "Item"), (Strings{"2", "3"}));
  EXPECT_EQ(r.schema[0].type, Type::int64);
}

TEST(KqlOperators, LetScalarAndTabular) {
  auto r = run_ok("let minSize = 60; let big = Events | where Size > minSize; big | count");
  EXPECT_EQ(col(r, "Count"), (Strings{"2"}));
  r = run_ok("let names = dynamic(['alpha', 'gamma']); Events | where DeviceName in (names) | count");
  EXPECT_EQ(col(r, "Count"), (Strings{"3"}));
  r = run_ok("let linux = Devices | where Os == 'Linux' | project DeviceName; Events | where DeviceName in (linux) | count");
  EXPECT_EQ(col(r, "Count"), (Strings{"1"}));
  r = run_ok("let m = toscalar(Events | summarize max(Size)); Events | where Size == m | project FileName");
  EXPECT_EQ(col(r, "FileName"), (Strings{"powershell.exe"}));
}

// ---- scalar operators and functions ----

TEST(KqlScalars, ComparisonsAndLogic) {
  EXPECT_EQ(scalar("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 != 2 and 1 == 1"), "true");
  EXPECT_EQ(scalar("'a' == 'A'"), "false");
  EXPECT_EQ(scalar("'a' =~ 'A'"), "true");
  EXPECT_EQ(scalar("'a' !~ 'A'"), "false");
  EXPECT_EQ(scalar("not(1 == 2) or false"), "true");
  EXPECT_EQ(scalar("1 == 1.0"), "true");
  EXPECT_EQ(scalar("long(null) == 1"), "<null>");
}

TEST(KqlScalars, Arithmetic) {
  EXPECT_EQ(scalar("7 / 2"), "3");
  EXPECT_EQ(scalar("7 % 3"), "1");
  EXPECT_EQ(scalar("7 / 2.0"), "3.5");
  EXPECT_EQ(scalar("-(3 - 5) * 2"), "4");
  EXPECT_EQ(scalar("1 / 0"), "<null>");
  EXPECT_EQ(scalar("datetime(2024-01-02) - datetime(2024-01-01)"), "1.00:00:00");
  EXPECT_EQ(scalar("datetime(2024-01-01) + 1h"), "2024-01-01T01:00:00.0000000Z");
  EXPECT_EQ(scalar("datetime(2024-01-01) - 30m"), "2023-12-31T23:30:00.0000000Z");
  EXPECT_EQ(scalar("2h / 30m"), "4");
  EXPECT_EQ(scalar("10s * 3"), "00:00:30");
  EXPECT_EQ(scalar("100ms + 1s"), "00:00:01.1000000");
}

TEST(KqlScalars, StringOperators) {
  EXPECT_EQ(scalar("'powershell.exe -enc abc' has 'enc'"), "true");
  EXPECT_EQ(scalar("'powershell.exe -encoded' has 'enc'"), "false");
  EXPECT_EQ(scalar("'C:\\\\Windows\\\\cmd.exe' has 'CMD.EXE'"), "true");
  EXPECT_EQ(scalar("'abc' !has 'b'"), "true");
  EXPECT_EQ(scalar("'Hello World' contains 'LO w'"), "true");
  EXPECT_EQ(scalar("'Hello' !contains 'x'"), "true");
  EXPECT_EQ(scalar("'Hello' startswith 'he'"), "true");
  EXPECT_EQ(scalar("'Hello' endswith 'LO'"), "true");
  EXPECT_EQ(scalar("'Hello' contains_cs 'hello'"), "false");
  EXPECT_EQ(scalar("'cmd /c whoami' has_any ('whoami', 'net')"), "true");
  EXPECT_EQ(scalar("'cmd /c dir' has_any ('whoami', 'net')"), "false");
  EXPECT_EQ(scalar("'b' in ('a', 'b')"), "true");
  EXPECT_EQ(scalar("'B' in ('a', 'b')"), "false");
  EXPECT_EQ(scalar("'B' in~ ('a', 'b')"), "true");
  EXPECT_EQ(scalar("'c' !in ('a', 'b')"), "true");
  EXPECT_EQ(scalar("5 in (1, 5, 7)"), "true");
  EXPECT_EQ(scalar("5 between (1 .. 5)"), "true");
  EXPECT_EQ(scalar("6 !between (1 .. 5)"), "true");
  EXPECT_EQ(scalar("datetime(2024-01-01 12:00) between (datetime(2024-01-01) .. 1d)"), "true");
  EXPECT_EQ(scalar("'abc123' matches regex '[a-z]+[0-9]+'"), "true");
  EXPECT_EQ(scalar("'ABC' matches regex '^[a-z]+$'"), "false");
}

TEST(KqlScalars, TimeFunctions) {
  EXPECT_EQ(scalar("now()"), "2024-05-01T12:00:00.0000000Z");
  EXPECT_EQ(scalar("ago(1d)"), "2024-04-30T12:00:00.0000000Z");
  EXPECT_EQ(scalar("now(-2h)"), "2024-05-01T10:00:00.0000000Z");
  EXPECT_EQ(scalar("bin(datetime(2024-05-01 11:47:13), 1h)"), "2024-05-01T11:00:00.0000000Z");
  EXPECT_EQ(scalar("bin(17, 5)"), "15");
  EXPECT_EQ(scalar("bin(4.7, 0.5)"), "4.5");
  EXPECT_EQ(scalar("datetime('2020-08-30T06:38:35.7664356Z')"), "2020-08-30T06:38:35.7664356Z");
  EXPECT_EQ(scalar("todatetime('2020-08-30')"), "2020-08-30T00:00:00.0000000Z");
  EXPECT_EQ(scalar("startofday(datetime(2024-05-01 11:47))"), "2024-05-01T00:00:00.0000000Z");
  EXPECT_EQ(run_ok("Events | where Timestamp > ago(1h) | count").rows[0][0].as_long(), 1);
}

TEST(KqlScalars, Conversions) {
  EXPECT_EQ(scalar("tostring(12)"), "12");
  EXPECT_EQ(scalar("toint('42')"), "42");
  EXPECT_EQ(scalar("tolong('x')"), "<null>");
  EXPECT_EQ(scalar("todouble('1.25')"), "1.25");
  EXPECT_EQ(scalar("toreal(3)"), "3");
  EXPECT_EQ(scalar("tostring(1.5)"), "1.5");
  EXPECT_EQ(scalar("tobool('true')"), "true");
  auto r = run_ok("print a = toint('1'), b = tolong(1), c = todouble(1), d = tostring(1)");
  EXPECT_EQ(r.schema[0].type, Type::int32);
  EXPECT_EQ(r.schema[1].type, Type::int64);
  EXPECT_EQ(r.schema[2].type, Type::real);
  EXPECT_EQ(r.schema[3].type, Type::string);
}

TEST(KqlScalars, StringFunctions) {
  EXPECT_EQ(scalar("strcat('a', 1, 'b', true)"), "a1btrue");
  EXPECT_EQ(scalar("tolower('AbC')"), "abc");
  EXPECT_EQ(scalar("toupper('AbC')"), "ABC");
  EXPECT_EQ(scalar("strlen('héllo')"), "5");
  EXPECT_EQ(scalar("substring('abcdef', 2)"), "cdef");
  EXPECT_EQ(scalar("substring('abcdef', 1, 3)"), "bcd");
  EXPECT_EQ(scalar("substring('abc', 10, 3)"), "");
  EXPECT_EQ(scalar("split('a,b,,c', ',')"), "[\"a\",\"b\",\"\",\"c\"]");
  EXPECT_EQ(scalar("split('a,b,c', ',', 1)"), "[\"b\"]");
  EXPECT_EQ(scalar("split('a,b,c', ',')[2]"), "c");
  EXPECT_EQ(scalar("extract('([0-9]+)\\\\.([0-9]+)', 2, 'version 10.42')"), "42");
  EXPECT_EQ(scalar("extract(@'(\\d+)', 1, 'no digits')"), "");
  EXPECT_EQ(scalar("replace_string('a.b.c', '.', '-')"), "a-b-c");
  EXPECT_EQ(run_err("print extract('(', 1, 'x')").code, "NotSupported");
}

TEST(KqlScalars, ConditionalsAndEmptiness) {
  EXPECT_EQ(scalar("iff(1 > 2, 'yes', 'no')"), "no");
  EXPECT_EQ(scalar("iif(true, 1, 2.5)"), "1");
  EXPECT_EQ(scalar("case(1 > 2, 'a', 2 > 1, 'b', 'c')"), "b");
  EXPECT_EQ(scalar("case(false, 'a', 'c')"), "c");
  EXPECT_EQ(scalar("isempty('')"), "true");
  EXPECT_EQ(scalar("isempty(long(null))"), "true");
  EXPECT_EQ(scalar("isnotempty('x')"), "true");
  EXPECT_EQ(scalar("isnull(long(null))"), "true");
  EXPECT_EQ(scalar("isnotnull(1)"), "true");
  EXPECT_EQ(scalar("isnull('')"), "false");
  EXPECT_EQ(scalar("coalesce('', 'b')"), "b");
  auto r = run_ok("Events | extend s = iff(Size > 60, 'big', 'small') | project s");
  EXPECT_EQ(col(r, "s"), (Strings{"big", "big", "small", "small"}));
  EXPECT_EQ(run_err("print iff(1, 2, 3)").code, "SemanticError");
}

TEST(KqlScalars, DynamicAccess) {
  EXPECT_EQ(scalar("parse_json('{\"a\":{\"b\":[10,20]}}').a.b[1]"), "20");
  EXPECT_EQ(scalar("parse_json('{\"a\":{\"b\":[10,20]}}')['a']['b'][-1]"), "20");
  EXPECT_EQ(scalar("todynamic('[1,2,3]')[0] + 1"), "2");
  EXPECT_EQ(scalar("parse_json('{\"k\":\"v\"}').missing"), "<null>");
  EXPECT_EQ(scalar("tostring(parse_json('{\"k\":\"v\"}').k)"), "v");
  EXPECT_EQ(scalar("array_length(dynamic([1, 2, 3]))"), "3");
  EXPECT_EQ(scalar("dynamic({\"a\": 1}).a == 1"), "true");
  auto r = run_ok("Events | where Extra.a.b == 'deep' | project FileName");
  EXPECT_EQ(col(r, "FileName"), (Strings{"cmd.exe"}));
  r = run_ok("Events | where tostring(Extra['a']['b']) has 'other' | project FileName");
  EXPECT_EQ(col(r, "FileName"), (Strings{"powershell.exe"}));
}

// ---- rendering ----

TEST(KqlRender, DefenderShape) {
  auto r = run_ok("Events | where DeviceName == 'alpha' | project Timestamp, DeviceName, Size, Ok, Extra | take 1");
  const auto j = to_defender_json(r);
  const std::string text = j.dump();
  EXPECT_EQ(text.find("{\"Stats\":{\"ExecutionTime\":"), 0u) << text;
  EXPECT_EQ(j["Schema"][0], (nlohmann::ordered_json{{"Name", "Timestamp"}, {"Type", "DateTime"}}));
  EXPECT_EQ(j["Schema"][1]["Type"], "String");
  EXPECT_EQ(j["Schema"][2]["Type"], "Int64");
  EXPECT_EQ(j["Schema"][3]["Type"], "Boolean");
  EXPECT_EQ(j["Schema"][4]["Type"], "Object");
  EXPECT_EQ(j["Results"][0]["Timestamp"], "2024-05-01T11:50:00.0000000Z");
  EXPECT_EQ(j["Results"][0]["Size"], 100);
  EXPECT_EQ(j["Results"][0]["Ok"], true);
  EXPECT_EQ(j["Results"][0]["Extra"]["a"]["b"], "deep");
  EXPECT_TRUE(j["Stats"].contains("dataset_statistics"));
  EXPECT_EQ(j["Stats"]["dataset_statistics"][0]["table_row_count"], 1);
}

TEST(KqlRender, GraphShape) {
  auto r = run_ok("Events | summarize c = count() by DeviceName | order by DeviceName asc | take 1");
  const auto j = to_graph_json(r);
  EXPECT_EQ(j["schema"][0], (nlohmann::ordered_json{{"name", "DeviceName"}, {"type", "String"}}));
  EXPECT_EQ(j["results"][0]["c"], 2);
  EXPECT_FALSE(j.contains("Schema"));
}

TEST(KqlStats, CountsScannedRows) {
  auto r = run_ok("Events | join (Devices) on DeviceName | count");
  EXPECT_EQ(r.stats.rows_scanned, 8u);
  ASSERT_EQ(r.stats.tables.size(), 2u);
  EXPECT_EQ(r.stats.tables[0].table, "Events");
}

} // namespace
} // namespace xdr::emulator::kql
