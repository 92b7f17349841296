// replog-dump: lists and verifies the files of a segmented log (DESIGN §2,
// docs/formats/segmented-log.md). Read-only: it does not take the log's LOCK
// and may run while a node has the log open.
//
//   replog-dump PATH            a table of records, the problems, a summary
//   replog-dump --json PATH     JSON lines: one object per record and per
//                               problem, then one {"summary": ...} object
//   replog-dump --verify PATH   the problems and the summary; exit 1 on data loss
//   replog-dump --summary PATH  the summary only
//
// PATH is a log directory, or one .log or .index file. Every mode reads and
// checks everything (storage/dump.h says what); the flags choose what is
// printed. Exit: 0; 1 when --verify found data loss (a DATA_LOSS line);
// 2 for bad flags, a missing path or an I/O error.

#include <fmt/format.h>

// GCC 12 sees a "potential null pointer dereference" inside CLI11 2.1's
// string helpers (std::vector<std::string> growth); not in our code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <CLI/CLI.hpp>
#pragma GCC diagnostic pop

#include <cstdio>
#include <string>

#include "common/fs.h"
#include "storage/dump.h"

namespace {

using storage::DumpProblem;
using storage::DumpRecord;
using storage::DumpSummary;

struct Flags {
  std::string path;
  bool json = false;
  bool verify = false;
  bool summary = false;
};

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += fmt::format("\\u{:04x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// ---- Table ----

std::string TableHeader() {
  return fmt::format("{:<26} {:>10}  {:<14} {:>8} {:>6} {:>8}  {:<12} {}", "FILE", "POSITION", "TYPE", "INDEX", "TERM",
                     "SIZE", "STATUS", "DETAIL");
}

std::string TableRow(const DumpRecord& r) {
  std::string index = r.has_index ? std::to_string(r.index) : "-";
  std::string term = r.has_index ? std::to_string(r.term) : "-";
  // Entries: the index and term have columns, the note says the rest.
  std::string detail;
  if (!r.has_index) {
    for (const auto& field : r.fields) detail += fmt::format("{}{}={}", detail.empty() ? "" : " ", field.name, field.value);
  }
  if (!r.note.empty()) detail += (detail.empty() ? "" : " ") + r.note;
  return fmt::format("{:<26} {:>10}  {:<14} {:>8} {:>6} {:>8}  {:<12} {}", BaseName(r.file), r.pos, r.type, index, term,
                     r.size, r.status, detail);
}

std::string SummaryText(const DumpSummary& s) {
  std::string by_type;
  for (const auto& [type, n] : s.records_by_type) by_type += fmt::format("{}{} {}", by_type.empty() ? "" : ", ", type, n);
  std::string out = "summary\n";
  out += fmt::format("  segments    {}, index files {}\n", s.segments, s.index_files);
  out += fmt::format("  records     {}{}{} ({} after the end of data)\n", s.records, by_type.empty() ? "" : ": ", by_type,
                     s.records_after_end);
  out += s.has_entries ? fmt::format("  entries     {} .. {}\n", s.first_index_seen, s.last_index_seen)
                       : std::string("  entries     none\n");
  out += s.has_hard_state ? fmt::format("  hard state  term {}, vote {}, commit {}\n", s.hard_state.term,
                                        s.hard_state.vote, s.hard_state.commit)
                          : std::string("  hard state  none\n");
  out += fmt::format("  bytes       {} of data, {} in files\n", s.data_bytes, s.file_bytes);
  out += fmt::format("  problems    {} data loss, {} warnings\n", s.data_loss, s.warnings);
  return out;
}

// ---- JSON lines ----

std::string RecordJson(const DumpRecord& r) {
  std::string out = fmt::format("{{\"file\":{},\"pos\":{},\"type\":{},\"size\":{},\"status\":{}", JsonString(r.file), r.pos,
                                JsonString(r.type), r.size, JsonString(r.status));
  for (const auto& field : r.fields) out += fmt::format(",\"{}\":{}", field.name, field.value);
  if (!r.note.empty()) out += ",\"note\":" + JsonString(r.note);
  return out + "}";
}

std::string ProblemJson(const DumpProblem& p) {
  const char* severity = p.severity == storage::Severity::kDataLoss ? "data_loss" : "warning";
  return fmt::format("{{\"problem\":\"{}\",\"file\":{},\"pos\":{},\"reason\":{}}}", severity, JsonString(p.file), p.pos,
                     JsonString(p.reason));
}

std::string SummaryJson(const DumpSummary& s) {
  std::string by_type;
  for (const auto& [type, n] : s.records_by_type) by_type += fmt::format("{}\"{}\":{}", by_type.empty() ? "" : ",", type, n);
  std::string entries = s.has_entries ? fmt::format("\"first_index_seen\":{},\"last_index_seen\":{}", s.first_index_seen,
                                                    s.last_index_seen)
                                      : std::string("\"first_index_seen\":null,\"last_index_seen\":null");
  std::string hs = s.has_hard_state ? fmt::format("{{\"term\":{},\"vote\":{},\"commit\":{}}}", s.hard_state.term,
                                                  s.hard_state.vote, s.hard_state.commit)
                                    : std::string("null");
  return fmt::format(
      "{{\"summary\":{{\"segments\":{},\"index_files\":{},\"records\":{},\"records_after_end\":{},"
      "\"records_by_type\":{{{}}},{},\"hard_state\":{},\"data_bytes\":{},\"file_bytes\":{},\"data_loss\":{},"
      "\"warnings\":{}}}}}",
      s.segments, s.index_files, s.records, s.records_after_end, by_type, entries, hs, s.data_bytes, s.file_bytes,
      s.data_loss, s.warnings);
}

// Prints what the flags ask for, as it is found.
class Printer final : public storage::DumpListener {
 public:
  explicit Printer(const Flags& flags)
      : json_(flags.json), records_(!flags.verify && !flags.summary), problems_(flags.verify || !flags.summary) {}

  void OnRecord(const DumpRecord& rec) override {
    if (!records_) return;
    if (!json_ && !header_done_) {
      std::puts(TableHeader().c_str());
      header_done_ = true;
    }
    std::puts((json_ ? RecordJson(rec) : TableRow(rec)).c_str());
  }

  void OnProblem(const DumpProblem& problem) override {
    if (problems_) std::puts((json_ ? ProblemJson(problem) : storage::FormatProblem(problem)).c_str());
  }

  void Finish(const DumpSummary& summary) {
    if (json_) {
      std::puts(SummaryJson(summary).c_str());
    } else {
      if (header_done_) std::puts("");
      std::fputs(SummaryText(summary).c_str(), stdout);
    }
  }

 private:
  const bool json_;
  const bool records_;
  const bool problems_;
  bool header_done_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{"Lists and verifies the files of a replog segmented log (read-only; no LOCK taken)."};
  app.add_option("path", flags.path, "A log directory, or one .log or .index file")->required();
  app.add_flag("--json", flags.json, "Print JSON lines: one object per record and per problem, then the summary");
  app.add_flag("--verify", flags.verify, "Print only problems and the summary; exit 1 on any DATA_LOSS");
  app.add_flag("--summary", flags.summary, "Print only the summary");
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }

  common::PosixFs fs;
  Printer printer(flags);
  common::Result<DumpSummary> summary = storage::DumpPath(fs, flags.path, printer);
  if (!summary.has_value()) {
    std::fflush(stdout);
    std::fprintf(stderr, "replog-dump: %s\n", summary.error().ToString().c_str());
    return 2;
  }
  printer.Finish(*summary);
  return flags.verify && summary->data_loss > 0 ? 1 : 0;
}
