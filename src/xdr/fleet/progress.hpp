#pragma once
// A one-line progress bar on standard error, redrawn as envelopes arrive: tenants done/total, rows, errors,
// rate and ETA. Drawn only when the stream is a terminal (the caller says; tests inject it); otherwise it
// writes nothing at all, so logs and pipes stay clean.

#include <chrono>
#include <functional>
#include <ostream>

#include <xdr/fleet/fan_out.hpp>

namespace xdr::fleet {

using SteadyNow = std::function<std::chrono::steady_clock::time_point()>;

// Whether file descriptor `fd` is a terminal (isatty).
bool is_terminal(int fd);

class ProgressBar {
public:
  // `enabled`: draw at all (true only for a terminal). `now` is injectable for tests.
  ProgressBar(std::ostream& out, size_t total, bool enabled, SteadyNow now = {});
  // Counts one envelope and redraws (at most every 100 ms, and always for the last tenant).
  void add(const Envelope& envelope);
  // Clears the line, so what follows starts on a clean line.
  void finish();
  // The line as it would be drawn now (without control characters).
  std::string line() const;

private:
  std::ostream& m_out;
  size_t m_total;
  bool m_enabled;
  SteadyNow m_now;
  std::chrono::steady_clock::time_point m_started;
  std::chrono::steady_clock::time_point m_last_draw{};
  size_t m_done = 0;
  size_t m_errors = 0;
  int64_t m_rows = 0;
  bool m_drawn = false;
};

} // namespace xdr::fleet
