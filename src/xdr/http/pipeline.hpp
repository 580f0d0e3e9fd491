#pragma once
// The standard HTTP pipeline every libxdr client uses. The order is fixed:
//
//   caller -> RequestIdTransport -> RetryTransport -> LoggingTransport -> CurlTransport -> network
//
// - RequestIdTransport is outermost, so one call keeps one x-ms-client-request-id across retries.
// - RetryTransport sits above logging, so every attempt (each retry) is logged on its own line.
// - LoggingTransport sits right above the network, so its latency is the latency of one attempt.
// Bearer-token and throttling policies, when added, go between RequestId and Retry.

#include <memory>

#include <xdr/http/log_policy.hpp>
#include <xdr/http/request_id_policy.hpp>
#include <xdr/http/retry_policy.hpp>
#include <xdr/http/transport.hpp>

namespace xdr::http {

struct PipelineOptions {
  TransportOptions transport;
  RetryOptions retry;
  LogOptions log;
  // Optional: a function making x-ms-client-request-id values (tests pin it).
  std::function<std::string()> make_request_id;
  // The innermost transport; null: a CurlTransport built from `transport` (tests pass a fake).
  std::shared_ptr<Transport> inner;
};

// Builds the pipeline above. Throws xdr::Fatal only when libcurl cannot be initialised.
std::shared_ptr<Transport> make_pipeline(PipelineOptions options);

} // namespace xdr::http
