#include "storage/dump.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/checksum.h"
#include "common/coding.h"
#include "common/fs.h"
#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/segmented_log.h"

namespace storage {
namespace {

namespace f = format;

// A directory under $TMPDIR, removed with its files at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dump_test.XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return common::JoinPath(path_, name); }

 private:
  std::string path_;
};

// Builds the bytes of one segment by hand, the way the writer lays them out:
// header, a checkpoint round, then rounds each ended by a BatchEnd that says
// everything before the round was synced.
class SegmentBuilder {
 public:
  explicit SegmentBuilder(uint64_t first_index, uint64_t seq = 1)
      : first_(first_index), salt_(LogHeaderSalt(first_index)), log_(EncodeLogHeader(first_index)) {
    Checkpoint cp{seq, 1, first_index - 1, 0, HardState{1, 1, 0}};
    Add(RecordType::kCheckpoint, EncodeCheckpoint(cp));
    EndRound();
  }

  uint64_t AddEntry(uint64_t index, uint64_t term) {
    uint64_t pos = log_.size();
    AppendEntryRecord(&log_, LogEntry{index, term, EntryKind::kNormal, "entry " + std::to_string(index)});
    SaltRecord(log_.data() + pos, salt_);
    slots_[index] = SlotOf{pos, log_.size() - pos};
    last_ = index;
    count_++;
    return pos;
  }
  uint64_t Add(RecordType type, const std::string& body) {
    uint64_t pos = log_.size();
    AppendRecord(&log_, type, body, salt_);
    count_++;
    return pos;
  }
  // Like the writer, leaves the slots above `index` as they are.
  uint64_t TruncateAfter(uint64_t index) {
    last_ = index;
    return Add(RecordType::kTruncateAfter, EncodeU64(index));
  }
  // Ends the round with a BatchEnd; returns its position.
  uint64_t EndRound() {
    uint64_t pos = log_.size();
    AppendRecord(&log_, RecordType::kBatchEnd, EncodeBatchEnd(round_start_, synced_, count_, 1), salt_);
    synced_ = log_.size();  // each round is synced before the next one is written
    round_start_ = log_.size();
    count_ = 0;
    return pos;
  }
  void Seal() {
    Add(RecordType::kSeal, EncodeU64Pair(last_, last_ + 1 - first_));
    EndRound();
    sealed_ = true;
  }

  uint64_t size() const { return log_.size(); }
  std::string& bytes() { return log_; }
  // The .log as written into a preallocated (zero-filled) file of `file_bytes`.
  std::string Log(size_t file_bytes = 4096) const {
    std::string out = log_;
    if (out.size() < file_bytes) out.resize(file_bytes, '\0');
    return out;
  }
  // The .index: a sealed header when the segment is sealed, then the slots.
  std::string Index(uint64_t slots = 16) const {
    std::string out(f::kIndexHeaderSize + slots * f::kIndexSlotSize, '\0');
    if (sealed_) {
      char* h = out.data();
      common::EncodeFixed64(h + f::kIndexMagicOff, f::kIndexMagic);
      common::EncodeFixed32(h + f::kIndexVersionOff, f::kFormatVersion);
      common::EncodeFixed32(h + f::kIndexFlagsOff, f::kIndexFlagSealed);
      common::EncodeFixed64(h + f::kIndexFirstIndexOff, first_);
      common::EncodeFixed64(h + f::kIndexLastIndexOff, last_);
      common::EncodeFixed64(h + f::kIndexLogEndOff, log_.size());
      common::EncodeFixed64(h + f::kIndexSeqOff, 1);
      common::EncodeFixed64(h + f::kIndexChecksumOff, common::Checksum64(h, f::kIndexChecksumOff));
    }
    for (const auto& [index, s] : slots_) {
      char* p = out.data() + f::kIndexHeaderSize + (index - first_) * f::kIndexSlotSize;
      common::EncodeFixed32(p, static_cast<uint32_t>(s.pos));
      common::EncodeFixed32(p + 4, static_cast<uint32_t>(s.size));
    }
    return out;
  }

 private:
  struct SlotOf {
    uint64_t pos, size;
  };
  const uint64_t first_;
  const uint64_t salt_;
  std::string log_;
  std::map<uint64_t, SlotOf> slots_;
  uint64_t last_ = 0;
  uint64_t round_start_ = f::kLogHeaderSize;
  uint64_t synced_ = 0;
  uint32_t count_ = 0;
  bool sealed_ = false;
};

void WriteFile(const std::string& path, const std::string& bytes) {
  common::PosixFs fs;
  auto file = fs.Open(path, common::OpenMode::kCreate);
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  ASSERT_TRUE((*file)->Truncate(0).ok());
  ASSERT_TRUE((*file)->WriteAt(0, bytes.data(), bytes.size()).ok());
}

void FlipByte(std::string* bytes, uint64_t pos) { (*bytes)[pos] = static_cast<char>((*bytes)[pos] ^ 0x40); }

struct Dumped {
  DumpSummary summary;
  DumpCollector out;
};

Dumped Dump(const std::string& path) {
  common::PosixFs fs;
  Dumped d;
  Result<DumpSummary> s = DumpPath(fs, path, d.out);
  EXPECT_TRUE(s.has_value()) << s.error().ToString();
  if (s.has_value()) d.summary = *s;
  return d;
}

std::string Problems(const DumpCollector& c) {
  std::string s;
  for (const DumpProblem& p : c.problems) s += FormatProblem(p) + "\n";
  return s;
}

const DumpRecord* FindAt(const DumpCollector& c, const std::string& file, uint64_t pos) {
  for (const DumpRecord& r : c.records) {
    if (r.file == file && r.pos == pos) return &r;
  }
  return nullptr;
}

// A segment of entries 1..6 in three rounds of two, preallocated.
SegmentBuilder ThreeRounds(std::vector<uint64_t>* entry_pos) {
  SegmentBuilder b(1);
  for (uint64_t i = 1; i <= 6; i++) {
    entry_pos->push_back(b.AddEntry(i, 1));
    if (i % 2 == 0) b.EndRound();
  }
  return b;
}

// The worked example of docs/formats/segmented-log.md, byte for byte.
TEST(DumpTest, FormatDocWorkedExample) {
  const unsigned char kEntry[] = {
      0xdc, 0x1e, 0x2f, 0x38, 0x1e, 0x1f, 0x9d, 0x99, 0x1d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
      0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x00, 0x00, 0x00};
  const unsigned char kHeader[] = {0x52, 0x50, 0x4c, 0x47, 0x4c, 0x4f, 0x47, 0x31, 0x03, 0x00, 0x00,
                                   0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x00, 0x20, 0xc4, 0x9b, 0xb6, 0xc9, 0x9c, 0x0f, 0x80};
  std::string entry;
  AppendEntryRecord(&entry, LogEntry{7, 2, EntryKind::kNormal, "hello"});
  SaltRecord(entry.data(), LogHeaderSalt(1));  // in the segment of first index 1
  EXPECT_EQ(entry, std::string(reinterpret_cast<const char*>(kEntry), sizeof(kEntry)));
  EXPECT_EQ(EncodeLogHeader(1), std::string(reinterpret_cast<const char*>(kHeader), sizeof(kHeader)));
}

TEST(DumpTest, CleanSegmentListsEveryRecord) {
  TempDir dir;
  SegmentBuilder b(1);
  uint64_t e1 = b.AddEntry(1, 1);
  b.AddEntry(2, 1);
  b.EndRound();
  uint64_t hs = b.Add(RecordType::kHardState, EncodeHardState(HardState{2, 3, 2}));
  b.AddEntry(3, 2);
  b.EndRound();
  WriteFile(dir.File(SegmentLogName(1)), b.Log());
  WriteFile(dir.File(SegmentIndexName(1)), b.Index());
  WriteFile(dir.File("LOCK"), "123");

  Dumped d = Dump(dir.path());
  EXPECT_EQ(Problems(d.out), "");
  std::vector<std::string> types;
  for (const DumpRecord& r : d.out.records) types.push_back(r.type);
  EXPECT_EQ(types, (std::vector<std::string>{"log-header", "checkpoint", "batch-end", "entry", "entry", "batch-end",
                                             "hard-state", "entry", "batch-end", "index-header"}));
  const DumpRecord* entry = FindAt(d.out, dir.File(SegmentLogName(1)), e1);
  ASSERT_NE(entry, nullptr);
  EXPECT_TRUE(entry->has_index);
  EXPECT_EQ(entry->index, 1u);
  EXPECT_EQ(entry->term, 1u);
  EXPECT_EQ(entry->size, f::RecordSize(f::kEntryHeaderSize + 7));
  EXPECT_EQ(entry->status, "ok");
  const DumpRecord* hard = FindAt(d.out, dir.File(SegmentLogName(1)), hs);
  ASSERT_NE(hard, nullptr);
  ASSERT_EQ(hard->fields.size(), 3u);
  EXPECT_EQ(hard->fields[1].name, "vote");
  EXPECT_EQ(hard->fields[1].value, 3u);

  EXPECT_EQ(d.summary.segments, 1u);
  EXPECT_EQ(d.summary.index_files, 1u);
  EXPECT_EQ(d.summary.records, 8u);
  EXPECT_EQ(d.summary.records_by_type["entry"], 3u);
  EXPECT_EQ(d.summary.records_by_type["batch-end"], 3u);
  EXPECT_EQ(d.summary.first_index_seen, 1u);
  EXPECT_EQ(d.summary.last_index_seen, 3u);
  EXPECT_EQ(d.summary.hard_state, (HardState{2, 3, 2}));
  EXPECT_EQ(d.summary.data_bytes, b.size());
  EXPECT_EQ(d.summary.data_loss + d.summary.warnings, 0u);
}

TEST(DumpTest, FlippedByteInTheMiddleIsDataLossAndLaterRecordsAreListed) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  std::string log = b.Log();
  FlipByte(&log, pos[1] + f::kRecordHeaderSize + f::kEntryHeaderSize + 2);  // a payload byte of entry 2
  std::string path = dir.File(SegmentLogName(1));
  WriteFile(path, log);
  WriteFile(dir.File(SegmentIndexName(1)), b.Index());

  Dumped d = Dump(dir.path());
  ASSERT_EQ(d.out.problems.size(), 1u) << Problems(d.out);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kDataLoss);
  EXPECT_EQ(d.out.problems[0].file, path);
  EXPECT_EQ(d.out.problems[0].pos, pos[1]);
  EXPECT_NE(d.out.problems[0].reason.find("bad checksum"), std::string::npos);
  const DumpRecord* damaged = FindAt(d.out, path, pos[1]);
  ASSERT_NE(damaged, nullptr);
  EXPECT_EQ(damaged->type, "damaged");
  EXPECT_EQ(damaged->status, "bad checksum");
  for (size_t i = 2; i < 6; i++) {
    const DumpRecord* later = FindAt(d.out, path, pos[i]);
    ASSERT_NE(later, nullptr) << "entry " << i + 1;
    EXPECT_EQ(later->status, "ok");
    EXPECT_EQ(later->index, i + 1);
  }
  EXPECT_EQ(d.summary.data_loss, 1u);
}

TEST(DumpTest, TornLastRoundIsAWarning) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  // The last round reached the disk only up to the middle of entry 6.
  std::string log = b.bytes().substr(0, pos[5] + 20);
  log.resize(4096, '\0');
  std::string path = dir.File(SegmentLogName(1));
  WriteFile(path, log);

  Dumped d = Dump(path);
  ASSERT_EQ(d.out.problems.size(), 2u) << Problems(d.out);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kWarning);
  EXPECT_EQ(d.out.problems[0].pos, pos[5]);
  EXPECT_NE(d.out.problems[0].reason.find("torn tail"), std::string::npos);
  EXPECT_NE(d.out.problems[1].reason.find("no .index file"), std::string::npos);
  EXPECT_EQ(d.summary.data_loss, 0u);
  EXPECT_EQ(d.summary.last_index_seen, 5u);
}

TEST(DumpTest, TornTailAtEndOfFileAndIncompleteRoundAreWarnings) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  b.AddEntry(7, 1);  // a round without its BatchEnd
  std::string path = dir.File(SegmentLogName(1));
  WriteFile(path, b.bytes().substr(0, b.size() - 3));  // not preallocated; ends inside entry 7

  Dumped d = Dump(path);
  ASSERT_GE(d.out.problems.size(), 1u);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kWarning);
  EXPECT_NE(d.out.problems[0].reason.find("truncated"), std::string::npos) << Problems(d.out);
  EXPECT_EQ(d.summary.data_loss, 0u);

  WriteFile(path, b.Log());  // entry 7 whole, its BatchEnd missing
  d = Dump(path);
  EXPECT_EQ(d.summary.data_loss, 0u) << Problems(d.out);
  EXPECT_NE(Problems(d.out).find("torn tail (cut on open): incomplete write round of 1 records"), std::string::npos)
      << Problems(d.out);
}

TEST(DumpTest, DamageInASealedSegmentIsDataLoss) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  b.Seal();
  std::string log = b.Log();
  FlipByte(&log, pos[5] + 3);  // the checksum of entry 6, in the last round before the seal
  WriteFile(dir.File(SegmentLogName(1)), log);
  WriteFile(dir.File(SegmentIndexName(1)), b.Index());

  Dumped d = Dump(dir.path());
  ASSERT_EQ(d.out.problems.size(), 1u) << Problems(d.out);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kDataLoss);
  EXPECT_EQ(d.out.problems[0].pos, pos[5]);
}

TEST(DumpTest, ZeroedHeaderInsideSyncedDataIsDataLoss) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  std::string log = b.Log();
  std::fill(log.begin() + static_cast<std::ptrdiff_t>(pos[2]),
            log.begin() + static_cast<std::ptrdiff_t>(pos[2] + f::kRecordHeaderSize), '\0');
  std::string path = dir.File(SegmentLogName(1));
  WriteFile(path, log);

  Dumped d = Dump(path);
  ASSERT_GE(d.out.problems.size(), 1u);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kDataLoss) << Problems(d.out);
  EXPECT_EQ(d.out.problems[0].pos, pos[2]);
  EXPECT_NE(d.out.problems[0].reason.find("zero record header"), std::string::npos);
  EXPECT_EQ(d.summary.records_after_end, 5u);  // entries 4..6 and the BatchEnds of their rounds
}

TEST(DumpTest, UnsyncedBytesAfterTheEndOfDataAreAWarning) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  std::string log = b.Log();
  log[b.size() + 200] = 'x';
  std::string path = dir.File(SegmentLogName(1));
  WriteFile(path, log);

  Dumped d = Dump(path);
  EXPECT_EQ(d.summary.data_loss, 0u) << Problems(d.out);
  EXPECT_NE(Problems(d.out).find("at " + std::to_string(b.size()) + ": bytes after the end of data, never synced"),
            std::string::npos)
      << Problems(d.out);
}

TEST(DumpTest, SealedIndexSlotMismatchIsDataLoss) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  b.Seal();
  std::string index = b.Index();
  uint64_t slot2 = f::kIndexHeaderSize + 1 * f::kIndexSlotSize;
  common::EncodeFixed32(index.data() + slot2, static_cast<uint32_t>(pos[2]));
  WriteFile(dir.File(SegmentLogName(1)), b.Log());
  std::string index_path = dir.File(SegmentIndexName(1));
  WriteFile(index_path, index);

  Dumped d = Dump(dir.path());
  ASSERT_EQ(d.out.problems.size(), 1u) << Problems(d.out);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kDataLoss);
  EXPECT_EQ(d.out.problems[0].file, index_path);
  EXPECT_EQ(d.out.problems[0].pos, slot2);
  EXPECT_NE(d.out.problems[0].reason.find("slot of entry 2 says position " + std::to_string(pos[2])),
            std::string::npos);
}

TEST(DumpTest, StaleSlotOfAnUnsealedIndexIsAWarning) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  std::string index = b.Index();
  common::EncodeFixed32(index.data() + f::kIndexHeaderSize + 4, 8);  // size of entry 1's slot
  WriteFile(dir.File(SegmentLogName(1)), b.Log());
  WriteFile(dir.File(SegmentIndexName(1)), index);

  Dumped d = Dump(dir.path());
  ASSERT_EQ(d.out.problems.size(), 1u) << Problems(d.out);
  EXPECT_EQ(d.out.problems[0].severity, Severity::kWarning);
  EXPECT_NE(d.out.problems[0].reason.find("stale slot"), std::string::npos);
}

TEST(DumpTest, IndexHeaderChecksumIsChecked) {
  TempDir dir;
  std::vector<uint64_t> pos;
  SegmentBuilder b = ThreeRounds(&pos);
  b.Seal();
  std::string index = b.Index();
  FlipByte(&index, f::kIndexLastIndexOff);
  WriteFile(dir.File(SegmentLogName(1)), b.Log());
  std::string index_path = dir.File(SegmentIndexName(1));
  WriteFile(index_path, index);

  Dumped d = Dump(index_path);  // the .index alone: its header row, checked against the .log
  ASSERT_EQ(d.out.records.size(), 1u);
  EXPECT_EQ(d.out.records[0].type, "index-header");
  EXPECT_EQ(d.out.records[0].status, "bad");
  ASSERT_EQ(d.out.problems.size(), 1u) << Problems(d.out);
  EXPECT_EQ(FormatProblem(d.out.problems[0]), "DATA_LOSS: " + index_path + " at 0: index header: bad checksum");
}

TEST(DumpTest, TruncatedEntriesAreNotCheckedAgainstTheirSlots) {
  TempDir dir;
  SegmentBuilder b(1);
  for (uint64_t i = 1; i <= 4; i++) b.AddEntry(i, 1);
  b.EndRound();
  b.TruncateAfter(2);
  b.AddEntry(3, 2);
  b.EndRound();
  b.Seal();
  WriteFile(dir.File(SegmentLogName(1)), b.Log());
  WriteFile(dir.File(SegmentIndexName(1)), b.Index());  // slot 3: the new record; slot 4: the old one

  Dumped d = Dump(dir.path());
  EXPECT_EQ(Problems(d.out), "");
}

TEST(DumpTest, EntryOutOfSequenceIsDamage) {
  TempDir dir;
  SegmentBuilder b(1);
  b.AddEntry(1, 1);
  b.EndRound();
  uint64_t bad = b.AddEntry(3, 1);
  b.EndRound();
  b.AddEntry(4, 1);
  b.EndRound();
  std::string path = dir.File(SegmentLogName(1));
  WriteFile(path, b.Log());

  Dumped d = Dump(path);
  EXPECT_NE(Problems(d.out).find("DATA_LOSS: " + path + " at " + std::to_string(bad) + ": entry 3 where 2 was expected"),
            std::string::npos)
      << Problems(d.out);
}

TEST(DumpTest, RepeatedSequenceIsDataLossAndDeadSegmentIsAWarning) {
  TempDir dir;
  SegmentBuilder a(1, 1);
  a.AddEntry(1, 1);
  a.EndRound();
  a.Seal();
  SegmentBuilder dead(5, 2);  // a later truncation to 2 started segment 3 and left this one dead
  dead.AddEntry(5, 1);
  dead.EndRound();
  dead.Seal();
  SegmentBuilder c(3, 3);
  c.AddEntry(3, 2);
  c.EndRound();
  SegmentBuilder twin(7, 3);
  twin.AddEntry(7, 2);
  twin.EndRound();
  WriteFile(dir.File(SegmentLogName(1)), a.Log());
  WriteFile(dir.File(SegmentLogName(5)), dead.Log());
  WriteFile(dir.File(SegmentLogName(3)), c.Log());
  WriteFile(dir.File(SegmentLogName(7)), twin.Log());

  Dumped d = Dump(dir.path());
  std::string problems = Problems(d.out);
  EXPECT_NE(problems.find("segment sequence number 3 repeats"), std::string::npos) << problems;
  EXPECT_NE(problems.find("WARNING: " + dir.File(SegmentLogName(5)) + " at 0: dead segment"), std::string::npos)
      << problems;
}

TEST(DumpTest, MissingPathIsNotFoundAndOtherFilesAreInvalid) {
  TempDir dir;
  common::PosixFs fs;
  DumpCollector c;
  Result<DumpSummary> missing = DumpPath(fs, dir.File("nope"), c);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), common::Code::kNotFound);
  WriteFile(dir.File("notes.txt"), "x");
  Result<DumpSummary> other = DumpPath(fs, dir.File("notes.txt"), c);
  ASSERT_FALSE(other.has_value());
  EXPECT_EQ(other.error().code(), common::Code::kInvalidArgument);
}

// The dump agrees with the engine: a log written through rolls, a
// truncation below the last segment and a purge has no problem, and it can be
// dumped while open (the dump takes no LOCK).
TEST(DumpTest, LogWrittenByTheEngineHasNoProblems) {
  TempDir dir;
  common::PosixFs fs;
  Options options;
  options.segment_bytes = 8192;
  options.max_segment_entries = 4;
  auto log = SegmentedLog::Open(fs, dir.File("log"), options);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  for (uint64_t i = 1; i <= 10; i++) {
    std::vector<LogEntry> e{LogEntry{i, 1, EntryKind::kNormal, std::string(i * 10, 'a')}};
    ASSERT_TRUE((*log)->Append(e).ok());
    if (i % 3 == 0) {
      ASSERT_TRUE((*log)->Sync().ok());
    }
  }
  ASSERT_TRUE((*log)->SetHardState(HardState{2, 1, 6}).ok());
  ASSERT_TRUE((*log)->TruncateAfter(6).ok());
  std::vector<LogEntry> e{LogEntry{7, 2, EntryKind::kNoop, ""}};
  ASSERT_TRUE((*log)->Append(e).ok());
  ASSERT_TRUE((*log)->PurgeUpTo(2, 1).ok());
  ASSERT_TRUE((*log)->Sync().ok());

  Dumped d = Dump(dir.File("log"));
  EXPECT_EQ(Problems(d.out), "");
  EXPECT_EQ(d.summary.hard_state, (HardState{2, 1, 6}));
  EXPECT_EQ(d.summary.last_index_seen, 8u);  // 9 and 10 were in the segment the truncation deleted
  EXPECT_GE(d.summary.segments, 2u);
}

// Segments started in recycled files (purged segments' .log files) hold
// stale bytes of older segments past their end of data: the dump lists them
// as one "stale" row and reports no problem, as Open would.
TEST(DumpTest, RecycledSegmentsEndAtTheirStaleBytes) {
  TempDir dir;
  common::PosixFs fs;
  Options options;
  options.segment_bytes = 8192;
  options.max_segment_entries = 4;
  {
    auto log = SegmentedLog::Open(fs, dir.File("log"), options);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    for (uint64_t i = 1; i <= 40; i++) {
      std::vector<LogEntry> e{LogEntry{i, 1, EntryKind::kNormal, std::string(100, 'a')}};
      ASSERT_TRUE((*log)->Append(e).ok());
      if (i > 8 && i % 4 == 0) {
        ASSERT_TRUE((*log)->PurgeUpTo(i - 8, 1).ok());
      }
      ASSERT_TRUE((*log)->Sync().ok());
    }
  }
  Dumped d = Dump(dir.File("log"));
  EXPECT_EQ(Problems(d.out), "");
  size_t stale = 0;
  for (const DumpRecord& r : d.out.records) stale += r.type == "stale" ? 1 : 0;
  EXPECT_GE(stale, 1u) << "no segment was started in a recycled file";
  EXPECT_EQ(d.summary.last_index_seen, 40u);
}

// Random appends, truncations, purges and hard states over several opens
// (each open adds a generation marker), with small segments: every state the
// engine leaves behind dumps without a problem.
TEST(DumpTest, RandomEngineHistoryHasNoProblems) {
  const uint32_t seed = 20261122;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  TempDir dir;
  common::PosixFs fs;
  Options options;
  options.segment_bytes = 4096;
  options.max_segment_entries = 6;
  for (int open = 0; open < 3; open++) {
    auto log = SegmentedLog::Open(fs, dir.File("log"), options);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    SegmentedLog& l = **log;
    for (int op = 0; op < 30; op++) {
      uint32_t r = rng() % 10;
      if (r < 6) {
        std::vector<LogEntry> batch;
        for (uint32_t n = 1 + rng() % 4; n > 0; n--) {
          batch.push_back(LogEntry{l.last_index() + 1 + batch.size(), 1, EntryKind::kNormal, std::string(rng() % 200, 'p')});
        }
        ASSERT_TRUE(l.Append(batch).ok());
      } else if (r == 6 && l.last_index() >= l.first_index()) {
        ASSERT_TRUE(l.TruncateAfter(l.last_index() - rng() % (l.last_index() - l.first_index() + 1)).ok());
      } else if (r == 7 && l.last_index() > l.first_index() + 4) {
        uint64_t upto = l.first_index() + rng() % 3;
        ASSERT_TRUE(l.PurgeUpTo(upto, *l.Term(upto)).ok());
      } else if (r == 8) {
        ASSERT_TRUE(l.SetHardState(HardState{uint64_t(open) + 1, 1, l.first_index() - 1}).ok());
      } else {
        ASSERT_TRUE(l.Sync().ok());
      }
    }
    ASSERT_TRUE(l.Sync().ok());
    log->reset();
    Dumped d = Dump(dir.File("log"));
    ASSERT_EQ(Problems(d.out), "") << "after open " << open;
    EXPECT_EQ(d.summary.data_loss + d.summary.warnings, 0u);
  }
}

}  // namespace
}  // namespace storage
