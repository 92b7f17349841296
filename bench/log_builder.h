#pragma once

// Builds the logs that read and open workloads measure, or reuses one built
// by an earlier run with the same parameters.
//
// A build lives in "<parent>/build-<size>-r<record size>-s<segment bytes>"
// (size "<bytes>B" or "<entries>E") and is complete once
// "<that dir>.done" exists (it holds the first and last index). A build
// directory without its .done file is a crashed build: removed and rebuilt.
// Builds are kept after the run so that the next run can reuse them; delete
// them by hand.

#include <cstdint>
#include <optional>
#include <string>

#include "bench/posix_io.h"
#include "common/clock.h"
#include "common/fs.h"
#include "storage/options.h"
#include "storage/segmented_log.h"

namespace bench {

struct BuildSpec {
  std::string parent;         // --dir
  uint64_t log_bytes = 0;     // build until the entry records fill this many bytes, or
  uint64_t entries = 0;       // (when log_bytes is 0) this many entries
  uint64_t record_size = 0;   // payload bytes per entry
  storage::Options options;
  uint64_t seed = 1;
};

struct BuiltLog {
  std::string dir;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  bool reused = false;
  double build_seconds = 0;
  // Taken after the final Sync() of a build, before closing (not on reuse).
  std::optional<Memory> memory_after_build;
  std::optional<storage::Stats> stats_after_build;
};

// Appends entries in large batches without syncing, then one Sync(), and
// closes the log; or reuses a complete earlier build.
Result<BuiltLog> BuildOrReuse(common::Fs& fs, common::Clock& clock, const BuildSpec& spec);

}  // namespace bench
