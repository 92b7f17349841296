#include "logservice/log_reader.h"

#include <algorithm>
#include <string>

#include "logservice/log_command.h"
#include "logservice/record_codec.h"

namespace logservice {

using common::Result;
using common::Status;

namespace {

std::string RangeText(const ReadRange& r) {
  if (r.end <= r.first) return "the log holds no offsets yet; the next is " + std::to_string(r.end);
  return "valid offsets are " + std::to_string(r.first) + " to " + std::to_string(r.end - 1) +
         " (or " + std::to_string(r.end) + " to wait for the next)";
}

}  // namespace

Result<uint64_t> ResolveFrom(uint64_t from, const ReadRange& range) {
  if (from == 0) return range.first;
  if (from < range.first) {
    return common::OutOfRangeError("offset " + std::to_string(from) + " is below the first retained offset " +
                                   std::to_string(range.first) + "; " + RangeText(range));
  }
  if (from > range.end) {
    return common::OutOfRangeError("offset " + std::to_string(from) + " is past the end of the committed log; " +
                                   RangeText(range));
  }
  return from;
}

Result<uint32_t> ReadRecords(const storage::SegmentedLog& log, uint64_t from, const ReadRange& range,
                             const ReadLimits& limits, std::span<const uint64_t> skipped,
                             replog::v1::ConsumeResponse* out) {
  out->set_next_offset(from);
  if (from >= range.end) return 0u;
  uint32_t added = 0;
  uint64_t bytes = 0;
  Status decode_error;
  // Entries come in ascending order: walk `skipped` beside them.
  auto next_skip = std::lower_bound(skipped.begin(), skipped.end(), from);
  auto is_skipped = [&](uint64_t index) {
    while (next_skip != skipped.end() && *next_skip < index) ++next_skip;
    return next_skip != skipped.end() && *next_skip == index;
  };
  auto visit = [&](const storage::EntryView& e) {
    if (e.kind == storage::EntryKind::kNormal && !is_skipped(e.index) && !IsLogCommand(e.payload)) {
      if (added >= limits.max_records || (added > 0 && bytes + e.payload.size() > limits.max_bytes)) {
        return storage::Visit::kStop;
      }
      Status s = DecodeRecord(e.index, e.payload, out->add_records());
      if (!s.ok()) {
        out->mutable_records()->RemoveLast();
        decode_error = std::move(s);
        return storage::Visit::kStop;
      }
      ++added;
      bytes += e.payload.size();
    }
    out->set_next_offset(e.index + 1);
    return storage::Visit::kContinue;
  };
  // One pass usually answers. Another is needed only when a pass saw
  // nothing but control entries before the log's own byte budget ran out.
  while (added == 0 && out->next_offset() < range.end) {
    const uint64_t before = out->next_offset();
    Result<uint64_t> seen = log.ForEachEntry(before, range.end, limits.max_bytes, visit);
    if (!seen.has_value()) return seen.error();
    if (!decode_error.ok()) return decode_error;
    if (out->next_offset() == before) break;
  }
  return added;
}

}  // namespace logservice
