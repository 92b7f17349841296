#pragma once

// What storage_crash_writer (crash_writer.cc) writes, shared with the test
// that kills it (kill_test.cc): its log options and the payload of each entry.

#include <cstdint>
#include <string>

#include "storage/options.h"

namespace storage_testing {

// Small preallocated segments, so that rolls, preallocation and purges are
// often under way when the writer is killed.
inline storage::Options CrashWriterOptions() {
  storage::Options options;
  options.segment_bytes = 64 << 10;
  options.max_segment_entries = 256;
  options.preallocate = true;
  options.cache_bytes = 256 << 10;
  return options;
}

// The payload of entry `index` (term 1): its decimal digits, repeated
// index % 40 + 1 times.
inline std::string CrashWriterPayload(uint64_t index) {
  std::string digits = std::to_string(index);
  std::string p;
  for (uint64_t i = 0; i < index % 40 + 1; i++) p += digits;
  return p;
}

}  // namespace storage_testing
