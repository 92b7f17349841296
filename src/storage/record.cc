#include "storage/record.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "common/checksum.h"
#include "common/coding.h"

namespace storage {

using common::DecodeFixed32;
using common::DecodeFixed64;
using common::EncodeFixed32;
using common::EncodeFixed64;
namespace f = format;

namespace {

// The checksum of a record: XXH3-64 of the body, seeded with header bytes
// [8, 16) (length, type, reserved), so that one pass covers both; XOR the
// segment's salt.
uint64_t RecordChecksum(const char* header, const char* body, size_t body_len, uint64_t salt) {
  return common::Checksum64Seeded(body, body_len, DecodeFixed64(header + f::kRecordLengthOff)) ^ salt;
}

// The header fields a record's checksum is seeded with: length, type, reserved.
void EncodeRecordLengthAndType(char* h, RecordType type, size_t body_len) {
  EncodeFixed32(h + f::kRecordLengthOff, static_cast<uint32_t>(body_len));
  h[f::kRecordTypeOff] = static_cast<char>(type);
  h[13] = h[14] = h[15] = 0;
}

// The first kEntryHeaderSize bytes of an entry record's body.
void EncodeEntryHeader(char* b, const LogEntry& e) {
  EncodeFixed64(b, e.index);
  EncodeFixed64(b + 8, e.term);
  EncodeFixed32(b + 16, static_cast<uint32_t>(e.kind));
  EncodeFixed32(b + 20, 0);
}

// Writes the header of a record whose body already sits at out[start + 16, ...).
void FinishRecord(std::string* out, size_t start, RecordType type, size_t body_len, uint64_t salt) {
  char* h = out->data() + start;
  EncodeRecordLengthAndType(h, type, body_len);
  EncodeFixed64(h + f::kRecordChecksumOff, RecordChecksum(h, h + f::kRecordHeaderSize, body_len, salt));
  out->resize(start + f::RecordSize(body_len), '\0');
}

Status BodySizeError(const char* what, size_t got, size_t want) {
  return common::DataLossError(std::string(what) + " record body is " + std::to_string(got) +
                               " bytes, want " + std::to_string(want));
}

}  // namespace

void AppendRecord(std::string* out, RecordType type, std::string_view body, uint64_t salt) {
  size_t start = out->size();
  out->resize(start + f::kRecordHeaderSize);
  out->append(body.data(), body.size());
  FinishRecord(out, start, type, body.size(), salt);
}

void SaltRecord(char* record, uint64_t salt) {
  EncodeFixed64(record + f::kRecordChecksumOff, DecodeFixed64(record + f::kRecordChecksumOff) ^ salt);
}

void AppendEntryRecord(std::string* out, const LogEntry& e) {
  size_t start = out->size();
  size_t body_len = f::kEntryHeaderSize + e.payload.size();
  out->resize(start + f::kEntryPayloadOff);
  EncodeEntryHeader(out->data() + start + f::kRecordHeaderSize, e);
  out->append(e.payload);
  FinishRecord(out, start, RecordType::kEntry, body_len, 0);
}

void AppendEntryRecordHead(std::string* out, const LogEntry& e, std::string* payload_copy) {
  const size_t start = out->size();
  const size_t body_len = f::kEntryHeaderSize + e.payload.size();
  const size_t tail = f::RecordSize(body_len) - f::kRecordHeaderSize - body_len;  // zero padding
  out->resize(start + f::kEntryPayloadOff + tail, '\0');
  char* h = out->data() + start;
  char* b = h + f::kRecordHeaderSize;
  EncodeEntryHeader(b, e);
  EncodeRecordLengthAndType(h, RecordType::kEntry, body_len);
  const uint64_t sum = common::CopyAndChecksum64Seeded(std::string_view(b, f::kEntryHeaderSize), e.payload.data(),
                                                       e.payload.size(), DecodeFixed64(h + f::kRecordLengthOff),
                                                       payload_copy);
  EncodeFixed64(h + f::kRecordChecksumOff, sum);
}

std::string EncodeHardState(const HardState& hs) {
  std::string b(f::kHardStateSize, '\0');
  EncodeFixed64(b.data(), hs.term);
  EncodeFixed64(b.data() + 8, hs.vote);
  EncodeFixed64(b.data() + 16, hs.commit);
  return b;
}

std::string EncodeCheckpoint(const Checkpoint& cp) {
  std::string b(f::kCheckpointSize, '\0');
  EncodeFixed64(b.data() + f::kCheckpointSeqOff, cp.seq);
  EncodeFixed64(b.data() + f::kCheckpointFirstIndexOff, cp.first_index);
  EncodeFixed64(b.data() + f::kCheckpointLastIndexOff, cp.last_index);
  EncodeFixed64(b.data() + f::kCheckpointPurgeTermOff, cp.purge_term);
  EncodeFixed64(b.data() + f::kCheckpointTermOff, cp.hard_state.term);
  EncodeFixed64(b.data() + f::kCheckpointVoteOff, cp.hard_state.vote);
  EncodeFixed64(b.data() + f::kCheckpointCommitOff, cp.hard_state.commit);
  return b;
}

std::string EncodeU64(uint64_t a) {
  std::string b(8, '\0');
  EncodeFixed64(b.data(), a);
  return b;
}

std::string EncodeU64Pair(uint64_t a, uint64_t b) {
  std::string s(16, '\0');
  EncodeFixed64(s.data(), a);
  EncodeFixed64(s.data() + 8, b);
  return s;
}

std::string EncodeBatchEnd(uint64_t batch_start, uint64_t synced, uint32_t count, uint32_t generation) {
  std::string b(f::kBatchEndSize, '\0');
  EncodeFixed64(b.data() + f::kBatchEndBatchStartOff, batch_start);
  EncodeFixed64(b.data() + f::kBatchEndSyncedOff, synced);
  EncodeFixed32(b.data() + f::kBatchEndCountOff, count);
  EncodeFixed32(b.data() + f::kBatchEndGenerationOff, generation);
  return b;
}

DecodeResult DecodeRecord(std::string_view buf, RecordView* rec, uint64_t salt) {
  if (buf.size() < f::kRecordHeaderSize) {
    bool zero = true;
    for (char c : buf) zero = zero && c == 0;
    return zero ? DecodeResult::kZero : DecodeResult::kTruncated;
  }
  const char* h = buf.data();
  uint64_t sum = DecodeFixed64(h + f::kRecordChecksumOff);
  uint32_t len = DecodeFixed32(h + f::kRecordLengthOff);
  uint8_t type = static_cast<uint8_t>(h[f::kRecordTypeOff]);
  if (sum == 0 && len == 0 && type == 0 && h[13] == 0 && h[14] == 0 && h[15] == 0) return DecodeResult::kZero;
  if (len > f::kMaxRecordBody || type == 0 || type > f::kMaxRecordType) return DecodeResult::kBadLength;
  size_t size = f::RecordSize(len);
  if (buf.size() < f::kRecordHeaderSize + len) return DecodeResult::kTruncated;
  uint64_t want = RecordChecksum(h, h + f::kRecordHeaderSize, len, salt);
  if (want != sum) return DecodeResult::kBadChecksum;
  rec->type = static_cast<RecordType>(type);
  rec->body = buf.substr(f::kRecordHeaderSize, len);
  rec->size = size;
  return DecodeResult::kOk;
}

const char* DecodeResultName(DecodeResult r) {
  switch (r) {
    case DecodeResult::kOk: return "ok";
    case DecodeResult::kZero: return "zero";
    case DecodeResult::kTruncated: return "truncated";
    case DecodeResult::kBadLength: return "bad length or type";
    case DecodeResult::kBadChecksum: return "bad checksum";
  }
  return "?";
}

const char* RecordTypeName(RecordType t) {
  switch (t) {
    case RecordType::kEntry: return "entry";
    case RecordType::kHardState: return "hard-state";
    case RecordType::kTruncateAfter: return "truncate-after";
    case RecordType::kPurgeUpTo: return "purge-up-to";
    case RecordType::kCheckpoint: return "checkpoint";
    case RecordType::kBatchEnd: return "batch-end";
    case RecordType::kSeal: return "seal";
  }
  return "unknown";
}

Result<EntryView> DecodeEntryView(std::string_view body) {
  if (body.size() < f::kEntryHeaderSize) {
    return common::DataLossError("entry record body is " + std::to_string(body.size()) + " bytes, below its header");
  }
  return EntryView{DecodeFixed64(body.data()), DecodeFixed64(body.data() + 8),
                   static_cast<EntryKind>(DecodeFixed32(body.data() + 16)), body.substr(f::kEntryHeaderSize)};
}

Result<LogEntry> DecodeEntry(std::string_view body) {
  ASSIGN_OR_RETURN(EntryView v, DecodeEntryView(body));
  return v.ToEntry();
}

Result<HardState> DecodeHardState(std::string_view body) {
  if (body.size() != f::kHardStateSize) return BodySizeError("hard-state", body.size(), f::kHardStateSize);
  return HardState{DecodeFixed64(body.data()), DecodeFixed64(body.data() + 8), DecodeFixed64(body.data() + 16)};
}

Result<Checkpoint> DecodeCheckpoint(std::string_view body) {
  if (body.size() != f::kCheckpointSize) return BodySizeError("checkpoint", body.size(), f::kCheckpointSize);
  const char* b = body.data();
  Checkpoint cp;
  cp.seq = DecodeFixed64(b + f::kCheckpointSeqOff);
  cp.first_index = DecodeFixed64(b + f::kCheckpointFirstIndexOff);
  cp.last_index = DecodeFixed64(b + f::kCheckpointLastIndexOff);
  cp.purge_term = DecodeFixed64(b + f::kCheckpointPurgeTermOff);
  cp.hard_state.term = DecodeFixed64(b + f::kCheckpointTermOff);
  cp.hard_state.vote = DecodeFixed64(b + f::kCheckpointVoteOff);
  cp.hard_state.commit = DecodeFixed64(b + f::kCheckpointCommitOff);
  return cp;
}

Result<BatchEnd> DecodeBatchEnd(std::string_view body) {
  if (body.size() != f::kBatchEndSize) return BodySizeError("batch-end", body.size(), f::kBatchEndSize);
  return BatchEnd{DecodeFixed64(body.data() + f::kBatchEndBatchStartOff),
                  DecodeFixed64(body.data() + f::kBatchEndSyncedOff),
                  DecodeFixed32(body.data() + f::kBatchEndCountOff),
                  DecodeFixed32(body.data() + f::kBatchEndGenerationOff)};
}

Result<uint64_t> DecodeU64(std::string_view body) {
  if (body.size() != 8) return BodySizeError("truncate-after", body.size(), 8);
  return DecodeFixed64(body.data());
}

Result<std::pair<uint64_t, uint64_t>> DecodeU64Pair(std::string_view body) {
  if (body.size() != 16) return BodySizeError("purge-up-to or seal", body.size(), 16);
  return std::make_pair(DecodeFixed64(body.data()), DecodeFixed64(body.data() + 8));
}

std::string EncodeLogHeader(uint64_t first_index, uint32_t flags) {
  std::string h(f::kLogHeaderSize, '\0');
  EncodeFixed64(h.data() + f::kLogHeaderMagicOff, f::kLogMagic);
  EncodeFixed32(h.data() + f::kLogHeaderVersionOff, f::kFormatVersion);
  EncodeFixed32(h.data() + f::kLogHeaderFlagsOff, flags);
  EncodeFixed64(h.data() + f::kLogHeaderFirstIndexOff, first_index);
  EncodeFixed64(h.data() + f::kLogHeaderChecksumOff, common::Checksum64(h.data(), f::kLogHeaderChecksumOff));
  return h;
}

uint64_t LogHeaderSalt(uint64_t first_index, uint32_t flags) {
  return DecodeFixed64(EncodeLogHeader(first_index, flags).data() + f::kLogHeaderChecksumOff);
}

Result<LogHeader> DecodeLogHeader(std::string_view buf) {
  if (buf.size() < f::kLogHeaderSize) return common::DataLossError("log header is short");
  const char* h = buf.data();
  if (DecodeFixed64(h + f::kLogHeaderMagicOff) != f::kLogMagic) return common::DataLossError("bad log magic");
  if (DecodeFixed64(h + f::kLogHeaderChecksumOff) != common::Checksum64(h, f::kLogHeaderChecksumOff)) {
    return common::DataLossError("bad log header checksum");
  }
  uint32_t version = DecodeFixed32(h + f::kLogHeaderVersionOff);
  if (version != f::kFormatVersion) {
    return common::FailedPreconditionError("unsupported log format version " + std::to_string(version));
  }
  uint32_t flags = DecodeFixed32(h + f::kLogHeaderFlagsOff);
  if ((flags & ~f::kLogFlagRecycled) != 0) return common::DataLossError("unknown log header flags " + std::to_string(flags));
  return LogHeader{DecodeFixed64(h + f::kLogHeaderFirstIndexOff), flags, DecodeFixed64(h + f::kLogHeaderChecksumOff)};
}

std::string SegmentLogName(uint64_t first_index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64 ".log", first_index);
  return buf;
}

std::string SegmentIndexName(uint64_t first_index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020" PRIu64 ".index", first_index);
  return buf;
}

bool ParseSegmentName(std::string_view name, uint64_t* first_index, bool* is_index) {
  if (name.size() < 21) return false;
  std::string_view digits = name.substr(0, 20);
  std::string_view ext = name.substr(20);
  if (ext == ".log") {
    *is_index = false;
  } else if (ext == ".index") {
    *is_index = true;
  } else {
    return false;
  }
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *first_index = v;
  return true;
}

}  // namespace storage
