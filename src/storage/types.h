#pragma once

// The values a segmented log stores.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace storage {

using common::Status;
template <typename T>
using Result = common::Result<T>;

// What an entry carries. Raft and the services give the kinds meaning; the
// storage engine stores the number.
enum class EntryKind : uint32_t {
  kNormal = 0,      // data: a record of the log service or a KV command
  kNoop = 1,        // a new leader's empty entry
  kConfChange = 2,  // a membership change
};

struct LogEntry {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryKind kind = EntryKind::kNormal;
  std::string payload;

  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// An entry handed out by SegmentedLog::ForEachEntry without a copy: `payload`
// points into the reader's buffer (or a copy of a cached entry) and is valid
// only during the callback that receives the view.
struct EntryView {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryKind kind = EntryKind::kNormal;
  std::string_view payload;

  // An owned copy (one allocation when the payload is over 15 bytes).
  LogEntry ToEntry() const { return LogEntry{index, term, kind, std::string(payload)}; }
};

// What a ForEachEntry callback wants next.
enum class Visit {
  kContinue,  // the next entry, if the range and budget allow
  kStop,      // no more entries
};

// Raft's persistent state besides the log (§5.1 Figure 2), plus the commit index.
struct HardState {
  uint64_t term = 0;
  uint64_t vote = 0;  // 0: no vote in this term
  uint64_t commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

// The whole log state at the start of a segment.
struct Checkpoint {
  uint64_t seq = 0;          // segment sequence number
  uint64_t first_index = 1;  // first live index of the log
  uint64_t last_index = 0;   // last index of the log before this segment
  uint64_t purge_term = 0;   // term of entry first_index - 1 (0 if none)
  HardState hard_state;

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

}  // namespace storage
