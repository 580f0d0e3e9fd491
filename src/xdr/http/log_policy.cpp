#include <xdr/http/log_policy.hpp>

#include <xdr/http/redact.hpp>

namespace xdr::http {

const std::set<std::string>& default_allowed_query_params() {
  static const std::set<std::string> k_names{"api-version", "$top",    "$skip",   "$filter",
                                             "$orderby",    "$select", "$expand", "$count"};
  return k_names;
}

const std::set<std::string>& default_allowed_headers() {
  static const std::set<std::string> k_names{
      "accept",           "accept-encoding",       "cache-control",
      "client-request-id", "connection",           "content-encoding",
      "content-length",   "content-type",          "date",
      "etag",             "expires",               "if-match",
      "if-modified-since", "if-none-match",        "if-unmodified-since",
      "last-modified",    "location",              "pragma",
      "request-id",       "retry-after",           "retry-after-ms",
      "server",           "traceparent",           "transfer-encoding",
      "user-agent",       "x-ms-ags-diagnostic",   "x-ms-client-request-id",
      "x-ms-request-id",  "x-ms-retry-after-ms",   "x-ms-return-client-request-id",
      "x-ms-throttle-limit-percentage", "x-ratelimit-remaining", "x-ratelimit-limit"};
  return k_names;
}

LoggingTransport::LoggingTransport(std::shared_ptr<Transport> next, LogOptions options)
    : m_next(std::move(next)), m_options(std::move(options)) {
  if (!m_next) throw Fatal("LoggingTransport needs a transport to wrap");
  if (!m_options.now) m_options.now = [] { return std::chrono::steady_clock::now(); };
}

Result<Response> LoggingTransport::send(const Request& request) {
  const Logger& logger = m_options.logger;
  if (!logger.enabled(LogLevel::info)) return m_next->send(request);

  std::string what = "HTTP " + request.method + " " + redact_url(request.url, m_options.allowed_query_params);
  if (logger.enabled(LogLevel::verbose))
    logger.write(LogLevel::verbose, "HTTP request headers: " + redact_headers(request.headers, m_options.allowed_headers));

  auto start = m_options.now();
  Result<Response> result = m_next->send(request);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(m_options.now() - start);
  std::string latency = " (" + std::to_string(elapsed.count()) + " ms)";

  if (result) {
    logger.write(LogLevel::info, what + " -> " + std::to_string(result->status) + latency);
    if (logger.enabled(LogLevel::verbose))
      logger.write(LogLevel::verbose,
                   "HTTP response headers: " + redact_headers(result->headers, m_options.allowed_headers));
  } else {
    // CurlTransport's messages carry no query values; other transports' might.
    std::string message = scrub_query_values(result.error().message, request.url, m_options.allowed_query_params);
    logger.write(LogLevel::info,
                 what + " -> error " + std::string(to_string(result.error().kind)) + ": " + message + latency);
  }
  return result;
}

} // namespace xdr::http
