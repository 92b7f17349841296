#include "common/checksum.h"

// libxxhash's header carries the whole implementation: compiled here, XXH3
// runs without a call into the shared library and is specialized for our
// calls (a 296-byte record: 35 ns through the library, 27 ns inlined, on
// the benchmark machine). The results are the same XXH3 values.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace common {

uint64_t Checksum64(const void* data, size_t n) { return XXH3_64bits(data, n); }

// Above XXH3_MIDSIZE_MAX bytes, XXH3 with a seed hashes with a secret that it
// derives from the seed on every call, and XXH3 with that secret gives the
// same value (xxhash.h, XXH3_generateSecret_fromSeed). Records of one size
// share a seed (their length is in it), so each thread keeps the secret of
// the last seed it saw: a 280-byte record body 49-76 ns -> 39-55 ns.
uint64_t Checksum64Seeded(const void* data, size_t n, uint64_t seed) {
  if (n <= XXH3_MIDSIZE_MAX) return XXH3_64bits_withSeed(data, n, seed);
  struct DerivedSecret {
    bool valid = false;
    uint64_t seed = 0;
    alignas(64) unsigned char secret[XXH3_SECRET_DEFAULT_SIZE];
  };
  thread_local DerivedSecret last;
  if (!last.valid || last.seed != seed) {
    XXH3_generateSecret_fromSeed(last.secret, seed);
    last.seed = seed;
    last.valid = true;
  }
  return XXH3_64bits_withSecret(data, n, last.secret, sizeof(last.secret));
}

uint64_t CopyAndChecksum64Seeded(std::string_view head, const char* src, size_t n, uint64_t seed, std::string* copy) {
  constexpr size_t kPiece = 32 << 10;  // within L1 + L2 between the copy and the hash
  XXH3_state_t state{};  // zeroed: reset_withSeed reads fields it has not set yet
  XXH3_64bits_reset_withSeed(&state, seed);
  XXH3_64bits_update(&state, head.data(), head.size());
  copy->reserve(copy->size() + n);
  for (size_t off = 0; off < n; off += kPiece) {
    const size_t len = n - off < kPiece ? n - off : kPiece;
    copy->append(src + off, len);
    XXH3_64bits_update(&state, copy->data() + copy->size() - len, len);
  }
  return XXH3_64bits_digest(&state);
}

}  // namespace common
