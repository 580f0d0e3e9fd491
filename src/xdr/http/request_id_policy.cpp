#include <xdr/http/request_id_policy.hpp>

#include <xdr/crypto/crypto.hpp>

namespace xdr::http {

RequestIdTransport::RequestIdTransport(std::shared_ptr<Transport> next, RequestIdOptions options)
    : m_next(std::move(next)), m_options(std::move(options)) {
  if (!m_next) throw Fatal("RequestIdTransport needs a transport to wrap");
  if (!m_options.make_id) m_options.make_id = [] { return crypto::random_guid(); };
}

Result<Response> RequestIdTransport::send(const Request& request) {
  Request stamped = request;
  if (!stamped.headers.has("user-agent") && !m_options.user_agent.empty())
    stamped.headers.set("user-agent", m_options.user_agent);
  if (!stamped.headers.has("x-ms-client-request-id")) stamped.headers.set("x-ms-client-request-id", m_options.make_id());
  return m_next->send(stamped);
}

} // namespace xdr::http
