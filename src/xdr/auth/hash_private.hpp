#pragma once
// Case-insensitive hashing and comparison for tenant, host and client-ID strings (no allocation).
// Private to src/xdr/auth.

#include <cstdint>
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

inline bool ci_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
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
