#include "logservice/record_codec.h"

#include <string>

namespace logservice {

using common::Status;

namespace {

uint64_t RecordBytes(const replog::v1::Record& r) {
  uint64_t n = r.key().size() + r.value().size();
  for (const auto& h : r.headers()) n += h.key().size() + h.value().size();
  return n;
}

constexpr char kProducerTag = 0x30;  // field 6 (producer_id), varint
constexpr char kSequenceTag = 0x38;  // field 7 (sequence), varint

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Reads a varint from the front of `*in`; false when truncated or longer
// than 10 bytes.
bool TakeVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < in->size() && i < 10; ++i) {
    const auto b = static_cast<uint8_t>((*in)[i]);
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

Status ValidateProduce(const replog::v1::ProduceRequest& req, const RecordLimits& limits) {
  if (req.records_size() == 0) return common::InvalidArgumentError("produce: no records in the request");
  if (static_cast<uint64_t>(req.records_size()) > limits.max_request_records) {
    return common::InvalidArgumentError("produce: " + std::to_string(req.records_size()) +
                                   " records in one request; the limit is " +
                                   std::to_string(limits.max_request_records));
  }
  uint64_t total = 0;
  for (int i = 0; i < req.records_size(); ++i) {
    const uint64_t n = RecordBytes(req.records(i));
    if (n > limits.max_record_bytes) {
      return common::InvalidArgumentError("produce: record " + std::to_string(i) + " has " + std::to_string(n) +
                                     " bytes; the limit is " + std::to_string(limits.max_record_bytes));
    }
    total += n;
  }
  if (total > limits.max_request_bytes) {
    return common::InvalidArgumentError("produce: the request has " + std::to_string(total) +
                                   " record bytes; the limit is " + std::to_string(limits.max_request_bytes));
  }
  if (req.producer_id() == 0 && req.sequence() != 0) {
    return common::InvalidArgumentError("produce: sequence " + std::to_string(req.sequence()) +
                                        " without a producer id (producer_id 0 means no exactly-once)");
  }
  if (req.sequence() + static_cast<uint64_t>(req.records_size()) < req.sequence()) {
    return common::InvalidArgumentError("produce: sequence " + std::to_string(req.sequence()) + " + " +
                                        std::to_string(req.records_size()) + " records reaches 2^64 (the last sequence is 2^64 - 2)");
  }
  return Status::Ok();
}

std::string EncodeRecord(const replog::v1::Record& record, int64_t now_ms, std::optional<ProducerStamp> stamp) {
  const bool as_is = record.offset() == 0 && record.timestamp_ms() != 0 && record.producer_id() == 0 &&
                     record.sequence() == 0;
  if (as_is && !stamp.has_value()) return record.SerializeAsString();  // the common case, as before stamps
  std::string out;
  if (stamp.has_value()) {
    // Written first (protobuf accepts fields in any order) so that
    // ParseProducerStamp reads them without parsing the record.
    out.push_back(kProducerTag);
    PutVarint(&out, stamp->producer);
    out.push_back(kSequenceTag);
    PutVarint(&out, stamp->sequence);
  }
  if (as_is) {
    record.AppendToString(&out);
    return out;
  }
  replog::v1::Record copy = record;
  copy.set_offset(0);
  copy.set_producer_id(0);
  copy.set_sequence(0);
  if (copy.timestamp_ms() == 0) copy.set_timestamp_ms(now_ms);
  copy.AppendToString(&out);
  return out;
}

std::optional<ProducerStamp> ParseProducerStamp(std::string_view payload) {
  if (payload.empty() || payload[0] != kProducerTag) return std::nullopt;
  payload.remove_prefix(1);
  ProducerStamp stamp;
  if (!TakeVarint(&payload, &stamp.producer) || stamp.producer == 0) return std::nullopt;
  if (payload.empty() || payload[0] != kSequenceTag) return std::nullopt;
  payload.remove_prefix(1);
  if (!TakeVarint(&payload, &stamp.sequence)) return std::nullopt;
  return stamp;
}

Status DecodeRecord(uint64_t offset, std::string_view payload, replog::v1::Record* out) {
  if (!out->ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    return common::DataLossError("log entry " + std::to_string(offset) + " (" + std::to_string(payload.size()) +
                            " bytes) is not a record");
  }
  out->set_offset(offset);
  return Status::Ok();
}

}  // namespace logservice
