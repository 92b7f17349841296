#include "common/checksum.h"

#include <xxhash.h>

namespace common {

uint64_t Checksum64(const void* data, size_t n) { return XXH3_64bits(data, n); }

uint64_t Checksum64Seeded(const void* data, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(data, n, seed); }

}  // namespace common
