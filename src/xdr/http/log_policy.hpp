#pragma once
// LoggingTransport: one line per attempt (method, redacted URL, status or error, latency), plus
// the allow-listed request and response headers at LogLevel::verbose. Bodies are never logged.
// Query parameters and headers not on the allow lists are written as REDACTED; Authorization,
// Proxy-Authorization, Cookie and Set-Cookie are always REDACTED, whatever the lists say.
//
// Lines look like:
//   info:    "HTTP GET https://host/api/incidents?$top=100&token=REDACTED -> 200 (42 ms)"
//            "HTTP GET https://host/api/incidents -> error transport: <message> (3 ms)"
//   verbose: "HTTP request headers: accept: application/json, authorization: REDACTED"
//            "HTTP response headers: content-type: application/json, x-ms-request-id: ..."

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <xdr/http/log.hpp>
#include <xdr/http/transport.hpp>

namespace xdr::http {

// Query parameters logged with their value (lower case).
const std::set<std::string>& default_allowed_query_params();
// Headers logged with their value (lower case).
const std::set<std::string>& default_allowed_headers();

struct LogOptions {
  Logger logger;
  std::set<std::string> allowed_query_params = default_allowed_query_params(); // lower case
  std::set<std::string> allowed_headers = default_allowed_headers();           // lower case
  // Monotonic time for latency; null: std::chrono::steady_clock::now.
  std::function<std::chrono::steady_clock::time_point()> now;
};

class LoggingTransport final : public Transport {
public:
  LoggingTransport(std::shared_ptr<Transport> next, LogOptions options);

  // Forwards `request` unchanged and logs the attempt; returns what the next transport returned.
  Result<Response> send(const Request& request) override;

private:
  std::shared_ptr<Transport> m_next;
  LogOptions m_options;
};

} // namespace xdr::http
