#pragma once

// The dump of one segment, behind DumpPath (dump.h): the scan of its .log
// (dump_log_scan.cc) and the check of its .index against what the scan found
// (dump_index_check.cc). dump.cc walks a directory and calls both for each
// segment. Internal to the dump.

#include <cstdint>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "storage/dump.h"
#include "storage/types.h"

namespace storage {

// What to dump of one segment.
struct SegmentPlan {
  std::string log_path;     // empty: no .log
  std::string index_path;   // empty: no .index
  bool name_known = false;  // first_index comes from the file name
  uint64_t first_index = 0;
  bool last = false;        // the newest segment: a torn tail is possible
  bool report_log = true;   // false: scan the .log only to check the index
};

// An entry record still in the log (not removed by a later TruncateAfter).
struct LiveEntry {
  uint64_t index;
  uint64_t pos;
  uint64_t size;
};

// What the scan of a .log found: what the check of its .index needs, and the
// hard state at the end of the segment.
struct LogScan {
  uint64_t first_index = 0;  // of the segment: from its name, else its header
  bool has_checkpoint = false;
  uint64_t seq = 0;          // the checkpoint's sequence number
  bool sealed = false;       // a Seal record was seen
  uint64_t seal_last = 0;    // the last index it names
  uint64_t valid_end = 0;    // end of the last valid record before the end of data
  std::vector<LiveEntry> live;
  // The Checkpoint's hard state, or that of a later HardState record.
  bool has_hard_state = false;
  HardState hard_state;
};

// Scans the .log of `plan`: reports its rows and problems (only when
// plan.report_log) and counts them in `summary`. Damage is not an error; I/O
// errors are. `fs`, `listener` and `summary` are used during the call only.
Result<LogScan> ScanSegmentLog(common::Fs& fs, const SegmentPlan& plan, DumpListener& listener,
                               DumpSummary& summary);

// Checks the .index of `plan`: its header, and, when `log` is not null (the
// scan of the .log beside it), its slots against the entries of the .log.
// Reports its row and problems and counts them in `summary`. I/O errors.
Status CheckSegmentIndex(common::Fs& fs, const SegmentPlan& plan, const LogScan* log, DumpListener& listener,
                         DumpSummary& summary);

// A row with the fields every row has.
DumpRecord MakeRow(const std::string& file, uint64_t pos, std::string type, uint64_t size, std::string status);

// Counts `problem` in `summary` by its severity and hands it to `listener`.
void ReportProblem(DumpProblem problem, DumpListener& listener, DumpSummary& summary);

}  // namespace storage
