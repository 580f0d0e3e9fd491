#include <xdr/fleet/progress.hpp>

#include <unistd.h>

#include <cstdio>

namespace xdr::fleet {

bool is_terminal(int fd) { return ::isatty(fd) == 1; }

ProgressBar::ProgressBar(std::ostream& out, size_t total, bool enabled, SteadyNow now)
    : m_out(out), m_total(total), m_enabled(enabled),
      m_now(now ? std::move(now) : SteadyNow([] { return std::chrono::steady_clock::now(); })), m_started(m_now()) {}

void ProgressBar::add(const Envelope& envelope) {
  ++m_done;
  m_rows += envelope.rows;
  if (envelope.status != EnvelopeStatus::ok) ++m_errors;
  if (!m_enabled) return;
  const auto now = m_now();
  if (m_drawn && m_done < m_total && now - m_last_draw < std::chrono::milliseconds(100)) return;
  m_last_draw = now;
  m_drawn = true;
  m_out << "\r" << line() << "\x1b[K" << std::flush;
}

void ProgressBar::finish() {
  if (m_enabled && m_drawn) m_out << "\r\x1b[K" << std::flush;
}

std::string ProgressBar::line() const {
  constexpr size_t k_width = 20;
  const size_t filled = m_total == 0 ? k_width : m_done * k_width / m_total;
  std::string bar = "[" + std::string(filled, '#') + std::string(k_width - filled, '-') + "]";
  const double seconds = std::chrono::duration<double>(m_now() - m_started).count();
  const double rate = seconds > 0 ? static_cast<double>(m_done) / seconds : 0.0;
  char text[160];
  std::snprintf(text, sizeof text, " %zu/%zu tenants  %lld rows  %zu errors  %.1f tenants/s", m_done, m_total,
                static_cast<long long>(m_rows), m_errors, rate);
  std::string out = bar + text;
  if (m_done < m_total && rate > 0) {
    const auto eta = static_cast<long long>(static_cast<double>(m_total - m_done) / rate + 0.5);
    out += "  ETA " + (eta >= 60 ? std::to_string(eta / 60) + " min " + std::to_string(eta % 60) + " s"
                                 : std::to_string(eta) + " s");
  }
  return out;
}

} // namespace xdr::fleet
