#pragma once
// What the resource APIs (Defender XDR, Defender for Endpoint, Graph security) share: bearer-token
// validation against the emulator's own keys, per-surface audiences and roles, error bodies in each
// service's dialect, sliding-window quotas, and access to a tenant's data (with steady churn applied).

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <emulator/defender_data.hpp>
#include <emulator/service.hpp>

namespace xdr::emulator {

// The resource APIs' shared state: per-tenant data and the quota windows' call times.
struct DefenderState {
  explicit DefenderState(size_t render_cache_bytes) : store(render_cache_bytes) {}
  DefenderDataStore store;
  std::mutex quota_mutex;
  std::map<std::string, std::deque<int64_t>> calls; // quota key -> call times (unix seconds), longest window
};

// Which service a route belongs to: decides the accepted token audience and the error dialect.
enum class Surface {
  xdr,   // api.security.microsoft.com (Defender XDR)
  mde,   // api.securitycenter.microsoft.com (Defender for Endpoint)
  graph, // graph.microsoft.com (Graph security)
};

// The validated caller: the token's tenant, app and roles.
struct Caller {
  std::string tid;
  std::string appid;
  std::vector<std::string> roles;
};

// Validates the bearer token for `surface` and checks that it holds one of `accepted_roles`. On failure
// the 401/403 is written in the surface's dialect and nullopt returned.
std::optional<Caller> authorize(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res,
                                Surface surface, const std::vector<std::string>& accepted_roles);

// A quota window that is full: the limit, the window length and the seconds until a call is free.
struct QuotaExceeded {
  int64_t limit = 0;
  int64_t window_seconds = 0;
  int64_t retry_after = 0;
};

// One sliding window of a quota: at most `limit` calls in any `seconds`; `setting` names the scenario's
// override (`quotas.<setting>`).
struct QuotaWindow {
  int64_t seconds = 60;
  int64_t limit = 0;
  std::string setting;
};

// Counts a call under `key` (e.g. "<tenant>/incidents") unless one of `windows` is full.
std::optional<QuotaExceeded> take_quota(Emulator::Impl& im, const std::string& key, std::vector<QuotaWindow> windows);

// Writes a Defender-dialect error: {"error":{"code","message","target"}}.
void send_defender_error(httplib::Response& res, int status, const std::string& code, const std::string& message);

// Writes a Graph-dialect error: {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}},
// with the `request-id` and `client-request-id` response headers.
void send_graph_error(Emulator::Impl& im, const httplib::Request& req, httplib::Response& res, int status,
                      const std::string& code, const std::string& message);

// Sets Graph's `request-id` / `client-request-id` response headers (once per response); returns the request id.
std::string graph_request_id(const httplib::Request& req, httplib::Response& res);

// The tenant's data, generated on first use, with the scenario's steady churn applied up to now.
std::shared_ptr<TenantData> tenant_data(Emulator::Impl& im, const std::string& tid);

// A non-negative decimal of at most 9 digits, or nullopt.
std::optional<int64_t> parse_count(const std::string& text);

// The control API's churn call: creates and updates incidents of `tenant_id` now.
Result<ChurnResult> churn_tenant(Emulator::Impl& im, const std::string& tenant_id, int64_t create, int64_t update);

} // namespace xdr::emulator
