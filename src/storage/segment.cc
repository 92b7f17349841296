#include "storage/segment.h"

#include "common/checksum.h"
#include "common/coding.h"
#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/types.h"

namespace storage {

namespace f = format;
using common::DecodeFixed32;
using common::DecodeFixed64;
using common::EncodeFixed32;
using common::EncodeFixed64;

Segment::Segment(const LogHeader& header, uint64_t seq, uint64_t max_slots, std::string index_path,
                 std::unique_ptr<common::File> log, std::unique_ptr<common::File> index,
                 std::unique_ptr<common::MappedRegion> map)
    : header_(header),
      seq_(seq),
      max_slots_(max_slots),
      index_path_(std::move(index_path)),
      log_(std::move(log)),
      index_(std::move(index)),
      map_(std::move(map)) {}

std::string Segment::LogPath(const std::string& dir, uint64_t first_index) {
  return common::JoinPath(dir, SegmentLogName(first_index));
}

std::string Segment::IndexPath(const std::string& dir, uint64_t first_index) {
  return common::JoinPath(dir, SegmentIndexName(first_index));
}

Result<std::unique_ptr<Segment>> Segment::Create(common::Fs& fs, const std::string& dir, const LogHeader& header,
                                                 uint64_t seq, uint64_t max_slots,
                                                 std::unique_ptr<common::File> log) {
  std::string path = IndexPath(dir, header.first_index);
  // A stale file of the same name (a dead segment's) is unlinked, not
  // truncated: its old mapping may still be alive and must stay valid.
  RETURN_IF_ERROR(common::RemoveIfExists(fs, path));
  ASSIGN_OR_RETURN(auto index, fs.Open(path, common::OpenMode::kCreateNew));
  uint64_t bytes = f::kIndexHeaderSize + max_slots * f::kIndexSlotSize;
  RETURN_IF_ERROR(index->Truncate(bytes));
  ASSIGN_OR_RETURN(auto map, index->Map(bytes, common::MapMode::kReadWrite));
  return std::unique_ptr<Segment>(
      new Segment(header, seq, max_slots, path, std::move(log), std::move(index), std::move(map)));
}

Result<std::unique_ptr<Segment>> Segment::Open(common::Fs& fs, const std::string& dir, const LogHeader& header,
                                               uint64_t seq, uint64_t max_slots, bool writable,
                                               std::unique_ptr<common::File> log) {
  std::string path = IndexPath(dir, header.first_index);
  ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  uint64_t size = 0;
  std::unique_ptr<common::File> index;
  if (exists) {
    ASSIGN_OR_RETURN(index, fs.Open(path, writable ? common::OpenMode::kReadWrite : common::OpenMode::kRead));
    ASSIGN_OR_RETURN(size, index->Size());
  }
  if (!exists || size < f::kIndexHeaderSize + f::kIndexSlotSize) {
    // Derived data: recreate, the caller rebuilds it by scanning the .log.
    return Create(fs, dir, header, seq, max_slots, std::move(log));
  }
  uint64_t slots = (size - f::kIndexHeaderSize) / f::kIndexSlotSize;
  auto mode = writable ? common::MapMode::kReadWrite : common::MapMode::kReadOnly;
  ASSIGN_OR_RETURN(auto map, index->Map(f::kIndexHeaderSize + slots * f::kIndexSlotSize, mode));
  std::unique_ptr<Segment> seg(new Segment(header, seq, slots, path, std::move(log), std::move(index), std::move(map)));
  if (!writable && !seg->ReadIndexHeader().sealed) {
    // Not sealed: the caller rebuilds its slots, so it must be writable.
    return Open(fs, dir, header, seq, max_slots, /*writable=*/true, std::move(seg->log_));
  }
  return seg;
}

void Segment::SetSlot(uint64_t index, Slot slot) {
  if (!HasSlot(index)) return;
  char* p = map_->data() + f::kIndexHeaderSize + (index - first_index()) * f::kIndexSlotSize;
  if (DecodeFixed32(p) != slot.pos) EncodeFixed32(p, slot.pos);
  if (DecodeFixed32(p + 4) != slot.size) EncodeFixed32(p + 4, slot.size);
}

IndexHeader Segment::ReadIndexHeader() const {
  const char* h = map_->data();
  IndexHeader hdr;
  if (DecodeFixed64(h + f::kIndexMagicOff) != f::kIndexMagic) return hdr;
  if (DecodeFixed64(h + f::kIndexChecksumOff) != common::Checksum64(h, f::kIndexChecksumOff)) return hdr;
  hdr.sealed = (DecodeFixed32(h + f::kIndexFlagsOff) & f::kIndexFlagSealed) != 0;
  hdr.first_index = DecodeFixed64(h + f::kIndexFirstIndexOff);
  hdr.last_index = DecodeFixed64(h + f::kIndexLastIndexOff);
  hdr.log_end = DecodeFixed64(h + f::kIndexLogEndOff);
  hdr.seq = DecodeFixed64(h + f::kIndexSeqOff);
  if (hdr.first_index != first_index() || hdr.seq != seq_) hdr.sealed = false;
  return hdr;
}

Status Segment::Seal(uint64_t last_index, uint64_t log_end) {
  char* h = map_->data();
  EncodeFixed64(h + f::kIndexMagicOff, f::kIndexMagic);
  EncodeFixed32(h + f::kIndexVersionOff, f::kFormatVersion);
  EncodeFixed32(h + f::kIndexFlagsOff, f::kIndexFlagSealed);
  EncodeFixed64(h + f::kIndexFirstIndexOff, first_index());
  EncodeFixed64(h + f::kIndexLastIndexOff, last_index);
  EncodeFixed64(h + f::kIndexLogEndOff, log_end);
  EncodeFixed64(h + f::kIndexSeqOff, seq_);
  EncodeFixed64(h + 48, 0);
  EncodeFixed64(h + f::kIndexChecksumOff, common::Checksum64(h, f::kIndexChecksumOff));
  return map_->Sync();
}

Status Segment::SyncIndex() { return map_->Sync(); }

Result<EntryView> Segment::VerifyEntry(uint64_t index, Slot slot, std::string_view bytes) const {
  auto damaged = [&](const std::string& why) {
    return common::DataLossError(log_->path() + " at " + std::to_string(slot.pos) + ": " + why +
                                 " (reading entry " + std::to_string(index) + ")");
  };
  if (!PlausibleSlot(slot)) {
    return damaged(slot.pos == 0 ? std::string("no index slot") : "index slot of " + std::to_string(slot.size) + " bytes");
  }
  if (bytes.size() < slot.size) return damaged("record extends past the end of the file");
  RecordView rec;
  DecodeResult r = DecodeRecord(bytes.substr(0, slot.size), &rec, salt());
  if (r != DecodeResult::kOk) return damaged(DecodeResultName(r));
  if (rec.type != RecordType::kEntry) return damaged("index slot points at a " + std::string(RecordTypeName(rec.type)));
  Result<EntryView> e = DecodeEntryView(rec.body);
  if (!e.has_value()) return damaged(e.error().message());
  if (e->index != index) return damaged("index slot points at entry " + std::to_string(e->index));
  return e;
}

}  // namespace storage
