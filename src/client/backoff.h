#pragma once

// Exponential backoff with jitter for the client's retry loops. Internal to
// the client library. Not thread-safe: one per operation.

#include <algorithm>
#include <cstdint>
#include <random>

namespace replog {

class Backoff {
 public:
  // Delays start at initial_ns and double up to max_ns; each one returned is
  // a random fraction in [50%, 100%] of the current value (seeded: the same
  // seed gives the same delays).
  Backoff(int64_t initial_ns, int64_t max_ns, uint64_t seed)
      : current_ns_(std::max<int64_t>(initial_ns, 1)), max_ns_(std::max(max_ns, initial_ns)), rng_(seed) {}

  // The next delay, in nanoseconds.
  int64_t NextNs() {
    std::uniform_int_distribution<int64_t> dist(current_ns_ / 2, current_ns_);
    int64_t d = dist(rng_);
    current_ns_ = std::min(current_ns_ * 2, max_ns_);
    return d;
  }

 private:
  int64_t current_ns_;
  int64_t max_ns_;
  std::mt19937_64 rng_;
};

}  // namespace replog
