#pragma once
// Formatting shared by the commands: times, relative durations, aligned fields, token reading.

#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <xdr/util/clock.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/result.hpp>

namespace xdr::cli {

// "2026-01-01T00:59:00Z".
std::string format_time(util::TimePoint tp);
// "in 59 min", "3 min ago", "in 45 s", "in 2 h 5 min", "in 3 d 4 h", "now".
std::string format_relative(util::TimePoint when, util::TimePoint now);
// "2026-01-01T00:59:00Z (in 59 min)".
std::string format_time_with_relative(util::TimePoint when, util::TimePoint now);

// Writes "name:  value" lines with the values aligned.
void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields);

// Writes rows as columns two spaces apart, each as wide as its widest cell (the first row is the header).
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// The token named by a command's argument: the argument itself, or standard input when it is "-"
// or empty. Surrounding whitespace and a "Bearer " prefix are removed. Errors (config) on empty input.
Result<std::string> read_token_argument(const std::string& argument, std::istream& in);

// A NumericDate claim (integer or fractional seconds) as a time; nullopt when absent or not a number.
std::optional<util::TimePoint> claim_time(const Json& claims, const char* name);
// A string claim; empty when absent or not a string.
std::string claim_string(const Json& claims, const char* name);
// The "roles" claim; empty when absent.
std::vector<std::string> claim_roles(const Json& claims);
// The "aud" claim, a string or the first of an array.
std::string claim_audience(const Json& claims);

} // namespace xdr::cli

namespace xdr::cli {

// --output: table (aligned, fits the terminal), json (one document), ndjson (one JSON object per line),
// csv (RFC 4180, a header line first).
enum class OutputFormat { table, json, ndjson, csv };
// Parses "table", "json", "ndjson", "csv"; nullopt otherwise.
std::optional<OutputFormat> parse_output_format(std::string_view text);

// One CSV field: quoted (with "" doubling) when it holds a comma, quote, CR or LF, or starts or ends with a space.
std::string csv_field(std::string_view text);
// Fields joined with commas and ended with CRLF (RFC 4180).
std::string csv_line(const std::vector<std::string>& fields);

// Columns of the terminal: COLUMNS from `env` when set, else the width of standard output when it is a
// terminal, else 120.
size_t terminal_width(const std::function<std::optional<std::string>(std::string_view)>& env);

// Display width of UTF-8 text (code points).
size_t display_width(std::string_view text);

// Prints `rows` under `headers`, two spaces between columns, every line at most `width` columns: the last
// column (free text) shrinks first, down to 20 columns; then the widest columns, not below their header,
// then (still too wide) not below 4. The first column (an id) is never cut. Cut cells and headers end with
// "…"; newlines and tabs in cells print as spaces; trailing spaces are dropped.
void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows, size_t width);

} // namespace xdr::cli
