#include "storage/dump.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>

#include "common/checksum.h"
#include "common/coding.h"
#include "storage/record.h"
#include "storage/record_format.h"

namespace storage {

namespace f = format;
using common::DecodeFixed32;
using common::DecodeFixed64;
using common::Status;

namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr uint64_t kNone = UINT64_MAX;

// Sequential reader over a file that keeps [off, off + buf.size()) in memory.
// A returned view is valid until the next Get.
class ChunkReader {
 public:
  explicit ChunkReader(common::File& file) : file_(file) {}

  // Up to `n` bytes at `pos` (fewer at the end of the file).
  Result<std::string_view> Get(uint64_t pos, size_t n) {
    if (pos < off_ || pos + n > off_ + buf_.size()) {
      bool covered = eof_ && pos >= off_ && pos <= off_ + buf_.size();
      if (!covered) {
        size_t want = std::max(n, kReadChunk);
        buf_.resize(want);
        ASSIGN_OR_RETURN(size_t got, file_.ReadAt(pos, buf_.data(), want));
        buf_.resize(got);
        off_ = pos;
        eof_ = got < want;
      }
    }
    std::string_view v(buf_);
    v = v.substr(pos - off_);
    return v.substr(0, std::min(v.size(), n));
  }

 private:
  common::File& file_;
  std::string buf_;
  uint64_t off_ = 0;
  bool eof_ = false;
};

bool AllZero(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) { return c == 0; });
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

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

// Reads the log header and checkpoint of a .log file; nullopt when either is
// damaged (the full scan reports why).
Result<std::optional<Checkpoint>> PeekCheckpoint(common::Fs& fs, const std::string& path) {
  ASSIGN_OR_RETURN(auto file, fs.Open(path, common::OpenMode::kRead));
  std::string buf(f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize), '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, buf.data(), buf.size()));
  buf.resize(n);
  RecordView rec;
  if (!DecodeLogHeader(buf).has_value()) return std::optional<Checkpoint>();
  if (DecodeRecord(std::string_view(buf).substr(f::kLogHeaderSize), &rec) != DecodeResult::kOk ||
      rec.type != RecordType::kCheckpoint) {
    return std::optional<Checkpoint>();
  }
  Result<Checkpoint> cp = DecodeCheckpoint(rec.body);
  if (!cp.has_value()) return std::optional<Checkpoint>();
  return std::optional<Checkpoint>(*cp);
}

// What to dump of one segment.
struct SegmentPlan {
  std::string log_path;    // empty: no .log
  std::string index_path;  // empty: no .index
  bool name_known = false; // first_index comes from the file name
  uint64_t first_index = 0;
  bool last = false;       // the newest segment: a torn tail is possible
  bool report_log = true;  // false: scan the .log only to check the index
};

// Damage found in the records, classified once the whole file is read.
struct Damage {
  uint64_t pos;
  std::string reason;
};

struct BatchEndSeen {
  uint64_t pos;
  uint64_t synced;
};

struct LiveEntry {
  uint64_t index;
  uint64_t pos;
  uint64_t size;
};

struct IndexHeaderView {
  bool sealed = false;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  uint64_t log_end = 0;
  uint64_t seq = 0;
  std::string bad;  // why the header is damaged; empty if it is not
};

// Decodes an index header into `row`. All zeros: an unsealed index.
IndexHeaderView DecodeIndexHeader(std::string_view h, DumpRecord* row) {
  IndexHeaderView v;
  const char* p = h.data();
  if (AllZero(h)) {
    row->status = "unsealed";
    return v;
  }
  if (DecodeFixed64(p + f::kIndexMagicOff) != f::kIndexMagic) {
    v.bad = "bad magic";
  } else if (DecodeFixed64(p + f::kIndexChecksumOff) != common::Checksum64(p, f::kIndexChecksumOff)) {
    v.bad = "bad checksum";
  } else if (DecodeFixed32(p + f::kIndexVersionOff) != f::kFormatVersion) {
    v.bad = "unsupported version " + N(DecodeFixed32(p + f::kIndexVersionOff));
  }
  if (!v.bad.empty()) {
    row->status = "bad";
    row->note = v.bad;
    return v;
  }
  uint32_t flags = DecodeFixed32(p + f::kIndexFlagsOff);
  v.sealed = (flags & f::kIndexFlagSealed) != 0;
  v.first_index = DecodeFixed64(p + f::kIndexFirstIndexOff);
  v.last_index = DecodeFixed64(p + f::kIndexLastIndexOff);
  v.log_end = DecodeFixed64(p + f::kIndexLogEndOff);
  v.seq = DecodeFixed64(p + f::kIndexSeqOff);
  row->status = v.sealed ? "ok" : "unsealed";
  row->fields = {{"flags", flags}, {"first_index", v.first_index}, {"last_index", v.last_index},
                 {"log_end", v.log_end}, {"seq", v.seq}};
  return v;
}

// Dumps one segment: its .log, then its .index.
class SegmentDumper {
 public:
  SegmentDumper(common::Fs& fs, const SegmentPlan& plan, DumpListener& listener, DumpSummary& summary)
      : fs_(fs), plan_(plan), listener_(listener), summary_(summary) {}

  Status Run() {
    if (!plan_.log_path.empty()) RETURN_IF_ERROR(ScanLog());
    if (!plan_.index_path.empty()) return CheckIndex();
    if (plan_.report_log) Problem(Severity::kWarning, plan_.log_path, 0, "no .index file (rebuilt on open)");
    return Status::Ok();
  }

  // The hard state at the end of the segment (its Checkpoint's or a later record's).
  bool has_hard_state() const { return has_hs_; }
  const HardState& hard_state() const { return hs_; }

 private:
  Status ScanLog();
  Status ReadLogHeader(ChunkReader& rd);
  Result<DecodeResult> DecodeAt(ChunkReader& rd, uint64_t pos, RecordView* rec);
  Result<uint64_t> NextNonZero(ChunkReader& rd, uint64_t pos);
  Result<uint64_t> FindNextRecord(ChunkReader& rd, uint64_t from);
  void OnRecord(uint64_t pos, const RecordView& rec);
  Status Apply(uint64_t pos, const RecordView& rec, DumpRecord* row);
  void ApplyEntry(uint64_t pos, const RecordView& rec, const LogEntry& e, DumpRecord* row);
  void ApplyTruncateAfter(uint64_t pos, uint64_t index);
  void ApplyCheckpoint(uint64_t pos, const Checkpoint& cp);
  void ApplyBatchEnd(uint64_t pos, const RecordView& rec, const BatchEnd& be);
  void OnRecordAfterEnd(uint64_t pos, const RecordView& rec);
  void FinishLog();
  Status CheckIndex();
  void CompareSealedIndex(const IndexHeaderView& hdr);
  Status CheckSlots(common::File& index, uint64_t size, bool sealed, uint64_t sealed_last);

  DumpRecord Row(const std::string& file, uint64_t pos, std::string type, uint64_t size, std::string status) {
    DumpRecord r;
    r.file = file;
    r.pos = pos;
    r.type = std::move(type);
    r.size = size;
    r.status = std::move(status);
    return r;
  }
  void Emit(const DumpRecord& row, bool log_row) {
    if (!log_row || plan_.report_log) listener_.OnRecord(row);
  }
  // Queues a problem of the .log (reported after its records, by position).
  void LogProblem(Severity sev, uint64_t pos, std::string reason) {
    if (plan_.report_log) log_problems_.push_back(DumpProblem{sev, plan_.log_path, pos, std::move(reason)});
  }
  void Problem(Severity sev, const std::string& file, uint64_t pos, std::string reason) {
    (sev == Severity::kDataLoss ? summary_.data_loss : summary_.warnings)++;
    listener_.OnProblem(DumpProblem{sev, file, pos, std::move(reason)});
  }
  // Damage whose severity depends on what follows it.
  void Damaged(uint64_t pos, std::string reason) { damage_.push_back(Damage{pos, std::move(reason)}); }

  common::Fs& fs_;
  const SegmentPlan plan_;
  DumpListener& listener_;
  DumpSummary& summary_;

  uint64_t file_size_ = 0;
  uint64_t first_index_ = 0;  // of the segment: from its name, else its header
  bool has_cp_ = false;
  Checkpoint cp_;
  bool has_hs_ = false;
  HardState hs_;
  // Replay of the log state, to check that records follow each other.
  bool chain_known_ = false;
  uint64_t log_first_ = 1;
  uint64_t log_last_ = 0;
  bool round_known_ = true;
  uint64_t round_start_ = f::kLogHeaderSize;
  uint64_t round_count_ = 0;
  bool has_generation_ = false;
  uint32_t generation_ = 0;
  bool sealed_ = false;
  uint64_t seal_last_ = 0;
  bool after_end_ = false;  // past a zero header followed by data
  uint64_t end_of_data_ = 0;  // where the scan met the first zero header, or the end of the file
  uint64_t valid_end_ = 0;    // end of the last valid record before end_of_data_
  std::vector<BatchEndSeen> batch_ends_;  // before the end of data
  std::vector<BatchEndSeen> batch_ends_after_end_;
  std::vector<LiveEntry> live_;  // entry records not removed by a later TruncateAfter
  std::vector<Damage> damage_;
  std::vector<DumpProblem> log_problems_;
};

Status SegmentDumper::ScanLog() {
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> log, fs_.Open(plan_.log_path, common::OpenMode::kRead));
  ASSIGN_OR_RETURN(file_size_, log->Size());
  ChunkReader rd(*log);
  RETURN_IF_ERROR(ReadLogHeader(rd));
  uint64_t pos = f::kLogHeaderSize;
  while (true) {
    RecordView rec;
    ASSIGN_OR_RETURN(DecodeResult r, DecodeAt(rd, pos, &rec));
    if (r == DecodeResult::kOk) {
      if (after_end_) {
        OnRecordAfterEnd(pos, rec);
      } else {
        OnRecord(pos, rec);
        valid_end_ = pos + rec.size;
      }
      pos += rec.size;
      continue;
    }
    if (r == DecodeResult::kZero) {
      ASSIGN_OR_RETURN(uint64_t data_at, NextNonZero(rd, pos));
      if (data_at == kNone) break;  // zeros up to the end of the file
      if (!after_end_) end_of_data_ = pos;
      after_end_ = true;
    } else if (!after_end_) {
      Damaged(pos, DecodeResultName(r));
      round_known_ = false;
      chain_known_ = false;
    }
    ASSIGN_OR_RETURN(uint64_t next, FindNextRecord(rd, pos));
    uint64_t stop = next == kNone ? std::max(pos, file_size_) : next;
    DumpRecord row = Row(plan_.log_path, pos, "damaged", stop - pos,
                         r == DecodeResult::kZero ? "zero header" : DecodeResultName(r));
    row.note = next == kNone ? "no valid record up to the end of the file" : "next valid record at " + N(next);
    Emit(row, true);
    if (next == kNone) {
      pos = stop;
      break;
    }
    pos = next;
  }
  if (!after_end_) end_of_data_ = pos;
  FinishLog();
  return Status::Ok();
}

Status SegmentDumper::ReadLogHeader(ChunkReader& rd) {
  ASSIGN_OR_RETURN(std::string_view h, rd.Get(0, f::kLogHeaderSize));
  DumpRecord row = Row(plan_.log_path, 0, "log-header", f::kLogHeaderSize, "ok");
  Result<uint64_t> named = DecodeLogHeader(h);
  first_index_ = plan_.first_index;
  if (!named.has_value()) {
    row.status = "bad";
    row.note = named.error().message();
    LogProblem(Severity::kDataLoss, 0, "log header: " + named.error().message());
  } else {
    row.fields = {{"first_index", *named}, {"version", DecodeFixed32(h.data() + f::kLogHeaderVersionOff)}};
    if (!plan_.name_known) first_index_ = *named;
    if (*named != first_index_) {
      LogProblem(Severity::kDataLoss, 0, "header names first index " + N(*named) + ", the file name " + N(first_index_));
    }
  }
  Emit(row, true);
  return Status::Ok();
}

// Decodes the whole record at `pos`; `rec` points into `rd` until its next Get.
Result<DecodeResult> SegmentDumper::DecodeAt(ChunkReader& rd, uint64_t pos, RecordView* rec) {
  ASSIGN_OR_RETURN(std::string_view head, rd.Get(pos, f::kRecordHeaderSize));
  DecodeResult r = DecodeRecord(head, rec);
  if ((r == DecodeResult::kOk || r == DecodeResult::kTruncated) && head.size() == f::kRecordHeaderSize) {
    uint32_t len = DecodeFixed32(head.data() + f::kRecordLengthOff);
    ASSIGN_OR_RETURN(std::string_view whole, rd.Get(pos, f::RecordSize(len)));
    r = DecodeRecord(whole, rec);
  }
  return r;
}

// The first 8-byte word at or after `pos` (aligned) holding a non-zero byte, or kNone.
Result<uint64_t> SegmentDumper::NextNonZero(ChunkReader& rd, uint64_t pos) {
  while (true) {
    ASSIGN_OR_RETURN(std::string_view v, rd.Get(pos, kReadChunk));
    if (v.empty()) return kNone;
    for (size_t i = 0; i < v.size(); i += 8) {
      if (!AllZero(v.substr(i, 8))) return pos + i;
    }
    pos += v.size();
  }
}

// The first aligned position after `from` where a whole valid record decodes, or kNone.
Result<uint64_t> SegmentDumper::FindNextRecord(ChunkReader& rd, uint64_t from) {
  uint64_t p = from + 8;
  while (true) {
    ASSIGN_OR_RETURN(std::string_view head, rd.Get(p, f::kRecordHeaderSize));
    if (head.size() < f::kRecordHeaderSize) return kNone;
    if (AllZero(head)) {
      ASSIGN_OR_RETURN(p, NextNonZero(rd, p));
      if (p == kNone) return kNone;
      continue;
    }
    uint8_t type = static_cast<uint8_t>(head[f::kRecordTypeOff]);
    bool plausible = type != 0 && type <= f::kMaxRecordType && AllZero(head.substr(13, 3)) &&
                     DecodeFixed32(head.data() + f::kRecordLengthOff) <= f::kMaxRecordBody;
    if (plausible) {
      RecordView rec;
      ASSIGN_OR_RETURN(DecodeResult r, DecodeAt(rd, p, &rec));
      if (r == DecodeResult::kOk) return p;
    }
    p += 8;
  }
}

void SegmentDumper::OnRecord(uint64_t pos, const RecordView& rec) {
  DumpRecord row = Row(plan_.log_path, pos, RecordTypeName(rec.type), rec.size, "ok");
  if (pos == f::kLogHeaderSize && rec.type != RecordType::kCheckpoint) {
    LogProblem(Severity::kDataLoss, pos, std::string("first record is a ") + RecordTypeName(rec.type) + ", not a checkpoint");
  }
  Status s = Apply(pos, rec, &row);
  if (!s.ok()) {
    // A valid checksum over a malformed body: written wrong, Open refuses it.
    row.status = "malformed";
    row.note = s.message();
    LogProblem(Severity::kDataLoss, pos, s.message());
  }
  if (rec.type != RecordType::kBatchEnd) round_count_++;
  if (plan_.report_log) {
    summary_.records++;
    summary_.records_by_type[RecordTypeName(rec.type)]++;
  }
  Emit(row, true);
}

// Decodes the body into `row` and replays it, as recovery would.
Status SegmentDumper::Apply(uint64_t pos, const RecordView& rec, DumpRecord* row) {
  switch (rec.type) {
    case RecordType::kEntry: {
      ASSIGN_OR_RETURN(LogEntry e, DecodeEntry(rec.body));
      ApplyEntry(pos, rec, e, row);
      break;
    }
    case RecordType::kHardState: {
      ASSIGN_OR_RETURN(hs_, DecodeHardState(rec.body));
      has_hs_ = true;
      row->fields = {{"term", hs_.term}, {"vote", hs_.vote}, {"commit", hs_.commit}};
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
      sealed_ = true;
      seal_last_ = s.first;
      break;
    }
  }
  return Status::Ok();
}

void SegmentDumper::ApplyTruncateAfter(uint64_t pos, uint64_t index) {
  if (chain_known_ && (index + 1 < log_first_ || index > log_last_)) {
    Damaged(pos, "truncate-after " + N(index) + " outside the log [" + N(log_first_) + ", " + N(log_last_) + "]");
  }
  log_last_ = index;
  while (!live_.empty() && live_.back().index > index) live_.pop_back();
}

// The segment's first record: the log state the rest of the segment builds on.
void SegmentDumper::ApplyCheckpoint(uint64_t pos, const Checkpoint& cp) {
  if (pos != f::kLogHeaderSize) {
    Damaged(pos, "checkpoint record after the start of the segment");
    return;
  }
  cp_ = cp;
  has_cp_ = true;
  hs_ = cp.hard_state;
  has_hs_ = true;
  log_first_ = cp.first_index;
  log_last_ = cp.last_index;
  chain_known_ = true;
  if (cp.last_index + 1 != first_index_) {
    LogProblem(Severity::kDataLoss, pos, "checkpoint last index " + N(cp.last_index) +
                                             " does not precede the segment's first index " + N(first_index_));
  }
}

void SegmentDumper::ApplyEntry(uint64_t pos, const RecordView& rec, const LogEntry& e, DumpRecord* row) {
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
  while (!live_.empty() && live_.back().index >= e.index) live_.pop_back();
  live_.push_back(LiveEntry{e.index, pos, rec.size});
  if (!plan_.report_log) return;
  if (!summary_.has_entries || e.index < summary_.first_index_seen) summary_.first_index_seen = e.index;
  if (!summary_.has_entries || e.index > summary_.last_index_seen) summary_.last_index_seen = e.index;
  summary_.has_entries = true;
}

void SegmentDumper::ApplyBatchEnd(uint64_t pos, const RecordView& rec, const BatchEnd& be) {
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
void SegmentDumper::OnRecordAfterEnd(uint64_t pos, const RecordView& rec) {
  DumpRecord row = Row(plan_.log_path, pos, RecordTypeName(rec.type), rec.size, "after-end");
  if (rec.type == RecordType::kBatchEnd) {
    Result<BatchEnd> be = DecodeBatchEnd(rec.body);
    if (be.has_value()) batch_ends_after_end_.push_back(BatchEndSeen{pos, be->synced});
  }
  if (plan_.report_log) summary_.records_after_end++;
  Emit(row, true);
}

void SegmentDumper::FinishLog() {
  bool tail_ok = plan_.last && !sealed_;  // where a torn tail may be
  auto synced_after = [&](uint64_t damage_pos) -> std::optional<BatchEndSeen> {
    for (const auto* list : {&batch_ends_, &batch_ends_after_end_}) {
      for (const BatchEndSeen& be : *list) {
        if (be.pos > damage_pos && be.synced > damage_pos) return be;
      }
    }
    return std::nullopt;
  };
  if (batch_ends_.empty()) LogProblem(Severity::kDataLoss, f::kLogHeaderSize, "no complete write round after the header");
  for (const Damage& d : damage_) {
    std::optional<BatchEndSeen> later = synced_after(d.pos);
    if (!tail_ok) {
      LogProblem(Severity::kDataLoss, d.pos, d.reason + (plan_.last ? " (sealed segment)" : " (not the last segment)"));
    } else if (later) {
      LogProblem(Severity::kDataLoss, d.pos, d.reason + ", but the batch-end at " + N(later->pos) + " says " +
                                                 N(later->synced) + " bytes had been synced");
    } else {
      LogProblem(Severity::kWarning, d.pos, "torn tail (cut on open): " + d.reason);
    }
  }
  if (round_known_ && round_count_ > 0) {
    std::string what = "incomplete write round of " + N(round_count_) + " records";
    LogProblem(tail_ok ? Severity::kWarning : Severity::kDataLoss, round_start_,
               tail_ok ? "torn tail (cut on open): " + what : what + " in a sealed or earlier segment");
  }
  if (after_end_) {
    std::optional<BatchEndSeen> later = synced_after(end_of_data_);
    if (later) {
      LogProblem(Severity::kDataLoss, end_of_data_, "zero record header, but the batch-end at " + N(later->pos) +
                                                        " says " + N(later->synced) +
                                                        " bytes had been synced; open would stop here");
    } else {
      LogProblem(Severity::kWarning, end_of_data_, "bytes after the end of data, never synced (ignored on open)");
    }
  }
  if (!plan_.report_log) return;
  summary_.segments++;
  summary_.data_bytes += valid_end_;
  summary_.file_bytes += file_size_;
  std::stable_sort(log_problems_.begin(), log_problems_.end(),
                   [](const DumpProblem& a, const DumpProblem& b) { return a.pos < b.pos; });
  for (DumpProblem& p : log_problems_) Problem(p.severity, p.file, p.pos, std::move(p.reason));
}

Status SegmentDumper::CheckIndex() {
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> index, fs_.Open(plan_.index_path, common::OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, index->Size());
  summary_.index_files++;
  summary_.file_bytes += size;
  DumpRecord row = Row(plan_.index_path, 0, "index-header", f::kIndexHeaderSize, "ok");
  std::string h(f::kIndexHeaderSize, '\0');
  ASSIGN_OR_RETURN(size_t n, index->ReadAt(0, h.data(), h.size()));
  if (size < f::kIndexHeaderSize + f::kIndexSlotSize || n < h.size()) {
    row.status = "short";
    Emit(row, false);
    Problem(Severity::kWarning, plan_.index_path, 0, "index file of " + N(size) + " bytes is short (rebuilt on open)");
    return Status::Ok();
  }
  IndexHeaderView hdr = DecodeIndexHeader(h, &row);
  row.fields.push_back({"slots", (size - f::kIndexHeaderSize) / f::kIndexSlotSize});
  Emit(row, false);
  if (!hdr.bad.empty()) Problem(Severity::kDataLoss, plan_.index_path, 0, "index header: " + hdr.bad);
  if (plan_.log_path.empty()) return Status::Ok();
  if (hdr.sealed) {
    CompareSealedIndex(hdr);
  } else if (hdr.bad.empty() && sealed_) {
    Problem(Severity::kWarning, plan_.index_path, 0, "the log is sealed but its index is not (rebuilt on open)");
  }
  return CheckSlots(*index, size, hdr.sealed, hdr.last_index);
}

// A sealed index is trusted by Open instead of the .log: it must agree with it.
void SegmentDumper::CompareSealedIndex(const IndexHeaderView& hdr) {
  auto mismatch = [&](const char* what, uint64_t in_index, uint64_t in_log) {
    if (in_index == in_log) return;
    Problem(Severity::kDataLoss, plan_.index_path, 0,
            std::string("sealed index names ") + what + " " + N(in_index) + ", the log " + N(in_log));
  };
  mismatch("first index", hdr.first_index, first_index_);
  if (has_cp_) mismatch("sequence number", hdr.seq, cp_.seq);
  if (!sealed_) {
    Problem(Severity::kDataLoss, plan_.index_path, 0, "index is sealed but the log has no seal record");
    return;
  }
  mismatch("last index", hdr.last_index, seal_last_);
  mismatch("end of data", hdr.log_end, valid_end_);
}

// Every entry still in the log must have its slot. An unsealed index is
// rebuilt from the .log on open, so there a wrong slot is only a warning.
Status SegmentDumper::CheckSlots(common::File& index, uint64_t size, bool sealed, uint64_t sealed_last) {
  ChunkReader rd(index);
  uint64_t slots = (size - f::kIndexHeaderSize) / f::kIndexSlotSize;
  auto report = [&](uint64_t at, const std::string& why) {
    if (sealed) {
      Problem(Severity::kDataLoss, plan_.index_path, at, why);
    } else {
      Problem(Severity::kWarning, plan_.index_path, at, "stale slot of an unsealed index (rebuilt on open): " + why);
    }
  };
  for (const LiveEntry& e : live_) {
    if (e.index < first_index_) continue;  // reported as damage of the .log
    uint64_t slot = e.index - first_index_;
    uint64_t at = f::kIndexHeaderSize + slot * f::kIndexSlotSize;
    if (slot >= slots) {
      report(at, "entry " + N(e.index) + " has no slot: the index holds " + N(slots));
      continue;
    }
    ASSIGN_OR_RETURN(std::string_view v, rd.Get(at, f::kIndexSlotSize));
    uint32_t pos = DecodeFixed32(v.data());
    uint32_t rec_size = DecodeFixed32(v.data() + 4);
    if (pos == 0 && rec_size == 0) {
      if (sealed && e.index <= sealed_last) report(at, "slot of entry " + N(e.index) + " is empty");
      continue;
    }
    if (pos != e.pos || rec_size != e.size) {
      report(at, "slot of entry " + N(e.index) + " says position " + N(pos) + " size " + N(rec_size) +
                     ", the record is at " + N(e.pos) + " size " + N(e.size));
    }
  }
  return Status::Ok();
}

// ---- Directories ----

struct Found {
  uint64_t first_index;
  std::string log_path;
  std::optional<Checkpoint> cp;
};

// Problems between segments, as Open sees them: repeated sequence numbers
// (corruption) and segments left dead by a truncation (deleted on open).
void CheckSegmentOrder(std::vector<const Found*> by_seq, std::vector<DumpProblem>* out) {
  std::stable_sort(by_seq.begin(), by_seq.end(), [](const Found* a, const Found* b) { return a->cp->seq < b->cp->seq; });
  std::vector<const Found*> live;
  for (const Found* s : by_seq) {
    if (!live.empty() && live.back()->cp->seq == s->cp->seq) {
      out->push_back(DumpProblem{Severity::kDataLoss, s->log_path, f::kLogHeaderSize,
                                 "segment sequence number " + N(s->cp->seq) + " repeats " + live.back()->log_path});
    }
    while (!live.empty() && live.back()->first_index > s->cp->last_index) {
      out->push_back(DumpProblem{Severity::kWarning, live.back()->log_path, 0,
                                 "dead segment: " + BaseName(s->log_path) + " (seq " + N(s->cp->seq) +
                                     ") continues the log after index " + N(s->cp->last_index) + "; deleted on open"});
      live.pop_back();
    }
    live.push_back(s);
  }
}

Status DumpDirectory(common::Fs& fs, const std::string& dir, DumpListener& listener, DumpSummary* summary) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(dir));
  std::vector<Found> logs;
  std::vector<uint64_t> indexes;
  std::vector<DumpProblem> dir_problems;
  for (const std::string& name : names) {
    uint64_t first = 0;
    bool is_index = false;
    std::string path = common::JoinPath(dir, name);
    if (ParseSegmentName(name, &first, &is_index)) {
      if (is_index) {
        indexes.push_back(first);
      } else {
        ASSIGN_OR_RETURN(std::optional<Checkpoint> cp, PeekCheckpoint(fs, path));
        logs.push_back(Found{first, path, cp});
      }
    } else if (name != "LOCK" && name != "snapshots" && !EndsWith(name, ".tmp")) {
      dir_problems.push_back(DumpProblem{Severity::kWarning, path, 0, "unknown file (ignored on open)"});
    }
  }
  // The newest segment (highest sequence number) is the one a crash may have torn.
  const Found* newest = logs.empty() ? nullptr : &logs.back();
  std::vector<const Found*> with_cp;
  for (const Found& s : logs) {
    if (!s.cp) continue;
    with_cp.push_back(&s);
    if (!newest->cp || s.cp->seq > newest->cp->seq) newest = &s;
  }
  CheckSegmentOrder(with_cp, &dir_problems);
  for (const Found& s : logs) {
    SegmentPlan plan{s.log_path, "", true, s.first_index, &s == newest, true};
    if (std::find(indexes.begin(), indexes.end(), s.first_index) != indexes.end()) {
      plan.index_path = common::JoinPath(dir, SegmentIndexName(s.first_index));
    }
    SegmentDumper d(fs, plan, listener, *summary);
    RETURN_IF_ERROR(d.Run());
    if (&s == newest && d.has_hard_state()) {
      summary->has_hard_state = true;
      summary->hard_state = d.hard_state();
    }
  }
  for (uint64_t first : indexes) {
    bool has_log = std::any_of(logs.begin(), logs.end(), [&](const Found& s) { return s.first_index == first; });
    if (has_log) continue;
    std::string path = common::JoinPath(dir, SegmentIndexName(first));
    SegmentDumper d(fs, SegmentPlan{"", path, true, first, false, true}, listener, *summary);
    RETURN_IF_ERROR(d.Run());
    dir_problems.push_back(DumpProblem{Severity::kWarning, path, 0, "index file without its .log (removed on open)"});
  }
  for (const DumpProblem& p : dir_problems) {
    (p.severity == Severity::kDataLoss ? summary->data_loss : summary->warnings)++;
    listener.OnProblem(p);
  }
  return Status::Ok();
}

// One .log or .index file, with its sibling when present.
Status DumpSegmentFile(common::Fs& fs, const std::string& path, DumpListener& listener, DumpSummary* summary) {
  std::string dir = common::DirName(path);
  uint64_t first = 0;
  bool is_index = EndsWith(path, ".index");
  bool name_known = ParseSegmentName(BaseName(path), &first, &is_index);
  SegmentPlan plan{is_index ? "" : path, is_index ? path : "", name_known, first, true, !is_index};
  if (name_known) {
    std::string sibling = common::JoinPath(dir, is_index ? SegmentLogName(first) : SegmentIndexName(first));
    ASSIGN_OR_RETURN(bool exists, fs.Exists(sibling));
    if (exists) (is_index ? plan.log_path : plan.index_path) = sibling;
  }
  SegmentDumper d(fs, plan, listener, *summary);
  RETURN_IF_ERROR(d.Run());
  if (!is_index && d.has_hard_state()) {
    summary->has_hard_state = true;
    summary->hard_state = d.hard_state();
  }
  return Status::Ok();
}

}  // namespace

Result<DumpSummary> DumpPath(common::Fs& fs, const std::string& path, DumpListener& listener) {
  ASSIGN_OR_RETURN(bool exists, fs.Exists(path));
  if (!exists) return common::NotFoundError(path + ": no such file or directory");
  DumpSummary summary;
  if (EndsWith(path, ".log") || EndsWith(path, ".index")) {
    RETURN_IF_ERROR(DumpSegmentFile(fs, path, listener, &summary));
    return summary;
  }
  Result<std::vector<std::string>> names = fs.ListDir(path);
  if (!names.has_value()) {
    return common::InvalidArgumentError(path + " is neither a log directory nor a .log or .index file (" +
                                        names.error().message() + ")");
  }
  RETURN_IF_ERROR(DumpDirectory(fs, path, listener, &summary));
  return summary;
}

std::string FormatProblem(const DumpProblem& problem) {
  const char* what = problem.severity == Severity::kDataLoss ? "DATA_LOSS" : "WARNING";
  return std::string(what) + ": " + problem.file + " at " + N(problem.pos) + ": " + problem.reason;
}

}  // namespace storage
