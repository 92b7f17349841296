#pragma once

// Exponential backoff with jitter for the client's retry loops. Internal to
// the client library. Not thread-safe: one per operation.
//
// Every operation makes one, most never draw from it, so it is small and
// cheap to make: a SplitMix64 state, not a std::mt19937_64 (whose 2.5 KB
// seeding showed in the profile of the asynchronous KV reads).

#include <algorithm>
#include <cstdint>

namespace replog {

class Backoff {
 public:
  // Delays start at initial_ns and double up to max_ns; each one returned is
  // a random fraction in [50%, 100%] of the current value (seeded: the same
  // seed gives the same delays).
  Backoff(int64_t initial_ns, int64_t max_ns, uint64_t seed)
      : current_ns_(std::max<int64_t>(initial_ns, 1)), max_ns_(std::max(max_ns, current_ns_)), state_(seed) {}

  // The next delay, in nanoseconds.
  int64_t NextNs() {
    const int64_t low = current_ns_ / 2;
    const uint64_t span = static_cast<uint64_t>(current_ns_ - low) + 1;
    // The modulo's bias is below span / 2^64: nothing at these spans.
    const int64_t d = low + static_cast<int64_t>(Next() % span);
    current_ns_ = std::min(current_ns_ * 2, max_ns_);
    return d;
  }

 private:
  // SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
  // generators", 2014).
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  int64_t current_ns_;
  int64_t max_ns_;
  uint64_t state_;
};

}  // namespace replog
