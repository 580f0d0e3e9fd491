#pragma once
// Case-insensitive hashing and comparison for tenant, host and client-ID strings (no allocation).
// Private to src/xdr/auth.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace xdr::auth::detail {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// FNV-1a 64 over the ASCII-lower-cased bytes, continuing from `h`.
inline uint64_t ci_hash(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(ascii_lower(c));
    h *= 1099511628211ull;
  }
  return h;
}

// FNV-1a 64 over the exact bytes, continuing from `h`.
inline uint64_t cs_hash(std::string_view s, uint64_t h = 14695981039346656037ull) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// Equal ignoring ASCII case; exact matches (the common case) take the memcmp path.
inline bool ci_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0) return true;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Lower-cases the ASCII letters in the 8 bytes of `w` at once (bytes >= 0x80 are left alone).
inline uint64_t swar_lower(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101ull;
  const uint64_t heptets = w & (0x7f * ones);
  const uint64_t ge_a = heptets + ((0x80 - 'A') * ones); // high bit set when byte >= 'A'
  const uint64_t gt_z = heptets + ((0x7f - 'Z') * ones); // high bit set when byte > 'Z'
  const uint64_t upper = ge_a & ~gt_z & ~w & (0x80 * ones);
  return w | (upper >> 2);
}

// A fast 64-bit hash of `s` (8 bytes per step), continuing from `h`; `fold_case` hashes the
// ASCII-lower-cased bytes. Not for hostile-input hash tables: keys here come from configuration.
inline uint64_t fast_hash(std::string_view s, uint64_t h, bool fold_case) {
  constexpr uint64_t k = 0x9E3779B97F4A7C15ull;
  const char* p = s.data();
  size_t n = s.size();
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    if (fold_case) w = swar_lower(w);
    h = (h ^ w) * k;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    if (fold_case) w = swar_lower(w);
    h = (h ^ w) * k;
    h ^= h >> 29;
  }
  return (h ^ s.size()) * k;
}

struct CiHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return static_cast<size_t>(ci_hash(s)); }
};
struct CiEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return ci_equal(a, b); }
};

} // namespace xdr::auth::detail

namespace xdr::auth::detail {

// Orders strings by their ASCII-lower-cased bytes.
inline bool ci_less(std::string_view a, std::string_view b) {
  size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    char x = ascii_lower(a[i]), y = ascii_lower(b[i]);
    if (x != y) return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
  }
  return a.size() < b.size();
}

} // namespace xdr::auth::detail
