#include <xdr/fleet/fan_out.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include <xdr/auth/aadsts.hpp>
#include <xdr/auth/cloud.hpp>
#include <xdr/util/strings.hpp>

namespace xdr::fleet {

std::string_view to_string(EnvelopeStatus status) {
  switch (status) {
  case EnvelopeStatus::ok: return "ok";
  case EnvelopeStatus::throttled: return "throttled";
  case EnvelopeStatus::consent_missing: return "consent_missing";
  case EnvelopeStatus::forbidden: return "forbidden";
  case EnvelopeStatus::unreachable: return "unreachable";
  case EnvelopeStatus::timeout: return "timeout";
  case EnvelopeStatus::error: return "error";
  case EnvelopeStatus::cancelled: return "cancelled";
  }
  return "error";
}

namespace {
// "gcc-high" and "gcchigh" name the same cloud.
bool same_cloud(std::string_view a, std::string_view b) {
  auto x = auth::parse_cloud(a);
  auto y = auth::parse_cloud(b);
  return x && y ? *x == *y : util::iequals(a, b);
}
} // namespace

EnvelopeStatus classify(const Error& error) {
  if (auth::is_consent_missing(error)) return EnvelopeStatus::consent_missing;
  const int status = error.http_status.value_or(0);
  switch (error.kind) {
  case ErrorKind::cancelled: return EnvelopeStatus::cancelled;
  case ErrorKind::rate_limited: return EnvelopeStatus::throttled;
  case ErrorKind::forbidden: return EnvelopeStatus::forbidden;
  case ErrorKind::timeout: return EnvelopeStatus::timeout;
  case ErrorKind::transport: return EnvelopeStatus::unreachable;
  default: break;
  }
  if (status == 429) return EnvelopeStatus::throttled;
  if (status == 403) return EnvelopeStatus::forbidden;
  // A 401 from the service (not from Entra ID, whose errors carry an AADSTS code) refuses the token itself.
  if (status == 401 && error.code.rfind("AADSTS", 0) != 0) return EnvelopeStatus::forbidden;
  if (status == 408 || status == 504) return EnvelopeStatus::timeout;
  if (status == 502 || status == 503) return EnvelopeStatus::unreachable;
  return EnvelopeStatus::error;
}

int Summary::exit_code() const {
  if (cancelled) return k_exit_cancelled;
  return failed() == 0 && count(EnvelopeStatus::cancelled) == 0 ? k_exit_all_ok : k_exit_partial;
}

size_t default_concurrency() {
  const size_t hw = std::max(1u, std::thread::hardware_concurrency());
  return std::clamp<size_t>(2 * hw, 8, 16);
}

Summary fan_out(const std::vector<TenantRef>& tenants, const Operation& operation, const FanOutOptions& options,
                const CancelToken& cancel, const EnvelopeCallback& on_envelope) {
  const auto started = std::chrono::steady_clock::now();
  Summary summary;
  summary.total = tenants.size();
  std::mutex report_mutex; // serialises on_envelope and the summary
  std::vector<bool> reported(tenants.size(), false);
  std::atomic<size_t> next{0};

  auto report = [&](size_t index, const Envelope& envelope) {
    std::lock_guard lock(report_mutex);
    reported[index] = true;
    ++summary.by_status[envelope.status];
    if (envelope.status != EnvelopeStatus::cancelled) ++summary.done;
    summary.rows += envelope.rows;
    if (on_envelope) on_envelope(envelope);
  };

  auto run_one = [&](size_t index) {
    const TenantRef& tenant = tenants[index];
    std::shared_ptr<QuotaBudget> budget = options.budgets ? options.budgets(tenant.tenant_id) : nullptr;
    TenantScope scope(cancel, budget);
    Envelope envelope;
    envelope.tenant = tenant;
    const auto t0 = std::chrono::steady_clock::now();
    Result<Outcome> result = fail(ErrorKind::config, "no operation");
    try {
      if (!options.cloud.empty() && !tenant.cloud.empty() && !same_cloud(tenant.cloud, options.cloud))
        result = fail(ErrorKind::config, "registered in the " + tenant.cloud + " cloud, but this run talks to the " +
                                             options.cloud + " cloud; run it again with --cloud " + tenant.cloud +
                                             " (and that cloud's app registration) to reach this tenant");
      else
        result = operation(tenant, scope);
    } catch (const std::exception& e) {
      result = fail(ErrorKind::config, std::string("internal error: ") + e.what());
    }
    envelope.latency = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    envelope.rows = scope.rows();
    envelope.retries = scope.retries();
    if (result) {
      envelope.detail = result->detail;
    } else {
      const Error& e = result.error();
      envelope.status = classify(e);
      envelope.detail = e.message;
      envelope.code = e.code;
      envelope.http_status = e.http_status;
      if (envelope.status == EnvelopeStatus::throttled && budget) budget->throttled(e.retry_after);
    }
    report(index, envelope);
  };

  // Workers take the next tenant until none is left or the run is cancelled.
  auto worker = [&] {
    while (!cancel.cancelled()) {
      const size_t index = next.fetch_add(1);
      if (index >= tenants.size()) return;
      run_one(index);
    }
  };
  const size_t concurrency = options.concurrency == 0 ? default_concurrency() : options.concurrency;
  const size_t workers = std::min(concurrency, tenants.size());
  std::vector<std::thread> threads;
  threads.reserve(workers);
  for (size_t i = 0; i < workers; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  // Tenants never started: their envelopes say so.
  for (size_t i = 0; i < tenants.size(); ++i) {
    if (reported[i]) continue;
    Envelope envelope;
    envelope.tenant = tenants[i];
    envelope.status = EnvelopeStatus::cancelled;
    envelope.detail = "not started: stopped by the user";
    report(i, envelope);
  }
  summary.cancelled = summary.count(EnvelopeStatus::cancelled) > 0;
  summary.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return summary;
}

} // namespace xdr::fleet
