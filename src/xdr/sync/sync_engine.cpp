#include <xdr/sync/sync_engine.hpp>

#include <algorithm>
#include <utility>

#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::sync {

namespace {

std::optional<TimePoint> later(std::optional<TimePoint> a, std::optional<TimePoint> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

std::optional<TimePoint> max_update_time(const std::vector<api::Incident>& incidents) {
  std::optional<TimePoint> max;
  for (const auto& i : incidents) max = later(max, i.last_update_time);
  return max;
}

} // namespace

Result<TenantSyncResult> sync_tenant(store::Store& store, IncidentFeed& feed, const std::string& tenant_id,
                                     const SyncOptions& options, fleet::TenantScope* scope) {
  fleet::TenantRef tenant;
  tenant.tenant_id = tenant_id;
  return sync_tenant(store, feed, tenant, options, scope);
}

Result<TenantSyncResult> sync_tenant(store::Store& store, IncidentFeed& feed, const fleet::TenantRef& tenant_ref,
                                     const SyncOptions& options, fleet::TenantScope* scope) {
  fleet::TenantRef tenant = tenant_ref;
  tenant.tenant_id = util::to_lower(tenant.tenant_id);
  const std::string& tid = tenant.tenant_id;
  const std::string api = feed.api();
  const auto clock = options.clock ? options.clock : util::system_clock();
  TenantSyncResult result;

  // 1. Where to start: the stored watermark minus the overlap, so late and same-timestamp updates are seen.
  XDR_TRY_ASSIGN(std::optional<TimePoint> watermark, store.watermark(tid, api));
  if (watermark)
    result.since = *watermark - options.overlap;
  else if (options.first_lookback)
    result.since = clock->now() - *options.first_lookback;

  // 2. Fetch and store. Oldest-first pages carry the watermark each; otherwise one page is held back so the
  //    watermark can go with the last page, after every page was fetched.
  //    The watermark is capped at this run's start by our clock: one incident stamped in the future (a skewed
  //    service clock) must not push the watermark past updates still to come; capping only fetches more.
  const TimePoint run_started = clock->now();
  const bool per_page = feed.order() == FeedOrder::oldest_first;
  std::optional<TimePoint> seen_max;
  std::optional<std::vector<api::Incident>> held;
  auto store_page = [&](const std::vector<api::Incident>& page, std::optional<TimePoint> new_watermark) -> Status {
    XDR_TRY_ASSIGN(store::UpsertStats stats, store.upsert_incidents(tid, api, page, new_watermark));
    result.incidents += stats.incidents;
    result.alerts += stats.alerts;
    if (scope) scope->add_rows(stats.incidents);
    return {};
  };
  auto on_page = [&](std::vector<api::Incident>&& page) -> Status {
    if (scope && scope->cancel().cancelled())
      return fail(ErrorKind::cancelled, "sync of tenant " + tid + " stopped by the user after " +
                                            std::to_string(result.pages) + " page(s); the next run resumes");
    ++result.pages;
    seen_max = later(seen_max, max_update_time(page));
    if (seen_max && *seen_max > run_started) seen_max = run_started;
    if (per_page) return store_page(page, seen_max);
    if (!held) {
      held = std::move(page);
      return {};
    }
    XDR_TRY(store_page(*held, std::nullopt));
    // The stored page's objects go back to the feed, which parses the next page into them (no allocation).
    std::swap(*held, page);
    return {};
  };
  Status fetched = feed.list_updated_since(tenant, result.since, on_page);

  // 3. The last page with the watermark; after a failure, the held page without it (kept, not trusted).
  Status stored = held ? store_page(*held, fetched ? seen_max : std::nullopt) : Status{};
  Status outcome = !fetched ? fetched : stored;

  // 4. Record the run (its failure to record does not hide the run's own error).
  const std::string status = outcome ? std::string("ok") : outcome.error().message;
  Status recorded = store.record_sync_run(tid, api, clock->now(), status);
  if (!outcome) return tl::unexpected(outcome.error());
  XDR_TRY(recorded);
  XDR_TRY_ASSIGN(result.watermark, store.watermark(tid, api));
  return result;
}

Result<fleet::Summary> sync_all(store::Store& store, IncidentFeed& feed, const SyncAllOptions& options,
                                const fleet::CancelToken& cancel, const fleet::EnvelopeCallback& on_envelope) {
  store::TenantFilter filter = options.filter;
  filter.enabled_only = true;
  XDR_TRY_ASSIGN(std::vector<store::Tenant> tenants, store.list_tenants(filter));
  std::vector<fleet::TenantRef> refs;
  refs.reserve(tenants.size());
  for (const auto& t : tenants) refs.push_back({t.tenant_id, t.name, t.cloud, t.region});
  auto operation = [&](const fleet::TenantRef& tenant, fleet::TenantScope& scope) -> Result<fleet::Outcome> {
    XDR_TRY_ASSIGN(TenantSyncResult r, sync_tenant(store, feed, tenant, options.sync, &scope));
    std::string detail = std::to_string(r.incidents) + " incident(s), " + std::to_string(r.alerts) + " alert(s) in " +
                         std::to_string(r.pages) + " page(s)";
    if (r.watermark) detail += "; watermark " + util::format_rfc3339(*r.watermark, 0);
    return fleet::Outcome{detail};
  };
  return fleet::fan_out(refs, operation, options.fan_out, cancel, on_envelope);
}

Result<fleet::Summary> watch(store::Store& store, IncidentFeed& feed, std::chrono::milliseconds interval,
                             const SyncAllOptions& options, const fleet::CancelToken& cancel,
                             const fleet::EnvelopeCallback& on_envelope,
                             const std::function<void(const fleet::Summary&)>& on_round, Sleeper sleep) {
  if (!sleep) sleep = [](std::chrono::milliseconds d, const fleet::CancelToken& c) { return c.wait_for(d); };
  for (;;) {
    XDR_TRY_ASSIGN(fleet::Summary summary, sync_all(store, feed, options, cancel, on_envelope));
    if (on_round) on_round(summary);
    if (cancel.cancelled() || sleep(interval, cancel)) return summary;
  }
}

} // namespace xdr::sync
