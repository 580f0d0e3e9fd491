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
