#include <cli/fleet_output.hpp>

#include <cstdio>

namespace xdr::cli {

Json envelope_json(const fleet::Envelope& e) {
  Json j = {{"tenant_id", e.tenant.tenant_id},
            {"name", e.tenant.name},
            {"status", std::string(fleet::to_string(e.status))},
            {"latency_ms", e.latency.count()},
            {"retries", e.retries},
            {"rows", e.rows},
            {"detail", e.detail}};
  if (!e.code.empty()) j["code"] = e.code;
  if (e.http_status) j["http_status"] = *e.http_status;
  return j;
}

Json summary_json(const fleet::Summary& s) {
  Json by_status = Json::object();
  for (const auto& [status, n] : s.by_status) by_status[std::string(fleet::to_string(status))] = n;
  return {{"total", s.total},
          {"ok", s.count(fleet::EnvelopeStatus::ok)},
          {"failed", s.failed()},
          {"cancelled", s.count(fleet::EnvelopeStatus::cancelled)},
          {"rows", s.rows},
          {"elapsed_ms", s.elapsed.count()},
          {"by_status", by_status},
          {"exit_code", s.exit_code()}};
}

void print_envelope(std::ostream& out, const fleet::Envelope& e) {
  char status[24];
  std::snprintf(status, sizeof status, "%-16s", std::string(fleet::to_string(e.status)).c_str());
  out << status << " " << (e.tenant.name.empty() ? e.tenant.tenant_id : e.tenant.name + " (" + e.tenant.tenant_id + ")")
      << "  " << e.latency.count() << " ms";
  if (e.retries > 0) out << ", " << e.retries << " retries";
  if (!e.detail.empty()) out << "  " << e.detail;
  out << "\n";
  out.flush();
}

void print_summary(std::ostream& out, const fleet::Summary& s) {
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f s", static_cast<double>(s.elapsed.count()) / 1000.0);
  out << "\n" << s.total << " tenant(s) in " << elapsed << ":";
  bool first = true;
  for (const auto& [status, n] : s.by_status) {
    out << (first ? " " : ", ") << n << " " << fleet::to_string(status);
    first = false;
  }
  if (s.rows > 0) out << "; " << s.rows << " rows";
  out << "\n";
  if (s.cancelled)
    out << "Stopped by Ctrl-C: the tenants marked cancelled were not done; run the command again for them.\n";
  else if (s.failed() > 0)
    out << "Some tenants failed (exit code 3): each line above says why; the others' results are complete.\n";
}

} // namespace xdr::cli
