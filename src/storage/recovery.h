#pragma once

// Recovery: reading a segment's checkpoint, and scanning a segment's records
// to rebuild its index and the log state (docs/formats/segmented-log.md,
// "Recovery"). Internal to SegmentedLog.

#include <cstdint>

#include "common/fs.h"
#include "common/status.h"
#include "storage/record.h"
#include "storage/segment.h"
#include "storage/types.h"

namespace storage {

// The log state as replayed from records.
struct LogState {
  uint64_t first_index = 1;
  uint64_t last_index = 0;
  uint64_t purge_term = 0;
  HardState hard_state;
};

struct ScanResult {
  Checkpoint checkpoint;      // the segment's first record
  LogState state;             // after the last whole write round
  uint64_t min_last_index = 0;// lowest last index seen: earlier segments hold nothing above it
  uint64_t end = 0;           // end of the last whole round: where writing resumes
  uint64_t checkpoint_end = 0;// end of the first round (header, checkpoint, BatchEnd)
  uint32_t generation = 0;    // of the last whole round
  uint64_t dirty_end = 0;     // end of non-zero bytes past `end` (to be zeroed), or `end`
  bool sealed = false;        // the segment ends with a Seal record
  uint64_t sealed_last = 0;   // the last index its Seal record names
  uint64_t torn_bytes = 0;    // bytes past `end` that held data
  uint64_t torn_records = 0;  // valid records of an incomplete round
  uint64_t scanned_bytes = 0;
};

// Reads and checks the log header (returned in `*header`) and checkpoint of
// a .log file. kDataLoss naming the file when damaged or when the header's
// first index is not `first_index`.
Result<Checkpoint> ReadCheckpoint(common::File& log, uint64_t first_index, LogHeader* header);

enum class TailMode {
  kLast,    // the last segment: a damaged round written after the last sync is a torn tail
  kSealed,  // any damage is corruption
};

// Scans every record of `seg`, writing the index slots of entries of whole
// rounds. kDataLoss with file and position for corruption (see TailMode).
Result<ScanResult> ScanSegment(Segment& seg, TailMode mode);

}  // namespace storage
