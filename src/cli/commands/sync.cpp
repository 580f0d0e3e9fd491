// `xdrpartner sync`: every enabled tenant of the registry, incrementally (lastUpdateTime watermark with an
// overlap window), from the Defender XDR or Graph security incidents API into the store, through the fan-out
// engine; `--watch` polls again and again, within every tenant's quota, until Ctrl-C.

#include <cctype>
#include <memory>

#include <cli/api_support.hpp>
#include <cli/commands/commands.hpp>
#include <cli/fleet_output.hpp>
#include <cli/output.hpp>
#include <xdr/api/endpoints.hpp>
#include <xdr/api/quota.hpp>
#include <xdr/fleet/fan_out.hpp>
#include <xdr/fleet/progress.hpp>
#include <xdr/sync/api_feed.hpp>
#include <xdr/sync/sync_engine.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::cli {

namespace {

struct SyncFlags {
  ApiFlags api;
  std::string watch;        // empty: one run
  std::string overlap = "5m";
  size_t concurrency = 0;
  int page_size = 100;
  std::vector<std::string> labels;
};

// "90", "90s", "5m", "1h", "1d" or ISO 8601 ("PT5M") as seconds. Errors (config) name the flag.
Result<std::chrono::seconds> parse_duration_flag(const std::string& text, const char* flag) {
  const std::string t(util::trim(text));
  auto bad = [&] {
    return fail(ErrorKind::config, std::string(flag) + " '" + text +
                                       "' is not a duration: give e.g. 30s, 5m, 1h, 1d, a number of seconds, or PT5M");
  };
  if (t.empty()) return bad();
  if (t[0] == 'P' || t[0] == 'p') {
    auto iso = util::parse_iso_duration(t);
    if (!iso) return bad();
    return *iso;
  }
  size_t digits = 0;
  while (digits < t.size() && std::isdigit(static_cast<unsigned char>(t[digits]))) ++digits;
  if (digits == 0 || digits > 9) return bad();
  const int64_t n = std::stoll(t.substr(0, digits));
  const std::string unit = util::to_lower(t.substr(digits));
  if (unit.empty() || unit == "s") return std::chrono::seconds(n);
  if (unit == "m") return std::chrono::seconds(n * 60);
  if (unit == "h") return std::chrono::seconds(n * 3600);
  if (unit == "d") return std::chrono::seconds(n * 86400);
  return bad();
}

int run_sync(Context& ctx, const SyncFlags& f) {
  std::map<std::string, std::string> labels;
  for (const auto& text : f.labels) {
    auto label = store::parse_label(text);
    if (!label) return ctx.usage(label.error().message);
    labels[label->first] = label->second;
  }
  auto overlap = parse_duration_flag(f.overlap, "--overlap");
  if (!overlap) return ctx.usage(overlap.error().message);
  std::optional<std::chrono::seconds> interval;
  if (!f.watch.empty()) {
    auto parsed = parse_duration_flag(f.watch, "--watch");
    if (!parsed) return ctx.usage(parsed.error().message);
    if (parsed->count() < 1) return ctx.usage("--watch must be at least 1s");
    interval = *parsed;
  }
  if (f.page_size < 1 || f.page_size > 100) return ctx.usage("--page-size must be 1..100");

  auto settings = ctx.settings();
  if (!settings) return ctx.report(settings.error());
  const Settings& s = **settings;
  auto db = ctx.store();
  if (!db) return ctx.report(db.error());
  store::Store& store = **db;
  store::TenantFilter filter;
  filter.labels = labels;
  filter.enabled_only = true;
  auto tenants = store.list_tenants(filter);
  if (!tenants) return ctx.report(tenants.error());
  if (tenants->empty()) {
    ctx.io().out << "no enabled tenants" << (labels.empty() ? "" : " match") << " in " << ctx.db_path()
                 << "\n  add one with: xdrpartner tenants add TENANT-ID-or-DOMAIN\n";
    return k_exit_ok;
  }

  const api::Dialect dialect = util::iequals(f.api.api, "graph") ? api::Dialect::graph : api::Dialect::legacy;
  if (auto region = api::parse_region(f.api.region); !region) return ctx.usage(region.error().message);
  // Each tenant's calls go to its registry region's host, unless --region decides for all (--api-base wins).
  auto endpoints = api::TenantEndpoints::create(
      s.cloud, f.api.region, api::overrides_from_environment(ctx.io().env, {f.api.api_base, f.api.graph_base}));
  if (!endpoints) return ctx.report(endpoints.error());
  auto client = ctx.auth_client();
  if (!client) return ctx.report(client.error());
  auth::AuthClient& auth = **client;

  // One budget for the whole process: every tenant's calls of every --watch round draw from it.
  api::QuotaBudgetOptions quota;
  quota.clock = ctx.io().clock;
  sync::ApiFeedOptions feed_options;
  feed_options.dialect = dialect;
  feed_options.endpoints = endpoints->run();
  feed_options.tenant_endpoints = [tenant_hosts = *endpoints](const fleet::TenantRef& tenant) {
    return tenant_endpoints(tenant_hosts, tenant);
  };
  feed_options.transport = ctx.transport();
  feed_options.budget = std::make_shared<api::QuotaBudget>(quota);
  feed_options.page_size = f.page_size;
  feed_options.tokens = [&auth](const std::string& tenant, const std::string& resource) -> Result<std::string> {
    auto token = auth.get_token(tenant, resource);
    if (!token) return fail(token.error());
    return std::string(token->value().reveal());
  };
  sync::ApiIncidentFeed feed(std::move(feed_options));

  sync::SyncAllOptions options;
  options.sync.overlap = *overlap;
  options.sync.clock = ctx.io().clock;
  options.fan_out.concurrency = f.concurrency;
  options.fan_out.cloud = std::string(auth::to_string(s.cloud));
  options.filter.labels = labels;
  const std::string resource = endpoints->run().resource(dialect);

  fleet::CancelToken never;
  const fleet::CancelToken& cancel = ctx.io().cancel ? *ctx.io().cancel : never;
  std::unique_ptr<fleet::ProgressBar> progress;
  Json envelopes = Json::array();
  auto on_envelope = [&](const fleet::Envelope& e) {
    std::string consent_url;
    if (e.status == fleet::EnvelopeStatus::consent_missing) {
      auth::AdminConsentOptions consent;
      consent.tenant = e.tenant.tenant_id;
      consent.resource = resource;
      consent_url = auth.admin_consent_link(consent);
    }
    if (ctx.json_output()) {
      Json j = envelope_json(e);
      if (!consent_url.empty()) j["consent_url"] = consent_url;
      envelopes.push_back(std::move(j));
    } else {
      if (progress) progress->finish();
      print_envelope(ctx.io().out, e);
      if (!consent_url.empty())
        ctx.io().out << "                 consent link for the customer's administrator: " << consent_url << "\n";
    }
    if (progress) progress->add(e);
  };
  auto start_round = [&] {
    progress = std::make_unique<fleet::ProgressBar>(ctx.io().err, tenants->size(), ctx.stderr_is_terminal());
    envelopes = Json::array();
  };
  auto end_round = [&](const fleet::Summary& summary) {
    if (progress) progress->finish();
    if (ctx.json_output())
      ctx.io().out << Json{{"tenants", envelopes}, {"summary", summary_json(summary)}}.dump(interval ? -1 : 2) << "\n";
    else
      print_summary(ctx.io().out, summary);
    ctx.io().out.flush();
    start_round();
  };

  start_round();
  if (!interval) {
    auto summary = sync::sync_all(store, feed, options, cancel, on_envelope);
    if (!summary) return ctx.report(summary.error());
    end_round(*summary);
    return summary->exit_code();
  }
  if (!ctx.json_output())
    ctx.io().out << "watching " << tenants->size() << " tenant(s) every " << interval->count()
                 << " s within each tenant's quota; Ctrl-C stops\n";
  auto last = sync::watch(store, feed, std::chrono::duration_cast<std::chrono::milliseconds>(*interval), options, cancel,
                          on_envelope, end_round);
  if (!last) return ctx.report(last.error());
  return cancel.cancelled() ? fleet::k_exit_cancelled : last->exit_code();
}

} // namespace

Command add_sync(CLI::App& root, Context& ctx) {
  auto f = std::make_shared<SyncFlags>();
  CLI::App* app = root.add_subcommand("sync", "Pull every enabled tenant's incidents into the store, incrementally");
  add_api_flags(*app, f->api, false);
  app->add_option("--watch", f->watch, "Keep syncing every INTERVAL (30s, 5m, 1h) until Ctrl-C, within each tenant's quota");
  app->add_option("--overlap", f->overlap,
                  "Fetch again this far before each tenant's watermark, for late or same-time updates (default 5m)");
  app->add_option("--concurrency", f->concurrency, "Tenants synced at once (default: from the machine, 8..16)");
  app->add_option("--page-size", f->page_size, "Incidents per request, 1..100 (default 100; Graph serves at most 50)");
  app->add_option("--label", f->labels, "KEY=VALUE, repeatable: only tenants with these labels");
  app->footer("Examples:\n"
              "  xdrpartner sync --db partner.db\n"
              "  xdrpartner sync --api graph --watch 5m\n"
              "Incidents, with their alerts, devices and entities, go to the store (--db PATH, env XDR_DB); each tenant's\n"
              "watermark moves in the same transaction as its data, so an interrupted run loses nothing and the next\n"
              "run resumes. Each tenant's calls go to the Defender API host of its registry region (tenants add\n"
              "--region); --region sends every tenant to one host, and --api-base (the emulator) wins over both.\n"
              "See docs/cli/sync.md.\n"
              "Exit codes: 0 every tenant synced, 3 some tenants failed (each line says why; consent links are\n"
              "printed), 130 stopped by Ctrl-C, 1 a store or service failure, 2 a usage or configuration error.");
  return {app, [&ctx, f] { return run_sync(ctx, *f); }};
}

} // namespace xdr::cli
