#pragma once

// A seeded mixed workload for SegmentedLog and a model of what the log must
// hold, shared by the crash and fault tests.
//
// The model works in steps: one per entry of an Append (the engine does not
// promise that a batch is atomic, only that records land in order), one per
// SetHardState, TruncateAfter and PurgeUpTo. After a crash or an I/O error
// the reopened log must equal the model after some prefix of the steps that
// were issued, no shorter than the steps covered by the last Sync() that
// returned OK (DESIGN §2 rules 1 and 2): every synced record is present, and
// nothing truncated before a newer synced write at the same index comes back.
//
// Threads: none of this is thread-safe; one test thread drives it.

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/segmented_log.h"

namespace storage_testing {

using storage::HardState;
using storage::LogEntry;

// One change to the log state.
struct Step {
  enum class Kind { kEntry, kHardState, kTruncateAfter, kPurgeUpTo };
  Kind kind = Kind::kEntry;
  LogEntry entry;        // kEntry
  HardState hard_state;  // kHardState
  uint64_t index = 0;    // kTruncateAfter, kPurgeUpTo
  uint64_t term = 0;     // kPurgeUpTo
};

// The state a log shows through its API.
struct ModelState {
  uint64_t first_index = 1;
  uint64_t last_index = 0;
  uint64_t purge_term = 0;  // Term(first_index - 1)
  HardState hard_state;
  std::deque<LogEntry> entries;  // [first_index, last_index]

  void Apply(const Step& step);
  // Term of `index` in [first_index - 1, last_index].
  uint64_t TermOf(uint64_t index) const;
  // "first=.. last=.. purge_term=.. hs=(..) entries=N".
  std::string Summary() const;
  friend bool operator==(const ModelState&, const ModelState&) = default;
};

// One call on the log.
struct Op {
  enum class Kind { kAppend, kSetHardState, kTruncateAfter, kPurgeUpTo, kSync };
  Kind kind = Kind::kSync;
  std::vector<LogEntry> entries;  // kAppend
  HardState hard_state;           // kSetHardState
  uint64_t index = 0;             // kTruncateAfter, kPurgeUpTo
  uint64_t term = 0;              // kPurgeUpTo

  // The steps this op adds when it returns OK.
  std::vector<Step> Steps() const;
  std::string Name() const;
};

struct WorkloadConfig {
  size_t ops = 200;
  size_t max_batch = 8;          // entries per Append
  size_t max_payload = 600;      // bytes; 1 in 16 appends uses up to 4x this
  int sync_percent = 25;
  int truncate_percent = 7;
  int purge_percent = 5;
  int hard_state_percent = 10;
};

// A deterministic workload from `seed`, starting from `start` (the state of
// the log it will run on). It always ends with a Sync.
std::vector<Op> MakeWorkload(uint64_t seed, const WorkloadConfig& config, const ModelState& start = {});

// What happened when ops ran against a log.
struct RunRecord {
  std::vector<Step> steps;   // of the ops that returned OK, in order
  size_t durable_steps = 0;  // steps covered by the last Sync() that returned OK
  size_t ops_done = 0;       // ops that returned OK before the first error
  common::Status first_error;
  size_t failed_op = 0;      // index of the op that returned first_error
};

// Runs ops[begin, end) in order, appending to `record`, and stops at the
// first error. `after_op(i)`, if set, is called after op i returned OK.
void RunOps(storage::SegmentedLog& log, const std::vector<Op>& ops, size_t begin, size_t end, RunRecord* record,
            const std::function<void(size_t)>& after_op = {});

// Reads everything the log shows: indexes, purge term, hard state, entries.
common::Result<ModelState> ReadLogState(const storage::SegmentedLog& log);

// Empty if `got` equals the model after j steps for some j in
// [min_steps, steps.size()] (then *matched = j); else what differs from the
// closest candidates.
std::string MatchPrefix(const ModelState& got, const std::vector<Step>& steps, size_t min_steps,
                        size_t* matched = nullptr);

// The state after all of `steps`, starting from `start`.
ModelState Replay(const std::vector<Step>& steps, const ModelState& start = {});

// Entries [first, first + n) of term `term` with payloads derived from a seed.
std::vector<LogEntry> MakeEntries(uint64_t first, uint64_t n, uint64_t term, size_t payload_bytes);

}  // namespace storage_testing
