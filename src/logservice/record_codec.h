#pragma once

// How a produced record is stored: the payload of one kNormal Raft entry is
// the record serialized as a replog.v1.Record without its offset (the offset
// is the entry's index). A record produced with a producer id starts with its
// producer stamp (producer id and sequence, fields 6 and 7 written first), so
// that the state machine finds them without parsing the record.
// docs/formats/log-record.md describes the bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "replog/v1/log.pb.h"

namespace logservice {

// Limits on what a producer may send; checked before anything is proposed.
struct RecordLimits {
  uint64_t max_record_bytes = 8 << 20;   // key + value + headers of one record
  uint64_t max_request_bytes = 64 << 20; // all records of one request
  uint32_t max_request_records = 100'000;
};

// Validates one produce request (at least one record, each within the
// limits; a sequence only with a producer id, and sequence + records within
// 64 bits). kInvalidArgument naming the first bad record or field.
common::Status ValidateProduce(const replog::v1::ProduceRequest& req, const RecordLimits& limits);

// Who produced a record, for exactly-once produce: producer id (never 0) and
// the record's own sequence number.
struct ProducerStamp {
  uint64_t producer = 0;
  uint64_t sequence = 0;
  bool operator==(const ProducerStamp&) const = default;
};

// The entry payload of `record`: its offset dropped, and its timestamp set to
// `now_ms` when the producer gave none (0). With a stamp, the payload starts
// with it (the record's own producer_id and sequence fields are ignored).
std::string EncodeRecord(const replog::v1::Record& record, int64_t now_ms,
                         std::optional<ProducerStamp> stamp = std::nullopt);

// The stamp at the front of an entry payload, if it has one: a payload that
// starts with the byte 0x30 (field 6, varint) followed by a varint and 0x38
// (field 7, varint) and a varint. Reads at most 22 bytes. A payload without
// that exact prefix has no stamp (it is a record of a producer without id).
std::optional<ProducerStamp> ParseProducerStamp(std::string_view payload);

// Parses an entry payload into `out` and sets its offset. kDataLoss naming the
// offset when the bytes are not a record (a checksummed entry that does not
// parse is a bug or a foreign log, never silently skipped).
common::Status DecodeRecord(uint64_t offset, std::string_view payload, replog::v1::Record* out);

}  // namespace logservice
