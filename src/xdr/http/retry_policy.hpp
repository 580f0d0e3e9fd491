#pragma once
// RetryTransport: retries throttled, failed and timed-out requests with the delay the server asks
// for (Retry-After in seconds or as an HTTP-date, retry-after-ms, x-ms-retry-after-ms), else with
// exponential backoff and jitter. A RetryBudget shared between transports caps retries globally,
// so a broken service is not hammered by every caller at once.
//
// Delay of retry n (n = 0 for the first retry) without a server hint:
//   min(max_delay, base_delay * 2^n) * (0.8 + 0.4 * jitter()),  jitter() in [0, 1),
// then capped at max_delay again. With jitter() == 0.5 the delays are exactly 800, 1600, 3200 ms.
//
// A server-given delay larger than max_delay is not slept: the response (for example a 429) is
// returned as it is, without an Error, so the caller can decide (report the Retry-After, defer
// the tenant, give up). Response::retries says how many retries preceded the returned response.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include <xdr/http/transport.hpp>
#include <xdr/util/clock.hpp>

namespace xdr::http {

struct RetryBudgetOptions {
  double retry_ratio = 0.2;  // each request earns this many retries
  double min_retries = 10;   // retries available before any request was made
  double max_balance = 100;  // a long healthy period saves up at most this many retries
};

// A token bucket of retries, shared by every RetryTransport that holds it: each first attempt
// deposits retry_ratio, each retry withdraws 1. Thread-safe.
class RetryBudget {
public:
  explicit RetryBudget(RetryBudgetOptions options = {});
  // Records a first attempt (not a retry).
  void record_request();
  // Takes one retry from the budget; false (and nothing taken) when fewer than 1 is left.
  bool try_withdraw();
  // Retries currently available.
  double balance() const;

private:
  RetryBudgetOptions m_options;
  mutable std::mutex m_mutex;
  double m_balance;
};

struct RetryOptions {
  int max_retries = 3;
  std::chrono::milliseconds base_delay{800};
  std::chrono::milliseconds max_delay{60'000};
  std::set<int> retry_status_codes{408, 429, 500, 502, 503, 504};
  bool retry_transport_errors = true; // ErrorKind::transport and ErrorKind::timeout
  // Shared between transports to limit retries globally; null: the RetryTransport makes its own.
  std::shared_ptr<RetryBudget> budget;
  // Reads "now" to turn a Retry-After HTTP-date into a delay; null: the system clock.
  std::shared_ptr<const util::Clock> clock;
  // Waits between attempts; null: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // A number in [0, 1) that spreads backoff delays; null: a thread-safe random source.
  std::function<double()> jitter;
};

// The server's requested delay from retry-after-ms, x-ms-retry-after-ms or Retry-After (seconds
// or HTTP-date relative to `now`), in that order of preference; nullopt when absent or malformed.
std::optional<std::chrono::milliseconds> server_retry_delay(const Headers& headers, util::TimePoint now);

class RetryTransport final : public Transport {
public:
  RetryTransport(std::shared_ptr<Transport> next, RetryOptions options = {});

  // Sends `request`, retrying as described above. A retried transport error that still fails is
  // returned with "after N retries" appended to its message.
  Result<Response> send(const Request& request) override;

  // The backoff delay of retry `retry_index` (0-based) without a server hint.
  std::chrono::milliseconds backoff_delay(int retry_index) const;
  const std::shared_ptr<RetryBudget>& budget() const { return m_options.budget; }

private:
  std::shared_ptr<Transport> m_next;
  RetryOptions m_options;
};

} // namespace xdr::http
