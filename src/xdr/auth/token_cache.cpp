#include <xdr/auth/token_cache.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <list>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <xdr/auth/hash_private.hpp>
#include <xdr/auth/persistent_cache.hpp>

namespace xdr::auth {

namespace {

using detail::ci_equal;

struct KeyView {
  std::string_view host, tenant, client, resource;
  uint64_t hash = 0;
};

uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

// Only tenant and resource feed the hash: a process normally has one authority host and one client
// ID, so hashing them would cost time and separate nothing. Equality still compares all four.
KeyView make_key(const TokenRequest& r) {
  KeyView k{r.authority_host, r.tenant, r.client_id, r.resource, 0};
  uint64_t h = detail::fast_hash(k.tenant, 0x243F6A8885A308D3ull, true);
  h = detail::fast_hash(k.resource, h, false);
  k.hash = mix(h);
  return k;
}

struct KeyHash {
  size_t operator()(const KeyView& k) const { return static_cast<size_t>(k.hash); }
};
struct KeyEqual {
  bool operator()(const KeyView& a, const KeyView& b) const {
    return a.hash == b.hash && a.resource == b.resource && ci_equal(a.tenant, b.tenant) &&
           ci_equal(a.client, b.client) && ci_equal(a.host, b.host);
  }
};

struct Entry {
  explicit Entry(const KeyView& k)
      : host(k.host), tenant(k.tenant), client(k.client), resource(k.resource), hash(k.hash) {}
  KeyView key() const { return KeyView{host, tenant, client, resource, hash}; }

  const std::string host, tenant, client, resource;
  const uint64_t hash;

  // Guarded by the shard's mutex (readers share it).
  std::shared_ptr<const AccessToken> token;
  std::atomic<bool> referenced{false};

  // Guarded by `mutex`: the single flight and what the last one left behind.
  std::mutex mutex;
  std::condition_variable flight_done;
  bool in_flight = false;
  uint64_t generation = 0;
  std::optional<Error> last_error;
  util::TimePoint blocked_until{};
  std::optional<Error> blocked_error;
};

using Order = std::list<std::shared_ptr<Entry>>;

struct Shard {
  mutable std::shared_mutex mutex;
  Order order; // CLOCK queue: front is the next eviction candidate
  std::unordered_map<KeyView, Order::iterator, KeyHash, KeyEqual> map;
  size_t capacity = 1;
};

} // namespace

struct TokenCache::Impl {
  TokenFetcher fetch;
  TokenCacheOptions options;
  std::vector<Shard> shards;

  Impl(TokenFetcher f, TokenCacheOptions o) : fetch(std::move(f)), options(std::move(o)) {
    if (!fetch) throw Fatal("TokenCache needs a fetch function");
    if (!options.clock) options.clock = util::system_clock();
    const size_t max_entries = std::max<size_t>(1, options.max_entries);
    const size_t n = std::max<size_t>(1, std::min(std::max<size_t>(1, options.shards), max_entries / 16));
    shards = std::vector<Shard>(n);
    for (size_t i = 0; i < n; ++i) shards[i].capacity = max_entries / n + (i < max_entries % n ? 1 : 0);
  }

  Shard& shard_for(uint64_t hash) { return shards[(hash >> 40) % shards.size()]; }

  // Short-lived tokens (an emulator's 2-minute tokens) would never be fresh with a 5-minute
  // margin, so the margin is at most half the token's lifetime when that is known.
  bool fresh(const AccessToken& t, util::TimePoint now) const {
    util::TimePoint::duration margin = options.refresh_before_expiry;
    if (t.obtained_on != util::TimePoint{} && t.expires_on > t.obtained_on)
      margin = std::min(margin, (t.expires_on - t.obtained_on) / 2);
    if (now + margin >= t.expires_on) return false;
    return !t.refresh_on || now < *t.refresh_on;
  }
  bool usable(const AccessToken& t, util::TimePoint now) const { return now + options.min_usable_lifetime < t.expires_on; }

  // The entry for `key`, inserted (and the shard trimmed to capacity) when absent.
  std::shared_ptr<Entry> find_or_insert(const KeyView& key) {
    Shard& s = shard_for(key.hash);
    std::unique_lock lock(s.mutex);
    if (auto it = s.map.find(key); it != s.map.end()) {
      (*it->second)->referenced.store(true, std::memory_order_relaxed);
      return *it->second;
    }
    auto entry = std::make_shared<Entry>(key);
    s.order.push_back(entry);
    s.map.emplace(entry->key(), std::prev(s.order.end()));
    evict(s, entry.get());
    return entry;
  }

  // CLOCK (second chance): a referenced candidate loses its mark and moves to the back; the new
  // entry is never its own victim.
  static void evict(Shard& s, const Entry* keep) {
    while (s.map.size() > s.capacity) {
      auto it = s.order.begin();
      Entry* e = it->get();
      if (e == keep || e->referenced.exchange(false, std::memory_order_relaxed)) {
        s.order.splice(s.order.end(), s.order, it);
        continue;
      }
      s.map.erase(e->key());
      s.order.erase(it);
    }
  }

  std::shared_ptr<const AccessToken> read_token(const Entry& e) {
    Shard& s = shard_for(e.hash);
    std::shared_lock lock(s.mutex);
    return e.token;
  }

  void write_token(Entry& e, std::shared_ptr<const AccessToken> token) {
    Shard& s = shard_for(e.hash);
    std::unique_lock lock(s.mutex);
    e.token = std::move(token);
  }

  void persist(const Entry& e, const AccessToken& token) {
    if (!options.persistent) return;
    std::vector<PersistedToken> update(1);
    update[0] = PersistedToken{e.host, e.tenant, e.client, e.resource, token};
    if (auto ok = options.persistent->save(update); !ok && options.on_persistence_error)
      options.on_persistence_error(ok.error());
  }

  void load_persistent() {
    if (!options.persistent) return;
    auto loaded = options.persistent->load();
    if (!loaded) {
      if (options.on_persistence_error) options.on_persistence_error(loaded.error());
      return;
    }
    const util::TimePoint now = options.clock->now();
    for (auto& p : *loaded) {
      if (!usable(p.token, now)) continue;
      TokenRequest r{p.authority_host, p.tenant, p.client_id, p.resource};
      if (options.accept_persisted && !options.accept_persisted(r)) continue;
      auto entry = find_or_insert(make_key(r));
      write_token(*entry, std::make_shared<const AccessToken>(std::move(p.token)));
    }
  }

  // The warm path: a shared lock, one lookup, one shared_ptr copy, no allocation.
  std::optional<TokenResult> peek(const KeyView& key) {
    std::shared_ptr<const AccessToken> token;
    {
      Shard& s = shard_for(key.hash);
      std::shared_lock lock(s.mutex);
      auto it = s.map.find(key);
      if (it == s.map.end()) return std::nullopt;
      Entry& e = **it->second;
      token = e.token;
      if (!e.referenced.load(std::memory_order_relaxed)) e.referenced.store(true, std::memory_order_relaxed);
    }
    if (token && fresh(*token, options.clock->now())) return TokenResult{std::move(token), true, std::nullopt};
    return std::nullopt;
  }

  Result<TokenResult> slow_path(const TokenRequest& request, const KeyView& key);
};

Result<TokenResult> TokenCache::Impl::slow_path(const TokenRequest& request, const KeyView& key) {
  std::shared_ptr<Entry> e = find_or_insert(key);
  std::unique_lock el(e->mutex);
  bool want_refresh = request.force_refresh;
  for (;;) {
    util::TimePoint now = options.clock->now();
    std::shared_ptr<const AccessToken> current = read_token(*e);
    if (current && !want_refresh && fresh(*current, now)) return TokenResult{current, true, std::nullopt};

    if (e->in_flight && current && !request.force_refresh && usable(*current, now)) {
      // A refresh is under way and the current token still works: no need to wait for it.
      return TokenResult{current, true, std::nullopt};
    }
    if (e->in_flight) {
      // Someone is already asking the service for this key: take that answer.
      const uint64_t gen = e->generation;
      e->flight_done.wait(el, [&] { return e->generation != gen; });
      current = read_token(*e);
      now = options.clock->now();
      if (e->last_error) {
        if (current && usable(*current, now)) return TokenResult{current, true, e->last_error};
        return fail(*e->last_error);
      }
      if (current) return TokenResult{current, true, std::nullopt};
      want_refresh = false;
      continue;
    }

    if (now < e->blocked_until && e->blocked_error) {
      // The token endpoint asked us to wait (Retry-After): do not call it before then.
      Error err = *e->blocked_error;
      err.retry_after = std::chrono::ceil<std::chrono::seconds>(e->blocked_until - now);
      if (current && usable(*current, now)) return TokenResult{current, true, std::move(err)};
      return fail(std::move(err));
    }

    e->in_flight = true;
    el.unlock();
    Result<AccessToken> fetched = [&]() -> Result<AccessToken> {
      try {
        return fetch(request);
      } catch (...) {
        std::lock_guard relock(e->mutex);
        e->in_flight = false;
        e->last_error = Error(ErrorKind::config, "the token fetcher threw an exception");
        ++e->generation;
        e->flight_done.notify_all();
        throw;
      }
    }();
    el.lock();
    now = options.clock->now();
    e->in_flight = false;
    ++e->generation;
    if (fetched) {
      auto token = std::make_shared<const AccessToken>(std::move(*fetched));
      write_token(*e, token);
      e->last_error.reset();
      e->blocked_error.reset();
      e->blocked_until = {};
      e->flight_done.notify_all();
      el.unlock();
      persist(*e, *token);
      return TokenResult{std::move(token), false, std::nullopt};
    }
    Error err = fetched.error();
    if (err.retry_after && err.retry_after->count() > 0) {
      e->blocked_until = now + *err.retry_after;
      e->blocked_error = err;
    }
    e->last_error = err;
    e->flight_done.notify_all();
    el.unlock();
    if (current && usable(*current, now)) {
      if (options.on_refresh_failure) options.on_refresh_failure(request, err);
      return TokenResult{std::move(current), true, std::move(err)};
    }
    return fail(std::move(err));
  }
}

TokenCache::TokenCache(TokenFetcher fetch, TokenCacheOptions options)
    : m_impl(std::make_unique<Impl>(std::move(fetch), std::move(options))) {
  m_impl->load_persistent();
}

TokenCache::~TokenCache() = default;

std::optional<TokenResult> TokenCache::peek(const TokenRequest& request) const {
  return m_impl->peek(make_key(request));
}

Result<TokenResult> TokenCache::get_token(const TokenRequest& request) {
  const KeyView key = make_key(request);
  if (!request.force_refresh) {
    if (auto hit = m_impl->peek(key)) return std::move(*hit);
  }
  return m_impl->slow_path(request, key);
}

void TokenCache::invalidate(const TokenRequest& request) {
  const KeyView key = make_key(request);
  Shard& s = m_impl->shard_for(key.hash);
  std::unique_lock lock(s.mutex);
  if (auto it = s.map.find(key); it != s.map.end()) (*it->second)->token.reset();
}

size_t TokenCache::size() const {
  size_t n = 0;
  for (const Shard& s : m_impl->shards) {
    std::shared_lock lock(s.mutex);
    n += s.map.size();
  }
  return n;
}

size_t TokenCache::shard_count() const { return m_impl->shards.size(); }

} // namespace xdr::auth
