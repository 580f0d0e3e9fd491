#include <xdr/http/retry_policy.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <random>
#include <thread>

#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::http {

RetryBudget::RetryBudget(RetryBudgetOptions options) : m_options(options), m_balance(options.min_retries) {}

void RetryBudget::record_request() {
  std::lock_guard lock(m_mutex);
  m_balance = std::min(m_options.max_balance, m_balance + m_options.retry_ratio);
}

bool RetryBudget::try_withdraw() {
  std::lock_guard lock(m_mutex);
  if (m_balance < 1.0) return false;
  m_balance -= 1.0;
  return true;
}

double RetryBudget::balance() const {
  std::lock_guard lock(m_mutex);
  return m_balance;
}

namespace {

constexpr double k_max_hint_ms = 1e12; // ~31 years: anything longer is treated as "too long"

std::optional<double> parse_non_negative(std::string_view text) {
  text = util::trim(text);
  if (text.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0) return std::nullopt;
  return std::min(value, k_max_hint_ms);
}

std::chrono::milliseconds to_ms(double ms) { return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(ms))); }

double default_jitter() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

} // namespace

std::optional<std::chrono::milliseconds> server_retry_delay(const Headers& headers, util::TimePoint now) {
  for (std::string_view name : {"retry-after-ms", "x-ms-retry-after-ms"}) {
    if (auto value = headers.get(name)) {
      if (auto ms = parse_non_negative(*value)) return to_ms(*ms);
    }
  }
  auto value = headers.get("retry-after");
  if (!value) return std::nullopt;
  std::string_view text = util::trim(*value);
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (auto seconds = parse_non_negative(text)) return to_ms(std::min(*seconds * 1000.0, k_max_hint_ms));
    return std::nullopt;
  }
  if (auto date = util::parse_http_date(text)) {
    auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(*date - now);
    return std::max(delta, std::chrono::milliseconds(0));
  }
  return std::nullopt;
}

RetryTransport::RetryTransport(std::shared_ptr<Transport> next, RetryOptions options)
    : m_next(std::move(next)), m_options(std::move(options)) {
  if (!m_next) throw Fatal("RetryTransport needs a transport to wrap");
  if (!m_options.budget) m_options.budget = std::make_shared<RetryBudget>();
  if (!m_options.clock) m_options.clock = util::system_clock();
  if (!m_options.sleep) m_options.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  if (!m_options.jitter) m_options.jitter = &default_jitter;
}

std::chrono::milliseconds RetryTransport::backoff_delay(int retry_index) const {
  double max_ms = static_cast<double>(m_options.max_delay.count());
  double exponential = static_cast<double>(m_options.base_delay.count()) * std::pow(2.0, std::min(retry_index, 62));
  double jitter = std::clamp(m_options.jitter(), 0.0, 1.0);
  double ms = std::min(max_ms, std::min(max_ms, exponential) * (0.8 + 0.4 * jitter));
  return std::chrono::milliseconds(std::llround(ms));
}

Result<Response> RetryTransport::send(const Request& request) {
  m_options.budget->record_request();
  int retries = 0;
  for (;;) {
    Result<Response> result = m_next->send(request);
    bool retryable = false;
    std::optional<std::chrono::milliseconds> hint;
    if (result) {
      if (m_options.retry_status_codes.count(result->status) > 0) {
        retryable = true;
        hint = server_retry_delay(result->headers, m_options.clock->now());
        // Longer than we are willing to wait: hand the response to the caller as it is.
        if (hint && *hint > m_options.max_delay) retryable = false;
      }
    } else {
      ErrorKind kind = result.error().kind;
      retryable = m_options.retry_transport_errors && (kind == ErrorKind::transport || kind == ErrorKind::timeout);
    }

    bool budget_exhausted = false;
    if (retryable && retries < m_options.max_retries) {
      if (m_options.budget->try_withdraw()) {
        m_options.sleep(hint.value_or(backoff_delay(retries)));
        ++retries;
        continue;
      }
      budget_exhausted = true;
    }

    if (result) {
      result->retries = retries;
    } else {
      if (retries > 0) result.error().message += " (after " + std::to_string(retries) + " retries)";
      if (budget_exhausted)
        result.error().message += " (not retried: the retry budget is exhausted because many recent requests "
                                  "failed; check the service health before trying again)";
    }
    return result;
  }
}

} // namespace xdr::http
