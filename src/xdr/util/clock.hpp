#pragma once
// Time is a parameter: every component that reads the time takes a Clock, so tests pin it.

#include <chrono>
#include <memory>

namespace xdr::util {

using TimePoint = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

class Clock {
public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// The process-wide real clock.
std::shared_ptr<const Clock> system_clock();

inline int64_t to_unix(TimePoint tp) {
  return std::chrono::duration_cast<std::chrono::seconds>(tp.time_since_epoch()).count();
}
inline TimePoint from_unix(int64_t seconds) { return TimePoint(std::chrono::seconds(seconds)); }

} // namespace xdr::util
