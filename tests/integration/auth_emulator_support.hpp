#pragma once
// libxdr's real token stack (CurlTransport -> AuthClient) against the in-process emulator: a
// fixture that builds clients trusting the emulator's CA, reads the emulator's request log, and
// transports that record or rewrite requests on their way to the network.

#include "emulator_fixture.hpp"

#include <sys/stat.h>

#include <csignal>

#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <xdr/auth/auth_client.hpp>
#include <xdr/http/curl_transport.hpp>
#include <xdr/http/pipeline.hpp>

namespace xdr::testing {

// Keeps a copy of every request it forwards (tests decode the client assertion from it).
class RecordingTransport final : public http::Transport {
public:
  explicit RecordingTransport(std::shared_ptr<http::Transport> next) : m_next(std::move(next)) {}
  Result<http::Response> send(const http::Request& request) override {
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
    }
    return m_next->send(request);
  }
  std::vector<http::Request> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }

private:
  std::shared_ptr<http::Transport> m_next;
  mutable std::mutex m_mutex;
  std::vector<http::Request> m_requests;
};

// Changes each request before forwarding it, like a misbehaving proxy between client and service.
class RewritingTransport final : public http::Transport {
public:
  RewritingTransport(std::shared_ptr<http::Transport> next, std::function<void(http::Request&)> rewrite)
      : m_next(std::move(next)), m_rewrite(std::move(rewrite)) {}
  Result<http::Response> send(const http::Request& request) override {
    http::Request copy = request;
    m_rewrite(copy);
    return m_next->send(copy);
  }

private:
  std::shared_ptr<http::Transport> m_next;
  std::function<void(http::Request&)> m_rewrite;
};

// The form body of a recorded token request.
inline util::FormFields form_of(const http::Request& request) {
  return util::parse_form(request.body).value_or(util::FormFields{});
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_private(const std::filesystem::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
  ::chmod(path.c_str(), 0600);
}

class AuthEmulatorTest : public EmulatorTest {
protected:
  void SetUp() override {
    // The in-process server may write to a socket the client already closed (dropped connections,
    // Connection: close); as in xdr-emulator's main, that must not kill the test process.
    std::signal(SIGPIPE, SIG_IGN);
    EmulatorTest::SetUp();
  }

  // libcurl trusting only the emulator's CA.
  std::shared_ptr<http::Transport> curl() const {
    http::TransportOptions o;
    o.ca_file = emulator->ca_file();
    o.connect_timeout = std::chrono::milliseconds(5'000);
    o.total_timeout = std::chrono::milliseconds(20'000);
    return std::make_shared<http::CurlTransport>(o);
  }

  std::shared_ptr<auth::ClientSecretCredential> secret_credential(const std::string& secret = {}) const {
    return std::make_shared<auth::ClientSecretCredential>(k_app, auth::Secret(secret.empty() ? identity.secret : secret));
  }

  // An AuthClient on the emulator's authority; `transport` defaults to curl().
  std::unique_ptr<auth::AuthClient> make_client(std::shared_ptr<const auth::ClientCredential> credential,
                                                std::shared_ptr<http::Transport> transport = nullptr,
                                                auth::AuthClientOptions options = {}) const {
    options.authority_host = emulator->url();
    auto client = auth::AuthClient::create(std::move(credential), transport ? transport : curl(), std::move(options));
    EXPECT_TRUE(client) << (client ? "" : client.error().message);
    return client ? std::move(*client) : nullptr;
  }

  // The emulator's request log (control calls are not logged).
  std::vector<Json> logged(const std::string& route_prefix = {}, const std::string& tenant = {}) const {
    std::vector<Json> out;
    Json all = control("GET", "/_emulator/requests");
    for (const Json& r : all.value("requests", Json::array())) {
      std::string route = r.value("route", "");
      if (!route_prefix.empty() && route.rfind(route_prefix, 0) != 0) continue;
      if (!tenant.empty() && r.value("tenant", "") != tenant) continue;
      out.push_back(r);
    }
    return out;
  }
  size_t token_requests(const std::string& tenant = {}) const { return logged("token_", tenant).size(); }
  void clear_log() const { client()->Delete("/_emulator/requests"); }

  // The consent link the partner guide prescribes, on this emulator's authority host.
  std::string expected_consent_link() const {
    return emulator->url() + "/common/oauth2/authorize?prompt=consent&client_id=" + k_app +
           "&response_type=code&sso_reload=true";
  }
};

} // namespace xdr::testing
