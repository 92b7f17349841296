#pragma once

// The simulator's one source of randomness: a seeded splitmix64 generator.
// Every random choice of a run is drawn from it, so a seed replays exactly.

#include <cmath>
#include <cstdint>
#include <vector>

namespace sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo + 1))); }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  // Exponentially distributed with the given mean.
  int64_t Exponential(int64_t mean) {
    if (mean <= 0) return 0;
    return static_cast<int64_t>(-std::log(1.0 - Unit()) * static_cast<double>(mean));
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[Below(v.size())]; }

 private:
  uint64_t state_;
};

}  // namespace sim
