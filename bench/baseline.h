#pragma once

// Baselines: what plain system calls achieve on the same disk, in the same
// run, for the same bytes. A workload's ratio compares the engine to them.
//
//   write:       a loop of pwrite() (+ fdatasync() after each) of a fixed
//                chunk, either appending to a new file or overwriting a file
//                written and synced beforehand (ext4 syncs overwrites about
//                twice as fast: STORAGE-NOTES §8.1).
//   seq read:    read() of whole files in order with a 1 MiB buffer.
//   random read: pread() of one record's bytes at random 8-aligned positions.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/latency.h"
#include "bench/posix_io.h"
#include "common/clock.h"

namespace bench {

enum class WriteTarget {
  kAppendNew,  // a new file that grows with every write
  kOverwrite,  // a file pre-written to `prewrite_bytes`; wraps to 0 at its end
};

enum class SyncMode { kFdatasync, kNone };

struct WriteBaselineSpec {
  std::string path;  // created; the caller removes it
  WriteTarget target = WriteTarget::kAppendNew;
  SyncMode sync = SyncMode::kFdatasync;
  uint64_t bytes_per_op = 4096;
  uint64_t prewrite_bytes = 0;  // kOverwrite only
  double warmup_seconds = 0;
  double seconds = 1;
};

struct BaselineResult {
  uint64_t ops = 0;       // measured operations (writes, reads)
  uint64_t bytes = 0;     // measured bytes
  double seconds = 0;     // measured time
  double ops_per_s = 0;   // for write baselines with sync: fdatasyncs per second
  double mb_per_s = 0;
  LatencySummary latency;
  LatencySummary first_latency;  // of the first 1000 operations
};

// Runs the write loop of `spec` for its warm-up and measured time.
Result<BaselineResult> RunWriteBaseline(common::Clock& clock, const WriteBaselineSpec& spec);

// Reads each file in order from 0 to its data end with read() into a 1 MiB
// buffer; latency per read() call.
Result<BaselineResult> RunSeqReadBaseline(common::Clock& clock, const std::vector<FileExtent>& files);

// pread()s `bytes` at uniformly random 8-aligned positions of the files'
// data for `seconds` (seeded by `seed`); latency per pread().
Result<BaselineResult> RunRandomReadBaseline(common::Clock& clock, const std::vector<FileExtent>& files,
                                             uint64_t bytes, double seconds, uint64_t seed);

}  // namespace bench
