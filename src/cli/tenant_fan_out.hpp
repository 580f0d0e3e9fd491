#pragma once
// What `incidents list` and `hunt` share when they run over many registry tenants (--all-tenants,
// --tenants-label): selecting the tenants, one quota budget and one retrying pipeline per tenant, rows
// written as they arrive (serialised across the workers, one CSV header, one schema), and the per-tenant
// summary at the end with the consent link where consent is missing.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <cli/api_support.hpp>
#include <cli/context.hpp>
#include <cli/output.hpp>
#include <xdr/api/endpoints.hpp>
#include <xdr/api/quota.hpp>
#include <xdr/fleet/fan_out.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/util/json.hpp>

namespace xdr::cli {

// --all-tenants, --tenants-label K=V (repeatable), --concurrency N.
struct FleetFlags {
  bool all_tenants = false;
  std::vector<std::string> labels;
  size_t concurrency = 0; // 0: fleet::default_concurrency()
  // True when the command runs over registry tenants rather than --tenant.
  bool active() const { return all_tenants || !labels.empty(); }
};

// Adds the three flags to `app` (group "Tenants").
void add_fleet_flags(CLI::App& app, FleetFlags& flags);

// The enabled registry tenants matching every --tenants-label (all enabled ones for --all-tenants).
// Errors: a label that is not K=V (config), --tenant given as well (config), the store (storage).
Result<std::vector<fleet::TenantRef>> select_tenants(Context& ctx, const FleetFlags& flags);

// One api::QuotaBudget per tenant, seeded with the documented limits, kept for the life of this object;
// provider() offers the same budgets to the fan-out engine (a throttled envelope blocks the tenant's budget
// for its Retry-After). Thread-safe.
class TenantBudgets {
public:
  TenantBudgets(api::QuotaApi api, api::QuotaBudgetOptions options = {});
  // The budget of `tenant_id`: the same object every time.
  std::shared_ptr<api::QuotaBudget> for_tenant(const std::string& tenant_id);
  // The engine's view of the same budgets.
  fleet::BudgetProvider provider();

private:
  api::QuotaApi m_api;
  api::QuotaBudgetOptions m_options;
  std::mutex m_mutex;
  std::map<std::string, std::shared_ptr<api::QuotaBudget>> m_budgets;
};

// A transport that counts the attempts that failed in a way the retry layers retry (408, 429, 5xx,
// connection errors and timeouts). It sits below the per-tenant retry layer, so it sees every attempt.
class AttemptCounter final : public http::Transport {
public:
  explicit AttemptCounter(std::shared_ptr<http::Transport> next) : m_next(std::move(next)) {}
  Result<http::Response> send(const http::Request& request) override;
  // Retried attempts so far: failed attempts, less the last one when `operation_failed` and it failed
  // (that one was given up, not retried).
  int retries(bool operation_failed) const;

private:
  std::shared_ptr<http::Transport> m_next;
  std::atomic<int> m_failed{0};
  std::atomic<bool> m_last_failed{false};
};

// The per-tenant client setup of a fleet run, made by FleetApi::setup.
struct TenantApi {
  ApiSetup setup;
  std::shared_ptr<AttemptCounter> attempts;
};

// Builds each tenant's client setup: the tenant's endpoints (its registry region's host unless the run gives
// --region; --api-base wins over both), the run's credential, the tenant's budget, a token provider for the
// tenant, and a retrying pipeline of its own (whose waits end early on Ctrl-C) over one shared connection
// pool. Thread-safe once made.
class FleetApi {
public:
  // Errors: bad flags or settings (config), no credential (config).
  // `resource`: which API's token the calls use ("xdr", "mde" or "graph"), for the consent link.
  static Result<std::unique_ptr<FleetApi>> create(Context& ctx, const ApiFlags& flags, api::Dialect dialect,
                                                  api::QuotaApi quota, const std::string& resource,
                                                  const fleet::CancelToken& cancel);
  // Errors (config): the tenant's registry region is not a region or not in the run's cloud (see
  // tenant_endpoints); nothing is sent for it.
  Result<TenantApi> setup(const fleet::TenantRef& tenant);
  // The engine's operation around `op`: makes the tenant's setup, runs `op`, and counts its retries.
  using TenantOperation = std::function<Result<fleet::Outcome>(const fleet::TenantRef&, fleet::TenantScope&, TenantApi&)>;
  fleet::Operation operation(TenantOperation op);
  TenantBudgets& budgets() { return m_budgets; }
  // The consent link for the customer's administrator of `tenant_id` (for the API's resource).
  std::string consent_link(const std::string& tenant_id) const;
  // The cloud this run talks to ("global", "gcc-high", ...): tenants registered in another are not called.
  const std::string& cloud() const { return m_cloud; }

private:
  FleetApi(api::QuotaApi quota, api::QuotaBudgetOptions budget_options) : m_budgets(quota, std::move(budget_options)) {}

  Context* m_ctx = nullptr;
  const fleet::CancelToken* m_cancel = nullptr;
  ApiSetup m_template; // its endpoints: the run's (--region or the cloud's host)
  std::optional<api::TenantEndpoints> m_endpoints;
  std::string m_resource;
  auth::AuthClient* m_auth = nullptr;
  std::string m_cloud;
  std::shared_ptr<http::Transport> m_base;
  TenantBudgets m_budgets;
};

// Writes the rows of many tenants to one stream: ndjson and csv row by row as they arrive (under one lock,
// a CSV header once), json and table collected for the end, grouped by tenant in the order tenants first
// wrote. Every tenant's columns must equal the first tenant's: accept_columns() says when they do not, and
// that tenant's rows are then left out by the caller.
class FleetRowWriter {
public:
  using Columns = std::vector<std::pair<std::string, std::string>>; // (name, type)
  FleetRowWriter(std::ostream& out, OutputFormat format) : m_out(out), m_format(format) {}
  // Registers a tenant's columns (the tenant columns included); an error message naming the difference when
  // they are not the first tenant's. The first call writes the CSV header.
  std::optional<std::string> accept_columns(const Columns& columns);
  // One row of `tenant_id`: `cells` for table and csv, `object` for json and ndjson.
  void write(const std::string& tenant_id, std::vector<std::string> cells, OrderedJson object);
  // The columns accepted first (names), empty when no tenant answered.
  std::vector<std::string> column_names() const;
  // The collected rows (table, json), grouped by tenant.
  std::vector<std::vector<std::string>> table_rows() const;
  OrderedJson json_rows() const;
  // The columns as [{"name","type"}].
  OrderedJson schema_json() const;

private:
  std::ostream& m_out;
  OutputFormat m_format;
  mutable std::mutex m_mutex;
  std::optional<Columns> m_columns;
  std::vector<std::string> m_order; // tenants in the order they first wrote
  std::map<std::string, std::vector<std::vector<std::string>>> m_table;
  std::map<std::string, std::vector<OrderedJson>> m_json;
};

// "ok               Fabrikam (3f2b...)  42 rows, 123 ms, 1 retry[, HTTP 503]  <detail>".
void print_tenant_line(std::ostream& out, const fleet::Envelope& envelope);

// Runs `operation` over `tenants` with the progress bar (stderr, only on a terminal) and Ctrl-C, then prints
// the per-tenant summary: after `print_results` on stdout for table, on stderr for ndjson and csv (so stdout
// stays pipe-clean), inside the document for json (`print_json` gets the envelopes and summary). Returns the
// exit code: 0 all ok, 3 some tenants failed, 130 cancelled.
int run_fleet(Context& ctx, const FleetFlags& flags, FleetApi& api, const std::vector<fleet::TenantRef>& tenants,
              const fleet::Operation& operation, OutputFormat format, const std::function<void()>& print_results,
              const std::function<void(OrderedJson envelopes, OrderedJson summary)>& print_json);

} // namespace xdr::cli
