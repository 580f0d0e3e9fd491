#include <xdr/util/clock.hpp>

namespace xdr::util {

std::shared_ptr<const Clock> system_clock() {
  static const auto clock = std::make_shared<SystemClock>();
  return clock;
}

} // namespace xdr::util
