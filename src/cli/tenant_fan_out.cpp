#include <cli/tenant_fan_out.hpp>

#include <cli/fleet_output.hpp>

#include <cstdio>
#include <xdr/api/endpoints.hpp>
#include <xdr/fleet/progress.hpp>
#include <xdr/http/curl_transport.hpp>
#include <xdr/http/pipeline.hpp>
#include <xdr/store/store.hpp>

namespace xdr::cli {

namespace {

// The engine's QuotaBudget over a tenant's api::QuotaBudget: the same windows, no second bookkeeping.
class ApiBudgetBridge final : public fleet::QuotaBudget {
public:
  ApiBudgetBridge(std::shared_ptr<api::QuotaBudget> budget, std::string tenant, api::QuotaApi api)
      : m_budget(std::move(budget)), m_tenant(std::move(tenant)), m_api(api) {}

  Status acquire(const fleet::CancelToken& cancel) override {
    const auto wait = m_budget->wait_time(m_tenant, m_api);
    if (cancel.cancelled() || (wait.count() > 0 && cancel.wait_for(wait)))
      return fail(ErrorKind::cancelled, "stopped by the user while waiting for tenant " + m_tenant + "'s API quota");
    m_budget->acquire(m_tenant, m_api);
    return {};
  }
  void throttled(std::optional<std::chrono::seconds> retry_after) override {
    m_budget->block(m_tenant, m_api, retry_after.value_or(std::chrono::seconds(60)));
  }

private:
  std::shared_ptr<api::QuotaBudget> m_budget;
  std::string m_tenant;
  api::QuotaApi m_api;
};

bool retried_status(int status) { return status == 408 || status == 429 || (status >= 500 && status <= 599); }

} // namespace

void add_fleet_flags(CLI::App& app, FleetFlags& flags) {
  const char* g = "Tenants";
  app.add_flag("--all-tenants", flags.all_tenants, "Run over every enabled tenant of the registry (xdrpartner tenants)")
      ->group(g);
  app.add_option("--tenants-label", flags.labels,
                 "Run over the enabled registry tenants with this KEY=VALUE label; repeatable (all must match)")
      ->expected(1)
      ->allow_extra_args(false)
      ->group(g);
  app.add_option("--concurrency", flags.concurrency, "How many tenants run at once (default: 2 x CPUs, within 8..16)")
      ->check(CLI::Range(1, 1024))
      ->group(g);
}

Result<std::vector<fleet::TenantRef>> select_tenants(Context& ctx, const FleetFlags& flags) {
  if (!ctx.options().tenant.empty())
    return fail(ErrorKind::config, "--tenant names one tenant; --all-tenants and --tenants-label select registry "
                                   "tenants: give one or the other");
  store::TenantFilter filter;
  filter.enabled_only = true;
  for (const auto& text : flags.labels) {
    XDR_TRY_ASSIGN(auto label, store::parse_label(text));
    filter.labels[label.first] = label.second;
  }
  XDR_TRY_ASSIGN(store::Store * db, ctx.store(true));
  XDR_TRY_ASSIGN(auto tenants, db->list_tenants(filter));
  std::vector<fleet::TenantRef> refs;
  refs.reserve(tenants.size());
  for (const auto& t : tenants) refs.push_back({t.tenant_id, t.name, t.cloud, t.region});
  return refs;
}

// ---- budgets ---------------------------------------------------------------------------------------

TenantBudgets::TenantBudgets(api::QuotaApi api, api::QuotaBudgetOptions options) : m_api(api), m_options(std::move(options)) {}

std::shared_ptr<api::QuotaBudget> TenantBudgets::for_tenant(const std::string& tenant_id) {
  std::lock_guard lock(m_mutex);
  auto& budget = m_budgets[tenant_id];
  if (!budget) budget = std::make_shared<api::QuotaBudget>(m_options);
  return budget;
}

fleet::BudgetProvider TenantBudgets::provider() {
  return [this](const std::string& tenant_id) -> std::shared_ptr<fleet::QuotaBudget> {
    return std::make_shared<ApiBudgetBridge>(for_tenant(tenant_id), tenant_id, m_api);
  };
}

// ---- retries ---------------------------------------------------------------------------------------

Result<http::Response> AttemptCounter::send(const http::Request& request) {
  auto response = m_next->send(request);
  const bool failed = response ? retried_status(response->status)
                               : (response.error().kind == ErrorKind::transport || response.error().kind == ErrorKind::timeout);
  if (failed) ++m_failed;
  m_last_failed = failed;
  return response;
}

int AttemptCounter::retries(bool operation_failed) const {
  const int failed = m_failed.load();
  return std::max(0, failed - (operation_failed && m_last_failed.load() ? 1 : 0));
}

// ---- per-tenant setup ------------------------------------------------------------------------------

Result<std::unique_ptr<FleetApi>> FleetApi::create(Context& ctx, const ApiFlags& flags, api::Dialect dialect,
                                                   api::QuotaApi quota, const std::string& resource,
                                                   const fleet::CancelToken& cancel) {
  XDR_TRY_ASSIGN(const Settings* s, ctx.settings());
  api::EndpointOverrides overrides = api::overrides_from_environment(ctx.io().env, {flags.api_base, flags.graph_base});
  XDR_TRY_ASSIGN(api::TenantEndpoints hosts, api::TenantEndpoints::create(s->cloud, flags.region, overrides));
  api::ApiEndpoints endpoints = hosts.run();
  XDR_TRY_ASSIGN(auth::AuthClient * auth, ctx.auth_client());

  api::QuotaBudgetOptions budget_options;
  budget_options.clock = ctx.io().clock;
  // A quota wait ends early on Ctrl-C; the call then goes ahead (running calls finish).
  budget_options.sleep = [&cancel](std::chrono::milliseconds d) { cancel.wait_for(d); };
  std::unique_ptr<FleetApi> fleet_api(new FleetApi(quota, std::move(budget_options)));
  fleet_api->m_ctx = &ctx;
  fleet_api->m_cancel = &cancel;
  fleet_api->m_auth = auth;
  fleet_api->m_cloud = std::string(auth::to_string(s->cloud));
  fleet_api->m_resource = resource == "graph" ? endpoints.graph_resource
                          : resource == "mde" ? endpoints.mde_resource
                                              : endpoints.xdr_resource;
  fleet_api->m_template.options.dialect = dialect;
  fleet_api->m_template.options.endpoints = std::move(endpoints);
  fleet_api->m_endpoints = std::move(hosts);
  // One connection pool for every tenant; each tenant gets its own retry layer above it.
  if (ctx.io().transport) {
    fleet_api->m_base = ctx.io().transport;
  } else {
    http::TransportOptions options;
    options.ca_file = s->ca_file;
    fleet_api->m_base = std::make_shared<http::CurlTransport>(options);
  }
  return fleet_api;
}

Result<TenantApi> FleetApi::setup(const fleet::TenantRef& tenant) {
  XDR_TRY_ASSIGN(api::ApiEndpoints endpoints, tenant_endpoints(*m_endpoints, tenant));
  TenantApi t;
  t.attempts = std::make_shared<AttemptCounter>(m_base);
  http::PipelineOptions pipeline;
  pipeline.inner = t.attempts;
  pipeline.retry.max_retries = 2;
  pipeline.retry.clock = m_ctx->io().clock;
  const fleet::CancelToken* cancel = m_cancel;
  pipeline.retry.sleep = [cancel](std::chrono::milliseconds d) { cancel->wait_for(d); };
  if (m_ctx->options().verbose > 0) {
    std::ostream* err = &m_ctx->io().err;
    pipeline.log.logger.sink = [err](std::string_view line) { *err << line << "\n"; };
    pipeline.log.logger.level = m_ctx->options().verbose > 1 ? http::LogLevel::verbose : http::LogLevel::info;
  }
  t.setup = m_template;
  t.setup.options.endpoints = std::move(endpoints);
  t.setup.transport = http::make_pipeline(std::move(pipeline));
  t.setup.options.tenant = tenant.tenant_id;
  t.setup.options.budget = m_budgets.for_tenant(tenant.tenant_id);
  auth::AuthClient* auth = m_auth;
  const std::string id = tenant.tenant_id;
  t.setup.tokens = [auth, id](const std::string& resource) -> Result<std::string> {
    auto token = auth->get_token(id, resource);
    if (!token) return fail(token.error());
    return std::string(token->value().reveal());
  };
  return t;
}

fleet::Operation FleetApi::operation(TenantOperation op) {
  return [this, op = std::move(op)](const fleet::TenantRef& tenant, fleet::TenantScope& scope) -> Result<fleet::Outcome> {
    XDR_TRY_ASSIGN(TenantApi api, setup(tenant));
    Result<fleet::Outcome> result = op(tenant, scope, api);
    scope.add_retries(api.attempts->retries(!result));
    return result;
  };
}

std::string FleetApi::consent_link(const std::string& tenant_id) const {
  auth::AdminConsentOptions consent;
  consent.tenant = tenant_id;
  consent.resource = m_resource;
  return m_auth->admin_consent_link(consent);
}

// ---- rows ------------------------------------------------------------------------------------------

std::optional<std::string> FleetRowWriter::accept_columns(const Columns& columns) {
  std::lock_guard lock(m_mutex);
  if (!m_columns) {
    m_columns = columns;
    if (m_format == OutputFormat::csv) {
      std::vector<std::string> names;
      for (const auto& c : columns) names.push_back(c.first);
      m_out << csv_line(names);
      m_out.flush();
    }
    return std::nullopt;
  }
  if (*m_columns == columns) return std::nullopt;
  auto describe = [](const Columns& cs) {
    std::string text;
    for (const auto& [name, type] : cs) text += (text.empty() ? "" : ", ") + name + (type.empty() ? "" : ":" + type);
    return text;
  };
  return "its columns (" + describe(columns) + ") differ from the other tenants' (" + describe(*m_columns) +
         "), so its rows were left out; run the query for this tenant alone with --tenant";
}

void FleetRowWriter::write(const std::string& tenant_id, std::vector<std::string> cells, OrderedJson object) {
  std::lock_guard lock(m_mutex);
  switch (m_format) {
  case OutputFormat::ndjson: m_out << object.dump() << "\n"; m_out.flush(); return;
  case OutputFormat::csv: m_out << csv_line(cells); m_out.flush(); return;
  case OutputFormat::table:
  case OutputFormat::json: break;
  }
  if (!m_table.count(tenant_id) && !m_json.count(tenant_id)) m_order.push_back(tenant_id);
  if (m_format == OutputFormat::table)
    m_table[tenant_id].push_back(std::move(cells));
  else
    m_json[tenant_id].push_back(std::move(object));
}

std::vector<std::string> FleetRowWriter::column_names() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> names;
  if (m_columns)
    for (const auto& c : *m_columns) names.push_back(c.first);
  return names;
}

std::vector<std::vector<std::string>> FleetRowWriter::table_rows() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::vector<std::string>> rows;
  for (const auto& tenant : m_order)
    if (auto it = m_table.find(tenant); it != m_table.end()) rows.insert(rows.end(), it->second.begin(), it->second.end());
  return rows;
}

OrderedJson FleetRowWriter::json_rows() const {
  std::lock_guard lock(m_mutex);
  OrderedJson rows = OrderedJson::array();
  for (const auto& tenant : m_order)
    if (auto it = m_json.find(tenant); it != m_json.end())
      for (const auto& row : it->second) rows.push_back(row);
  return rows;
}

OrderedJson FleetRowWriter::schema_json() const {
  std::lock_guard lock(m_mutex);
  OrderedJson columns = OrderedJson::array();
  if (m_columns)
    for (const auto& [name, type] : *m_columns) columns.push_back({{"name", name}, {"type", type}});
  return columns;
}

// ---- the run ---------------------------------------------------------------------------------------

void print_tenant_line(std::ostream& out, const fleet::Envelope& e) {
  char status[24];
  std::snprintf(status, sizeof status, "%-16s", std::string(fleet::to_string(e.status)).c_str());
  out << status << " " << (e.tenant.name.empty() ? e.tenant.tenant_id : e.tenant.name + " (" + e.tenant.tenant_id + ")")
      << "  " << e.rows << " rows, " << e.latency.count() << " ms, " << e.retries << (e.retries == 1 ? " retry" : " retries");
  if (e.http_status) out << ", HTTP " << *e.http_status;
  if (!e.detail.empty()) out << "  " << e.detail;
  out << "\n";
}

int run_fleet(Context& ctx, const FleetFlags& flags, FleetApi& api, const std::vector<fleet::TenantRef>& tenants,
              const fleet::Operation& operation, OutputFormat format, const std::function<void()>& print_results,
              const std::function<void(OrderedJson envelopes, OrderedJson summary)>& print_json) {
  fleet::CancelToken never;
  const fleet::CancelToken& cancel = ctx.io().cancel ? *ctx.io().cancel : never;
  fleet::FanOutOptions options;
  options.concurrency = flags.concurrency;
  options.cloud = api.cloud();
  options.budgets = api.budgets().provider();
  fleet::ProgressBar progress(ctx.io().err, tenants.size(), ctx.stderr_is_terminal());
  std::vector<std::pair<fleet::Envelope, std::string>> envelopes; // with the consent link, when missing
  auto on_envelope = [&](const fleet::Envelope& e) {
    std::string consent;
    if (e.status == fleet::EnvelopeStatus::consent_missing) consent = api.consent_link(e.tenant.tenant_id);
    envelopes.emplace_back(e, std::move(consent));
    progress.add(e);
  };
  const fleet::Summary summary = fleet::fan_out(tenants, operation, options, cancel, on_envelope);
  progress.finish();

  if (format == OutputFormat::json) {
    OrderedJson list = OrderedJson::array();
    for (const auto& [e, consent] : envelopes) {
      OrderedJson j = OrderedJson::parse(envelope_json(e).dump());
      if (!consent.empty()) j["consent_url"] = consent;
      list.push_back(std::move(j));
    }
    print_json(std::move(list), OrderedJson::parse(summary_json(summary).dump()));
    return summary.exit_code();
  }
  if (print_results) print_results();
  std::ostream& out = format == OutputFormat::table ? ctx.io().out : ctx.io().err;
  out << (format == OutputFormat::table ? "\n" : "") << "Tenants:\n";
  for (const auto& [e, consent] : envelopes) {
    print_tenant_line(out, e);
    if (!consent.empty()) out << "                 consent link for the customer's administrator: " << consent << "\n";
  }
  print_summary(out, summary);
  return summary.exit_code();
}

} // namespace xdr::cli
