#pragma once

// The workloads of `replog-bench storage` and what they share. Internal to
// bench/.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bench/posix_io.h"
#include "bench/report.h"
#include "bench/storage_bench.h"
#include "common/clock.h"
#include "common/fs.h"
#include "storage/options.h"
#include "storage/record_format.h"
#include "storage/segmented_log.h"
#include "storage/types.h"

namespace bench {

// What a workload runs with.
struct BenchEnv {
  const BenchConfig& config;
  common::Fs& fs;
  common::Clock& clock;
};

// sync, group and nosync (write_workloads.cc).
Status RunWriteWorkload(const BenchEnv& env, Report* report);
// read-random, read-seq (read_workloads.cc).
Status RunReadRandom(const BenchEnv& env, Report* report);
Status RunReadSeq(const BenchEnv& env, Report* report);
// open, memory (open_memory_workloads.cc).
Status RunOpen(const BenchEnv& env, Report* report);
Status RunMemory(const BenchEnv& env, Report* report);

// Opens the log in `dir` with the flags' options; `*open_ms` gets the time
// Open took.
Result<std::unique_ptr<storage::SegmentedLog>> TimedOpen(const BenchEnv& env, const std::string& dir,
                                                         double* open_ms);

// Options from the flags.
storage::Options MakeOptions(const BenchConfig& config);

// Bytes one entry of `payload` bytes occupies in a .log file: record header,
// entry header, payload padded to 8.
inline uint64_t EntryRecordBytes(uint64_t payload) {
  return storage::format::RecordSize(storage::format::kEntryHeaderSize + payload);
}
// Bytes of the BatchEnd record that ends every write round.
inline uint64_t BatchEndBytes() { return storage::format::RecordSize(storage::format::kBatchEndSize); }

// `count` entries of term 1 with `payload` pseudo-random bytes each (from
// `seed`); indexes are set by SetIndexes.
std::vector<storage::LogEntry> MakeBatch(uint64_t payload, uint64_t count, uint64_t seed);
// Numbers the entries first, first + 1, ...
void SetIndexes(std::span<storage::LogEntry> batch, uint64_t first);

// Seconds between two clock readings.
inline double Seconds(int64_t from_ns, int64_t to_ns) { return static_cast<double>(to_ns - from_ns) / 1e9; }

// Removes `path` (file or directory tree); errors are printed, not returned
// (cleanup of scratch space).
void RemoveTree(const std::string& path);

}  // namespace bench
