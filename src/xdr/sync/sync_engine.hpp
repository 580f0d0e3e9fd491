#pragma once
// Incremental incident sync of one tenant into a Store, by lastUpdateTime watermark with an overlap window.
//
// Why it never loses or duplicates anything, whatever moment a run stops (error, Ctrl-C, kill -9):
// - every page is upserted (idempotent: the same incident twice is one row), so re-fetching is harmless;
// - the watermark moves only inside the transaction of data it covers, and never past data not yet stored:
//   with an oldest-first feed it moves with each page (to the max lastUpdateTime stored so far: everything
//   older has been stored, and an incident sharing that timestamp on the next page is still >= it); with any
//   other order it moves only with the run's last page, once every page was fetched;
// - the next run asks for incidents updated at or after (watermark - overlap), so updates that share the
//   watermark's timestamp or became visible late (within the overlap) are fetched again;
// - the watermark never passes the run's start time by the local clock, so an incident stamped in the
//   future cannot make later updates look old.
// A stopped run leaves the watermark where the last committed page put it; the next run resumes from there.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdr/api/model.hpp>
#include <xdr/fleet/cancel.hpp>
#include <xdr/fleet/fan_out.hpp>
#include <xdr/store/store.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::sync {

using util::TimePoint;

// The order in which a feed delivers incidents, by lastUpdateTime across all pages of one call.
enum class FeedOrder {
  oldest_first, // non-decreasing ($orderby=lastUpdateTime asc): the watermark may move with every page
  newest_first, // the legacy API's default order: the watermark moves with the last page only
  unordered,    // no promise: the watermark moves with the last page only
};

// Where incidents come from: an adapter over the API client, or a fake in tests. One feed serves many
// tenants at once (the fan-out engine calls it from several threads, one tenant per thread).
class IncidentFeed {
public:
  virtual ~IncidentFeed() = default;
  // The API name the watermark is kept under ("legacy" or "graph").
  virtual std::string api() const = 0;
  // The order list_updated_since delivers incidents in.
  virtual FeedOrder order() const = 0;
  // Calls `on_page` with each page of the tenant's incidents (with alerts, devices and entities) whose
  // lastUpdateTime is at or after `since` (all incidents when nullopt). Stops at the first error `on_page`
  // returns and returns it; otherwise the API's error (rate_limited, unauthorized, forbidden, ...) or success
  // after the last page. `on_page` may take the page's incidents or leave other incidents in the vector (the
  // sync engine hands a stored page back this way); a feed may parse its next page into what it finds there.
  // `tenant` is as registered (its id in lower case); a feed may pick the tenant's host by its region.
  virtual Status list_updated_since(const fleet::TenantRef& tenant, std::optional<TimePoint> since,
                                    const std::function<Status(std::vector<api::Incident>&&)>& on_page) = 0;
};

struct SyncOptions {
  std::chrono::seconds overlap{300};               // fetched again before the watermark on every run
  std::optional<std::chrono::seconds> first_lookback; // first run of a tenant: this far back; nullopt: everything
  std::shared_ptr<const util::Clock> clock = util::system_clock(); // first_lookback and the run's time
};

// What one tenant's run did.
struct TenantSyncResult {
  int64_t pages = 0;
  int64_t incidents = 0;                 // incidents upserted (re-fetched ones included)
  int64_t alerts = 0;
  std::optional<TimePoint> since;        // what the feed was asked for
  std::optional<TimePoint> watermark;    // the tenant's watermark after the run
};

// Syncs one tenant from `feed` into `store` (see the header comment for the guarantees), and records the
// run's time and outcome in the store's sync state. With a `scope` (from the fan-out engine), counts the
// incidents stored into it and checks its cancel token between pages: a cancelled run stops there with
// ErrorKind::cancelled, having lost nothing. Errors: the feed's, the store's, cancelled.
Result<TenantSyncResult> sync_tenant(store::Store& store, IncidentFeed& feed, const fleet::TenantRef& tenant,
                                     const SyncOptions& options = {}, fleet::TenantScope* scope = nullptr);
// The same for a tenant known by its id only (no registry region).
Result<TenantSyncResult> sync_tenant(store::Store& store, IncidentFeed& feed, const std::string& tenant_id,
                                     const SyncOptions& options = {}, fleet::TenantScope* scope = nullptr);

struct SyncAllOptions {
  SyncOptions sync;
  fleet::FanOutOptions fan_out;
  store::TenantFilter filter; // which tenants (labels); disabled tenants are always skipped
};

// Syncs every enabled tenant of the store matching options.filter through the fan-out engine; each envelope's
// rows are the incidents stored for that tenant. Errors: only when the tenants cannot be listed.
Result<fleet::Summary> sync_all(store::Store& store, IncidentFeed& feed, const SyncAllOptions& options,
                                const fleet::CancelToken& cancel, const fleet::EnvelopeCallback& on_envelope = {});

// Sleeps up to the duration or until the token is set; true when cancelled.
using Sleeper = std::function<bool(std::chrono::milliseconds, const fleet::CancelToken&)>;

// `sync --watch`: runs sync_all, sleeps `interval`, and again, until `cancel` is set; `on_round` gets each
// round's summary. Returns the last round's summary. Errors: as sync_all. `sleep` defaults to
// CancelToken::wait_for.
Result<fleet::Summary> watch(store::Store& store, IncidentFeed& feed, std::chrono::milliseconds interval,
                             const SyncAllOptions& options, const fleet::CancelToken& cancel,
                             const fleet::EnvelopeCallback& on_envelope,
                             const std::function<void(const fleet::Summary&)>& on_round, Sleeper sleep = {});

} // namespace xdr::sync
