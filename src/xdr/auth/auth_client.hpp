#pragma once
// AuthClient: the facade the CLI uses. One partner app (credential) and one authority; tokens for
// any allowed customer tenant and any resource, through the TokenCache.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xdr/auth/aadsts.hpp>
#include <xdr/auth/cloud.hpp>
#include <xdr/auth/consent.hpp>
#include <xdr/auth/credential.hpp>
#include <xdr/auth/token_cache.hpp>
#include <xdr/auth/token_client.hpp>
#include <xdr/http/transport.hpp>

namespace xdr::auth {

struct AuthClientOptions {
  Cloud cloud = Cloud::global;
  std::string authority_host;               // override; else AZURE_AUTHORITY_HOST from `environment`; else the cloud's
  std::vector<std::string> allowed_tenants; // empty: any tenant
  EndpointVersion default_endpoint = EndpointVersion::v2;
  bool secret_in_basic_auth = false;
  std::string persistent_cache_path;        // empty: tokens are kept in memory only
  TokenCacheOptions cache;                  // its clock and persistent store are set by AuthClient
  std::shared_ptr<const util::Clock> clock = util::system_clock();
  Environment environment;                  // read for AZURE_AUTHORITY_HOST; empty: not read
};

class AuthClient {
public:
  // Errors (config) on a bad authority host, allow-list entry, or unsafe cache file.
  static Result<std::unique_ptr<AuthClient>> create(std::shared_ptr<const ClientCredential> credential,
                                                    std::shared_ptr<http::Transport> transport,
                                                    AuthClientOptions options = {});
  // The credential from AZURE_* variables in `env` (see from_environment); `options.environment`
  // defaults to `env`.
  static Result<std::unique_ptr<AuthClient>> from_environment(const Environment& env,
                                                              std::shared_ptr<http::Transport> transport,
                                                              AuthClientOptions options = {});

  // A token for `tenant` and `resource` ("xdr", "mde", "graph" or a URI), from the cache when
  // fresh. Errors before any request when the tenant is refused (see TokenClient::check_tenant).
  Result<TokenResult> get_token(std::string_view tenant, std::string_view resource,
                                std::optional<EndpointVersion> endpoint = std::nullopt);
  // Same, bypassing a fresh cached token.
  Result<TokenResult> refresh_token(std::string_view tenant, std::string_view resource,
                                    std::optional<EndpointVersion> endpoint = std::nullopt);

  // A readable explanation of an error (see describe_error).
  std::string describe(const Error& error) const { return describe_error(error); }
  // The partner-guide consent link for this app on this authority.
  std::string consent_link() const { return v1_consent_link(m_client->authority_host(), m_client->client_id()); }
  // The v2 admin-consent link for this app on this authority.
  std::string admin_consent_link(const AdminConsentOptions& options) const {
    return v2_admin_consent_link(m_client->authority_host(), m_client->client_id(), options);
  }

  const TokenClient& token_client() const { return *m_client; }
  TokenCache& cache() { return *m_cache; }

  AuthClient(std::shared_ptr<TokenClient> client, AuthClientOptions options);

private:
  Result<TokenResult> get(std::string_view tenant, std::string_view resource, std::optional<EndpointVersion> endpoint,
                          bool force);

  std::shared_ptr<TokenClient> m_client;
  AuthClientOptions m_options;
  std::unique_ptr<TokenCache> m_cache;
};

} // namespace xdr::auth
