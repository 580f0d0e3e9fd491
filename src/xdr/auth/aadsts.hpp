#pragma once
// Entra ID (AADSTS) error responses turned into xdr::Error values whose message says what to do.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/http/transport.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::auth {

// The JSON error body of an Entra ID token endpoint.
struct EntraError {
  std::string error;       // "invalid_client", "unauthorized_client", ...
  std::string description; // "AADSTS7000215: Invalid client secret provided. ...\r\nTrace ID: ..."
  std::vector<long long> codes;
  std::string trace_id;
  std::string correlation_id;
  std::string timestamp;
  std::string error_uri;

  // The AADSTS number: error_codes[0], else the one in the description, else 0.
  long long code() const;
};

// Parses an Entra error body; nullopt when it is not JSON with a string "error" member.
std::optional<EntraError> parse_entra_error(std::string_view body);

// The description's first line ("AADSTS700016: Application with identifier ..."), without the
// "Trace ID / Correlation ID / Timestamp" lines that follow it.
std::string first_line(std::string_view description);

// What a request was, so a message can name the app, tenant, authority and resource.
struct TokenErrorContext {
  std::string_view authority_host; // "https://login.microsoftonline.com"
  std::string_view cloud;          // "global", "gcc-high", ... (empty when unknown)
  std::string_view tenant;
  std::string_view client_id;
  std::string_view resource;
  std::string_view token_endpoint;
};

// Maps a non-2xx (or error-carrying) token response to an Error:
// - code "AADSTS<n>" (else the OAuth `error`), http_status, request_id = trace ID;
// - kind: invalid_client -> unauthorized; consent missing (700016) -> forbidden; unknown tenant ->
//   not_found; 429 / throttling codes -> rate_limited; 5xx -> server; retry_after from Retry-After;
// - message: advice first, then `Entra ID said: "<first line>"` and the trace ID.
Error map_token_error(const http::Response& response, const TokenErrorContext& context, util::TimePoint now);

// Retry-After as seconds ("120") or an HTTP-date (relative to `now`); nullopt when malformed.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, util::TimePoint now);

// True when the error means the app is not consented in (not installed into) the tenant.
bool is_consent_missing(const Error& error);

// The service's own first line kept in an auth error's message (empty when there is none).
std::string_view entra_summary(const Error& error);

// A multi-line explanation for people: message, code, HTTP status, trace ID, retry hint.
std::string describe_error(const Error& error);

} // namespace xdr::auth
