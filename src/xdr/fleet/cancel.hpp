#pragma once
// Cooperative cancellation: the CLI's SIGINT handler calls cancel(); the fan-out engine starts no new work
// once it is set, and long loops (sync pages, --watch sleeps) check it.

#include <atomic>
#include <chrono>

namespace xdr::fleet {

class CancelToken {
public:
  // Asks everything watching this token to stop. Async-signal-safe (one lock-free atomic store).
  void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
  // True once cancel() was called.
  bool cancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }
  // Sleeps up to `duration`, waking early (within `poll`) when cancelled; true when cancelled.
  bool wait_for(std::chrono::milliseconds duration, std::chrono::milliseconds poll = std::chrono::milliseconds(50)) const;

private:
  std::atomic<bool> m_cancelled{false};
  static_assert(std::atomic<bool>::is_always_lock_free, "cancel() must be async-signal-safe");
};

} // namespace xdr::fleet
