// The dump's check of one .index file (dump_segment.h): its header and, when
// its .log was scanned, that every entry still in the log has the right slot.

#include <memory>
#include <string>
#include <string_view>

#include "common/checksum.h"
#include "common/coding.h"
#include "storage/dump_segment.h"
#include "storage/record_format.h"
#include "storage/record_reader.h"
#include "storage/segment.h"

namespace storage {

namespace f = format;
using common::DecodeFixed32;
using common::DecodeFixed64;
using common::Status;

namespace {

std::string N(uint64_t v) { return std::to_string(v); }

// Decodes an index header into `hdr` and `row`; returns why it is damaged
// (empty if it is not). All zeros: an unsealed index.
std::string DecodeIndexHeader(std::string_view h, IndexHeader* hdr, DumpRecord* row) {
  const char* p = h.data();
  if (h.find_first_not_of('\0') == std::string_view::npos) {
    row->status = "unsealed";
    return "";
  }
  std::string bad;
  if (DecodeFixed64(p + f::kIndexMagicOff) != f::kIndexMagic) {
    bad = "bad magic";
  } else if (DecodeFixed64(p + f::kIndexChecksumOff) != common::Checksum64(p, f::kIndexChecksumOff)) {
    bad = "bad checksum";
  } else if (DecodeFixed32(p + f::kIndexVersionOff) != f::kFormatVersion) {
    bad = "unsupported version " + N(DecodeFixed32(p + f::kIndexVersionOff));
  }
  if (!bad.empty()) {
    row->status = "bad";
    row->note = bad;
    return bad;
  }
  uint32_t flags = DecodeFixed32(p + f::kIndexFlagsOff);
  hdr->sealed = (flags & f::kIndexFlagSealed) != 0;
  hdr->first_index = DecodeFixed64(p + f::kIndexFirstIndexOff);
  hdr->last_index = DecodeFixed64(p + f::kIndexLastIndexOff);
  hdr->log_end = DecodeFixed64(p + f::kIndexLogEndOff);
  hdr->seq = DecodeFixed64(p + f::kIndexSeqOff);
  row->status = hdr->sealed ? "ok" : "unsealed";
  row->fields = {{"flags", flags}, {"first_index", hdr->first_index}, {"last_index", hdr->last_index},
                 {"log_end", hdr->log_end}, {"seq", hdr->seq}};
  return "";
}

class IndexChecker {
 public:
  IndexChecker(common::Fs& fs, const SegmentPlan& plan, const LogScan* log, DumpListener& listener,
               DumpSummary& summary)
      : fs_(fs), plan_(plan), log_(log), listener_(listener), summary_(summary) {}

  Status Run();

 private:
  void CompareSealedHeader(const IndexHeader& hdr);
  Status CheckSlots(common::File& index, uint64_t size, bool sealed, uint64_t sealed_last);

  void Problem(Severity sev, uint64_t pos, std::string reason) {
    ReportProblem(DumpProblem{sev, plan_.index_path, pos, std::move(reason)}, listener_, summary_);
  }

  common::Fs& fs_;
  const SegmentPlan& plan_;
  const LogScan* const log_;  // null: no .log to check against
  DumpListener& listener_;
  DumpSummary& summary_;
};

Status IndexChecker::Run() {
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> index, fs_.Open(plan_.index_path, common::OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, index->Size());
  summary_.index_files++;
  summary_.file_bytes += size;
  DumpRecord row = MakeRow(plan_.index_path, 0, "index-header", f::kIndexHeaderSize, "ok");
  std::string h(f::kIndexHeaderSize, '\0');
  ASSIGN_OR_RETURN(size_t n, index->ReadAt(0, h.data(), h.size()));
  if (size < f::kIndexHeaderSize + f::kIndexSlotSize || n < h.size()) {
    row.status = "short";
    listener_.OnRecord(row);
    Problem(Severity::kWarning, 0, "index file of " + N(size) + " bytes is short (rebuilt on open)");
    return Status::Ok();
  }
  IndexHeader hdr;
  std::string bad = DecodeIndexHeader(h, &hdr, &row);
  row.fields.push_back({"slots", (size - f::kIndexHeaderSize) / f::kIndexSlotSize});
  listener_.OnRecord(row);
  if (!bad.empty()) Problem(Severity::kDataLoss, 0, "index header: " + bad);
  if (log_ == nullptr) return Status::Ok();
  if (hdr.sealed) {
    CompareSealedHeader(hdr);
  } else if (bad.empty() && log_->sealed) {
    Problem(Severity::kWarning, 0, "the log is sealed but its index is not (rebuilt on open)");
  }
  return CheckSlots(*index, size, hdr.sealed, hdr.last_index);
}

// A sealed index is trusted by Open instead of the .log: it must agree with it.
void IndexChecker::CompareSealedHeader(const IndexHeader& hdr) {
  auto mismatch = [&](const char* what, uint64_t in_index, uint64_t in_log) {
    if (in_index == in_log) return;
    Problem(Severity::kDataLoss, 0, std::string("sealed index names ") + what + " " + N(in_index) + ", the log " + N(in_log));
  };
  mismatch("first index", hdr.first_index, log_->first_index);
  if (log_->has_checkpoint) mismatch("sequence number", hdr.seq, log_->seq);
  if (!log_->sealed) {
    Problem(Severity::kDataLoss, 0, "index is sealed but the log has no seal record");
    return;
  }
  mismatch("last index", hdr.last_index, log_->seal_last);
  mismatch("end of data", hdr.log_end, log_->valid_end);
}

// Every entry still in the log must have its slot. An unsealed index is
// rebuilt from the .log on open, so there a wrong slot is only a warning.
Status IndexChecker::CheckSlots(common::File& index, uint64_t size, bool sealed, uint64_t sealed_last) {
  RecordReader rd(index);
  uint64_t slots = (size - f::kIndexHeaderSize) / f::kIndexSlotSize;
  auto report = [&](uint64_t at, const std::string& why) {
    if (sealed) {
      Problem(Severity::kDataLoss, at, why);
    } else {
      Problem(Severity::kWarning, at, "stale slot of an unsealed index (rebuilt on open): " + why);
    }
  };
  for (const LiveEntry& e : log_->live) {
    if (e.index < log_->first_index) continue;  // reported as damage of the .log
    uint64_t slot = e.index - log_->first_index;
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

}  // namespace

Status CheckSegmentIndex(common::Fs& fs, const SegmentPlan& plan, const LogScan* log, DumpListener& listener,
                         DumpSummary& summary) {
  return IndexChecker(fs, plan, log, listener, summary).Run();
}

}  // namespace storage
