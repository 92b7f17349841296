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
  return Status::Ok();
}

std::string EncodeRecord(const replog::v1::Record& record, int64_t now_ms) {
  if (record.offset() == 0 && record.timestamp_ms() != 0) return record.SerializeAsString();
  replog::v1::Record copy = record;
  copy.set_offset(0);
  if (copy.timestamp_ms() == 0) copy.set_timestamp_ms(now_ms);
  return copy.SerializeAsString();
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
