#pragma once
// How runs over many tenants print: one line per tenant as its envelope arrives (table), or the envelopes
// as one JSON document at the end, then the summary.

#include <ostream>
#include <string>

#include <xdr/fleet/fan_out.hpp>
#include <xdr/util/json.hpp>

namespace xdr::cli {

// {"tenant_id", "name", "status", "latency_ms", "retries", "rows", "detail", "code"?, "http_status"?}.
Json envelope_json(const fleet::Envelope& envelope);
// {"total", "ok", "failed", "cancelled", "rows", "elapsed_ms", "by_status": {...}, "exit_code"}.
Json summary_json(const fleet::Summary& summary);
// "ok               Fabrikam (3f2b...)  123 ms  <detail>".
void print_envelope(std::ostream& out, const fleet::Envelope& envelope);
// "3 tenant(s) in 0.4 s: 1 ok, 1 consent_missing, 1 forbidden; 12 rows", plus what a partial or cancelled
// run means.
void print_summary(std::ostream& out, const fleet::Summary& summary);

} // namespace xdr::cli
