#include <xdr/fleet/cancel.hpp>

#include <algorithm>
#include <thread>

namespace xdr::fleet {

bool CancelToken::wait_for(std::chrono::milliseconds duration, std::chrono::milliseconds poll) const {
  const auto end = std::chrono::steady_clock::now() + duration;
  while (!cancelled()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(poll, end - now));
  }
  return true;
}

} // namespace xdr::fleet
