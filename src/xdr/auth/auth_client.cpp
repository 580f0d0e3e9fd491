#include <xdr/auth/auth_client.hpp>

#include <xdr/auth/persistent_cache.hpp>

namespace xdr::auth {

AuthClient::AuthClient(std::shared_ptr<TokenClient> client, AuthClientOptions options)
    : m_client(std::move(client)), m_options(std::move(options)) {
  std::shared_ptr<TokenClient> fetcher_client = m_client;
  // Tokens loaded from a file must pass the same tenant checks as requested ones.
  m_options.cache.accept_persisted = [fetcher_client](const TokenRequest& r) {
    return r.authority_host == fetcher_client->authority_host() && r.client_id == fetcher_client->client_id() &&
           fetcher_client->check_tenant(r.tenant).has_value();
  };
  m_cache = std::make_unique<TokenCache>(
      [fetcher_client](const TokenRequest& r) { return fetcher_client->request_token(r.tenant, r.resource, r.endpoint); },
      m_options.cache);
}

Result<std::unique_ptr<AuthClient>> AuthClient::create(std::shared_ptr<const ClientCredential> credential,
                                                       std::shared_ptr<http::Transport> transport,
                                                       AuthClientOptions options) {
  if (!options.clock) options.clock = util::system_clock();
  XDR_TRY_ASSIGN(std::string host,
                 resolve_authority_host(options.cloud, options.authority_host, options.environment));
  TokenClientOptions client_options;
  client_options.cloud = options.cloud;
  client_options.authority_host = host;
  client_options.allowed_tenants = options.allowed_tenants;
  client_options.secret_in_basic_auth = options.secret_in_basic_auth;
  client_options.clock = options.clock;
  XDR_TRY_ASSIGN(auto client, TokenClient::create(std::move(credential), std::move(transport), client_options));
  options.cache.clock = options.clock;
  if (!options.persistent_cache_path.empty()) {
    XDR_TRY_ASSIGN(options.cache.persistent, PersistentTokenStore::open(options.persistent_cache_path, options.clock));
  }
  return std::make_unique<AuthClient>(std::move(client), std::move(options));
}

Result<std::unique_ptr<AuthClient>> AuthClient::from_environment(const Environment& env,
                                                                 std::shared_ptr<http::Transport> transport,
                                                                 AuthClientOptions options) {
  CertificateCredentialOptions cert_options;
  cert_options.clock = options.clock ? options.clock : util::system_clock();
  XDR_TRY_ASSIGN(EnvironmentSettings settings, auth::from_environment(env, cert_options));
  if (!options.environment) options.environment = env;
  return create(std::move(settings.credential), std::move(transport), std::move(options));
}

Result<TokenResult> AuthClient::get(std::string_view tenant, std::string_view resource,
                                    std::optional<EndpointVersion> endpoint, bool force) {
  XDR_TRY_ASSIGN(std::string_view uri, resolve_resource_view(resource, m_client->cloud()));
  TokenRequest request{m_client->authority_host(), tenant, m_client->client_id(), uri,
                       endpoint.value_or(m_options.default_endpoint), force};
  // Warm path first: a fresh token can only be cached for a tenant that passed the checks below
  // (loaded tokens are filtered by the same checks).
  if (!force) {
    if (auto hit = m_cache->peek(request)) return std::move(*hit);
  }
  XDR_TRY(m_client->check_tenant(tenant));
  return m_cache->get_token(request);
}

Result<TokenResult> AuthClient::get_token(std::string_view tenant, std::string_view resource,
                                          std::optional<EndpointVersion> endpoint) {
  return get(tenant, resource, endpoint, false);
}

Result<TokenResult> AuthClient::refresh_token(std::string_view tenant, std::string_view resource,
                                              std::optional<EndpointVersion> endpoint) {
  return get(tenant, resource, endpoint, true);
}

} // namespace xdr::auth
