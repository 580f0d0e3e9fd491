#pragma once
// A small deterministic generator (SplitMix64) for seeded data: same seed, same output.
// Not for secrets: use xdr::crypto::random_bytes for those.

#include <cstdint>
#include <string>
#include <string_view>

namespace xdr::util {

class DeterministicRng {
public:
  explicit DeterministicRng(uint64_t seed) : m_state(seed) {}
  // Seeds from a label, so that independent streams ("tenant 3 incidents") don't correlate.
  DeterministicRng(uint64_t seed, std::string_view label);

  uint64_t next();
  // Uniform in [0, bound).
  uint64_t below(uint64_t bound);
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi);
  double unit(); // [0, 1)
  // A version-4-shaped GUID, lower case.
  std::string guid();
  std::string bytes(size_t n);

private:
  uint64_t m_state;
};

uint64_t fnv1a64(std::string_view text);

} // namespace xdr::util
