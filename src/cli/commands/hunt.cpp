// `xdrpartner hunt`: an advanced hunting query in one customer tenant, rows printed as they arrive
// (json, ndjson, csv) or as a table.

#include <fstream>
#include <memory>
#include <sstream>

#include <cli/api_support.hpp>
#include <cli/commands/commands.hpp>
#include <cli/tenant_fan_out.hpp>
#include <xdr/api/hunting_client.hpp>
#include <xdr/api/model_json.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

struct HuntFlags {
  ApiFlags api;
  std::string query;
  std::string file;
  std::string timespan;
  bool split_by_time = false;
  FleetFlags fleet;
};

std::string cell_text(const api::HuntingCell& c) {
  return c.kind == api::HuntingCell::Kind::null ? std::string() : c.text;
}

// The query over every selected registry tenant: rows carry TenantId and TenantName first.
int run_hunt_fleet(Context& ctx, const HuntFlags& f, const std::string& query, api::HuntingApi which) {
  auto tenants = select_tenants(ctx, f.fleet);
  if (!tenants) return ctx.report(tenants.error());
  if (tenants->empty()) {
    ctx.io().err << "no enabled registry tenant matches in " << ctx.db_path()
                 << "\n  add one with: xdrpartner tenants add TENANT-ID-or-DOMAIN\n";
    return k_exit_ok;
  }
  fleet::CancelToken never;
  const fleet::CancelToken& cancel = ctx.io().cancel ? *ctx.io().cancel : never;
  const api::Dialect dialect = which == api::HuntingApi::graph ? api::Dialect::graph : api::Dialect::legacy;
  const std::string resource = which == api::HuntingApi::graph ? "graph" : which == api::HuntingApi::mde ? "mde" : "xdr";
  auto fleet_api = FleetApi::create(ctx, f.api, dialect, api::QuotaApi::hunting, resource, cancel);
  if (!fleet_api) return report_api_error(ctx, fleet_api.error());
  FleetApi& fa = **fleet_api;
  const api::HuntingRequest request{query, f.timespan};
  auto make_client = [&](const TenantApi& t) {
    api::HuntingClientOptions options;
    options.client = t.setup.options;
    options.api = which;
    options.clock = ctx.io().clock;
    return api::HuntingClient(t.setup.transport, t.setup.tokens, options);
  };
  // The request is checked once before the fan-out; it does not depend on the host, so the first tenant's
  // registry region is left out here (a bad one is that tenant's error, not the run's).
  fleet::TenantRef first = tenants->front();
  first.region.clear();
  auto first_api = fa.setup(first);
  if (!first_api) return ctx.report(first_api.error());
  if (auto body = make_client(*first_api).request_body(request, std::nullopt); !body) return ctx.report(body.error());

  auto& out = ctx.io().out;
  const OutputFormat format = output_format(ctx);
  FleetRowWriter writer(out, format);
  auto operation = fa.operation([&](const fleet::TenantRef& tenant, fleet::TenantScope& scope,
                                    TenantApi& t) -> Result<fleet::Outcome> {
    api::HuntingClient client = make_client(t);
    std::vector<std::string> names;
    std::optional<std::string> mismatch;
    auto on_schema = [&](const std::vector<api::HuntingColumn>& schema) {
      FleetRowWriter::Columns columns{{"TenantId", "string"}, {"TenantName", "string"}};
      for (const auto& c : schema) columns.emplace_back(c.name, c.type);
      names.clear();
      for (const auto& c : columns) names.push_back(c.first);
      mismatch = writer.accept_columns(columns);
    };
    auto on_row = [&](api::HuntingRow& row) {
      if (mismatch) return false;
      std::vector<std::string> cells{tenant.tenant_id, tenant.name};
      OrderedJson object = OrderedJson::object();
      object["TenantId"] = tenant.tenant_id;
      object["TenantName"] = tenant.name;
      for (size_t i = 0; i < row.size() && i + 2 < names.size(); ++i) {
        cells.push_back(cell_text(row[i]));
        object[names[i + 2]] = api::to_json(row[i]);
      }
      writer.write(tenant.tenant_id, std::move(cells), std::move(object));
      scope.add_rows(1);
      return true;
    };
    auto summary = f.split_by_time ? client.run_split(request, api::SplitOptions{}, on_row, on_schema)
                                   : client.run(request, on_row, on_schema);
    if (!summary) return tl::unexpected(summary.error());
    if (mismatch) return fail(ErrorKind::invalid_response, *mismatch);
    fleet::Outcome outcome;
    if (summary->at_row_cap)
      outcome.detail = "the result has " + std::to_string(summary->rows) +
                       " rows, the service's cap: it may be cut; --split-by-time runs it over smaller time ranges";
    return outcome;
  });
  auto print_results = [&] {
    if (format != OutputFormat::table) return;
    const auto rows = writer.table_rows();
    print_table(out, writer.column_names(), rows, terminal_width(ctx.io().env));
    out << rows.size() << " row(s) from " << tenants->size() << " tenant(s)\n";
  };
  auto print_json = [&](OrderedJson envelopes, OrderedJson summary) {
    OrderedJson doc = OrderedJson::object();
    doc["schema"] = writer.schema_json();
    doc["results"] = writer.json_rows();
    doc["tenants"] = std::move(envelopes);
    doc["summary"] = std::move(summary);
    out << doc.dump(2) << "\n";
  };
  return run_fleet(ctx, f.fleet, fa, *tenants, operation, format, print_results, print_json);
}

int run_hunt(Context& ctx, const HuntFlags& f) {
  if (!f.query.empty() && !f.file.empty()) return ctx.usage("give the query as an argument or with -f FILE, not both");
  std::string query = f.query;
  if (!f.file.empty()) {
    std::stringstream buffer;
    if (f.file == "-") {
      buffer << ctx.io().in.rdbuf();
    } else {
      std::ifstream in(f.file, std::ios::binary);
      if (!in) return ctx.usage("cannot read the query file " + f.file);
      buffer << in.rdbuf();
    }
    query = buffer.str();
  }
  if (util::trim(query).empty()) return ctx.usage("hunt needs a KQL query: as the argument, or -f FILE (- for standard input)");

  auto which = api::parse_hunting_api(f.api.api);
  if (!which) return ctx.report(which.error());
  if (f.fleet.active()) return run_hunt_fleet(ctx, f, query, *which);
  const api::Dialect dialect = *which == api::HuntingApi::graph ? api::Dialect::graph : api::Dialect::legacy;
  auto setup = api_setup(ctx, f.api, dialect, "hunt");
  if (!setup) return report_api_error(ctx, setup.error());
  api::HuntingClientOptions options;
  options.client = setup->options;
  options.api = *which;
  options.clock = ctx.io().clock;
  api::HuntingClient client(setup->transport, setup->tokens, options);
  api::HuntingRequest request{query, f.timespan};
  if (auto body = client.request_body(request, std::nullopt); !body) return ctx.report(body.error());

  auto& out = ctx.io().out;
  const OutputFormat format = output_format(ctx);
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> table;
  bool first = true;
  auto on_schema = [&](const std::vector<api::HuntingColumn>& schema) {
    names.clear();
    for (const auto& c : schema) names.push_back(c.name);
    if (format == OutputFormat::json) {
      OrderedJson columns = OrderedJson::array();
      for (const auto& c : schema) columns.push_back({{"name", c.name}, {"type", c.type}});
      out << "{\"schema\":" << columns.dump() << ",\"results\":[";
    } else if (format == OutputFormat::csv) {
      out << csv_line(names);
    }
  };
  auto on_row = [&](api::HuntingRow& row) {
    switch (format) {
    case OutputFormat::table: {
      std::vector<std::string> cells;
      for (const auto& c : row) cells.push_back(cell_text(c));
      table.push_back(std::move(cells));
      break;
    }
    case OutputFormat::csv: {
      std::vector<std::string> cells;
      for (const auto& c : row) cells.push_back(cell_text(c));
      out << csv_line(cells);
      break;
    }
    case OutputFormat::json:
    case OutputFormat::ndjson: {
      OrderedJson object = OrderedJson::object();
      for (size_t i = 0; i < row.size() && i < names.size(); ++i) object[names[i]] = api::to_json(row[i]);
      if (format == OutputFormat::json) {
        out << (first ? "\n" : ",\n") << object.dump();
      } else {
        out << object.dump() << "\n";
      }
      break;
    }
    }
    first = false;
    return true;
  };
  Result<api::HuntingSummary> summary = f.split_by_time ? client.run_split(request, api::SplitOptions{}, on_row, on_schema)
                                                        : client.run(request, on_row, on_schema);
  if (format == OutputFormat::json && !names.empty()) out << (first ? "]}\n" : "\n]}\n");
  if (!summary) return report_api_error(ctx, summary.error());
  if (format == OutputFormat::table) {
    print_table(out, names, table, terminal_width(ctx.io().env));
    out << summary->rows << " row(s) from tenant " << setup->options.tenant;
    if (f.split_by_time) out << " in " << summary->windows.size() << " time window(s), " << summary->requests << " request(s)";
    out << "\n";
  }
  if (summary->at_row_cap)
    ctx.io().err << "warning: the result has " << summary->rows
                 << " rows, the service's cap: it may be cut; --split-by-time runs it over smaller time ranges\n";
  return k_exit_ok;
}

} // namespace

Command add_hunt(CLI::App& root, Context& ctx) {
  auto f = std::make_shared<HuntFlags>();
  CLI::App* app = root.add_subcommand("hunt", "Run an advanced hunting (KQL) query in a customer tenant");
  app->add_option("query", f->query, "The KQL query (or -f FILE)");
  app->add_option("-f,--file", f->file, "Read the query from FILE (- for standard input)");
  app->add_option("--timespan", f->timespan, "ISO 8601 duration back from now, e.g. P7D (default: the service's 30 days)");
  app->add_flag("--split-by-time", f->split_by_time,
                "When the answer would pass 100,000 rows or the size cap, run the query over halved time ranges and "
                "merge (the query must start with a table name)");
  add_api_flags(*app, f->api, true);
  add_fleet_flags(*app, f->fleet);
  app->footer("Output: table (fits the terminal), json ({\"schema\",\"results\"}), ndjson (one row per line), csv "
              "(RFC 4180, a header line first).\n"
              "Across tenants (--all-tenants, --tenants-label K=V): rows start with TenantId and TenantName and stream "
              "as tenants answer;\n"
              "a per-tenant summary follows (on standard error for ndjson and csv). Exit code 3: some tenants failed.\n"
              "Examples:\n"
              "  xdrpartner hunt --tenant fabrikam.onmicrosoft.com 'DeviceProcessEvents | take 10'\n"
              "  xdrpartner hunt --tenant T -f query.kql --timespan P7D --output csv > rows.csv\n"
              "  xdrpartner hunt --tenant T --api graph --split-by-time 'DeviceNetworkEvents | project Timestamp, RemoteIP'\n"
              "  xdrpartner hunt --all-tenants --output ndjson 'AlertInfo | where Severity == \"High\"' > high.ndjson\n" +
              std::string(k_exit_codes_help));
  return {app, [&ctx, f] { return run_hunt(ctx, *f); }};
}

} // namespace xdr::cli
