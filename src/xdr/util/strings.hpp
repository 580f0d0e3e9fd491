#pragma once
// String helpers with no xdrpartner knowledge: splitting, case, URL and form encoding, GUIDs.

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xdr::util {

std::vector<std::string_view> split(std::string_view text, char sep);
std::string_view trim(std::string_view text);
std::string to_lower(std::string_view text);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view text, std::string_view prefix);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string url_encode(std::string_view text);
// application/x-www-form-urlencoded: as url_encode, but a space becomes '+'.
std::string form_encode(std::string_view text);
// Decodes %XX (and '+' as space when `plus_as_space`); nullopt on a malformed escape.
std::optional<std::string> url_decode(std::string_view text, bool plus_as_space = true);

// Calls fn(name, value) for each non-empty '&'-separated part of "a=1&b&c=3" (a part without '=' has an
// empty value), still encoded; stops early when fn returns false. Returns false if fn did.
template <class Fn>
bool for_each_form_pair(std::string_view text, Fn&& fn) {
  for (size_t pos = 0; pos <= text.size();) {
    size_t amp = std::min(text.find('&', pos), text.size());
    std::string_view part = text.substr(pos, amp - pos);
    pos = amp + 1;
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view v = eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (!fn(part.substr(0, eq), v)) return false;
  }
  return true;
}

using FormFields = std::vector<std::pair<std::string, std::string>>;
// Parses "a=1&b=2"; nullopt on a malformed escape. Keys keep their order; duplicates are kept.
std::optional<FormFields> parse_form(std::string_view body);
std::string encode_form(const FormFields& fields);
// First value of `key`, if present.
std::optional<std::string> form_get(const FormFields& fields, std::string_view key);

// The value of a hexadecimal digit, or -1.
int hex_digit(char c);

// 8-4-4-4-12 hexadecimal, any case.
bool is_guid(std::string_view text);

} // namespace xdr::util
