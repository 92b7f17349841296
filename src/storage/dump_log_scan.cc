// The dump's scan of one .log file (dump_segment.h): lists every record,
// replays the log state the way recovery does to see records that cannot
// follow each other, and classifies the damage once the whole file is read.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "storage/dump_segment.h"
#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/record_reader.h"

namespace storage {

namespace f = format;
using common::Status;

namespace {

std::string N(uint64_t v) { return std::to_string(v); }

const char* KindName(EntryKind kind) {
  switch (kind) {
    case EntryKind::kNormal: return "normal";
    case EntryKind::kNoop: return "noop";
    case EntryKind::kConfChange: return "conf-change";
  }
  return "unknown-kind";
}

// `kind=normal payload=5B "hello"`: the payload's first bytes, escaped.
std::string EntryNote(const LogEntry& e) {
  constexpr size_t kPreview = 24;
  std::string s = std::string("kind=") + KindName(e.kind) + " payload=" + N(e.payload.size()) + "B \"";
  for (size_t i = 0; i < e.payload.size() && i < kPreview; i++) {
    unsigned char c = static_cast<unsigned char>(e.payload[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      s += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      s += hex;
    }
  }
  return s + (e.payload.size() > kPreview ? "\"..." : "\"");
}

// Damage found in the records, classified once the whole file is read.
struct Damage {
  uint64_t pos;
  std::string reason;
};

struct BatchEndSeen {
  uint64_t pos;
  uint64_t synced;
};

class LogScanner {
 public:
  LogScanner(common::Fs& fs, const SegmentPlan& plan, DumpListener& listener, DumpSummary& summary)
      : fs_(fs), plan_(plan), listener_(listener), summary_(summary) {}

  Result<LogScan> Run();

 private:
  void ReadLogHeader(std::string_view header);
  void OnRecord(uint64_t pos, const RecordView& rec);
  Status Apply(uint64_t pos, const RecordView& rec, DumpRecord* row);
  void ApplyEntry(uint64_t pos, const RecordView& rec, const LogEntry& e, DumpRecord* row);
  void ApplyTruncateAfter(uint64_t pos, uint64_t index);
  void ApplyCheckpoint(uint64_t pos, const Checkpoint& cp);
  void ApplyBatchEnd(uint64_t pos, const RecordView& rec, const BatchEnd& be);
  void OnRecordAfterEnd(uint64_t pos, const RecordView& rec);
  void Finish();

  void Emit(const DumpRecord& row) {
    if (plan_.report_log) listener_.OnRecord(row);
  }
  // Queues a problem (reported after the records, by position).
  void Problem(Severity sev, uint64_t pos, std::string reason) {
    if (plan_.report_log) problems_.push_back(DumpProblem{sev, plan_.log_path, pos, std::move(reason)});
  }
  // Damage whose severity depends on what follows it.
  void Damaged(uint64_t pos, std::string reason) { damage_.push_back(Damage{pos, std::move(reason)}); }

  common::Fs& fs_;
  const SegmentPlan& plan_;
  DumpListener& listener_;
  DumpSummary& summary_;

  LogScan scan_;
  uint64_t file_size_ = 0;
  // Replay of the log state, to check that records follow each other.
  bool chain_known_ = false;
  uint64_t log_first_ = 1;
  uint64_t log_last_ = 0;
  bool round_known_ = true;
  uint64_t round_start_ = f::kLogHeaderSize;
  uint64_t round_count_ = 0;
  bool has_generation_ = false;
  uint32_t generation_ = 0;
  LogHeader header_;          // salt 0 and no flags when the header is bad
  bool after_end_ = false;    // past a zero header followed by data
  uint64_t end_of_data_ = 0;  // where the scan met the first zero header, or the end of the file
  std::vector<BatchEndSeen> batch_ends_;  // before the end of data
  std::vector<BatchEndSeen> batch_ends_after_end_;
  std::vector<Damage> damage_;
  std::vector<DumpProblem> problems_;
};

Result<LogScan> LogScanner::Run() {
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> log, fs_.Open(plan_.log_path, common::OpenMode::kRead));
  ASSIGN_OR_RETURN(file_size_, log->Size());
  {
    std::string header(f::kLogHeaderSize, '\0');
    ASSIGN_OR_RETURN(size_t n, log->ReadAt(0, header.data(), header.size()));
    header.resize(n);
    ReadLogHeader(header);
  }
  RecordReader rd(*log, header_.salt);
  uint64_t pos = f::kLogHeaderSize;
  while (true) {
    RecordView rec;
    ASSIGN_OR_RETURN(DecodeResult r, rd.Decode(pos, &rec));
    if (r == DecodeResult::kOk) {
      if (after_end_) {
        OnRecordAfterEnd(pos, rec);
      } else {
        OnRecord(pos, rec);
        scan_.valid_end = pos + rec.size;
      }
      pos += rec.size;
      continue;
    }
    if (header_.recycled() && !after_end_) {
      // Past the end of data of a recycled file lie stale bytes of older
      // segments, which never verify with this file's salt: the end, unless
      // a record of this segment follows (then as a zero header followed by
      // data).
      ASSIGN_OR_RETURN(std::optional<uint64_t> data_at, rd.FindNextRecord(pos));
      if (!data_at) {
        DumpRecord row = MakeRow(plan_.log_path, pos, "stale", std::max(pos, file_size_) - pos, "ok");
        row.note = "bytes of older segments (recycled file), up to the end of the file";
        Emit(row);
        break;
      }
      end_of_data_ = pos;
      after_end_ = true;
    } else if (r == DecodeResult::kZero) {
      ASSIGN_OR_RETURN(std::optional<uint64_t> data_at, rd.NextNonZero(pos));
      if (!data_at) break;  // zeros up to the end of the file
      if (!after_end_) end_of_data_ = pos;
      after_end_ = true;
    } else if (!after_end_) {
      Damaged(pos, DecodeResultName(r));
      round_known_ = false;
      chain_known_ = false;
    }
    ASSIGN_OR_RETURN(std::optional<uint64_t> next, rd.FindNextRecord(pos));
    uint64_t stop = next ? *next : std::max(pos, file_size_);
    DumpRecord row = MakeRow(plan_.log_path, pos, "damaged", stop - pos,
                             r == DecodeResult::kZero ? "zero header" : DecodeResultName(r));
    row.note = next ? "next valid record at " + N(*next) : "no valid record up to the end of the file";
    Emit(row);
    pos = stop;
    if (!next) break;
  }
  if (!after_end_) end_of_data_ = pos;
  Finish();
  return std::move(scan_);
}

void LogScanner::ReadLogHeader(std::string_view header) {
  DumpRecord row = MakeRow(plan_.log_path, 0, "log-header", f::kLogHeaderSize, "ok");
  Result<LogHeader> named = DecodeLogHeader(header);
  scan_.first_index = plan_.first_index;
  if (!named.has_value()) {
    row.status = "bad";
    row.note = named.error().message();
    Problem(Severity::kDataLoss, 0, "log header: " + named.error().message());
  } else {
    header_ = *named;
    row.fields = {{"first_index", named->first_index},
                  {"version", common::DecodeFixed32(header.data() + f::kLogHeaderVersionOff)},
                  {"flags", named->flags}};
    if (!plan_.name_known) scan_.first_index = named->first_index;
    if (named->first_index != scan_.first_index) {
      Problem(Severity::kDataLoss, 0,
              "header names first index " + N(named->first_index) + ", the file name " + N(scan_.first_index));
    }
  }
  Emit(row);
}

void LogScanner::OnRecord(uint64_t pos, const RecordView& rec) {
  DumpRecord row = MakeRow(plan_.log_path, pos, RecordTypeName(rec.type), rec.size, "ok");
  if (pos == f::kLogHeaderSize && rec.type != RecordType::kCheckpoint) {
    Problem(Severity::kDataLoss, pos, std::string("first record is a ") + RecordTypeName(rec.type) + ", not a checkpoint");
  }
  Status s = Apply(pos, rec, &row);
  if (!s.ok()) {
    // A valid checksum over a malformed body: written wrong, Open refuses it.
    row.status = "malformed";
    row.note = s.message();
    Problem(Severity::kDataLoss, pos, s.message());
  }
  if (rec.type != RecordType::kBatchEnd) round_count_++;
  if (plan_.report_log) {
    summary_.records++;
    summary_.records_by_type[RecordTypeName(rec.type)]++;
  }
  Emit(row);
}

// Decodes the body into `row` and replays it, as recovery would.
Status LogScanner::Apply(uint64_t pos, const RecordView& rec, DumpRecord* row) {
  switch (rec.type) {
    case RecordType::kEntry: {
      ASSIGN_OR_RETURN(LogEntry e, DecodeEntry(rec.body));
      ApplyEntry(pos, rec, e, row);
      break;
    }
    case RecordType::kHardState: {
      ASSIGN_OR_RETURN(scan_.hard_state, DecodeHardState(rec.body));
      scan_.has_hard_state = true;
      const HardState& hs = scan_.hard_state;
      row->fields = {{"term", hs.term}, {"vote", hs.vote}, {"commit", hs.commit}};
      break;
    }
    case RecordType::kTruncateAfter: {
      ASSIGN_OR_RETURN(uint64_t i, DecodeU64(rec.body));
      row->fields = {{"index", i}};
      ApplyTruncateAfter(pos, i);
      break;
    }
    case RecordType::kPurgeUpTo: {
      ASSIGN_OR_RETURN(auto p, DecodeU64Pair(rec.body));
      row->fields = {{"index", p.first}, {"term", p.second}};
      if (p.first >= log_first_) {
        log_first_ = p.first + 1;
        log_last_ = std::max(log_last_, p.first);
      }
      break;
    }
    case RecordType::kCheckpoint: {
      ASSIGN_OR_RETURN(Checkpoint cp, DecodeCheckpoint(rec.body));
      row->fields = {{"seq", cp.seq},         {"first_index", cp.first_index}, {"last_index", cp.last_index},
                     {"purge_term", cp.purge_term}, {"term", cp.hard_state.term}, {"vote", cp.hard_state.vote},
                     {"commit", cp.hard_state.commit}};
      ApplyCheckpoint(pos, cp);
      break;
    }
    case RecordType::kBatchEnd: {
      ASSIGN_OR_RETURN(BatchEnd be, DecodeBatchEnd(rec.body));
      row->fields = {{"batch_start", be.batch_start}, {"synced", be.synced}, {"count", be.count},
                     {"generation", be.generation}};
      ApplyBatchEnd(pos, rec, be);
      break;
    }
    case RecordType::kSeal: {
      ASSIGN_OR_RETURN(auto s, DecodeU64Pair(rec.body));
      row->fields = {{"last_index", s.first}, {"entry_count", s.second}};
      scan_.sealed = true;
      scan_.seal_last = s.first;
      break;
    }
  }
  return Status::Ok();
}

void LogScanner::ApplyTruncateAfter(uint64_t pos, uint64_t index) {
  if (chain_known_ && (index + 1 < log_first_ || index > log_last_)) {
    Damaged(pos, "truncate-after " + N(index) + " outside the log [" + N(log_first_) + ", " + N(log_last_) + "]");
  }
  log_last_ = index;
  std::vector<LiveEntry>& live = scan_.live;
  while (!live.empty() && live.back().index > index) live.pop_back();
}

// The segment's first record: the log state the rest of the segment builds on.
void LogScanner::ApplyCheckpoint(uint64_t pos, const Checkpoint& cp) {
  if (pos != f::kLogHeaderSize) {
    Damaged(pos, "checkpoint record after the start of the segment");
    return;
  }
  scan_.has_checkpoint = true;
  scan_.seq = cp.seq;
  scan_.hard_state = cp.hard_state;
  scan_.has_hard_state = true;
  log_first_ = cp.first_index;
  log_last_ = cp.last_index;
  chain_known_ = true;
  if (cp.last_index + 1 != scan_.first_index) {
    Problem(Severity::kDataLoss, pos, "checkpoint last index " + N(cp.last_index) +
                                          " does not precede the segment's first index " + N(scan_.first_index));
  }
}

void LogScanner::ApplyEntry(uint64_t pos, const RecordView& rec, const LogEntry& e, DumpRecord* row) {
  row->has_index = true;
  row->index = e.index;
  row->term = e.term;
  row->fields = {{"index", e.index},
                 {"term", e.term},
                 {"kind", static_cast<uint32_t>(e.kind)},
                 {"payload_bytes", e.payload.size()}};
  row->note = EntryNote(e);
  if (chain_known_ && e.index != log_last_ + 1) {
    Damaged(pos, "entry " + N(e.index) + " where " + N(log_last_ + 1) + " was expected");
  }
  chain_known_ = true;
  log_last_ = e.index;
  std::vector<LiveEntry>& live = scan_.live;
  while (!live.empty() && live.back().index >= e.index) live.pop_back();
  live.push_back(LiveEntry{e.index, pos, rec.size});
  if (!plan_.report_log) return;
  if (!summary_.has_entries || e.index < summary_.first_index_seen) summary_.first_index_seen = e.index;
  if (!summary_.has_entries || e.index > summary_.last_index_seen) summary_.last_index_seen = e.index;
  summary_.has_entries = true;
}

void LogScanner::ApplyBatchEnd(uint64_t pos, const RecordView& rec, const BatchEnd& be) {
  if (round_known_ && (be.batch_start != round_start_ || be.count != round_count_)) {
    Damaged(pos, "batch-end names a round of " + N(be.count) + " records from " + N(be.batch_start) + ", but " +
                     N(round_count_) + " records follow the round start " + N(round_start_));
  }
  if (has_generation_ && be.generation < generation_) {
    Damaged(pos, "batch-end of generation " + N(be.generation) + " after generation " + N(generation_));
  }
  generation_ = std::max(generation_, be.generation);
  has_generation_ = true;
  batch_ends_.push_back(BatchEndSeen{pos, be.synced});
  round_known_ = true;
  round_start_ = pos + rec.size;
  round_count_ = 0;
}

// Past the end of data only the BatchEnds matter: one saying that bytes past
// the end had been synced shows that durable data would be lost.
void LogScanner::OnRecordAfterEnd(uint64_t pos, const RecordView& rec) {
  DumpRecord row = MakeRow(plan_.log_path, pos, RecordTypeName(rec.type), rec.size, "after-end");
  if (rec.type == RecordType::kBatchEnd) {
    Result<BatchEnd> be = DecodeBatchEnd(rec.body);
    if (be.has_value()) batch_ends_after_end_.push_back(BatchEndSeen{pos, be->synced});
  }
  if (plan_.report_log) summary_.records_after_end++;
  Emit(row);
}

// Classifies the damage as Open would: a torn tail only in the last, unsealed
// segment and only where no later BatchEnd says the bytes had been synced.
void LogScanner::Finish() {
  bool tail_ok = plan_.last && !scan_.sealed;  // where a torn tail may be
  auto synced_after = [&](uint64_t damage_pos) -> std::optional<BatchEndSeen> {
    for (const auto* list : {&batch_ends_, &batch_ends_after_end_}) {
      for (const BatchEndSeen& be : *list) {
        if (be.pos > damage_pos && be.synced > damage_pos) return be;
      }
    }
    return std::nullopt;
  };
  if (batch_ends_.empty()) Problem(Severity::kDataLoss, f::kLogHeaderSize, "no complete write round after the header");
  for (const Damage& d : damage_) {
    std::optional<BatchEndSeen> later = synced_after(d.pos);
    if (!tail_ok) {
      Problem(Severity::kDataLoss, d.pos, d.reason + (plan_.last ? " (sealed segment)" : " (not the last segment)"));
    } else if (later) {
      Problem(Severity::kDataLoss, d.pos,
              d.reason + ", but the batch-end at " + N(later->pos) + " says " + N(later->synced) + " bytes had been synced");
    } else {
      Problem(Severity::kWarning, d.pos, "torn tail (cut on open): " + d.reason);
    }
  }
  if (round_known_ && round_count_ > 0) {
    std::string what = "incomplete write round of " + N(round_count_) + " records";
    Problem(tail_ok ? Severity::kWarning : Severity::kDataLoss, round_start_,
            tail_ok ? "torn tail (cut on open): " + what : what + " in a sealed or earlier segment");
  }
  if (after_end_) {
    std::optional<BatchEndSeen> later = synced_after(end_of_data_);
    if (later) {
      Problem(Severity::kDataLoss, end_of_data_,
              "zero record header, but the batch-end at " + N(later->pos) + " says " + N(later->synced) +
                  " bytes had been synced; open would stop here");
    } else {
      Problem(Severity::kWarning, end_of_data_, "bytes after the end of data, never synced (ignored on open)");
    }
  }
  if (!plan_.report_log) return;
  summary_.segments++;
  summary_.data_bytes += scan_.valid_end;
  summary_.file_bytes += file_size_;
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const DumpProblem& a, const DumpProblem& b) { return a.pos < b.pos; });
  for (DumpProblem& p : problems_) ReportProblem(std::move(p), listener_, summary_);
}

}  // namespace

Result<LogScan> ScanSegmentLog(common::Fs& fs, const SegmentPlan& plan, DumpListener& listener,
                               DumpSummary& summary) {
  return LogScanner(fs, plan, listener, summary).Run();
}

}  // namespace storage
