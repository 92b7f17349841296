#include "storage/recovery.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/coding.h"
#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/record_reader.h"

namespace storage {

namespace f = format;

namespace {

constexpr size_t kReadChunk = RecordReader::kChunkBytes;
// How far past the first zeroed record header the last segment is searched
// for data. Zeros followed by data inside synced bytes are damage, not the
// end of the log (STORAGE-NOTES WAL-14); reading the whole preallocated rest
// of a segment at every open would cost more than the open itself, so zeroed
// runs longer than this inside synced data go unnoticed (docs/storage.md).
constexpr size_t kZeroLookahead = 4 << 20;

Status Damage(const std::string& path, uint64_t pos, const std::string& why) {
  return common::DataLossError(path + " at " + std::to_string(pos) + ": " + why);
}

// A record of the round being read, applied once its BatchEnd is seen.
struct RoundRecord {
  RecordType type;
  uint64_t pos;
  uint32_t size;
  uint64_t a = 0, b = 0, c = 0;
};

class Scanner {
 public:
  Scanner(Segment& seg, TailMode mode) : seg_(seg), mode_(mode), reader_(seg.log(), seg.salt()) {}

  Result<ScanResult> Run() {
    LogHeader header;
    ASSIGN_OR_RETURN(out_.checkpoint, ReadCheckpoint(seg_.log(), seg_.first_index(), &header));
    const Checkpoint& cp = out_.checkpoint;
    out_.state = LogState{cp.first_index, cp.last_index, cp.purge_term, cp.hard_state};
    out_.min_last_index = cp.last_index;
    out_.end = f::kLogHeaderSize;
    uint64_t pos = f::kLogHeaderSize;
    LogState round_state = out_.state;
    while (true) {
      RecordView rec;
      ASSIGN_OR_RETURN(DecodeResult r, reader_.Decode(pos, &rec));
      if (r != DecodeResult::kOk && seg_.recycled()) {
        RETURN_IF_ERROR(EndOfRecycled(pos, DecodeResultName(r)));
        break;
      }
      if (r == DecodeResult::kZero) {
        if (mode_ == TailMode::kLast) RETURN_IF_ERROR(CheckPastZeros(pos));
        break;
      }
      if (r != DecodeResult::kOk) {
        RETURN_IF_ERROR(OnDamage(pos, DecodeResultName(r)));
        break;
      }
      Status s = Collect(pos, rec, &round_state);
      if (!s.ok()) {
        if (s.code() != common::Code::kAborted) return s;
        RETURN_IF_ERROR(OnDamage(pos, s.message()));
        break;
      }
      pos += rec.size;
      if (rec.type == RecordType::kBatchEnd) {
        ApplyRound();
        out_.state = round_state;
        out_.end = pos;
        if (out_.checkpoint_end == 0) out_.checkpoint_end = pos;
        if (out_.sealed) break;  // nothing follows a Seal's round (a recycled file: stale bytes)
      }
    }
    out_.torn_records = round_.size();
    if (!round_.empty() && out_.dirty_end < pos) out_.dirty_end = pos;
    if (out_.dirty_end < out_.end) out_.dirty_end = out_.end;
    out_.torn_bytes = out_.dirty_end - out_.end;
    out_.scanned_bytes = reader_.bytes_read();
    if (out_.end == f::kLogHeaderSize) return Damage(seg_.log_path(), out_.end, "no complete write round after the header");
    if (mode_ == TailMode::kSealed && (out_.torn_records > 0 || out_.torn_bytes > 0)) {
      return Damage(seg_.log_path(), out_.end, "incomplete write round in a sealed segment");
    }
    return out_;
  }

 private:
  // Validates one record and adds it to the current round. kAborted for a
  // record that cannot follow what came before (a stale leftover).
  Status Collect(uint64_t pos, const RecordView& rec, LogState* st) {
    RoundRecord rr{rec.type, pos, static_cast<uint32_t>(rec.size)};
    auto stale = [&](const std::string& why) { return common::AbortedError(why); };
    switch (rec.type) {
      case RecordType::kEntry: {
        ASSIGN_OR_RETURN(LogEntry e, DecodeEntry(rec.body));
        if (e.index != st->last_index + 1) {
          return stale("entry " + std::to_string(e.index) + " where " + std::to_string(st->last_index + 1) +
                       " was expected");
        }
        if (!seg_.HasSlot(e.index)) return stale("entry " + std::to_string(e.index) + " outside the segment's index");
        st->last_index = e.index;
        rr.a = e.index;
        break;
      }
      case RecordType::kHardState: {
        ASSIGN_OR_RETURN(st->hard_state, DecodeHardState(rec.body));
        break;
      }
      case RecordType::kTruncateAfter: {
        ASSIGN_OR_RETURN(uint64_t i, DecodeU64(rec.body));
        if (i + 1 < st->first_index || i > st->last_index) return stale("truncate-after " + std::to_string(i) + " out of range");
        st->last_index = i;
        rr.a = i;
        break;
      }
      case RecordType::kPurgeUpTo: {
        ASSIGN_OR_RETURN(auto p, DecodeU64Pair(rec.body));
        if (p.first >= st->first_index) {
          st->first_index = p.first + 1;
          st->purge_term = p.second;
          st->last_index = std::max(st->last_index, p.first);
        }
        break;
      }
      case RecordType::kCheckpoint:
        if (pos != f::kLogHeaderSize) return stale("checkpoint record after the start of the segment");
        break;
      case RecordType::kSeal: {
        ASSIGN_OR_RETURN(auto seal, DecodeU64Pair(rec.body));
        rr.a = seal.first;
        break;
      }
      case RecordType::kBatchEnd: {
        ASSIGN_OR_RETURN(BatchEnd be, DecodeBatchEnd(rec.body));
        if (be.batch_start != out_.end || be.count != round_.size()) return stale("batch-end does not close the round");
        // A round of an earlier open after one of a later open is a leftover
        // of a torn write that a recovery did not see (it lay past zeros).
        if (be.generation < out_.generation) return stale("batch-end of an older generation");
        out_.generation = be.generation;
        return Status::Ok();
      }
    }
    round_.push_back(rr);
    return Status::Ok();
  }

  void ApplyRound() {
    for (const RoundRecord& rr : round_) {
      if (rr.type == RecordType::kEntry) seg_.SetSlot(rr.a, Slot{static_cast<uint32_t>(rr.pos), rr.size});
      if (rr.type == RecordType::kTruncateAfter) out_.min_last_index = std::min(out_.min_last_index, rr.a);
      if (rr.type == RecordType::kSeal) {
        out_.sealed = true;
        out_.sealed_last = rr.a;
      }
    }
    round_.clear();
  }

  // A zeroed record header at `pos` in the last segment: the end of the log,
  // unless data follows within kZeroLookahead; then it is damage at `pos`.
  Status CheckPastZeros(uint64_t pos) {
    for (uint64_t p = pos; p < pos + kZeroLookahead; p += kReadChunk) {
      ASSIGN_OR_RETURN(std::string_view v, reader_.Get(p, kReadChunk));
      if (v.find_first_not_of('\0') != std::string_view::npos) return OnDamage(pos, "zeroed record header followed by data");
      if (v.size() < kReadChunk) break;
    }
    return Status::Ok();
  }

  // A record at `pos` of a recycled segment that does not decode: stale
  // bytes of an older segment (they never verify with this segment's salt)
  // or damage. It is the end of data unless a record of this segment lies
  // within kZeroLookahead past it; then it is damage at `pos`, judged by
  // OnDamage. (The analogue of CheckPastZeros: here "data" means records
  // that verify, since the bytes past the end are not zeros.)
  Status EndOfRecycled(uint64_t pos, const std::string& why) {
    if (mode_ == TailMode::kSealed) return Damage(seg_.log_path(), pos, why);
    ASSIGN_OR_RETURN(std::optional<uint64_t> next, reader_.FindNextRecord(pos, pos + kZeroLookahead));
    if (!next) return Status::Ok();
    return OnDamage(pos, why + ", followed at " + std::to_string(*next) + " by a record of this segment");
  }

  // Damage at `pos`. It is a torn tail only in the last segment and only if
  // no later round says that bytes at or beyond `pos` had been synced. Marks
  // every non-zero byte up to the end of the file as dirty (in a recycled
  // segment: every record of this segment that ends a round, since the other
  // bytes are stale ones that never verify).
  Status OnDamage(uint64_t pos, const std::string& why) {
    if (mode_ == TailMode::kSealed) return Damage(seg_.log_path(), pos, why);
    out_.dirty_end = std::max(out_.dirty_end, pos + 8);
    for (uint64_t p = pos + 8;; ) {
      ASSIGN_OR_RETURN(std::string_view v, reader_.Get(p, kReadChunk));
      for (size_t i = 0; i < v.size(); i += 8) {
        std::string_view word = v.substr(i, 8);  // shorter at the end of the file
        if (word.find_first_not_of('\0') == std::string_view::npos) continue;
        if (!seg_.recycled()) out_.dirty_end = p + i + word.size();
        if (v.size() - i >= f::kRecordHeaderSize &&
            static_cast<uint8_t>(v[i + f::kRecordTypeOff]) == static_cast<uint8_t>(RecordType::kBatchEnd) &&
            common::DecodeFixed32(v.data() + i + f::kRecordLengthOff) == f::kBatchEndSize) {
          RETURN_IF_ERROR(CheckLaterBatchEnd(p + i, pos, why));
        }
      }
      if (v.size() < kReadChunk) break;
      p += v.size() - f::kRecordHeaderSize;  // overlap: a header may straddle the chunks
    }
    return Status::Ok();
  }

  Status CheckLaterBatchEnd(uint64_t at, uint64_t damage_pos, const std::string& why) {
    std::string buf(f::RecordSize(f::kBatchEndSize), '\0');
    ASSIGN_OR_RETURN(size_t n, seg_.log().ReadAt(at, buf.data(), buf.size()));
    RecordView rec;
    if (DecodeRecord(std::string_view(buf.data(), n), &rec, seg_.salt()) != DecodeResult::kOk) return Status::Ok();
    if (seg_.recycled()) out_.dirty_end = std::max(out_.dirty_end, at + rec.size);
    ASSIGN_OR_RETURN(BatchEnd be, DecodeBatchEnd(rec.body));
    if (be.synced > damage_pos) {
      return Damage(seg_.log_path(), damage_pos,
                    why + ", followed at " + std::to_string(at) + " by a round written after it was synced");
    }
    return Status::Ok();
  }

  Segment& seg_;
  TailMode mode_;
  RecordReader reader_;
  ScanResult out_;
  std::vector<RoundRecord> round_;
};

}  // namespace

Result<Checkpoint> ReadCheckpoint(common::File& log, uint64_t first_index, LogHeader* header) {
  constexpr size_t kNeed = f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize);
  std::string buf(kNeed, '\0');
  ASSIGN_OR_RETURN(size_t n, log.ReadAt(0, buf.data(), buf.size()));
  buf.resize(n);
  Result<LogHeader> named = DecodeLogHeader(buf);
  if (!named.has_value()) return named.error().WithContext(log.path() + " at 0");
  if (named->first_index != first_index) {
    return Damage(log.path(), 0, "header names first index " + std::to_string(named->first_index));
  }
  *header = *named;
  RecordView rec;
  DecodeResult r =
      DecodeRecord(std::string_view(buf).substr(std::min(buf.size(), f::kLogHeaderSize)), &rec, named->salt);
  if (r != DecodeResult::kOk) return Damage(log.path(), f::kLogHeaderSize, std::string("checkpoint: ") + DecodeResultName(r));
  if (rec.type != RecordType::kCheckpoint) return Damage(log.path(), f::kLogHeaderSize, "first record is not a checkpoint");
  Result<Checkpoint> cp = DecodeCheckpoint(rec.body);
  if (!cp.has_value()) return cp.error().WithContext(log.path() + " at 32");
  if (cp->last_index + 1 != first_index) {
    return Damage(log.path(), f::kLogHeaderSize, "checkpoint last index " + std::to_string(cp->last_index) +
                                                    " does not precede the segment's first index");
  }
  return cp;
}

Result<ScanResult> ScanSegment(Segment& seg, TailMode mode) { return Scanner(seg, mode).Run(); }

}  // namespace storage
