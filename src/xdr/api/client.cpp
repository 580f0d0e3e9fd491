#include <xdr/api/client.hpp>

#include <xdr/api/dialect.hpp>
#include <xdr/http/retry_policy.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::api {

namespace {

std::string status_text(int status) {
  switch (status) {
  case 400: return "400 Bad Request";
  case 401: return "401 Unauthorized";
  case 403: return "403 Forbidden";
  case 404: return "404 Not Found";
  case 429: return "429 Too Many Requests";
  case 500: return "500 Internal Server Error";
  case 502: return "502 Bad Gateway";
  case 503: return "503 Service Unavailable";
  case 504: return "504 Gateway Timeout";
  default: return "HTTP " + std::to_string(status);
  }
}

} // namespace

Error response_error(const http::Response& response, std::string_view operation, std::string_view tenant) {
  const int s = response.status;
  auto service = parse_service_error(response.body);
  ErrorKind kind = ErrorKind::server;
  std::string advice;
  if (s == 400) {
    kind = ErrorKind::invalid_request;
    advice = "the service refused the request as sent";
  } else if (s == 401) {
    kind = ErrorKind::unauthorized;
    advice = "the API refused the token: check that it is for this API's resource and has not expired "
             "(xdrpartner token get --tenant T shows its audience)";
  } else if (s == 403) {
    kind = ErrorKind::forbidden;
    advice = "the token lacks a permission: grant the application permission to the partner app, grant admin "
             "consent, and have the customer's administrator consent again";
  } else if (s == 404) {
    kind = ErrorKind::not_found;
    advice = "no such resource in this tenant";
  } else if (s == 429) {
    kind = ErrorKind::rate_limited;
    advice = "the tenant's API quota is used up; wait and retry";
  } else if (s >= 500) {
    kind = ErrorKind::server;
    advice = "the service failed; retry later";
  } else {
    kind = ErrorKind::invalid_response;
    advice = "an unexpected status";
  }
  std::string message = std::string(operation) + " for tenant " + std::string(tenant) + " failed with " + status_text(s);
  if (service) {
    message += ": " + (service->code.empty() ? std::string() : service->code + ": ") + service->message;
  } else if (!response.body.empty()) {
    message += " (received " + util::describe_body(response.body) + ")";
  }
  message += " (" + advice + ")";
  Error e(kind, std::move(message));
  e.http_status = s;
  if (service) {
    e.code = service->code;
    e.request_id = service->request_id;
  }
  if (auto ra = http::server_retry_delay(response.headers, std::chrono::system_clock::now()))
    e.retry_after = std::chrono::duration_cast<std::chrono::seconds>(*ra + std::chrono::milliseconds(999));
  return e;
}

namespace detail {

std::string origin_of(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const size_t end = url.find_first_of("/?#", scheme + 3);
  return util::to_lower(url.substr(0, end));
}

Result<http::Response> call(http::Transport& transport, const TokenProvider& tokens, const ClientOptions& options,
                            QuotaBudget& budget, QuotaApi api, const std::string& resource, http::Request request,
                            std::string_view operation) {
  request.headers.set("Accept", "application/json");
  for (int attempt = 0;; ++attempt) {
    budget.acquire(options.tenant, api);
    auto token = tokens(resource);
    if (!token) {
      Error e = token.error();
      e.message = "getting a token for " + resource + " in tenant " + options.tenant + " failed: " + e.message;
      return fail(std::move(e));
    }
    request.headers.set("Authorization", "Bearer " + *token);
    auto response = transport.send(request);
    if (!response) {
      Error e = response.error();
      e.message = std::string(operation) + " for tenant " + options.tenant + ": " + e.message;
      return fail(std::move(e));
    }
    if (response->status >= 200 && response->status < 300) return response;
    if (response->status == 429) {
      const auto delay = http::server_retry_delay(response->headers, std::chrono::system_clock::now())
                             .value_or(std::chrono::duration_cast<std::chrono::milliseconds>(options.default_retry_after));
      if (attempt < options.max_throttle_retries && delay <= options.max_retry_after) {
        budget.block(options.tenant, api, delay);
        continue;
      }
    }
    return fail(response_error(*response, operation, options.tenant));
  }
}

} // namespace detail

} // namespace xdr::api
