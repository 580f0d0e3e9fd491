#include <xdr/http/pipeline.hpp>

#include <xdr/http/curl_transport.hpp>

namespace xdr::http {

std::shared_ptr<Transport> make_pipeline(PipelineOptions options) {
  std::shared_ptr<Transport> transport = options.inner;
  if (!transport) transport = std::make_shared<CurlTransport>(options.transport);
  transport = std::make_shared<LoggingTransport>(std::move(transport), std::move(options.log));
  transport = std::make_shared<RetryTransport>(std::move(transport), std::move(options.retry));
  RequestIdOptions ids;
  ids.user_agent = options.transport.user_agent;
  ids.make_id = std::move(options.make_request_id);
  return std::make_shared<RequestIdTransport>(std::move(transport), std::move(ids));
}

} // namespace xdr::http
