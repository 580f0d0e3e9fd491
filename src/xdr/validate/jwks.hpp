#pragma once
// Signing keys for Entra ID access tokens. The tenant's OpenID configuration (v1 metadata for ver 1.0
// tokens, v2 metadata for ver 2.0 tokens) names the issuer and the JWKS; the JWKS's RSA keys are
// cached per kid for 24 h, and an unknown kid re-fetches the JWKS at most once per cooldown (5 min)
// per (authority, tenant, version), following Entra's signing-key rollover guidance.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <xdr/crypto/crypto.hpp>
#include <xdr/http/transport.hpp>
#include <xdr/util/clock.hpp>
#include <xdr/util/result.hpp>

namespace xdr::validate {

// Access-token format version (the `ver` claim); it selects the metadata document.
enum class TokenVersion { v1, v2 };
// "1.0" or "2.0", as the `ver` claim spells it.
std::string_view to_string(TokenVersion version);

// Error::code values KeyStore::find returns.
inline constexpr std::string_view k_unknown_kid_code = "unknown_kid";
inline constexpr std::string_view k_key_fetch_failed_code = "key_fetch_failed";

// One RSA signing key from a JWKS document.
struct SigningKey {
  std::string kid;
  std::string x5t;              // empty when the JWKS has none
  std::string issuer;           // the key's "issuer" (may hold "{tenantid}"); empty when absent
  std::vector<std::string> x5c; // base64 DER certificates, as published
  crypto::RsaPublicKey public_key;
  uint64_t id = 0; // unique per parsed key in this process (keys the per-thread verify contexts)

  // Verifies an RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signature. Thread-safe; after the first call
  // on a thread it reuses that thread's prepared OpenSSL context, so no per-call key setup.
  bool verify_rs256(std::string_view signing_input, std::string_view signature) const;
};

// What one fetch of (metadata, JWKS) produced. Immutable once published.
struct KeySet {
  std::string metadata_url;
  std::string jwks_uri;
  std::string issuer;          // as the metadata published it
  std::string issuer_template; // the issuer with its tenant replaced by "{tenantid}"
  std::vector<SigningKey> keys;
  std::vector<std::string> skipped; // one sentence per JWKS entry that is not usable, and why
  util::TimePoint fetched_at;       // when the JWKS was fetched

  // The key with this kid, or null.
  const SigningKey* find(std::string_view kid) const;
};

// Parses a JWKS document's RSA signature keys (kty RSA, n, e, kid; optional x5t, x5c, issuer).
// Other key types, "use":"enc" keys, keys without kid, RSA keys under 2048 bits, duplicate kids,
// keys whose x5c certificate does not hold n/e, and keys beyond `max_keys` are skipped and noted in
// `skipped`. Fails when the body is not a JWKS or holds no usable key.
Result<std::vector<SigningKey>> parse_jwks(std::string_view body, size_t max_keys,
                                           std::vector<std::string>* skipped = nullptr);

// The issuer template of a metadata issuer: kept when it already holds "{tenantid}", otherwise its
// first GUID path segment becomes "{tenantid}" ("https://sts.windows.net/T/" ->
// "https://sts.windows.net/{tenantid}/"); an issuer without either is returned as is.
std::string make_issuer_template(std::string_view issuer);
// Replaces every "{tenantid}" in `issuer_template` with `tenant_id`.
std::string expand_issuer(std::string_view issuer_template, std::string_view tenant_id);

struct KeyStoreOptions {
  std::chrono::seconds key_lifetime{24 * 3600};     // a fetched JWKS is trusted this long
  std::chrono::seconds refresh_cooldown{5 * 60};    // at most one unknown-kid re-fetch per source per this
  std::chrono::seconds failure_retry_interval{30};  // a failed fetch is not retried sooner than this
  size_t max_keys_per_source = 32;                  // Entra publishes a handful
  size_t max_sources = 1024;                        // (authority, tenant, version) triples kept, least recently used evicted
  bool allow_insecure_http = false;                 // keys over plain HTTP only for emulator --http tests
  size_t max_document_bytes = 512 * 1024;           // metadata and JWKS bodies larger than this fail
};

// A key found for a token, with the key set it came from (which keeps it alive).
struct KeyMatch {
  std::shared_ptr<const KeySet> set;
  const SigningKey* key = nullptr;
};

// Fetches and caches signing keys; thread-safe. The warm path (kid cached, set not expired) takes a
// shared lock only long enough to copy a shared_ptr; fetches run outside it, one at a time per
// source, so concurrent misses for the same source wait for a single fetch.
class KeyStore {
public:
  explicit KeyStore(std::shared_ptr<http::Transport> transport, KeyStoreOptions options = {},
                    std::shared_ptr<const util::Clock> clock = util::system_clock());

  // "{authority}/{tenant}/.well-known/openid-configuration" (v1) or
  // "{authority}/{tenant}/v2.0/.well-known/openid-configuration" (v2).
  static std::string metadata_url(std::string_view authority, std::string_view tenant, TokenVersion version);

  // The key `kid` of (authority, tenant, version). Fetches metadata and JWKS when nothing is cached
  // or the cached set is older than key_lifetime. An unknown kid re-fetches the JWKS (only) unless
  // the previous unknown-kid re-fetch was less than refresh_cooldown ago (like
  // Microsoft.IdentityModel's RequestRefresh: a rollover right after start-up is picked up at once).
  // A failed fetch is remembered and returned for failure_retry_interval. Errors: code
  // k_unknown_kid_code (kind invalid_token) when the key is not published, code
  // k_key_fetch_failed_code otherwise (kind from the failure: transport, not_found, server ...).
  Result<KeyMatch> find(std::string_view authority, std::string_view tenant, TokenVersion version,
                        std::string_view kid);

  // The current key set of (authority, tenant, version), fetching it when absent or expired.
  Result<std::shared_ptr<const KeySet>> key_set(std::string_view authority, std::string_view tenant,
                                                TokenVersion version);

  // Forgets every cached key set.
  void clear();

  const KeyStoreOptions& options() const { return m_options; }

private:
  struct Source;

  std::shared_ptr<Source> source(const std::string& key, bool create);
  std::shared_ptr<const KeySet> current(const Source& source) const;
  void publish(Source& source, std::shared_ptr<const KeySet> set);
  Result<std::shared_ptr<const KeySet>> fetch(std::string_view authority, std::string_view tenant,
                                              TokenVersion version, const KeySet* previous);
  Result<std::string> get(const std::string& url, std::string_view what);

  std::shared_ptr<http::Transport> m_transport;
  KeyStoreOptions m_options;
  std::shared_ptr<const util::Clock> m_clock;
  mutable std::shared_mutex m_mutex; // guards m_sources and every Source::set
  std::unordered_map<std::string, std::shared_ptr<Source>> m_sources;
  std::atomic<uint64_t> m_tick{0}; // use counter for least-recently-used eviction
};

} // namespace xdr::validate
