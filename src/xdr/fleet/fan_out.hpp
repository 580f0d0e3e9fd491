#pragma once
// The fan-out engine: one operation over many tenants with bounded concurrency, each tenant under its quota
// budget, results streamed as per-tenant envelopes as they complete. Partial results are results: a failing
// tenant gets an envelope saying why, and the others carry on.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdr/fleet/cancel.hpp>
#include <xdr/util/result.hpp>

namespace xdr::fleet {

// Process exit codes for a run over many tenants (the CLI's 1 and 2 keep their meanings).
inline constexpr int k_exit_all_ok = 0;      // every tenant ok
inline constexpr int k_exit_partial = 3;     // some tenants failed; their envelopes say why
inline constexpr int k_exit_cancelled = 130; // stopped by Ctrl-C; the summary says what was done

// The tenant an operation runs for.
struct TenantRef {
  std::string tenant_id; // GUID
  std::string name;      // for people; may be empty
  std::string cloud;     // the cloud the registry holds the tenant in ("global", "gcc-high", ...); empty: unknown
  std::string region;    // the registry region ("eu", as registered); empty: none (the cloud's global host)
};

// How one tenant's operation ended.
enum class EnvelopeStatus {
  ok,
  throttled,       // 429 / rate_limited after the operation's retries
  consent_missing, // AADSTS65001 / AADSTS700016: the customer's admin must consent
  forbidden,       // 403 / missing roles, or a 401 the service gave for the token
  unreachable,     // connection failed, DNS, TLS, 502/503/504
  timeout,         // the call or the tenant's deadline timed out
  error,           // anything else (bad response, unknown tenant, storage, internal)
  cancelled,       // not started, or stopped, because the user pressed Ctrl-C
};

// "ok", "throttled", "consent_missing", ...
std::string_view to_string(EnvelopeStatus status);
// The envelope status an error maps to (see EnvelopeStatus).
EnvelopeStatus classify(const Error& error);

// One tenant's request budget, shared by every call made for it (written with the API client). The engine
// hands it to the operation, which takes from it before each request.
class QuotaBudget {
public:
  virtual ~QuotaBudget() = default;
  // Waits until one more request is allowed; errors (rate_limited, cancelled) when it will not be in time.
  virtual Status acquire(const CancelToken& cancel) = 0;
  // Tells the budget the service throttled the tenant (with its Retry-After when sent).
  virtual void throttled(std::optional<std::chrono::seconds> retry_after) = 0;
};

// The budget of a tenant: the same object for the same tenant for as long as the caller keeps it.
using BudgetProvider = std::function<std::shared_ptr<QuotaBudget>(const std::string& tenant_id)>;

// What an operation sees of its run: cancellation, the tenant's budget, and counters it feeds.
class TenantScope {
public:
  TenantScope(const CancelToken& cancel, std::shared_ptr<QuotaBudget> budget) : m_cancel(cancel), m_budget(std::move(budget)) {}
  const CancelToken& cancel() const { return m_cancel; }
  // The tenant's budget; null when the run has none (unlimited).
  QuotaBudget* budget() const { return m_budget.get(); }
  // Counts rows (incidents, hunting rows, ...) done so far; they count even when the operation fails later.
  void add_rows(int64_t n) { m_rows += n; }
  // Counts retries the operation made (from any thread the operation uses).
  void add_retries(int n) { m_retries += n; }
  int64_t rows() const { return m_rows; }
  int retries() const { return m_retries; }

private:
  const CancelToken& m_cancel;
  std::shared_ptr<QuotaBudget> m_budget;
  std::atomic<int64_t> m_rows{0};
  std::atomic<int> m_retries{0};
};

// What a successful operation says about its tenant (one line for people).
struct Outcome {
  std::string detail;
};

// The operation run for each tenant. It does its own retries (counting them in the scope) and is called from
// worker threads, one tenant per thread at a time.
using Operation = std::function<Result<Outcome>(const TenantRef&, TenantScope&)>;

// One tenant's result.
struct Envelope {
  TenantRef tenant;
  EnvelopeStatus status = EnvelopeStatus::ok;
  std::chrono::milliseconds latency{0};
  int retries = 0;
  int64_t rows = 0;
  std::string detail;             // the outcome's detail, or the error's message
  std::string code;               // the error's service code (AADSTS65001, ...), when any
  std::optional<int> http_status; // the error's HTTP status, when any
};

// The run as a whole.
struct Summary {
  size_t total = 0;
  size_t done = 0;                                 // envelopes that are not cancelled
  std::map<EnvelopeStatus, size_t> by_status;      // every envelope counted once
  int64_t rows = 0;
  std::chrono::milliseconds elapsed{0};
  bool cancelled = false;                          // some tenant was not done because of Ctrl-C

  size_t count(EnvelopeStatus s) const {
    auto it = by_status.find(s);
    return it == by_status.end() ? 0 : it->second;
  }
  size_t failed() const { return total - count(EnvelopeStatus::ok) - count(EnvelopeStatus::cancelled); }
  // k_exit_all_ok, k_exit_partial or k_exit_cancelled.
  int exit_code() const;
};

// The default concurrency for I/O-bound calls: twice the hardware threads, within [8, 16].
size_t default_concurrency();

struct FanOutOptions {
  size_t concurrency = 0;  // at most this many tenants at once; 0: default_concurrency()
  BudgetProvider budgets;  // null: no budget (the operation runs unthrottled by the engine)
  // The cloud this run talks to. A tenant registered in another cloud is not called (its tenant id would go
  // to the wrong authority and APIs): its envelope is an error saying which --cloud reaches it. Empty: no check.
  std::string cloud;
};

// Called once per tenant, serialised (never two at once), from the worker that finished it; the envelopes
// of tenants never started (cancelled) come last, from the calling thread.
using EnvelopeCallback = std::function<void(const Envelope&)>;

// Runs `operation` over `tenants`, at most options.concurrency at once. Once `cancel` is set no operation
// starts; running ones finish (they see the token in their scope). Returns when every tenant has an envelope.
Summary fan_out(const std::vector<TenantRef>& tenants, const Operation& operation, const FanOutOptions& options,
                const CancelToken& cancel, const EnvelopeCallback& on_envelope);

} // namespace xdr::fleet
