#include <cli/output.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>

#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::cli {

std::string format_time(util::TimePoint tp) { return util::format_rfc3339(tp, 0); }

std::string format_relative(util::TimePoint when, util::TimePoint now) {
  const int64_t diff = std::chrono::duration_cast<std::chrono::seconds>(when - now).count();
  const int64_t s = diff < 0 ? -diff : diff;
  if (s < 1) return "now";
  std::string amount;
  if (s < 60) {
    amount = std::to_string(s) + " s";
  } else if (s < 3600) {
    amount = std::to_string(s / 60) + " min";
  } else if (s < 86400) {
    amount = std::to_string(s / 3600) + " h";
    if ((s % 3600) / 60 != 0) amount += " " + std::to_string((s % 3600) / 60) + " min";
  } else {
    amount = std::to_string(s / 86400) + " d";
    if ((s % 86400) / 3600 != 0) amount += " " + std::to_string((s % 86400) / 3600) + " h";
  }
  return diff > 0 ? "in " + amount : amount + " ago";
}

std::string format_time_with_relative(util::TimePoint when, util::TimePoint now) {
  return format_time(when) + " (" + format_relative(when, now) + ")";
}

void print_fields(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [name, value] : fields) width = std::max(width, name.size());
  for (const auto& [name, value] : fields) {
    out << name << ":" << std::string(width - name.size() + 2, ' ') << value << "\n";
  }
}

Result<std::string> read_token_argument(const std::string& argument, std::istream& in) {
  std::string text = argument;
  if (text.empty() || text == "-") {
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  std::string_view v = util::trim(text);
  if (util::istarts_with(v, "Bearer ")) v = util::trim(v.substr(7));
  if (v.empty())
    return fail(ErrorKind::config, "no token given: pass it as the argument, or '-' (or nothing) to read it from "
                                   "standard input, e.g. xdrpartner token get --raw --tenant T | xdrpartner token decode");
  return std::string(v);
}

std::optional<util::TimePoint> claim_time(const Json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end() || !it->is_number()) return std::nullopt;
  double v = it->get<double>();
  if (!std::isfinite(v) || v < 0 || v > 1e11) return std::nullopt;
  return util::from_unix(static_cast<int64_t>(v));
}

std::string claim_string(const Json& claims, const char* name) {
  auto it = claims.find(name);
  return it != claims.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> claim_roles(const Json& claims) {
  std::vector<std::string> roles;
  auto it = claims.find("roles");
  if (it == claims.end() || !it->is_array()) return roles;
  for (const auto& r : *it)
    if (r.is_string()) roles.push_back(r.get<std::string>());
  return roles;
}

std::string claim_audience(const Json& claims) {
  auto it = claims.find("aud");
  if (it == claims.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_array() && !it->empty() && it->front().is_string()) return it->front().get<std::string>();
  return {};
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

} // namespace xdr::cli

#include <sys/ioctl.h>
#include <unistd.h>

namespace xdr::cli {

std::optional<OutputFormat> parse_output_format(std::string_view text) {
  if (text == "table") return OutputFormat::table;
  if (text == "json") return OutputFormat::json;
  if (text == "ndjson") return OutputFormat::ndjson;
  if (text == "csv") return OutputFormat::csv;
  return std::nullopt;
}

std::string csv_field(std::string_view text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    line += csv_field(fields[i]);
  }
  return line + "\r\n";
}

size_t terminal_width(const std::function<std::optional<std::string>(std::string_view)>& env) {
  if (env) {
    if (auto columns = env("COLUMNS")) {
      try {
        const long v = std::stol(*columns);
        if (v >= 20 && v <= 10000) return static_cast<size_t>(v);
      } catch (const std::exception&) {
      }
    }
  }
  struct winsize ws {};
  if (::isatty(STDOUT_FILENO) && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 120;
}

size_t display_width(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

namespace {

// The first `width` columns of `text` (cut text ends with "…"), padded with spaces to `width` when `pad`.
std::string fit(std::string_view text, size_t width, bool pad) {
  std::string clean(text);
  for (char& c : clean)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  const size_t w = display_width(clean);
  if (w <= width) return pad ? clean + std::string(width - w, ' ') : clean;
  if (width == 0) return {};
  std::string out;
  size_t cols = 0;
  for (size_t i = 0; i < clean.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(clean[i]);
    if ((c & 0xC0) != 0x80) {
      if (cols == width - 1) break;
      ++cols;
    }
    out += clean[i];
  }
  return out + "\xE2\x80\xA6";
}

} // namespace

void print_table(std::ostream& out, const std::vector<std::string>& headers,
                 const std::vector<std::vector<std::string>>& rows, size_t width) {
  const size_t n = headers.size();
  if (n == 0) return;
  std::vector<size_t> widths(n), minimum(n);
  for (size_t c = 0; c < n; ++c) {
    widths[c] = display_width(headers[c]);
    for (const auto& row : rows)
      if (c < row.size()) widths[c] = std::max(widths[c], display_width(row[c]));
    minimum[c] = std::min(widths[c], std::max<size_t>(display_width(headers[c]), 4));
  }
  minimum[0] = widths[0]; // the first column names the row (an id): it is never cut
  auto total = [&] {
    size_t t = 2 * (n - 1);
    for (size_t w : widths) t += w;
    return t;
  };
  // The last column (free text: a name, a title) gives way first, down to 20 columns; then the widest.
  const size_t last_floor = std::max<size_t>(minimum[n - 1], std::min<size_t>(widths[n - 1], 20));
  while (n > 1 && total() > width && widths[n - 1] > last_floor) --widths[n - 1];
  auto shrink_widest = [&] {
    while (total() > width) {
      size_t widest = n;
      for (size_t c = 0; c < n; ++c)
        if (widths[c] > minimum[c] && (widest == n || widths[c] > widths[widest])) widest = c;
      if (widest == n) return; // every column at its minimum
      --widths[widest];
    }
  };
  shrink_widest();
  // Still too wide: headers are cut too, down to 4 columns (the first column stays whole).
  for (size_t c = 1; c < n; ++c) minimum[c] = std::min<size_t>(widths[c], 4);
  shrink_widest();
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t c = 0; c < n; ++c) {
      if (c) text += "  ";
      text += fit(c < cells.size() ? cells[c] : std::string(), widths[c], c + 1 < n);
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out << text << "\n";
  };
  line(headers);
  for (const auto& row : rows) line(row);
}

} // namespace xdr::cli
