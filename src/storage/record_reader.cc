#include "storage/record_reader.h"

#include <algorithm>

#include "common/coding.h"
#include "storage/record_format.h"

namespace storage {

namespace f = format;

namespace {

bool AllZero(std::string_view v) { return v.find_first_not_of('\0') == std::string_view::npos; }

}  // namespace

Result<std::string_view> RecordReader::Get(uint64_t pos, size_t n) {
  bool inside = pos >= off_ && pos + n <= off_ + buf_.size();
  bool at_eof = eof_ && pos >= off_ && pos <= off_ + buf_.size();
  if (!inside && !at_eof) {
    size_t want = std::max(n, kChunkBytes);
    buf_.resize(want);
    ASSIGN_OR_RETURN(size_t got, file_.ReadAt(pos, buf_.data(), want));
    buf_.resize(got);
    off_ = pos;
    eof_ = got < want;
    bytes_read_ += got;
  }
  std::string_view v(buf_);
  v = v.substr(pos - off_);
  return v.substr(0, std::min(v.size(), n));
}

Result<DecodeResult> RecordReader::Decode(uint64_t pos, RecordView* rec) {
  ASSIGN_OR_RETURN(std::string_view head, Get(pos, f::kRecordHeaderSize));
  DecodeResult r = DecodeRecord(head, rec, salt_);
  // A whole header names the record's length: decode again over all of it.
  if ((r == DecodeResult::kOk || r == DecodeResult::kTruncated) && head.size() == f::kRecordHeaderSize) {
    uint32_t len = common::DecodeFixed32(head.data() + f::kRecordLengthOff);
    ASSIGN_OR_RETURN(std::string_view whole, Get(pos, f::RecordSize(len)));
    r = DecodeRecord(whole, rec, salt_);
  }
  return r;
}

Result<std::optional<uint64_t>> RecordReader::NextNonZero(uint64_t pos) {
  while (true) {
    ASSIGN_OR_RETURN(std::string_view v, Get(pos, kChunkBytes));
    if (v.empty()) return std::optional<uint64_t>();
    for (size_t i = 0; i < v.size(); i += 8) {
      if (!AllZero(v.substr(i, 8))) return std::optional<uint64_t>(pos + i);
    }
    pos += v.size();
  }
}

Result<std::optional<uint64_t>> RecordReader::FindNextRecord(uint64_t from, uint64_t limit) {
  uint64_t p = from + 8;
  while (p < limit) {
    ASSIGN_OR_RETURN(std::string_view head, Get(p, f::kRecordHeaderSize));
    if (head.size() < f::kRecordHeaderSize) return std::optional<uint64_t>();
    if (AllZero(head)) {
      ASSIGN_OR_RETURN(std::optional<uint64_t> data_at, NextNonZero(p));
      if (!data_at) return data_at;
      p = *data_at;
      continue;
    }
    // Cheap checks first: most positions inside damage are not a header.
    uint8_t type = static_cast<uint8_t>(head[f::kRecordTypeOff]);
    bool plausible = type != 0 && type <= f::kMaxRecordType && AllZero(head.substr(f::kRecordTypeOff + 1, 3)) &&
                     common::DecodeFixed32(head.data() + f::kRecordLengthOff) <= f::kMaxRecordBody;
    if (plausible) {
      RecordView rec;
      ASSIGN_OR_RETURN(DecodeResult r, Decode(p, &rec));
      if (r == DecodeResult::kOk) return std::optional<uint64_t>(p);
    }
    p += 8;
  }
  return std::optional<uint64_t>();
}

}  // namespace storage
