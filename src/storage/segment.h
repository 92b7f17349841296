#pragma once

// Segment: one "<first index>.log" file and its "<first index>.index" file
// (record_format.h). Internal to SegmentedLog.
//
// The .index file is mapped; slot i holds the position and size of the
// entry record for index first_index + i. A sealed segment's index header
// names its last index and is trusted on open.
//
// Threads: the writer thread of SegmentedLog writes records and slots of the
// last segment; readers read slots under SegmentedLog's mutex and read
// records with ReadAt at any time (written bytes never change).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/coding.h"
#include "common/fs.h"
#include "common/status.h"
#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/types.h"

namespace storage {

struct Slot {
  uint32_t pos = 0;   // 0: empty
  uint32_t size = 0;
};

struct IndexHeader {
  bool sealed = false;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  uint64_t log_end = 0;
  uint64_t seq = 0;
};

class Segment {
 public:
  // Creates the .index file for a segment whose .log `log` is in place with
  // the log header `header`.
  static Result<std::unique_ptr<Segment>> Create(common::Fs& fs, const std::string& dir, const LogHeader& header,
                                                 uint64_t seq, uint64_t max_slots,
                                                 std::unique_ptr<common::File> log);
  // Opens an existing segment. A missing or short .index file is recreated
  // empty (the caller rebuilds it by scanning). `writable`: the last segment;
  // an index that is not sealed is always opened writable (to be rebuilt).
  static Result<std::unique_ptr<Segment>> Open(common::Fs& fs, const std::string& dir, const LogHeader& header,
                                               uint64_t seq, uint64_t max_slots, bool writable,
                                               std::unique_ptr<common::File> log);

  uint64_t first_index() const { return header_.first_index; }
  // The salt of every record checksum in the .log (record.h).
  uint64_t salt() const { return header_.salt; }
  // The .log was recycled: stale bytes, not zeros, follow its end of data.
  bool recycled() const { return header_.recycled(); }
  uint64_t seq() const { return seq_; }
  uint64_t max_slots() const { return max_slots_; }
  const std::string& log_path() const { return log_->path(); }
  const std::string& index_path() const { return index_path_; }
  common::File& log() { return *log_; }

  // True if `index` has a slot in this segment.
  bool HasSlot(uint64_t index) const { return index >= first_index() && index - first_index() < max_slots_; }
  Slot GetSlot(uint64_t index) const {  // inline: sequential reads call it once per entry
    if (!HasSlot(index)) return {};
    const char* p = map_->data() + format::kIndexHeaderSize + (index - first_index()) * format::kIndexSlotSize;
    return Slot{common::DecodeFixed32(p), common::DecodeFixed32(p + 4)};
  }
  // Writes a slot if it differs (so rebuilding an intact index dirties nothing).
  void SetSlot(uint64_t index, Slot slot);

  // The index header; sealed == false when absent or damaged.
  IndexHeader ReadIndexHeader() const;
  // Writes the sealed header and syncs the index.
  Status Seal(uint64_t last_index, uint64_t log_end);
  // Syncs slots written so far.
  Status SyncIndex();

  // True if `slot` can describe an entry record: set, and no smaller than a
  // record header nor larger than the largest record. Readers read only the
  // bytes of such slots, so a damaged index never makes them read gigabytes.
  static bool PlausibleSlot(Slot slot) {
    return slot.pos != 0 && slot.size >= format::kRecordHeaderSize &&
           slot.size <= format::RecordSize(format::kMaxRecordBody);
  }
  // Verifies that `bytes`, read from the .log at `slot.pos` (slot.size bytes,
  // fewer if the file ended first), hold a valid entry record of `index`
  // (checksum included) and returns a view of it; the view points into
  // `bytes`. kDataLoss naming the file and position when the slot is
  // implausible, the record is damaged or short, or it is another entry.
  Result<EntryView> VerifyEntry(uint64_t index, Slot slot, std::string_view bytes) const;

  // Paths of the two files (for deletion).
  static std::string LogPath(const std::string& dir, uint64_t first_index);
  static std::string IndexPath(const std::string& dir, uint64_t first_index);

 private:
  Segment(const LogHeader& header, uint64_t seq, uint64_t max_slots, std::string index_path,
          std::unique_ptr<common::File> log, std::unique_ptr<common::File> index,
          std::unique_ptr<common::MappedRegion> map);

  const LogHeader header_;
  const uint64_t seq_;
  const uint64_t max_slots_;
  const std::string index_path_;
  std::unique_ptr<common::File> log_;
  std::unique_ptr<common::File> index_;
  std::unique_ptr<common::MappedRegion> map_;
};

}  // namespace storage
