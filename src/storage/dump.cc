// DumpPath (dump.h): finds the segments of a directory or the file named, and
// the problems between segments; dump_log_scan.cc and dump_index_check.cc
// check each segment.

#include "storage/dump.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/dump_segment.h"
#include "storage/record.h"
#include "storage/record_format.h"

namespace storage {

namespace f = format;
using common::Status;

DumpRecord MakeRow(const std::string& file, uint64_t pos, std::string type, uint64_t size, std::string status) {
  DumpRecord r;
  r.file = file;
  r.pos = pos;
  r.type = std::move(type);
  r.size = size;
  r.status = std::move(status);
  return r;
}

void ReportProblem(DumpProblem problem, DumpListener& listener, DumpSummary& summary) {
  (problem.severity == Severity::kDataLoss ? summary.data_loss : summary.warnings)++;
  listener.OnProblem(problem);
}

namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Dumps one segment: its .log, then its .index. Returns what the .log scan
// found (empty when there is no .log).
Result<LogScan> DumpSegment(common::Fs& fs, const SegmentPlan& plan, DumpListener& listener, DumpSummary& summary) {
  LogScan log;
  if (!plan.log_path.empty()) {
    ASSIGN_OR_RETURN(log, ScanSegmentLog(fs, plan, listener, summary));
  }
  if (!plan.index_path.empty()) {
    RETURN_IF_ERROR(CheckSegmentIndex(fs, plan, plan.log_path.empty() ? nullptr : &log, listener, summary));
  } else if (plan.report_log) {
    ReportProblem(DumpProblem{Severity::kWarning, plan.log_path, 0, "no .index file (rebuilt on open)"}, listener,
                  summary);
  }
  return log;
}

// Reads the log header and checkpoint of a .log file; nullopt when either is
// damaged (the full scan reports why).
Result<std::optional<Checkpoint>> PeekCheckpoint(common::Fs& fs, const std::string& path) {
  ASSIGN_OR_RETURN(auto file, fs.Open(path, common::OpenMode::kRead));
  std::string buf(f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize), '\0');
  ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, buf.data(), buf.size()));
  buf.resize(n);
  RecordView rec;
  Result<LogHeader> header = DecodeLogHeader(buf);
  if (!header.has_value()) return std::optional<Checkpoint>();
  if (DecodeRecord(std::string_view(buf).substr(f::kLogHeaderSize), &rec, header->salt) != DecodeResult::kOk ||
      rec.type != RecordType::kCheckpoint) {
    return std::optional<Checkpoint>();
  }
  Result<Checkpoint> cp = DecodeCheckpoint(rec.body);
  if (!cp.has_value()) return std::optional<Checkpoint>();
  return std::optional<Checkpoint>(*cp);
}

// A .log file of a directory.
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
                                 "segment sequence number " + std::to_string(s->cp->seq) + " repeats " +
                                     live.back()->log_path});
    }
    while (!live.empty() && live.back()->first_index > s->cp->last_index) {
      out->push_back(DumpProblem{Severity::kWarning, live.back()->log_path, 0,
                                 "dead segment: " + BaseName(s->log_path) + " (seq " + std::to_string(s->cp->seq) +
                                     ") continues the log after index " + std::to_string(s->cp->last_index) +
                                     "; deleted on open"});
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
    ASSIGN_OR_RETURN(LogScan log, DumpSegment(fs, plan, listener, *summary));
    if (&s == newest && log.has_hard_state) {
      summary->has_hard_state = true;
      summary->hard_state = log.hard_state;
    }
  }
  for (uint64_t first : indexes) {
    bool has_log = std::any_of(logs.begin(), logs.end(), [&](const Found& s) { return s.first_index == first; });
    if (has_log) continue;
    std::string path = common::JoinPath(dir, SegmentIndexName(first));
    RETURN_IF_ERROR(DumpSegment(fs, SegmentPlan{"", path, true, first, false, true}, listener, *summary).status());
    dir_problems.push_back(DumpProblem{Severity::kWarning, path, 0, "index file without its .log (removed on open)"});
  }
  for (DumpProblem& p : dir_problems) ReportProblem(std::move(p), listener, *summary);
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
  ASSIGN_OR_RETURN(LogScan log, DumpSegment(fs, plan, listener, *summary));
  if (!is_index && log.has_hard_state) {
    summary->has_hard_state = true;
    summary->hard_state = log.hard_state;
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
  return std::string(what) + ": " + problem.file + " at " + std::to_string(problem.pos) + ": " + problem.reason;
}

}  // namespace storage
