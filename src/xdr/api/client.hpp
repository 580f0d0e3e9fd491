#pragma once
// What the incidents and hunting clients share: where calls go, how tokens are obtained, the per-tenant
// budget, and how one call is made (budget, token, send, 429 handling, error mapping).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <xdr/api/endpoints.hpp>
#include <xdr/api/model.hpp>
#include <xdr/api/quota.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/util/result.hpp>

namespace xdr::api {

// Gives a bearer token for the tenant the client serves and a resource URI
// ("https://api.security.microsoft.com", "https://graph.microsoft.com"). The token is never logged or put
// in a message. auth::AuthClient::get_token fits: [&](auto& r) { return auth.get_token(tenant, r) ... }.
using TokenProvider = std::function<Result<std::string>(const std::string& resource)>;

struct ClientOptions {
  std::string tenant;                  // the customer tenant (budget key, messages)
  Dialect dialect = Dialect::legacy;   // which API surface
  ApiEndpoints endpoints;              // from resolve_endpoints()
  // Shared between clients of many tenants; null: the client makes its own with the documented limits.
  std::shared_ptr<QuotaBudget> budget;
  int max_throttle_retries = 3;               // 429s retried (after Retry-After) before giving up
  std::chrono::seconds max_retry_after{300};  // a longer Retry-After is returned as an error at once
  std::chrono::seconds default_retry_after{60}; // a 429 without Retry-After waits this long
};

// Maps a non-2xx response of `operation` ("GET /api/incidents") to an Error whose message names the tenant,
// the status, the service's code and message, and what to do; request_id, code, http_status, retry_after set.
Error response_error(const http::Response& response, std::string_view operation, std::string_view tenant);

namespace detail {

// One call: waits for the budget, sets Authorization (and Accept), sends, retries 429s after Retry-After,
// maps non-2xx to response_error. `operation` names the call in messages.
Result<http::Response> call(http::Transport& transport, const TokenProvider& tokens, const ClientOptions& options,
                            QuotaBudget& budget, QuotaApi api, const std::string& resource, http::Request request,
                            std::string_view operation);

// The scheme://host[:port] of a URL.
std::string origin_of(std::string_view url);

} // namespace detail

} // namespace xdr::api
