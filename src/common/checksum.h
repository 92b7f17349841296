#pragma once

// Checksums of on-disk records: XXH3-64 from libxxhash (about 30 GB/s per core
// here, so checksumming is never the bottleneck of a write or a scan).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace common {

// XXH3-64 of `n` bytes at `data`, seed 0.
uint64_t Checksum64(const void* data, size_t n);
inline uint64_t Checksum64(std::string_view s) { return Checksum64(s.data(), s.size()); }

// Checksum of two consecutive pieces, as if they were one buffer.
uint64_t Checksum64(const void* a, size_t na, const void* b, size_t nb);

}  // namespace common
