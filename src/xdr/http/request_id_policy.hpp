#pragma once
// RequestIdTransport: stamps every call with a User-Agent and a fresh x-ms-client-request-id
// (a random GUID), so one logical call keeps one id across its retries and can be traced in the
// service's logs. Headers the caller already set are kept.

#include <functional>
#include <memory>
#include <string>

#include <xdr/http/transport.hpp>

namespace xdr::http {

struct RequestIdOptions {
  std::string user_agent = "xdrpartner/0.1";
  // Makes the id of one call; null: xdr::crypto::random_guid.
  std::function<std::string()> make_id;
};

class RequestIdTransport final : public Transport {
public:
  RequestIdTransport(std::shared_ptr<Transport> next, RequestIdOptions options = {});

  // Sends a copy of `request` with user-agent and x-ms-client-request-id added when missing.
  Result<Response> send(const Request& request) override;

private:
  std::shared_ptr<Transport> m_next;
  RequestIdOptions m_options;
};

} // namespace xdr::http
