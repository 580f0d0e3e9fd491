#pragma once
// Client-credentials token acquisition: one TokenClient (one app, one authority) serves any number
// of customer tenants; the tenant is a parameter of each request. No caching here (TokenCache).

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/auth/cloud.hpp>
#include <xdr/auth/credential.hpp>
#include <xdr/auth/secret.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::auth {

// v1: POST {host}/{tenant}/oauth2/token with resource=; v2: POST {host}/{tenant}/oauth2/v2.0/token
// with scope=<resource>/.default.
enum class EndpointVersion { v1, v2 };
std::string_view to_string(EndpointVersion v);
// "v1" / "v2" (also "1", "2", "1.0", "2.0").
Result<EndpointVersion> parse_endpoint_version(std::string_view text);

// An access token and its lifetime. The token itself is a Secret: it never prints.
struct AccessToken {
  Secret value;
  std::string token_type = "Bearer";
  util::TimePoint expires_on;
  util::TimePoint obtained_on{};                 // when it was received (epoch when unknown)
  std::optional<util::TimePoint> refresh_on;     // now + refresh_in, when the service sent it
  std::optional<util::TimePoint> not_before;     // not_before, when sent (v1)
  std::optional<util::TimePoint> ext_expires_on; // now + ext_expires_in, when sent
};

// Parses a successful token response received at `now`. Numbers may be JSON numbers (v2) or
// strings of digits (v1): expires_in, ext_expires_in, expires_on, not_before, refresh_in. Errors
// (invalid_response) on non-JSON, HTML, empty or truncated bodies, a missing access_token, a
// non-Bearer token_type, or no lifetime. Messages never contain the token.
Result<AccessToken> parse_token_response(std::string_view body, util::TimePoint now);

struct TokenClientOptions {
  Cloud cloud = Cloud::global;
  std::string authority_host;               // empty: the cloud's login host (see resolve_authority_host)
  std::vector<std::string> allowed_tenants; // empty: any tenant; else only these (IDs or domains, any case)
  bool secret_in_basic_auth = false;        // client_secret in the form body (default) or HTTP Basic
  std::shared_ptr<const util::Clock> clock = util::system_clock();
};

class TokenClient {
public:
  // Errors on a malformed authority host or an invalid tenant in allowed_tenants.
  static Result<std::shared_ptr<TokenClient>> create(std::shared_ptr<const ClientCredential> credential,
                                                     std::shared_ptr<http::Transport> transport,
                                                     TokenClientOptions options = {});

  // Requests a token for `resource` (a URI) in `tenant`. Before any request, errors (config) when
  // the tenant is common/organizations/consumers, malformed, or not allowed. Entra errors are
  // mapped by map_token_error; the secret and the token never appear in a message.
  Result<AccessToken> request_token(std::string_view tenant, std::string_view resource,
                                    EndpointVersion version = EndpointVersion::v2) const;

  // validate_tenant_for_client_credentials plus the allow-list.
  Status check_tenant(std::string_view tenant) const;
  // "{host}/{tenant}/oauth2/token" or "{host}/{tenant}/oauth2/v2.0/token".
  std::string token_endpoint(std::string_view tenant, EndpointVersion version) const;

  const std::string& authority_host() const { return m_authority_host; }
  const std::string& client_id() const { return m_credential->client_id(); }
  Cloud cloud() const { return m_options.cloud; }
  const ClientCredential& credential() const { return *m_credential; }

  TokenClient(std::shared_ptr<const ClientCredential> credential, std::shared_ptr<http::Transport> transport,
              TokenClientOptions options, std::string authority_host);

private:
  std::shared_ptr<const ClientCredential> m_credential;
  std::shared_ptr<http::Transport> m_transport;
  TokenClientOptions m_options;
  std::string m_authority_host;
  std::vector<std::string> m_allowed_sorted; // case-insensitively sorted allow-list
};

} // namespace xdr::auth
