#include <xdr/validate/jwks.hpp>

#include <algorithm>
#include <array>
#include <atomic>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <xdr/util/base64.hpp>
#include <xdr/util/json.hpp>
#include <xdr/util/strings.hpp>
#include <xdr/util/time.hpp>

namespace xdr::validate {

std::string_view to_string(TokenVersion version) { return version == TokenVersion::v2 ? "2.0" : "1.0"; }

namespace {

constexpr int k_min_rsa_bits = 2048;
constexpr std::string_view k_tenant_placeholder = "{tenantid}";

std::atomic<uint64_t> g_next_key_id{1};

const EVP_MD* sha256_md() {
  // Fetched once: an explicit fetch avoids OpenSSL 3's implicit per-call algorithm lookup.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

// Per-thread verification contexts for the last few keys used on this thread (and a reusable
// SHA-256 context). A verification context is
// initialised once (EVP_PKEY_CTX_new_from_pkey + verify_init costs about a fifth of an RSA-2048
// verify) and holds its own reference to the key, so it stays valid after the key set is replaced.
class VerifyContexts {
public:
  VerifyContexts() = default;
  VerifyContexts(const VerifyContexts&) = delete;
  VerifyContexts& operator=(const VerifyContexts&) = delete;
  ~VerifyContexts() {
    for (auto& slot : m_slots) EVP_PKEY_CTX_free(slot.ctx);
    EVP_MD_CTX_free(m_digest);
  }

  // SHA-256 of `data` into `out` (32 bytes) with this thread's reusable digest context.
  bool sha256(std::string_view data, unsigned char* out) {
    if (!m_digest) m_digest = EVP_MD_CTX_new();
    unsigned int len = 0;
    bool ok = m_digest && EVP_DigestInit_ex2(m_digest, sha256_md(), nullptr) == 1 &&
              EVP_DigestUpdate(m_digest, data.data(), data.size()) == 1 &&
              EVP_DigestFinal_ex(m_digest, out, &len) == 1 && len == 32;
    if (!ok) ERR_clear_error();
    return ok;
  }

  EVP_PKEY_CTX* get(const SigningKey& key) {
    for (auto& slot : m_slots)
      if (slot.ctx && slot.id == key.id) return slot.ctx;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.public_key.raw(), nullptr);
    if (!ctx || EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, sha256_md()) != 1) {
      EVP_PKEY_CTX_free(ctx);
      ERR_clear_error();
      return nullptr;
    }
    Slot& slot = m_slots[m_next];
    m_next = (m_next + 1) % m_slots.size();
    EVP_PKEY_CTX_free(slot.ctx);
    slot = Slot{key.id, ctx};
    return ctx;
  }

  // Forgets the context of `id` (after a failed verify, so no error state can carry over).
  void drop(uint64_t id) {
    for (auto& slot : m_slots) {
      if (slot.ctx && slot.id == id) {
        EVP_PKEY_CTX_free(slot.ctx);
        slot = Slot{};
      }
    }
  }

private:
  struct Slot {
    uint64_t id = 0;
    EVP_PKEY_CTX* ctx = nullptr;
  };
  std::array<Slot, 8> m_slots{};
  size_t m_next = 0;
  EVP_MD_CTX* m_digest = nullptr;
};

thread_local VerifyContexts t_verify_contexts;

std::string_view strip_padding(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  return text;
}

std::string_view strip_leading_zeros(std::string_view bytes) {
  while (bytes.size() > 1 && bytes.front() == '\0') bytes.remove_prefix(1);
  return bytes;
}

// A value from a remote document or a token, safe to quote in a message: printable ASCII, bounded.
std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (text.size() > 80) out += "...";
  return out + "'";
}

std::string string_member(const Json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "authority|tenant|ver", ASCII-lowercased, built with one allocation (it is on the warm path).
std::string source_key(std::string_view authority, std::string_view tenant, TokenVersion version) {
  while (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  std::string key;
  key.reserve(authority.size() + tenant.size() + 5);
  auto append_lower = [&](std::string_view text) {
    for (char ch : text) key += (ch >= 'A' && ch <= 'Z') ? char(ch - 'A' + 'a') : ch;
  };
  append_lower(authority);
  key += '|';
  append_lower(tenant);
  key += '|';
  key += to_string(version);
  return key;
}

std::string first_line(std::string_view text) {
  size_t end = text.find_first_of("\r\n");
  return std::string(text.substr(0, end));
}

Error fetch_error(ErrorKind kind, std::string message) {
  Error e(kind, std::move(message));
  e.code = std::string(k_key_fetch_failed_code);
  return e;
}

} // namespace

bool SigningKey::verify_rs256(std::string_view signing_input, std::string_view signature) const {
  if (!public_key.valid()) return false;
  if (id == 0) return public_key.verify(crypto::SignatureAlg::rs256, signing_input, signature);
  unsigned char digest[32];
  if (!t_verify_contexts.sha256(signing_input, digest)) return false;
  EVP_PKEY_CTX* ctx = t_verify_contexts.get(*this);
  if (!ctx) return false;
  int rc = EVP_PKEY_verify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(), digest,
                           sizeof digest);
  if (rc != 1) {
    t_verify_contexts.drop(id);
    ERR_clear_error();
    return false;
  }
  return true;
}

const SigningKey* KeySet::find(std::string_view kid) const {
  for (const auto& key : keys)
    if (key.kid == kid) return &key;
  return nullptr;
}

Result<std::vector<SigningKey>> parse_jwks(std::string_view body, size_t max_keys, std::vector<std::string>* skipped) {
  std::vector<std::string> notes;
  auto note = [&](std::string text) { notes.push_back(std::move(text)); };
  Json doc = Json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded())
    return fail(ErrorKind::invalid_response, "it is not valid JSON (received " + util::describe_body(body) + ")");
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    return fail(ErrorKind::invalid_response, "it is JSON but has no \"keys\" array, so it is not a JWKS");

  std::vector<SigningKey> keys;
  size_t index = 0;
  for (const Json& jwk : doc["keys"]) {
    std::string where = "key " + std::to_string(index++);
    if (!jwk.is_object()) {
      note(where + " is not a JSON object");
      continue;
    }
    std::string kid = string_member(jwk, "kid");
    if (!kid.empty()) where = "key " + quote(kid);
    std::string kty = string_member(jwk, "kty");
    if (kty != "RSA") {
      note(where + " has kty " + quote(kty) + "; only RSA keys are used");
      continue;
    }
    if (jwk.contains("use") && string_member(jwk, "use") != "sig") {
      note(where + " is not a signature key (use " + quote(string_member(jwk, "use")) + ")");
      continue;
    }
    if (jwk.contains("alg") && string_member(jwk, "alg") != "RS256") {
      note(where + " is for alg " + quote(string_member(jwk, "alg")) + ", not RS256");
      continue;
    }
    if (kid.empty()) {
      note(where + " has no kid, so no token can name it");
      continue;
    }
    auto n = util::base64url_decode(strip_padding(string_member(jwk, "n")));
    auto e = util::base64url_decode(strip_padding(string_member(jwk, "e")));
    if (!n || !e || n->empty() || e->empty()) {
      note(where + " has a missing or non-base64url modulus (n) or exponent (e)");
      continue;
    }
    auto public_key = crypto::RsaPublicKey::from_components(*n, *e);
    if (!public_key) {
      note(where + ": " + public_key.error().message);
      continue;
    }
    if (public_key->bits() < k_min_rsa_bits) {
      note(where + " is a " + std::to_string(public_key->bits()) + "-bit RSA key; at least " +
           std::to_string(k_min_rsa_bits) + " bits are required");
      continue;
    }
    if (std::any_of(keys.begin(), keys.end(), [&](const SigningKey& k) { return k.kid == kid; })) {
      note(where + " appears more than once; the first is used");
      continue;
    }
    SigningKey key;
    if (auto x5c = jwk.find("x5c"); x5c != jwk.end() && x5c->is_array()) {
      for (const Json& cert : *x5c)
        if (cert.is_string()) key.x5c.push_back(cert.get<std::string>());
    }
    if (!key.x5c.empty()) {
      auto der = util::base64_decode(key.x5c.front());
      Result<crypto::Certificate> cert = fail(ErrorKind::invalid_response, "not base64");
      if (der) cert = crypto::Certificate::from_der(*der);
      if (!cert) {
        note(where + " has an x5c certificate that is not base64 DER X.509");
        continue;
      }
      auto cert_key = cert->public_key();
      if (!cert_key.valid() || strip_leading_zeros(cert_key.modulus()) != strip_leading_zeros(*n) ||
          strip_leading_zeros(cert_key.exponent()) != strip_leading_zeros(*e)) {
        note(where + " has an x5c certificate whose public key is not the key's n/e");
        continue;
      }
    }
    if (keys.size() >= max_keys) {
      note(where + " is beyond the limit of " + std::to_string(max_keys) + " keys");
      continue;
    }
    key.kid = std::move(kid);
    key.x5t = string_member(jwk, "x5t");
    key.issuer = string_member(jwk, "issuer");
    key.public_key = std::move(*public_key);
    key.id = g_next_key_id.fetch_add(1, std::memory_order_relaxed);
    keys.push_back(std::move(key));
  }
  if (keys.empty()) {
    std::string why = notes.empty() ? "the \"keys\" array is empty" : util::join(notes, "; ");
    return fail(ErrorKind::invalid_response, "it holds no usable RSA signing key (" + why + ")");
  }
  if (skipped) *skipped = std::move(notes);
  return keys;
}

std::string make_issuer_template(std::string_view issuer) {
  if (issuer.find(k_tenant_placeholder) != std::string_view::npos) return std::string(issuer);
  size_t scheme = issuer.find("://");
  size_t pos = scheme == std::string_view::npos ? 0 : scheme + 3;
  while (pos < issuer.size()) {
    size_t start = issuer.find('/', pos);
    if (start == std::string_view::npos) break;
    size_t end = issuer.find('/', start + 1);
    std::string_view segment = issuer.substr(start + 1, end == std::string_view::npos ? end : end - start - 1);
    if (util::is_guid(segment)) {
      std::string out(issuer.substr(0, start + 1));
      out += k_tenant_placeholder;
      if (end != std::string_view::npos) out += issuer.substr(end);
      return out;
    }
    pos = start + 1;
  }
  return std::string(issuer);
}

std::string expand_issuer(std::string_view issuer_template, std::string_view tenant_id) {
  std::string out;
  out.reserve(issuer_template.size() + tenant_id.size());
  size_t pos = 0;
  while (true) {
    size_t hit = issuer_template.find(k_tenant_placeholder, pos);
    out += issuer_template.substr(pos, hit == std::string_view::npos ? hit : hit - pos);
    if (hit == std::string_view::npos) break;
    out += tenant_id;
    pos = hit + k_tenant_placeholder.size();
  }
  return out;
}

// ---- KeyStore ----

struct KeyStore::Source {
  std::mutex fetch_mutex;                          // one fetch at a time for this source
  std::shared_ptr<const KeySet> set;               // guarded by KeyStore::m_mutex
  std::optional<util::TimePoint> last_refresh;     // last unknown-kid re-fetch (guarded by fetch_mutex)
  std::optional<util::TimePoint> last_failure_at;  // guarded by fetch_mutex
  std::optional<Error> last_failure;               // guarded by fetch_mutex
  std::atomic<uint64_t> last_used{0};              // KeyStore::m_tick at the last lookup
};

KeyStore::KeyStore(std::shared_ptr<http::Transport> transport, KeyStoreOptions options,
                   std::shared_ptr<const util::Clock> clock)
    : m_transport(std::move(transport)), m_options(options), m_clock(std::move(clock)) {
  if (!m_transport) throw Fatal("KeyStore needs a transport");
  if (!m_clock) throw Fatal("KeyStore needs a clock");
  if (m_options.max_keys_per_source == 0 || m_options.max_sources == 0)
    throw Fatal("KeyStore limits (max_keys_per_source, max_sources) must be at least 1");
}

std::string KeyStore::metadata_url(std::string_view authority, std::string_view tenant, TokenVersion version) {
  while (!authority.empty() && authority.back() == '/') authority.remove_suffix(1);
  std::string url(authority);
  url += '/';
  url += tenant;
  if (version == TokenVersion::v2) url += "/v2.0";
  url += "/.well-known/openid-configuration";
  return url;
}

std::shared_ptr<KeyStore::Source> KeyStore::source(const std::string& key, bool create) {
  uint64_t tick = m_tick.fetch_add(1, std::memory_order_relaxed);
  {
    std::shared_lock lock(m_mutex);
    auto it = m_sources.find(key);
    if (it != m_sources.end()) it->second->last_used.store(tick, std::memory_order_relaxed);
    if (it != m_sources.end() || !create) return it == m_sources.end() ? nullptr : it->second;
  }
  std::unique_lock lock(m_mutex);
  auto it = m_sources.find(key);
  if (it != m_sources.end()) return it->second;
  if (m_sources.size() >= m_options.max_sources) {
    // Evict the least recently used source; a hot tenant stays however long ago it was fetched.
    auto oldest = std::min_element(m_sources.begin(), m_sources.end(), [](const auto& a, const auto& b) {
      return a.second->last_used.load(std::memory_order_relaxed) < b.second->last_used.load(std::memory_order_relaxed);
    });
    m_sources.erase(oldest);
  }
  auto created = std::make_shared<Source>();
  created->last_used.store(tick, std::memory_order_relaxed);
  m_sources.emplace(key, created);
  return created;
}

std::shared_ptr<const KeySet> KeyStore::current(const Source& source) const {
  std::shared_lock lock(m_mutex);
  return source.set;
}

void KeyStore::publish(Source& source, std::shared_ptr<const KeySet> set) {
  std::unique_lock lock(m_mutex);
  source.set = std::move(set);
}

void KeyStore::clear() {
  std::unique_lock lock(m_mutex);
  m_sources.clear();
}

Result<KeyMatch> KeyStore::find(std::string_view authority, std::string_view tenant, TokenVersion version,
                                std::string_view kid) {
  const std::string key = source_key(authority, tenant, version);
  const util::TimePoint now = m_clock->now();
  std::shared_ptr<Source> src;
  {
    std::shared_lock lock(m_mutex);
    auto it = m_sources.find(key);
    if (it != m_sources.end()) {
      src = it->second;
      src->last_used.store(m_tick.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
      const std::shared_ptr<const KeySet>& set = src->set;
      if (set && now < set->fetched_at + m_options.key_lifetime) {
        if (const SigningKey* found = set->find(kid)) return KeyMatch{set, found};
      }
    }
  }
  if (!src) src = source(key, true);

  std::lock_guard fetch_lock(src->fetch_mutex);
  std::shared_ptr<const KeySet> set = current(*src);
  const bool fresh = set && now < set->fetched_at + m_options.key_lifetime;
  auto unknown = [&](const KeySet& s, util::TimePoint next_refresh) -> Result<KeyMatch> {
    Error e(ErrorKind::invalid_token,
            "signing key " + quote(kid) + " is not among the " + std::to_string(s.keys.size()) +
                " keys of the JWKS at " + s.jwks_uri + " (fetched " + util::format_rfc3339(s.fetched_at, 0) +
                "); an unknown key re-fetches the JWKS at most every " +
                std::to_string(m_options.refresh_cooldown.count()) + " s, next after " +
                util::format_rfc3339(next_refresh, 0) + ". The token was not issued by this authority, or its key was rolled over");
    e.code = std::string(k_unknown_kid_code);
    return fail(std::move(e));
  };
  if (fresh) {
    if (const SigningKey* found = set->find(kid)) return KeyMatch{set, found}; // another thread refreshed
    if (src->last_refresh && now < *src->last_refresh + m_options.refresh_cooldown)
      return unknown(*set, *src->last_refresh + m_options.refresh_cooldown);
  }
  if (src->last_failure && src->last_failure_at && now < *src->last_failure_at + m_options.failure_retry_interval) {
    Error e = *src->last_failure;
    e.message += " (the fetch failed at " + util::format_rfc3339(*src->last_failure_at, 0) + " and is retried after " +
                 util::format_rfc3339(*src->last_failure_at + m_options.failure_retry_interval, 0) + ")";
    return fail(std::move(e));
  }
  if (fresh) src->last_refresh = now;
  auto fetched = fetch(authority, tenant, version, fresh ? set.get() : nullptr);
  if (!fetched) {
    src->last_failure = fetched.error();
    src->last_failure_at = now;
    return fail(std::move(fetched).error());
  }
  src->last_failure.reset();
  src->last_failure_at.reset();
  publish(*src, *fetched);
  if (const SigningKey* found = (*fetched)->find(kid)) return KeyMatch{*fetched, found};
  return unknown(**fetched, now + m_options.refresh_cooldown);
}

Result<std::shared_ptr<const KeySet>> KeyStore::key_set(std::string_view authority, std::string_view tenant,
                                                        TokenVersion version) {
  auto src = source(source_key(authority, tenant, version), true);
  std::lock_guard fetch_lock(src->fetch_mutex);
  auto set = current(*src);
  const util::TimePoint now = m_clock->now();
  if (set && now < set->fetched_at + m_options.key_lifetime) return set;
  if (src->last_failure && src->last_failure_at && now < *src->last_failure_at + m_options.failure_retry_interval)
    return fail(*src->last_failure);
  auto fetched = fetch(authority, tenant, version, nullptr);
  if (!fetched) {
    src->last_failure = fetched.error();
    src->last_failure_at = now;
    return fail(std::move(fetched).error());
  }
  src->last_failure.reset();
  src->last_failure_at.reset();
  publish(*src, *fetched);
  return *fetched;
}

Result<std::string> KeyStore::get(const std::string& url, std::string_view what) {
  http::Request request;
  request.method = "GET";
  request.url = url;
  request.headers.set("accept", "application/json");
  auto response = m_transport->send(request);
  if (!response) {
    Error e = std::move(response).error();
    e.message = "could not fetch the " + std::string(what) + " from " + url + ": " + e.message;
    e.code = std::string(k_key_fetch_failed_code);
    return fail(std::move(e));
  }
  const std::string& body = response->body;
  if (body.size() > m_options.max_document_bytes)
    return fail(fetch_error(ErrorKind::invalid_response,
                            "the " + std::string(what) + " at " + url + " is " + std::to_string(body.size()) +
                                " bytes, more than the " + std::to_string(m_options.max_document_bytes) +
                                " accepted; check the authority URL"));
  if (response->status != 200) {
    ErrorKind kind = response->status == 404   ? ErrorKind::not_found
                     : response->status == 429 ? ErrorKind::rate_limited
                     : response->status >= 500 ? ErrorKind::server
                                               : ErrorKind::invalid_response;
    std::string detail = "received " + util::describe_body(body);
    Json j = Json::parse(body, nullptr, false);
    if (j.is_object() && j.contains("error_description") && j["error_description"].is_string()) {
      detail = first_line(j["error_description"].get<std::string>());
      if (detail.find("AADSTS90002") != std::string::npos) kind = ErrorKind::not_found;
    }
    Error e = fetch_error(kind, "the " + std::string(what) + " at " + url + " answered HTTP " +
                                    std::to_string(response->status) + " (" + detail +
                                    "); check the authority and the tenant");
    e.http_status = response->status;
    return fail(std::move(e));
  }
  return std::move(response->body);
}

Result<std::shared_ptr<const KeySet>> KeyStore::fetch(std::string_view authority, std::string_view tenant,
                                                      TokenVersion version, const KeySet* previous) {
  auto set = std::make_shared<KeySet>();
  if (previous) {
    set->metadata_url = previous->metadata_url;
    set->jwks_uri = previous->jwks_uri;
    set->issuer = previous->issuer;
    set->issuer_template = previous->issuer_template;
  } else {
    set->metadata_url = metadata_url(authority, tenant, version);
    if (!m_options.allow_insecure_http && !util::istarts_with(set->metadata_url, "https://"))
      return fail(Error(ErrorKind::config, "signing keys are fetched over https only, and the authority " +
                                               std::string(authority) + " is not https: anyone on the path could "
                                               "substitute keys. Use the https authority."));
    XDR_TRY_ASSIGN(std::string body, get(set->metadata_url, "OpenID configuration"));
    Json doc = Json::parse(body, nullptr, false);
    if (doc.is_discarded())
      return fail(fetch_error(ErrorKind::invalid_response, "the OpenID configuration at " + set->metadata_url +
                                                               " is not valid JSON (received " +
                                                               util::describe_body(body) + "); check the authority URL"));
    if (!doc.is_object())
      return fail(fetch_error(ErrorKind::invalid_response,
                              "the OpenID configuration at " + set->metadata_url + " is not a JSON object"));
    set->jwks_uri = string_member(doc, "jwks_uri");
    set->issuer = string_member(doc, "issuer");
    if (!m_options.allow_insecure_http && util::istarts_with(set->jwks_uri, "http://"))
      return fail(fetch_error(ErrorKind::invalid_response, "the OpenID configuration at " + set->metadata_url +
                                                               " names a plain-http jwks_uri (" + set->jwks_uri +
                                                               "); keys are fetched over https only"));
    if (!util::istarts_with(set->jwks_uri, "https://") && !util::istarts_with(set->jwks_uri, "http://"))
      return fail(fetch_error(ErrorKind::invalid_response, "the OpenID configuration at " + set->metadata_url +
                                                               " has no http(s) \"jwks_uri\"; it is not an OpenID "
                                                               "Connect discovery document"));
    if (set->issuer.empty())
      return fail(fetch_error(ErrorKind::invalid_response,
                              "the OpenID configuration at " + set->metadata_url + " has no \"issuer\""));
    set->issuer_template = make_issuer_template(set->issuer);
  }
  XDR_TRY_ASSIGN(std::string jwks, get(set->jwks_uri, "JWKS"));
  auto keys = parse_jwks(jwks, m_options.max_keys_per_source, &set->skipped);
  if (!keys) {
    Error e = std::move(keys).error();
    e.message = "the JWKS at " + set->jwks_uri + " is unusable: " + e.message;
    e.code = std::string(k_key_fetch_failed_code);
    return fail(std::move(e));
  }
  set->keys = std::move(*keys);
  set->fetched_at = m_clock->now();
  return std::shared_ptr<const KeySet>(std::move(set));
}

} // namespace xdr::validate
