#pragma once

// `replog-bench storage`: runs one workload against storage::SegmentedLog on
// a real disk, with baselines of plain system calls measured in the same run
// on the same directory, and prints one summary line and one JSON line.
// main.cc describes every workload in its --help.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/options.h"

namespace bench {

// Every flag of `replog-bench storage`, workload defaults already applied.
struct BenchConfig {
  std::string workload;          // one of WorkloadNames()
  std::string dir;               // scratch directory (created if missing)
  double seconds = 10;           // measured time of each timed phase
  double warmup_seconds = 2;     // unrecorded time before each write phase
  uint64_t record_size = 256;    // payload bytes per entry
  uint64_t batch = 1;            // entries per Append call
  uint64_t writers = 1;          // threads (group)
  uint64_t log_bytes = 0;        // read-random, read-seq, open: size of the log to build
  uint64_t entries = 20'000'000; // memory: entries of the log to build
  uint64_t segment_bytes = 64ull << 20;
  uint64_t cache_bytes = 64ull << 20;
  bool preallocate = true;
  uint32_t max_concurrent_syncs = storage::Options{}.max_concurrent_syncs;
  uint64_t writeback_bytes = storage::Options{}.writeback_bytes;
  uint64_t retain_bytes = 0;     // sync, group: purge entries beyond this many record bytes (0: never)
  bool keep = false;             // keep the logs and files of write workloads
  bool metrics = false;          // Options::metrics on (the fsync histogram's cost)
  uint64_t seed = 1;
  uint64_t opens = 7;            // open: Opens timed per temperature
  std::string read_api = "entries";  // read-seq: "entries" (Entries) or "for-each" (ForEachEntry)
};

const std::vector<std::string>& WorkloadNames();

// Runs `config.workload` and prints its two lines to stdout (progress goes to
// stderr). Errors: kInvalidArgument for bad flag combinations; engine and
// I/O errors as returned.
common::Status RunStorageBench(const BenchConfig& config);

}  // namespace bench
