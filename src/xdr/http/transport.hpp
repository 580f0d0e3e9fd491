#pragma once
// The one seam to the network. Everything else about HTTP (retry, throttling, logging, bearer
// tokens) is a policy layered on top of a Transport; tests swap in a FakeTransport.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xdr/util/result.hpp>

namespace xdr::http {

// Header names compare case-insensitively; stored lower-case.
class Headers {
public:
  void set(std::string name, std::string value);
  void add(std::string name, std::string value);
  std::optional<std::string> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  void remove(std::string_view name);
  const std::vector<std::pair<std::string, std::string>>& items() const { return m_items; }

private:
  std::vector<std::pair<std::string, std::string>> m_items;
};

struct Request {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  std::string http_version; // "1.1", "2"
  int retries = 0;          // retries a RetryTransport made before this response (0: first attempt)
};

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{120'000};
  size_t max_response_bytes = 256 * 1024 * 1024; // Defender's largest result is ~124 MB
  std::string ca_file;  // empty: SSL_CERT_FILE, then the system store. Verification is always on.
  std::string user_agent = "xdrpartner/0.1";
};

class Transport {
public:
  virtual ~Transport() = default;
  // Sends one request. An HTTP error status is a Response, not an error: only transport
  // failures (connect, TLS, reset, timeout, response too large) are errors.
  virtual Result<Response> send(const Request& request) = 0;
};

} // namespace xdr::http
