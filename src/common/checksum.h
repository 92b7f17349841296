#pragma once

// Checksums of on-disk records: XXH3-64 from libxxhash (about 30 GB/s per core
// here, so checksumming is never the bottleneck of a write or a scan).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace common {

// XXH3-64 of `n` bytes at `data`, seed 0.
uint64_t Checksum64(const void* data, size_t n);
inline uint64_t Checksum64(std::string_view s) { return Checksum64(s.data(), s.size()); }

// XXH3-64 of `n` bytes at `data` with `seed` (one pass: a few words that
// must be covered too go in as the seed).
uint64_t Checksum64Seeded(const void* data, size_t n, uint64_t seed);

// Checksum64Seeded of `head` followed by `n` bytes at `src`, computed while
// those bytes are appended to `*copy` (in pieces that are still in the CPU's
// cache when they are hashed: one pass over memory instead of two).
uint64_t CopyAndChecksum64Seeded(std::string_view head, const char* src, size_t n, uint64_t seed, std::string* copy);

}  // namespace common
