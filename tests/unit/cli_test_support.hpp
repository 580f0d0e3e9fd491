#pragma once
// Shared helpers for the test_cli_*.cpp files: run xdr::cli::run with string streams, a map-backed
// environment, a FakeTransport that routes by URL (with headers) and a FakeClock.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <cli/cli.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

#include "auth_test_support.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/fake_transport.hpp"
#include "test_validate_env.hpp"

namespace xdr::testing::cli_test {

inline const std::string k_app = validate::test_env::k_app;
inline const std::string k_tenant = validate::test_env::k_tenant;
inline const std::string k_authority = validate::test_env::k_authority;
inline const std::string k_kid = "cli-test-kid";
inline const std::string k_secret_value = "Zq8~cliTestSecret.Value_0123456789abcdef";

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

// URL-routed responses; unknown URLs answer 404 with an HTML page.
class Router {
public:
  Router() : transport(std::make_shared<FakeTransport>()) {
    transport->set_handler([this](const http::Request& request) -> Result<http::Response> {
      std::lock_guard lock(m_mutex);
      auto it = m_routes.find(request.url);
      http::Response r;
      if (it == m_routes.end()) {
        r.status = 404;
        r.body = "<!DOCTYPE html><html><body>Not found</body></html>";
        return r;
      }
      const auto& [status, body, headers] = it->second;
      if (status < 0) return tl::unexpected(Error(ErrorKind::transport, "connection refused"));
      r.status = status;
      r.body = body;
      for (const auto& [k, v] : headers) r.headers.set(k, v);
      return r;
    });
  }
  void set(const std::string& url, int status, std::string body,
           std::vector<std::pair<std::string, std::string>> headers = {}) {
    std::lock_guard lock(m_mutex);
    m_routes[url] = {status, std::move(body), std::move(headers)};
  }
  size_t count(const std::string& url) const {
    size_t n = 0;
    for (const auto& r : transport->requests()) n += r.url == url;
    return n;
  }

  std::shared_ptr<FakeTransport> transport;

private:
  std::mutex m_mutex;
  std::map<std::string, std::tuple<int, std::string, std::vector<std::pair<std::string, std::string>>>> m_routes;
};

class CliHarness {
public:
  CliHarness() : clock(std::make_shared<FakeClock>()) {}

  // How one run differs from the default (standard input empty, the router as transport, isatty, no Ctrl-C).
  struct RunOptions {
    std::string stdin_text;
    std::shared_ptr<http::Transport> transport; // null: the router's
    std::optional<bool> terminal;               // what is_terminal answers; unset: isatty
    fleet::CancelToken* cancel = nullptr;
  };

  CliResult run_with(const std::vector<std::string>& args, const RunOptions& options) {
    std::istringstream in(options.stdin_text);
    std::ostringstream out, err;
    auto vars = env;
    cli::CliIo io{in, out, err,
                  [vars](std::string_view name) -> std::optional<std::string> {
                    auto it = vars.find(std::string(name));
                    if (it == vars.end()) return std::nullopt;
                    return it->second;
                  },
                  options.transport ? options.transport : router.transport, clock};
    if (options.terminal) io.is_terminal = [terminal = *options.terminal](int) { return terminal; };
    io.cancel = options.cancel;
    CliResult r;
    r.code = cli::run(args, io);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  CliResult run(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    return run_with(args, RunOptions{stdin_text, nullptr, std::nullopt, nullptr});
  }

  // The v2 and v1 token endpoints of `tenant` answer with `body` and `status`.
  void serve_token(const std::string& tenant, int status, const std::string& body) {
    router.set(k_authority + "/" + tenant + "/oauth2/v2.0/token", status, body);
    router.set(k_authority + "/" + tenant + "/oauth2/token", status, body);
  }
  // A v1 access token for k_tenant with `roles`, signed by test key 1.
  std::string make_token(const std::vector<std::string>& roles = {"Incident.Read.All", "AdvancedHunting.Read.All"}) {
    Json claims = validate::test_env::v1_claims(*clock, k_tenant);
    claims["roles"] = roles;
    return validate::test_env::sign(claims, validate::test_env::test_key(1), k_kid);
  }
  // A successful v2 token response carrying `token`.
  static std::string token_response(const std::string& token) {
    return Json{{"token_type", "Bearer"}, {"expires_in", 3599}, {"ext_expires_in", 3599}, {"access_token", token}}.dump();
  }
  // Publishes the v1 and v2 OpenID configuration (with a Date header `date_offset` from the clock)
  // and keys of `path_tenant` (a GUID or a domain of k_tenant).
  void serve_discovery(const std::string& path_tenant, std::chrono::seconds date_offset = std::chrono::seconds(0)) {
    const std::string date = util::format_http_date(clock->now() + date_offset);
    for (auto v : {validate::TokenVersion::v1, validate::TokenVersion::v2}) {
      const bool v2 = v == validate::TokenVersion::v2;
      std::string jwks = k_authority + "/" + k_tenant + (v2 ? "/discovery/v2.0/keys" : "/discovery/keys");
      Json doc = {{"issuer", v2 ? validate::test_env::v2_issuer(k_tenant) : validate::test_env::v1_issuer(k_tenant)},
                  {"jwks_uri", jwks},
                  {"token_endpoint", k_authority + "/" + k_tenant + "/oauth2/" + (v2 ? "v2.0/" : "") + "token"},
                  {"id_token_signing_alg_values_supported", {"RS256"}}};
      for (const auto& t : {path_tenant, k_tenant})
        router.set(validate::KeyStore::metadata_url(k_authority, t, v), 200, doc.dump(), {{"date", date}});
      router.set(jwks, 200,
                 Json{{"keys", {validate::test_env::jwk(validate::test_env::test_key(1), k_kid)}}}.dump());
    }
  }

  std::map<std::string, std::string> env;
  Router router;
  std::shared_ptr<FakeClock> clock;
};

inline std::string entra_error(const std::string& error, long long code, const std::string& text) {
  return Json{{"error", error},
              {"error_description", "AADSTS" + std::to_string(code) + ": " + text +
                                        "\r\nTrace ID: 0000aaaa-11bb-cccc-dddd-2222eeee3333\r\nCorrelation ID: "
                                        "aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2026-01-01 00:00:00Z"},
              {"error_codes", {code}},
              {"trace_id", "0000aaaa-11bb-cccc-dddd-2222eeee3333"},
              {"correlation_id", "aaaa0000-bb11-2222-33cc-444444dddddd"}}
      .dump();
}

} // namespace xdr::testing::cli_test
