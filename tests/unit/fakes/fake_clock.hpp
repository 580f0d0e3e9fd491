#pragma once
#include <atomic>

#include <xdr/util/clock.hpp>

namespace xdr::testing {

// A clock that moves only when told.
class FakeClock : public util::Clock {
public:
  explicit FakeClock(int64_t unix_seconds = 1'767'225'600) : m_now(util::from_unix(unix_seconds).time_since_epoch().count()) {}
  util::TimePoint now() const override { return util::TimePoint(util::TimePoint::duration(m_now.load())); }
  void advance(std::chrono::seconds s) {
    m_now += std::chrono::duration_cast<util::TimePoint::duration>(s).count();
  }
  void set(util::TimePoint tp) { m_now = tp.time_since_epoch().count(); }

private:
  std::atomic<util::TimePoint::duration::rep> m_now;
};

} // namespace xdr::testing
