// dump_fixture: writes a small log with the real engine, then optionally
// damages it, for tests/tools/dump_verify_test.sh.
//
//   replog_dump_fixture DIR clean             three segments, a truncation, all synced
//   replog_dump_fixture DIR flip-sealed       a payload byte flipped in the first (sealed) segment
//   replog_dump_fixture DIR flip-synced-tail  a payload byte flipped in the last segment, before synced rounds
//   replog_dump_fixture DIR torn-tail         half a record written after the end of data of the last segment
//
// Prints "<file> at <position>" of the damage (nothing for clean). Exit 2 on error.

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "common/fs.h"
#include "storage/dump.h"
#include "storage/record.h"
#include "storage/segmented_log.h"

namespace {

using common::Status;

storage::LogEntry Entry(uint64_t index, uint64_t term) {
  return storage::LogEntry{index, term, storage::EntryKind::kNormal, "payload of entry " + std::to_string(index)};
}

// Entries 1..8 and 9..16 fill two sealed segments; entries up to 22 go to a
// third; the truncation after 12 leaves 13.. in a new segment named 13 and
// deletes the third. Every round is synced.
Status WriteLog(common::Fs& fs, const std::string& dir) {
  storage::Options options;
  options.segment_bytes = 16 << 10;
  options.max_segment_entries = 8;
  auto opened = storage::SegmentedLog::Open(fs, dir, options);
  if (!opened.has_value()) return opened.error();
  storage::SegmentedLog& log = **opened;
  RETURN_IF_ERROR(log.SetHardState(storage::HardState{1, 1, 0}));
  for (uint64_t i = 1; i <= 22; i += 3) {
    std::vector<storage::LogEntry> batch;
    for (uint64_t j = i; j < i + 3 && j <= 22; j++) batch.push_back(Entry(j, 1));
    RETURN_IF_ERROR(log.Append(batch));
    RETURN_IF_ERROR(log.Sync());
  }
  RETURN_IF_ERROR(log.SetHardState(storage::HardState{2, 2, 12}));
  RETURN_IF_ERROR(log.TruncateAfter(12));
  for (uint64_t i = 13; i <= 15; i++) {
    std::vector<storage::LogEntry> batch{Entry(i, 2)};
    RETURN_IF_ERROR(log.Append(batch));
    RETURN_IF_ERROR(log.Sync());
  }
  return Status::Ok();
}

// The records of one .log file, as the dump library lists them.
common::Result<std::vector<storage::DumpRecord>> Records(common::Fs& fs, const std::string& path) {
  storage::DumpCollector c;
  auto summary = storage::DumpPath(fs, path, c);
  if (!summary.has_value()) return summary.error();
  return c.records;
}

Status Overwrite(common::Fs& fs, const std::string& path, uint64_t pos, const std::string& bytes) {
  auto file = fs.Open(path, common::OpenMode::kReadWrite);
  if (!file.has_value()) return file.error();
  RETURN_IF_ERROR((*file)->WriteAt(pos, bytes.data(), bytes.size()));
  return (*file)->Sync();
}

// Flips the first payload byte of the first entry record of `path`; prints where.
Status FlipFirstEntry(common::Fs& fs, const std::string& path) {
  auto records = Records(fs, path);
  if (!records.has_value()) return records.error();
  for (const storage::DumpRecord& r : *records) {
    if (r.type != "entry") continue;
    uint64_t at = r.pos + storage::format::kRecordHeaderSize + storage::format::kEntryHeaderSize;
    std::string byte(1, '\0');
    auto file = fs.Open(path, common::OpenMode::kRead);
    if (!file.has_value()) return file.error();
    auto n = (*file)->ReadAt(at, byte.data(), 1);
    if (!n.has_value()) return n.error();
    byte[0] = static_cast<char>(byte[0] ^ 0x01);
    std::printf("%s at %llu\n", path.c_str(), static_cast<unsigned long long>(r.pos));
    return Overwrite(fs, path, at, byte);
  }
  return common::NotFoundError("no entry record in " + path);
}

// Writes the first half of a valid entry record at the end of data of `path`.
Status TearTail(common::Fs& fs, const std::string& path) {
  auto records = Records(fs, path);
  if (!records.has_value()) return records.error();
  uint64_t end = 0;
  for (const storage::DumpRecord& r : *records) {
    if (r.file == path && r.status == "ok") end = std::max(end, r.pos + r.size);
  }
  std::string rec;
  storage::AppendEntryRecord(&rec, Entry(16, 2));
  std::printf("%s at %llu\n", path.c_str(), static_cast<unsigned long long>(end));
  return Overwrite(fs, path, end, rec.substr(0, rec.size() / 2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DIR clean|flip-sealed|flip-synced-tail|torn-tail\n", argv[0]);
    return 2;
  }
  std::string dir = argv[1];
  std::string mode = argv[2];
  common::PosixFs fs;
  Status s = WriteLog(fs, dir);
  std::string first = common::JoinPath(dir, storage::SegmentLogName(1));
  std::string last = common::JoinPath(dir, storage::SegmentLogName(13));
  if (s.ok() && mode == "flip-sealed") s = FlipFirstEntry(fs, first);
  if (s.ok() && mode == "flip-synced-tail") s = FlipFirstEntry(fs, last);
  if (s.ok() && mode == "torn-tail") s = TearTail(fs, last);
  if (s.ok() && mode != "clean" && mode != "flip-sealed" && mode != "flip-synced-tail" && mode != "torn-tail") {
    s = common::InvalidArgumentError("unknown mode " + mode);
  }
  if (!s.ok()) {
    std::fprintf(stderr, "dump_fixture: %s\n", s.ToString().c_str());
    return 2;
  }
  return 0;
}
