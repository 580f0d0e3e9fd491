#include <xdr/http/redact.hpp>

#include <xdr/util/strings.hpp>

namespace xdr::http {

const std::set<std::string>& always_redacted_headers() {
  static const std::set<std::string> k_names{"authorization", "proxy-authorization", "cookie", "set-cookie",
                                             "x-ms-authorization-auxiliary", "ocp-apim-subscription-key"};
  return k_names;
}

namespace {

bool contains_lower(const std::set<std::string>& names, std::string_view name) {
  return names.count(util::to_lower(name)) > 0;
}

} // namespace

std::string redact_url(std::string_view url, const std::set<std::string>& allowed_query) {
  if (auto hash = url.find('#'); hash != std::string_view::npos) url = url.substr(0, hash);
  std::string_view query;
  if (auto q = url.find('?'); q != std::string_view::npos) {
    query = url.substr(q + 1);
    url = url.substr(0, q);
  }

  std::string out;
  // Drop "user:password@" from the authority.
  auto scheme_end = url.find("://");
  size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  auto authority_end = url.find('/', authority_start);
  std::string_view authority = url.substr(authority_start, authority_end == std::string_view::npos
                                                               ? std::string_view::npos
                                                               : authority_end - authority_start);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    out.append(url.substr(0, authority_start));
    out.append(authority.substr(at + 1));
    if (authority_end != std::string_view::npos) out.append(url.substr(authority_end));
  } else {
    out.append(url);
  }

  if (query.empty()) return out;
  out += '?';
  bool first = true;
  for (std::string_view pair : util::split(query, '&')) {
    if (pair.empty()) continue;
    if (!first) out += '&';
    first = false;
    auto eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    auto name = util::url_decode(raw_name).value_or(std::string(raw_name));
    out.append(raw_name);
    if (eq == std::string_view::npos) continue;
    out += '=';
    if (contains_lower(allowed_query, name))
      out.append(pair.substr(eq + 1));
    else
      out.append(k_redacted);
  }
  return out;
}

std::string scrub_query_values(std::string text, std::string_view url, const std::set<std::string>& allowed_query) {
  if (auto hash = url.find('#'); hash != std::string_view::npos) url = url.substr(0, hash);
  auto q = url.find('?');
  if (q == std::string_view::npos) return text;
  auto replace_all = [&](std::string_view needle) {
    if (needle.size() < 4) return;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + k_redacted.size()))
      text.replace(pos, needle.size(), k_redacted);
  };
  for (std::string_view pair : util::split(url.substr(q + 1), '&')) {
    auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view raw_name = pair.substr(0, eq);
    if (contains_lower(allowed_query, util::url_decode(raw_name).value_or(std::string(raw_name)))) continue;
    std::string_view raw_value = pair.substr(eq + 1);
    replace_all(raw_value);
    if (auto decoded = util::url_decode(raw_value)) replace_all(*decoded);
  }
  return text;
}

std::string redact_header_value(std::string_view name, std::string_view value,
                                const std::set<std::string>& allowed_headers) {
  if (contains_lower(always_redacted_headers(), name) || !contains_lower(allowed_headers, name))
    return std::string(k_redacted);
  return std::string(value);
}

std::string redact_headers(const Headers& headers, const std::set<std::string>& allowed_headers) {
  std::string out;
  for (const auto& [name, value] : headers.items()) {
    if (!out.empty()) out += ", ";
    out += name;
    out += ": ";
    out += redact_header_value(name, value, allowed_headers);
  }
  return out;
}

} // namespace xdr::http
