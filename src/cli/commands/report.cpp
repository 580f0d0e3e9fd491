// `xdrpartner report`: what the store holds, per tenant: incidents by severity and status, and health
// (last check, last sync, watermark). Reads the store without changing it.

#include <cli/commands/commands.hpp>
#include <cli/output.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::cli {

namespace {

// One tenant's incident counts, keyed by the stored (Graph) spellings.
struct Counts {
  int64_t total = 0;
  std::map<std::string, int64_t> by_severity;
  std::map<std::string, int64_t> by_status;
};

int64_t get(const std::map<std::string, int64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}

Json map_json(const std::map<std::string, int64_t>& m) {
  Json j = Json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

int run_report(Context& ctx) {
  auto db = ctx.store(/*read_only=*/true);
  if (!db) return ctx.report(db.error());
  auto tenants = (*db)->list_tenants();
  if (!tenants) return ctx.report(tenants.error());
  auto counts = (*db)->incident_counts();
  if (!counts) return ctx.report(counts.error());
  auto states = (*db)->sync_states();
  if (!states) return ctx.report(states.error());

  std::map<std::string, Counts> per_tenant;
  for (const auto& c : *counts) {
    Counts& t = per_tenant[c.tenant_id];
    t.total += c.count;
    t.by_severity[c.severity] += c.count;
    t.by_status[c.status] += c.count;
  }
  std::map<std::string, std::vector<store::SyncState>> syncs;
  for (const auto& s : *states) syncs[s.tenant_id].push_back(s);

  auto& out = ctx.io().out;
  if (ctx.json_output()) {
    Json list = Json::array();
    for (const auto& t : *tenants) {
      const Counts& c = per_tenant[t.tenant_id];
      Json sync = Json::array();
      for (const auto& s : syncs[t.tenant_id])
        sync.push_back({{"api", s.api},
                        {"watermark", s.watermark ? Json(format_time(*s.watermark)) : Json(nullptr)},
                        {"last_run_at", s.last_run_at ? Json(format_time(*s.last_run_at)) : Json(nullptr)},
                        {"last_status", s.last_status}});
      Json health = {{"enabled", t.enabled},
                     {"last_check_at", t.last_check_at ? Json(format_time(*t.last_check_at)) : Json(nullptr)},
                     {"last_check_status", t.last_check_status},
                     {"last_check_detail", t.last_check_detail}};
      if (!t.consent_url.empty()) health["consent_url"] = t.consent_url;
      list.push_back({{"tenant_id", t.tenant_id},
                      {"name", t.name},
                      {"incidents", {{"total", c.total}, {"by_severity", map_json(c.by_severity)}, {"by_status", map_json(c.by_status)}}},
                      {"health", health},
                      {"sync", sync}});
    }
    out << Json{{"database", ctx.db_path()}, {"tenants", list}}.dump(2) << "\n";
    return k_exit_ok;
  }

  if (tenants->empty()) {
    out << "no tenants in " << ctx.db_path() << "\n  add one with: xdrpartner tenants add TENANT-ID-or-DOMAIN\n";
    return k_exit_ok;
  }
  const auto n = [](int64_t v) { return std::to_string(v); };
  out << "Incidents per tenant (" << ctx.db_path() << ")\n";
  std::vector<std::vector<std::string>> rows{{"TENANT", "TOTAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNSPECIFIED",
                                              "ACTIVE", "IN PROGRESS", "RESOLVED", "OTHER STATUS"}};
  Counts all;
  for (const auto& t : *tenants) {
    const Counts& c = per_tenant[t.tenant_id];
    const int64_t other = c.total - get(c.by_status, "active") - get(c.by_status, "inProgress") - get(c.by_status, "resolved");
    rows.push_back({t.name, n(c.total), n(get(c.by_severity, "high")), n(get(c.by_severity, "medium")),
                    n(get(c.by_severity, "low")), n(get(c.by_severity, "informational")),
                    n(get(c.by_severity, "unknown")), n(get(c.by_status, "active")), n(get(c.by_status, "inProgress")),
                    n(get(c.by_status, "resolved")), n(other)});
    all.total += c.total;
  }
  print_table(out, rows);
  out << "\nTenant health\n";
  std::vector<std::vector<std::string>> health{{"TENANT", "ID", "ENABLED", "LAST CHECK", "CHECK STATUS", "LAST SYNC",
                                                "SYNC STATUS", "WATERMARK"}};
  std::vector<std::string> notes;
  for (const auto& t : *tenants) {
    std::string last_sync = "never";
    std::string sync_status = "-";
    std::string watermark = "-";
    for (const auto& s : syncs[t.tenant_id]) {
      last_sync = s.last_run_at ? format_time(*s.last_run_at) + " (" + s.api + ")" : "never";
      sync_status = s.last_status.empty() ? "-" : s.last_status.substr(0, 40);
      watermark = s.watermark ? format_time(*s.watermark) : "-";
    }
    health.push_back({t.name, t.tenant_id, t.enabled ? "yes" : "no",
                      t.last_check_at ? format_time(*t.last_check_at) : "never",
                      t.last_check_status.empty() ? "-" : t.last_check_status, last_sync, sync_status, watermark});
    if (!t.consent_url.empty()) notes.push_back(t.name + ": consent missing; send this link to its administrator: " + t.consent_url);
    else if (!t.last_check_status.empty() && t.last_check_status != "ok")
      notes.push_back(t.name + ": " + t.last_check_status + ": " + t.last_check_detail);
  }
  print_table(out, health);
  if (!notes.empty()) {
    out << "\n";
    for (const auto& note : notes) out << note << "\n";
  }
  out << "\n" << tenants->size() << " tenant(s), " << all.total << " incident(s)\n";
  return k_exit_ok;
}

} // namespace

Command add_report(CLI::App& root, Context& ctx) {
  CLI::App* app = root.add_subcommand("report", "Incidents per tenant by severity and status, and the tenants' health");
  app->footer("Reads the store (--db PATH, env XDR_DB, default ~/.local/share/xdrpartner/xdrpartner.db) without\n"
              "changing it. --output json prints one document with every tenant.\n"
              "Example:\n  xdrpartner report --db partner.db\n" +
              std::string(k_exit_codes_help));
  return {app, [&ctx] { return run_report(ctx); }};
}

} // namespace xdr::cli
