#pragma once
// Redaction of URLs and headers before they reach a log line or an error message: only names
// on an allow list keep their values, everything else becomes REDACTED.

#include <set>
#include <string>
#include <string_view>

#include <xdr/http/transport.hpp>

namespace xdr::http {

inline constexpr std::string_view k_redacted = "REDACTED";

// Header names (lower case) whose values are never logged, even when allow-listed by mistake.
const std::set<std::string>& always_redacted_headers();

// `url` with user information removed, the fragment dropped and the value of every query
// parameter whose (decoded, case-insensitive) name is not in `allowed_query` replaced by REDACTED.
// Parameter names are kept so that a reader still sees the shape of the request.
std::string redact_url(std::string_view url, const std::set<std::string>& allowed_query = {});

// `text` with every value of a query parameter of `url` that is not allow-listed (raw or decoded,
// 4 characters or longer) replaced by REDACTED: for messages built by code we do not control.
std::string scrub_query_values(std::string text, std::string_view url, const std::set<std::string>& allowed_query = {});

// `value` when `name` is allow-listed (case-insensitive) and not always redacted, else REDACTED.
std::string redact_header_value(std::string_view name, std::string_view value,
                                const std::set<std::string>& allowed_headers);

// "name: value" pairs joined by ", ", values redacted as by redact_header_value.
std::string redact_headers(const Headers& headers, const std::set<std::string>& allowed_headers);

} // namespace xdr::http
