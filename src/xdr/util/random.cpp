#include <xdr/util/random.hpp>

#include <cstdio>

namespace xdr::util {

uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

DeterministicRng::DeterministicRng(uint64_t seed, std::string_view label)
    : m_state(seed ^ fnv1a64(label)) {}

uint64_t DeterministicRng::next() {
  uint64_t z = (m_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t DeterministicRng::below(uint64_t bound) {
  if (bound == 0) return 0;
  // Rejection sampling: no modulo bias.
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t v;
  do {
    v = next();
  } while (v >= limit);
  return v % bound;
}

int64_t DeterministicRng::range(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

double DeterministicRng::unit() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

std::string DeterministicRng::guid() {
  uint64_t a = next(), b = next();
  a = (a & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;
  b = (b & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", unsigned(a >> 32), unsigned((a >> 16) & 0xFFFF),
                unsigned(a & 0xFFFF), unsigned(b >> 48), static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

std::string DeterministicRng::bytes(size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) {
    uint64_t v = next();
    for (int i = 0; i < 8 && out.size() < n; ++i) out += static_cast<char>((v >> (i * 8)) & 0xFF);
  }
  return out;
}

} // namespace xdr::util
