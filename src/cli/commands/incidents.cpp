// `xdrpartner incidents list|get|update`: the incidents of one customer tenant through the Defender XDR API
// (default) or the Graph security API.

#include <memory>
#include <mutex>
#include <set>

#include <cli/api_support.hpp>
#include <cli/commands/commands.hpp>
#include <cli/tenant_fan_out.hpp>
#include <xdr/api/incidents_client.hpp>
#include <xdr/api/model_json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::cli {

namespace {

api::Dialect dialect_of(const ApiFlags& flags) {
  return util::iequals(flags.api, "graph") ? api::Dialect::graph : api::Dialect::legacy;
}

std::string time_text(const std::optional<util::TimePoint>& t) { return t ? format_time(*t) : std::string(); }

const std::vector<std::string> k_columns = {"ID", "UPDATED (UTC)", "SEVERITY", "STATUS", "ASSIGNED TO", "ALERTS", "NAME"};
const std::vector<std::string> k_csv_columns = {"id", "tenant_id", "name", "status", "severity", "classification",
                                                "determination", "assigned_to", "created", "last_update", "tags",
                                                "alerts", "comments"};

// "2026-01-01 12:34" (UTC): short enough for a table.
std::string short_time(const std::optional<util::TimePoint>& t) {
  if (!t) return {};
  std::string s = util::format_rfc3339(*t, 0);
  s[10] = ' ';
  return s.substr(0, 16);
}

std::vector<std::string> table_row(const api::Incident& i) {
  return {i.incident_id, short_time(i.last_update_time), std::string(api::to_string(i.severity, api::Dialect::legacy)),
          std::string(api::to_string(i.status, api::Dialect::legacy)), i.assigned_to.value_or(""),
          std::to_string(i.alerts.size()), i.incident_name};
}

std::vector<std::string> csv_row(const api::Incident& i) {
  return {i.incident_id,
          i.tenant_id,
          i.incident_name,
          std::string(api::to_string(i.status, api::Dialect::graph)),
          std::string(api::to_string(i.severity, api::Dialect::graph)),
          std::string(api::to_string(i.classification, api::Dialect::graph)),
          std::string(api::to_string(i.determination, api::Dialect::graph)),
          i.assigned_to.value_or(""),
          i.created_time ? util::format_rfc3339(*i.created_time, 7, true) : std::string(),
          i.last_update_time ? util::format_rfc3339(*i.last_update_time, 7, true) : std::string(),
          util::join(i.tags, ";"),
          std::to_string(i.alerts.size()),
          std::to_string(i.comments.size())};
}

// Prints one incident in the chosen format (get, update).
void print_incident(Context& ctx, const api::Incident& i) {
  auto& out = ctx.io().out;
  switch (output_format(ctx)) {
  case OutputFormat::json: out << api::to_json(i).dump(2) << "\n"; return;
  case OutputFormat::ndjson: out << api::to_json(i).dump() << "\n"; return;
  case OutputFormat::csv:
    out << csv_line(k_csv_columns) << csv_line(csv_row(i));
    return;
  case OutputFormat::table: break;
  }
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", i.incident_id},
      {"tenant", i.tenant_id},
      {"name", i.incident_name},
      {"status", std::string(api::to_string(i.status, api::Dialect::legacy))},
      {"severity", std::string(api::to_string(i.severity, api::Dialect::legacy))},
      {"classification", std::string(api::to_string(i.classification, api::Dialect::legacy))},
      {"determination", std::string(api::to_string(i.determination, api::Dialect::legacy))},
      {"assigned to", i.assigned_to.value_or("(unassigned)")},
      {"created", time_text(i.created_time)},
      {"last update", time_text(i.last_update_time)},
      {"tags", i.tags.empty() ? "(none)" : util::join(i.tags, ", ")}};
  if (!i.incident_web_url.empty()) fields.emplace_back("portal", i.incident_web_url);
  print_fields(out, fields);
  out << "\ncomments (" << i.comments.size() << "):\n";
  for (const auto& c : i.comments)
    out << "  " << time_text(c.created_time) << "  " << c.created_by << ": " << c.comment << "\n";
  out << "\nalerts (" << i.alerts.size() << "):\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : i.alerts)
    rows.push_back({a.alert_id, std::string(api::to_string(a.severity, api::Dialect::legacy)),
                    std::string(api::to_string(a.status, api::Dialect::legacy)), a.service_source,
                    std::to_string(a.devices.size()), std::to_string(a.entities.size()), a.title});
  if (!rows.empty())
    print_table(out, {"ALERT", "SEVERITY", "STATUS", "SOURCE", "DEVICES", "ENTITIES", "TITLE"}, rows,
                terminal_width(ctx.io().env));
}

// "2026-01-01T00:00:00Z", or a duration back from now: "7d", "12h", "30m", "P7D", "PT12H".
Result<util::TimePoint> parse_since(const std::string& text, util::TimePoint now) {
  if (auto t = util::parse_rfc3339(text)) return *t;
  std::optional<std::chrono::seconds> span;
  if (!text.empty() && (text[0] == 'P' || text[0] == 'p')) {
    span = util::parse_iso_duration(text);
  } else if (text.size() >= 2) {
    const char unit = text.back();
    const std::string number = text.substr(0, text.size() - 1);
    if (!number.empty() && number.find_first_not_of("0123456789") == std::string::npos && number.size() < 9) {
      const long n = std::stol(number);
      if (unit == 'd') span = std::chrono::hours(24 * n);
      if (unit == 'h') span = std::chrono::hours(n);
      if (unit == 'm') span = std::chrono::minutes(n);
    }
  }
  if (!span)
    return fail(ErrorKind::config, "--since '" + text + "' is neither a time (2026-01-01T00:00:00Z) nor a duration "
                                   "back from now (7d, 12h, 30m, P7D)");
  return now - *span;
}

template <class E>
Result<std::vector<E>> parse_enums(const std::vector<std::string>& texts, std::optional<E> (*parse)(std::string_view),
                                   const char* flag, const char* examples) {
  std::vector<E> out;
  for (const auto& text : texts)
    for (auto part : util::split(text, ',')) {
      const auto trimmed = util::trim(part);
      if (trimmed.empty()) continue;
      auto v = parse(trimmed);
      if (!v || *v == E::unknown_future_value)
        return fail(ErrorKind::config, std::string(flag) + " '" + std::string(trimmed) + "' is not known: use " + examples);
      out.push_back(*v);
    }
  return out;
}

struct ListFlags {
  ApiFlags api;
  std::vector<std::string> status;
  std::vector<std::string> severity;
  std::string since;
  std::string assigned_to;
  int top = 0;
  int page_size = 100;
  FleetFlags fleet;
};

// The incidents of every selected registry tenant, each carrying its tenant's id and name.
int run_list_fleet(Context& ctx, const ListFlags& f, const api::ListOptions& options) {
  auto tenants = select_tenants(ctx, f.fleet);
  if (!tenants) return ctx.report(tenants.error());
  if (tenants->empty()) {
    ctx.io().err << "no enabled registry tenant matches in " << ctx.db_path()
                 << "\n  add one with: xdrpartner tenants add TENANT-ID-or-DOMAIN\n";
    return k_exit_ok;
  }
  fleet::CancelToken never;
  const fleet::CancelToken& cancel = ctx.io().cancel ? *ctx.io().cancel : never;
  const api::Dialect dialect = dialect_of(f.api);
  auto fleet_api = FleetApi::create(ctx, f.api, dialect, api::QuotaApi::incidents,
                                    dialect == api::Dialect::graph ? "graph" : "xdr", cancel);
  if (!fleet_api) return report_api_error(ctx, fleet_api.error());
  FleetApi& fa = **fleet_api;

  auto& out = ctx.io().out;
  const OutputFormat format = output_format(ctx);
  FleetRowWriter writer(out, format);
  FleetRowWriter::Columns columns;
  if (format == OutputFormat::table) {
    columns.emplace_back("TENANT", "");
    for (const auto& c : k_columns) columns.emplace_back(c, "");
  } else {
    for (const auto& c : k_csv_columns) {
      columns.emplace_back(c, "");
      if (c == "tenant_id") columns.emplace_back("tenant_name", "");
    }
  }
  writer.accept_columns(columns); // the same for every tenant: the CSV header goes out now
  std::mutex notes_mutex;
  std::set<std::string> notes;
  auto operation = fa.operation([&](const fleet::TenantRef& tenant, fleet::TenantScope& scope,
                                    TenantApi& t) -> Result<fleet::Outcome> {
    api::IncidentsClient client(t.setup.transport, t.setup.tokens, t.setup.options);
    auto summary = client.list(options, [&](std::vector<api::Incident>& page) {
      for (auto& i : page) {
        if (i.tenant_id.empty()) i.tenant_id = tenant.tenant_id;
        std::vector<std::string> cells;
        if (format == OutputFormat::table) {
          cells = table_row(i);
          cells.insert(cells.begin(), tenant.name.empty() ? tenant.tenant_id : tenant.name);
        } else {
          cells = csv_row(i);
          cells.insert(cells.begin() + 2, tenant.name);
        }
        OrderedJson object = api::to_json(i);
        object["tenantId"] = tenant.tenant_id;
        object["tenantName"] = tenant.name;
        writer.write(tenant.tenant_id, std::move(cells), std::move(object));
      }
      scope.add_rows(static_cast<int64_t>(page.size()));
      return !scope.cancel().cancelled();
    });
    if (!summary) return tl::unexpected(summary.error());
    {
      std::lock_guard lock(notes_mutex);
      notes.insert(summary->client_side_filters.begin(), summary->client_side_filters.end());
    }
    fleet::Outcome outcome;
    outcome.detail = std::to_string(summary->pages) + " page(s)";
    if (summary->stopped) outcome.detail += scope.cancel().cancelled() ? "; stopped by Ctrl-C" : "; more exist, raise --top";
    return outcome;
  });
  auto print_results = [&] {
    if (format != OutputFormat::table) return;
    const auto rows = writer.table_rows();
    print_table(out, writer.column_names(), rows, terminal_width(ctx.io().env));
    out << rows.size() << " incident(s) from " << tenants->size() << " tenant(s) via the "
        << (dialect == api::Dialect::legacy ? "Defender XDR API" : "Graph security API") << "\n";
  };
  auto print_json = [&](OrderedJson envelopes, OrderedJson summary) {
    OrderedJson doc = OrderedJson::object();
    doc["incidents"] = writer.json_rows();
    doc["tenants"] = std::move(envelopes);
    doc["summary"] = std::move(summary);
    out << doc.dump(2) << "\n";
  };
  const int code = run_fleet(ctx, f.fleet, fa, *tenants, operation, format, print_results, print_json);
  for (const auto& note : notes) ctx.io().err << "note: " << note << "\n";
  return code;
}

int run_list(Context& ctx, const ListFlags& f) {
  const api::Dialect dialect = dialect_of(f.api);
  api::ListOptions options;
  auto status = parse_enums(f.status, api::parse_incident_status, "--status", "Active, InProgress, Resolved, Redirected");
  if (!status) return ctx.report(status.error());
  auto severity = parse_enums(f.severity, api::parse_severity, "--severity", "Informational, Low, Medium, High");
  if (!severity) return ctx.report(severity.error());
  if (!status->empty()) options.filter.status(*status);
  if (!severity->empty()) options.filter.severity(*severity);
  if (!f.since.empty()) {
    auto since = parse_since(f.since, ctx.io().clock->now());
    if (!since) return ctx.report(since.error());
    options.filter.last_update_time(api::FilterOp::ge, *since);
  }
  if (!f.assigned_to.empty()) options.filter.assigned_to(f.assigned_to);
  if (f.top < 0) return ctx.usage("--top must be a positive number");
  if (f.top > 0) options.limit = static_cast<size_t>(f.top);
  if (f.page_size < 1 || f.page_size > 100) return ctx.usage("--page-size must be between 1 and 100 (the API's maximum)");
  options.page_size = f.page_size;
  options.expand_alerts = true;
  if (f.fleet.active()) return run_list_fleet(ctx, f, options);

  auto setup = api_setup(ctx, f.api, dialect, "incidents list");
  if (!setup) return report_api_error(ctx, setup.error());
  api::IncidentsClient client(setup->transport, setup->tokens, setup->options);

  auto& out = ctx.io().out;
  const OutputFormat format = output_format(ctx);
  std::vector<std::vector<std::string>> rows;
  bool first = true;
  if (format == OutputFormat::json) out << "[";
  if (format == OutputFormat::csv) out << csv_line(k_csv_columns);
  auto summary = client.list(options, [&](std::vector<api::Incident>& page) {
    for (const auto& i : page) {
      switch (format) {
      case OutputFormat::table: rows.push_back(table_row(i)); break;
      case OutputFormat::json: out << (first ? "\n" : ",\n") << api::to_json(i).dump(); break;
      case OutputFormat::ndjson: out << api::to_json(i).dump() << "\n"; break;
      case OutputFormat::csv: out << csv_line(csv_row(i)); break;
      }
      first = false;
    }
    out.flush();
    return true;
  });
  if (format == OutputFormat::json) out << (first ? "]\n" : "\n]\n");
  if (!summary) return report_api_error(ctx, summary.error());
  for (const auto& note : summary->client_side_filters) ctx.io().err << "note: " << note << "\n";
  if (format == OutputFormat::table) {
    print_table(out, k_columns, rows, terminal_width(ctx.io().env));
    out << rows.size() << " incident(s) of tenant " << setup->options.tenant << " via the "
        << (dialect == api::Dialect::legacy ? "Defender XDR API" : "Graph security API") << " (" << summary->pages
        << " page(s)" << (summary->stopped ? "; more exist, raise --top to see them" : "") << ")\n";
  }
  return k_exit_ok;
}

struct GetFlags {
  ApiFlags api;
  std::string id;
};

int run_get(Context& ctx, const GetFlags& f) {
  auto setup = api_setup(ctx, f.api, dialect_of(f.api), "incidents get");
  if (!setup) return report_api_error(ctx, setup.error());
  api::IncidentsClient client(setup->transport, setup->tokens, setup->options);
  auto incident = client.get(f.id);
  if (!incident) return report_api_error(ctx, incident.error());
  print_incident(ctx, *incident);
  return k_exit_ok;
}

struct UpdateFlags {
  ApiFlags api;
  std::string id;
  std::string status;
  std::string classification;
  std::string determination;
  std::string assign_to;
  bool unassign = false;
  std::vector<std::string> tags;
  bool clear_tags = false;
  std::string comment;
};

int run_update(Context& ctx, const UpdateFlags& f) {
  const api::Dialect dialect = dialect_of(f.api);
  api::IncidentPatch patch;
  if (!f.status.empty()) {
    auto v = api::parse_incident_status(f.status);
    if (!v) return ctx.usage("--status '" + f.status + "' is not known: use Active, InProgress, Resolved or Redirected");
    patch.status = *v;
  }
  if (!f.classification.empty()) {
    auto v = api::parse_classification(f.classification);
    if (!v) return ctx.usage("--classification '" + f.classification + "' is not known: use TruePositive, "
                             "InformationalExpectedActivity or FalsePositive");
    patch.classification = *v;
  }
  if (!f.determination.empty()) {
    auto v = api::parse_determination(f.determination);
    if (!v) return ctx.usage("--determination '" + f.determination + "' is not known: e.g. Malware, Phishing, "
                             "SecurityTesting, Clean, InsufficientData, Other");
    patch.determination = *v;
  }
  if (!f.assign_to.empty() && f.unassign) return ctx.usage("--assign-to and --unassign exclude each other");
  if (!f.assign_to.empty()) patch.assigned_to = f.assign_to;
  if (f.unassign) patch.assigned_to = std::string();
  if (!f.tags.empty() && f.clear_tags) return ctx.usage("--tag and --clear-tags exclude each other");
  if (!f.tags.empty() || f.clear_tags) patch.tags = f.tags;
  if (!f.comment.empty()) patch.comment = f.comment;
  if (auto checked = api::check_patch(patch, dialect); !checked) return ctx.usage(checked.error().message);

  auto setup = api_setup(ctx, f.api, dialect, "incidents update");
  if (!setup) return report_api_error(ctx, setup.error());
  api::IncidentsClient client(setup->transport, setup->tokens, setup->options);
  auto incident = client.update(f.id, patch);
  if (!incident) return report_api_error(ctx, incident.error());
  print_incident(ctx, *incident);
  return k_exit_ok;
}

} // namespace

Command add_incidents(CLI::App& root, Context& ctx) {
  CLI::App* incidents = root.add_subcommand("incidents", "List, show and update a customer tenant's incidents");
  incidents->require_subcommand(1);
  incidents->footer("Examples:\n"
                    "  xdrpartner incidents list --tenant fabrikam.onmicrosoft.com --status Active --since 7d\n"
                    "  xdrpartner incidents get 924565 --tenant fabrikam.onmicrosoft.com --output json\n"
                    "  xdrpartner incidents update 924565 --tenant T --status Resolved --classification TruePositive "
                    "--determination Malware --comment 'contained'\n" +
                    std::string(k_exit_codes_help));

  auto lf = std::make_shared<ListFlags>();
  CLI::App* list = incidents->add_subcommand("list", "List incidents, newest first (all pages, or --top N)");
  add_api_flags(*list, lf->api, false);
  list->add_option("--status", lf->status, "Active | InProgress | Resolved | Redirected (repeat or comma-separate for any of)");
  list->add_option("--severity", lf->severity,
                   "Informational | Low | Medium | High (filtered client-side on the Defender XDR API, which cannot)");
  list->add_option("--since", lf->since, "Updated since a time (2026-01-01T00:00:00Z) or a duration back (7d, 12h, P7D)");
  list->add_option("--assigned-to", lf->assigned_to, "Assigned to this user (UPN)");
  list->add_option("--top", lf->top, "At most N incidents");
  list->add_option("--page-size", lf->page_size, "Incidents per request, 1..100 (default 100)");
  add_fleet_flags(*list, lf->fleet);
  list->footer("Output: table (fits the terminal), json (an array), ndjson (one incident per line), csv (RFC 4180).\n"
               "Filters the API cannot do are applied here and named on standard error.\n"
               "Across tenants (--all-tenants, --tenants-label K=V): every incident carries its tenant's id and name,\n"
               "--top applies per tenant, and a per-tenant summary follows (on standard error for ndjson and csv).\n"
               "Exit code 3: some tenants failed (each summary line says why); 130: stopped by Ctrl-C.\n" +
               std::string(k_exit_codes_help));

  auto gf = std::make_shared<GetFlags>();
  CLI::App* get = incidents->add_subcommand("get", "Show one incident with its alerts and comments");
  get->add_option("id", gf->id, "The incident id")->required();
  add_api_flags(*get, gf->api, false);

  auto uf = std::make_shared<UpdateFlags>();
  CLI::App* update = incidents->add_subcommand("update", "Change an incident's status, classification, assignment, tags; add a comment");
  update->add_option("id", uf->id, "The incident id")->required();
  add_api_flags(*update, uf->api, false);
  update->add_option("--status", uf->status, "Active | InProgress | Resolved | Redirected (Graph: also AwaitingAction)");
  update->add_option("--classification", uf->classification, "TruePositive | InformationalExpectedActivity | FalsePositive");
  update->add_option("--determination", uf->determination,
                     "TruePositive: MultiStagedAttack, MaliciousUserActivity, CompromisedUser, Malware, Phishing, "
                     "UnwantedSoftware, Other; InformationalExpectedActivity: SecurityTesting, LineOfBusinessApplication, "
                     "ConfirmedUserActivity, Other; FalsePositive: Clean, InsufficientData, Other");
  update->add_option("--assign-to", uf->assign_to, "Assign to this user (UPN)");
  update->add_flag("--unassign", uf->unassign, "Remove the assignment");
  update->add_option("--tag", uf->tags, "A tag; repeat for several (replaces the incident's tags)");
  update->add_flag("--clear-tags", uf->clear_tags, "Remove every tag");
  update->add_option("--comment", uf->comment, "Add a comment");
  update->footer("Values are checked before anything is sent (a determination must belong to the classification).\n" +
                 std::string(k_exit_codes_help));

  return {incidents, [&ctx, lf, gf, uf, list, get, update]() -> int {
            if (list->parsed()) return run_list(ctx, *lf);
            if (get->parsed()) return run_get(ctx, *gf);
            if (update->parsed()) return run_update(ctx, *uf);
            return ctx.usage("incidents needs a command: list, get or update");
          }};
}

} // namespace xdr::cli
