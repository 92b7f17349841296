#pragma once

// Reads records from the committed prefix of the log group's Raft log
// (offset = Raft index; control entries — no-ops, membership changes — and
// the entries the state machine did not store as records — duplicates and
// out-of-order produces, LogStateMachine::SkippedIn — and log commands
// (log_command.h) are skipped and never returned).
//
// Threads: any thread; reads go straight to the SegmentedLog, which allows
// concurrent readers beside its writer.

#include <cstdint>
#include <span>

#include "common/status.h"
#include "replog/v1/log.pb.h"
#include "storage/segmented_log.h"

namespace logservice {

struct ReadLimits {
  uint32_t max_records = 1000;
  uint64_t max_bytes = 4 << 20;  // payload bytes; at least one record is returned
};

// The offsets a member may serve: [first, end) where end = last applied + 1.
struct ReadRange {
  uint64_t first = 1;
  uint64_t end = 1;
};

// Checks `from` (0 = the first retained offset) against `range` and returns
// the offset to read from. kOutOfRange with the valid range in the message
// when it is below the first retained offset or past `range.end`.
common::Result<uint64_t> ResolveFrom(uint64_t from, const ReadRange& range);

// Appends the records of entries [from, range.end) to `out` within `limits`,
// and sets out->next_offset to the first offset not read (skipped entries
// count as read). `skipped`: ascending indexes of kNormal entries that are
// not records (at least those in [from, range.end)). Returns the number of
// records added. kOutOfRange when a purge raced the read; kDataLoss for
// damage.
common::Result<uint32_t> ReadRecords(const storage::SegmentedLog& log, uint64_t from, const ReadRange& range,
                                     const ReadLimits& limits, std::span<const uint64_t> skipped,
                                     replog::v1::ConsumeResponse* out);

}  // namespace logservice
