#pragma once
// The real Transport: libcurl with TLS verification always on, connection re-use across requests
// and threads, HTTP/2 where the server offers it, and the standard proxy environment variables.
//
// TLS: peer and host name are always verified; there is deliberately no switch to turn this off.
// The trusted CAs are TransportOptions::ca_file when set, else the file named by the environment
// variable SSL_CERT_FILE, else the system store. A CA file replaces the system store.
//
// Proxies: libcurl reads https_proxy / HTTPS_PROXY, http_proxy and ALL_PROXY / all_proxy.
// NO_PROXY / no_proxy is a comma-separated list of host names, domain suffixes and (curl >= 7.86)
// CIDR ranges that are reached directly, e.g. NO_PROXY=localhost,127.0.0.1,.internal.example;
// "*" disables the proxy for every host. Put the emulator's host in NO_PROXY when a proxy is set.
//
// Threads: send() may be called from any number of threads at once. Each call borrows an easy
// handle from a pool (each handle keeps its own live connections) and all handles share one DNS
// and TLS-session cache, so sequential calls re-use one connection and N concurrent callers use
// about N connections.

#include <memory>

#include <xdr/http/transport.hpp>

namespace xdr::http {

class CurlTransport final : public Transport {
public:
  // Throws xdr::Fatal when libcurl cannot be initialised (out of memory, broken installation).
  explicit CurlTransport(TransportOptions options = {});
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  // Sends one request. Errors: ErrorKind::timeout (connect or total timeout), ErrorKind::transport
  // (DNS, connect, TLS verification, reset, response larger than max_response_bytes) and
  // ErrorKind::config (a URL that is malformed or not http/https). Messages never contain the
  // request body or query-parameter values.
  Result<Response> send(const Request& request) override;

  const TransportOptions& options() const { return m_options; }

private:
  struct State;
  TransportOptions m_options;
  std::unique_ptr<State> m_state;
};

} // namespace xdr::http
