#pragma once
// An in-memory token cache for many tenants: keyed by (authority host, tenant, client ID, resource)
// so tenants never mix; single-flight per key; proactive refresh; stale-on-error; Retry-After
// memory; bounded (approximate LRU per shard); sharded so the warm path scales across threads.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include <xdr/auth/token_client.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::auth {

class PersistentTokenStore;

// What a token is for. Views: they must stay valid during the get_token call only.
struct TokenRequest {
  std::string_view authority_host; // compared case-insensitively
  std::string_view tenant;         // case-insensitively
  std::string_view client_id;      // case-insensitively
  std::string_view resource;       // exactly
  EndpointVersion endpoint = EndpointVersion::v2; // used when a token must be requested
  bool force_refresh = false;      // ask the service even when a fresh token is cached
};

struct TokenResult {
  std::shared_ptr<const AccessToken> token;
  bool from_cache = false;            // false only for the caller whose request fetched it
  std::optional<Error> refresh_error; // a refresh failed; `token` is the older, still valid token

  const Secret& value() const { return token->value; }
  util::TimePoint expires_on() const { return token->expires_on; }
};

// Requests a token for `request` (normally TokenClient::request_token). Must not throw.
using TokenFetcher = std::function<Result<AccessToken>(const TokenRequest& request)>;

struct TokenCacheOptions {
  size_t max_entries = 100'000;                   // bound; least recently used keys are evicted
  size_t shards = 64;                             // fewer when max_entries is small (16 keys per shard minimum)
  std::chrono::seconds refresh_before_expiry{300}; // refresh when less than this remains
  std::chrono::seconds min_usable_lifetime{30};  // after a failed refresh, serve the old token only above this
  std::shared_ptr<const util::Clock> clock = util::system_clock();
  // Called (without locks held) when a refresh failed but a still-valid token was served.
  std::function<void(const TokenRequest&, const Error&)> on_refresh_failure;
  // Optional file store: loaded at construction, written after each fetched token.
  std::shared_ptr<PersistentTokenStore> persistent;
  // Which loaded tokens to keep (e.g. only allowed tenants); empty: all unexpired ones.
  std::function<bool(const TokenRequest&)> accept_persisted;
  // Called when loading or writing the persistent store fails (the cache keeps working in memory).
  std::function<void(const Error&)> on_persistence_error;
};

class TokenCache {
public:
  explicit TokenCache(TokenFetcher fetch, TokenCacheOptions options = {});
  ~TokenCache();
  TokenCache(const TokenCache&) = delete;
  TokenCache& operator=(const TokenCache&) = delete;

  // A cached token when it is fresh: not within refresh_before_expiry of expiry and not past the
  // service's refresh_in. Otherwise one caller per key fetches while the others wait for that
  // result. A failed refresh with a usable old token returns the old token and refresh_error.
  // After an error carrying retry_after, the key is not fetched again before that time: the
  // remembered error (or the usable old token) is returned instead.
  Result<TokenResult> get_token(const TokenRequest& request);
  // The cached token when it is fresh; never fetches, never waits for a fetch.
  std::optional<TokenResult> peek(const TokenRequest& request) const;

  // Forgets the token of one key (e.g. the API rejected it); the Retry-After memory stays.
  void invalidate(const TokenRequest& request);
  // Number of keys held (including keys with no token yet).
  size_t size() const;
  // Number of shards in use.
  size_t shard_count() const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace xdr::auth
