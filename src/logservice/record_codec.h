#pragma once

// How a produced record is stored: the payload of one kNormal Raft entry is
// the record serialized as a replog.v1.Record without its offset (the offset
// is the entry's index). docs/formats/log-record.md describes the bytes.

#include <cstdint>
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
// limits). kInvalidArgument naming the first bad record and the limit.
common::Status ValidateProduce(const replog::v1::ProduceRequest& req, const RecordLimits& limits);

// The entry payload of `record`: its offset dropped, and its timestamp set to
// `now_ms` when the producer gave none (0).
std::string EncodeRecord(const replog::v1::Record& record, int64_t now_ms);

// Parses an entry payload into `out` and sets its offset. kDataLoss naming the
// offset when the bytes are not a record (a checksummed entry that does not
// parse is a bug or a foreign log, never silently skipped).
common::Status DecodeRecord(uint64_t offset, std::string_view payload, replog::v1::Record* out);

}  // namespace logservice
