#pragma once

// Encoding and decoding of single records (record_format.h), shared by the
// log writer, the recovery scan and replog-dump.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/record_format.h"
#include "storage/types.h"

namespace storage {

using format::RecordType;

// Appends one framed record (header, body, zero padding) to `out`, its
// checksum salted with `salt`: the salt of the segment it goes to (LogHeader),
// or 0 for a record that SaltRecord places later.
void AppendRecord(std::string* out, RecordType type, std::string_view body, uint64_t salt = 0);
// Appends an entry record, unsalted, without building the body separately.
void AppendEntryRecord(std::string* out, const LogEntry& e);
// The same record without its payload, for a writer that writes the payload
// from elsewhere: appends the record header and the entry header, then the
// record's zero padding, to `out`; the payload belongs between the two (at
// kEntryPayloadOff into the record). Appends the payload
// to `*payload_copy`, checksumming it on the way.
void AppendEntryRecordHead(std::string* out, const LogEntry& e, std::string* payload_copy);
// Salts the checksum of the unsalted record that starts at `record` for the
// segment whose salt is `salt` (one 8-byte XOR: the writer places queued
// records into whichever segment they land in).
void SaltRecord(char* record, uint64_t salt);

std::string EncodeHardState(const HardState& hs);
std::string EncodeCheckpoint(const Checkpoint& cp);
std::string EncodeU64Pair(uint64_t a, uint64_t b);
std::string EncodeU64(uint64_t a);
std::string EncodeBatchEnd(uint64_t batch_start, uint64_t synced, uint32_t count, uint32_t generation = 0);

enum class DecodeResult {
  kOk,       // a valid record
  kZero,     // 16 zero bytes: end of written data
  kTruncated,// the buffer ends inside the record
  kBadLength,// length above kMaxRecordBody or type out of range
  kBadChecksum,
};

struct RecordView {
  RecordType type;
  std::string_view body;  // points into the decoded buffer
  size_t size = 0;        // bytes occupied, header and padding included
};

// Decodes the record at the start of `buf` (which must be 8-byte aligned in
// its file), whose checksum must be salted with `salt` (the segment's salt,
// LogHeader::salt). On kOk fills `rec`. A record of another segment (a
// recycled file's stale bytes) is kBadChecksum.
DecodeResult DecodeRecord(std::string_view buf, RecordView* rec, uint64_t salt = 0);
const char* DecodeResultName(DecodeResult r);
const char* RecordTypeName(RecordType t);

// Body decoders; kDataLoss when the body has the wrong size.
Result<LogEntry> DecodeEntry(std::string_view body);
// The entry in `body` without copying its payload (the view points into `body`).
Result<EntryView> DecodeEntryView(std::string_view body);
Result<HardState> DecodeHardState(std::string_view body);
Result<Checkpoint> DecodeCheckpoint(std::string_view body);
struct BatchEnd {
  uint64_t batch_start = 0;
  uint64_t synced = 0;
  uint32_t count = 0;
  uint32_t generation = 0;
};
Result<BatchEnd> DecodeBatchEnd(std::string_view body);
// TruncateAfter (index), PurgeUpTo (index, term), Seal (last index, count).
Result<uint64_t> DecodeU64(std::string_view body);
Result<std::pair<uint64_t, uint64_t>> DecodeU64Pair(std::string_view body);

// Log file header.
struct LogHeader {
  uint64_t first_index = 0;
  uint32_t flags = 0;  // format::kLogFlag*
  uint64_t salt = 0;   // the header checksum: salts every record checksum of the file
  bool recycled() const { return (flags & format::kLogFlagRecycled) != 0; }
};
std::string EncodeLogHeader(uint64_t first_index, uint32_t flags = 0);
// The salt of the records of a segment whose header EncodeLogHeader makes.
uint64_t LogHeaderSalt(uint64_t first_index, uint32_t flags = 0);
// Decodes a log header; kDataLoss when invalid, kFailedPrecondition for
// another format version.
Result<LogHeader> DecodeLogHeader(std::string_view buf);

// "00000000000000000042.log"; parses back, or nullopt for any other name.
std::string SegmentLogName(uint64_t first_index);
std::string SegmentIndexName(uint64_t first_index);
bool ParseSegmentName(std::string_view name, uint64_t* first_index, bool* is_index);

}  // namespace storage
