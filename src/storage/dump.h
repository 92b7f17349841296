#pragma once

// Dump: reads the files of a segmented log, without opening it as a log, and
// reports every record and every problem found. Used by replog-dump (listing
// and --verify) and by tests. docs/formats/segmented-log.md describes the bytes.
//
// Read-only: files are opened with OpenMode::kRead, the LOCK is not taken and
// nothing is written, so a log may be dumped while a node has it open (what
// is being written at that moment may show up as a torn tail).
//
// What is checked, per segment:
//  - the .log header and the Checkpoint that must open the segment;
//  - every record's checksum, length and type. At damage the scan goes on at
//    the next 8-byte aligned position where a whole record decodes, so that
//    damage followed by valid data is seen;
//  - the write rounds: each BatchEnd closes the records since the previous
//    one, entries follow each other, generations do not go back;
//  - the end of data (a zero record header) is followed by zeros only;
//  - the .index header checksum and, for each entry record still in the log
//    (not removed by a later TruncateAfter), that its slot names its position
//    and size. A sealed index must also agree with the Seal record.
// Across a directory: sequence numbers are unique; segments left dead by a
// truncation are named.
//
// Problems are classified as SegmentedLog::Open would treat them:
//  - kDataLoss: corruption, data that was durable and is damaged or would be
//    lost: any damage in a sealed segment; damage in the last segment when a
//    later BatchEnd says it had been synced; a bad log or index header; a
//    sealed index that disagrees with its .log.
//  - kWarning: what Open cuts or ignores without losing durable data: a torn
//    tail (damage or an incomplete round in the last segment, never synced),
//    unsynced bytes after the end of data, stale slots of an unsealed index,
//    a missing index, dead segments, unknown files.
//
// Threads: DumpPath may be called from any thread; one call uses one listener.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "storage/types.h"

namespace storage {

// A decoded field of a record, by the name docs/formats/ gives it.
struct DumpField {
  std::string name;
  uint64_t value = 0;
};

// One row of the dump: a record, a file header, or a damaged region.
struct DumpRecord {
  std::string file;  // path of the .log or .index file
  uint64_t pos = 0;  // byte position in the file
  // RecordTypeName() of a record, or "log-header", "index-header", "damaged",
  // "stale" (a recycled file's bytes of older segments past the end of data).
  std::string type;
  bool has_index = false;  // entries: index and term are set
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t size = 0;  // bytes, header and padding included; skipped bytes for "damaged"
  // "ok"; a DecodeResultName() for damage; "zero header" for zeros followed
  // by data; "after-end" for a record past the end of data (ignored by Open);
  // "unsealed" for an index without header; "bad" for a bad file header.
  std::string status;
  std::vector<DumpField> fields;  // decoded body, in format order
  std::string note;               // short human detail (entry kind and payload, reasons)
};

enum class Severity { kDataLoss, kWarning };

struct DumpProblem {
  Severity severity = Severity::kDataLoss;
  std::string file;
  uint64_t pos = 0;
  std::string reason;
};

struct DumpSummary {
  uint64_t segments = 0;     // .log files scanned
  uint64_t index_files = 0;  // .index files checked
  uint64_t records = 0;      // valid records before the end of data
  uint64_t records_after_end = 0;
  std::map<std::string, uint64_t> records_by_type;
  bool has_entries = false;
  uint64_t first_index_seen = 0;  // lowest and highest index of an entry record
  uint64_t last_index_seen = 0;
  // The hard state in force at the end of the newest segment (highest
  // sequence number): its Checkpoint's, or its last HardState record's.
  bool has_hard_state = false;
  HardState hard_state;
  uint64_t data_bytes = 0;  // .log bytes up to the end of the last valid record, headers included
  uint64_t file_bytes = 0;  // sizes of the files read (.log and .index)
  uint64_t data_loss = 0;   // problems of each severity
  uint64_t warnings = 0;
};

// Receives what DumpPath finds, in file order. The problems of a .log file
// come after its records (classifying damage needs the rest of the file), in
// order of position; problems between segments come last.
class DumpListener {
 public:
  virtual ~DumpListener() = default;
  virtual void OnRecord(const DumpRecord& rec) = 0;
  virtual void OnProblem(const DumpProblem& problem) = 0;
};

// Keeps everything in memory: for tests and small logs.
class DumpCollector final : public DumpListener {
 public:
  void OnRecord(const DumpRecord& rec) override { records.push_back(rec); }
  void OnProblem(const DumpProblem& problem) override { problems.push_back(problem); }

  std::vector<DumpRecord> records;
  std::vector<DumpProblem> problems;
};

// Dumps `path`: a log directory (every segment, in name order), a .log file
// (its records, and its .index beside it if present), or a .index file (its
// header and slots, checked against the .log beside it if present; the .log's
// records are not reported). `fs` and `listener` are used during the call only.
// Errors: kNotFound when `path` does not exist; kInvalidArgument when it is
// neither a directory nor a segment file; I/O errors. Damage is not an error:
// it goes to the listener and is counted in the summary.
Result<DumpSummary> DumpPath(common::Fs& fs, const std::string& path, DumpListener& listener);

// "DATA_LOSS: <file> at <pos>: <reason>" or "WARNING: <file> at <pos>: <reason>":
// the line replog-dump prints for a problem.
std::string FormatProblem(const DumpProblem& problem);

}  // namespace storage
