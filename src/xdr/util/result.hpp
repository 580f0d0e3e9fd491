#pragma once
// The error model: expected failures are values (Result<T>), exceptions are for programming
// errors and bad startup configuration only (xdr::Fatal). See docs/coding-guidelines.md.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace xdr {

enum class ErrorKind {
  transport,        // connection refused, reset, TLS failure, DNS
  timeout,          // connect or total timeout
  rate_limited,     // 429 (retry_after set when the server said)
  unauthorized,     // 401, invalid_client and friends
  forbidden,        // 403, missing roles
  not_found,        // 404, unknown tenant
  server,           // 5xx
  invalid_response, // not the JSON we expected, truncated, HTML
  invalid_token,    // JWT validation failed
  invalid_request,  // 400 from a service, bad arguments
  config,           // configuration or usage error
  storage,          // database or file errors
  cancelled,        // stopped by the user
};

std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::config;
  std::string message;                       // a sentence: what happened and what to do
  std::string code;                          // service code: "AADSTS700016", "Forbidden", reason codes
  std::optional<int> http_status;            // when an HTTP response was received
  std::string request_id;                    // x-ms-request-id / trace id when known
  std::optional<std::chrono::seconds> retry_after;

  Error() = default;
  Error(ErrorKind k, std::string msg) : kind(k), message(std::move(msg)) {}
  Error& with_code(std::string c) { code = std::move(c); return *this; }
  Error& with_status(int s) { http_status = s; return *this; }
};

template <class T>
using Result = tl::expected<T, Error>;

using Status = tl::expected<void, Error>;

inline tl::unexpected<Error> fail(ErrorKind kind, std::string message) {
  return tl::unexpected<Error>(Error(kind, std::move(message)));
}
inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

// Programming errors and bad startup configuration; caught once at the top of a program.
class Fatal : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace xdr

#define XDR_CONCAT_INNER(a, b) a##b
#define XDR_CONCAT(a, b) XDR_CONCAT_INNER(a, b)

// Returns the error of `expr` from the enclosing function.
#define XDR_TRY(expr)                                                                              \
  do {                                                                                             \
    auto&& xdr_try_result_ = (expr);                                                               \
    if (!xdr_try_result_) return ::tl::unexpected(std::move(xdr_try_result_).error());             \
  } while (false)

// Declares `var` from the value of `expr`, or returns its error.
#define XDR_TRY_ASSIGN(var, expr)                                                                  \
  auto XDR_CONCAT(xdr_try_tmp_, __LINE__) = (expr);                                                \
  if (!XDR_CONCAT(xdr_try_tmp_, __LINE__))                                                         \
    return ::tl::unexpected(std::move(XDR_CONCAT(xdr_try_tmp_, __LINE__)).error());                \
  var = std::move(*XDR_CONCAT(xdr_try_tmp_, __LINE__))
