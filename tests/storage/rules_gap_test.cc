// Tests of storage rules that no other test would catch breaking
// (docs/storage-rules.md, "Gaps"): segments are zero-filled ahead of their
// use (WAL-4); one Sync() is one fdatasync for appends and hard states alike
// (rule 1, T9); a segment's checkpoint carries the hard state past the
// deletion of older segments; memory after Open does not grow with the log
// (rule 4); damage to a sealed segment's head or end is kDataLoss, never a
// torn tail (rule 3), and Open writes no sealed .log (WAL-7c); a segment file
// under another name is refused (WAL-1); torn records are counted (WAL-7d);
// unknown files and snapshots/ are left alone (CL-3, DESIGN §2); an index
// that reappears without its .log is removed (WAL-9). Black-box: only the
// public API of SegmentedLog, MemFs and PosixFs.

#include <malloc.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <new>
#include <set>
#include <thread>

#include "rules_fixture.h"

// ---- Live heap bytes, for the memory rule ----
//
// This binary replaces the global operator new and delete to count the bytes
// in use. Only the plain forms are replaced; the aligned forms keep their own
// allocator and are not counted.

namespace {
std::atomic<int64_t> g_live_heap_bytes{0};

// nullptr when out of memory.
void* CountedAlloc(size_t n) noexcept {
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p != nullptr) g_live_heap_bytes += static_cast<int64_t>(malloc_usable_size(p));
  return p;
}

void* CountedAllocOrThrow(size_t n) {
  void* p = CountedAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void CountedFree(void* p) noexcept {
  if (p == nullptr) return;
  g_live_heap_bytes -= static_cast<int64_t>(malloc_usable_size(p));
  std::free(p);
}
}  // namespace

void* operator new(size_t n) { return CountedAllocOrThrow(n); }
void* operator new[](size_t n) { return CountedAllocOrThrow(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void operator delete(void* p) noexcept { CountedFree(p); }
void operator delete[](void* p) noexcept { CountedFree(p); }
void operator delete(void* p, size_t) noexcept { CountedFree(p); }
void operator delete[](void* p, size_t) noexcept { CountedFree(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { CountedFree(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { CountedFree(p); }

namespace storage_testing {
namespace {

using common::Code;
using replog_testing::CrashMode;
using replog_testing::MemFs;
using storage::SegmentedLog;

class RulesGapTest : public RulesTest {
 protected:
  // A MemFs holding the files of mem_ as they are now.
  void CopyFiles(MemFs* to) {
    for (const std::string& path : mem_.ListAll()) ASSERT_TRUE(to->WriteFileForTest(path, *mem_.ReadFileForTest(path)).ok());
  }

  static void ExpectDataLossNaming(const common::Status& s, const std::string& path, const std::string& context) {
    EXPECT_EQ(s.code(), Code::kDataLoss) << context << ": " << s.ToString();
    EXPECT_NE(s.message().find(path), std::string::npos) << context << ": does not name " << path << ": " << s.ToString();
  }
};

// ---- WAL-4: segments are zero-filled ahead of time, off the write path ----

// With preallocation on, Open zero-fills the first segment, and every later
// segment is the file the background thread zero-filled while the previous
// one was filling up (it starts once the tail is half full): the segment has
// its full size from the start, so syncs overwrite blocks that exist. The
// writer never waits for that thread (a roll that outruns it gets a plain
// file), so the test waits for the file before filling the tail.
TEST_F(RulesGapTest, SegmentsAreZeroFilledAheadOfTheirUse) {
  opts_.preallocate = true;
  std::mutex mu;
  std::condition_variable cv;
  std::set<std::string> prealloc_synced;  // guarded by mu
  mem_.SetSyncHook([&](const std::string& path) {
    if (path.find("/prealloc-") == std::string::npos) return;
    {
      std::lock_guard lk(mu);
      prealloc_synced.insert(path);
    }
    cv.notify_all();
  });
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(mem_.ReadFileForTest(LogPath(1))->size(), opts_.segment_bytes) << "the first segment is not zero-filled";

  constexpr int kRolls = 8;
  int prefilled = 0;
  uint64_t next = 1;
  auto append = [&] {
    ASSERT_TRUE(log->Append(MakeEntries(next, 1, 1, 1000)).ok());
    ASSERT_TRUE(log->Sync().ok());
    next++;
  };
  for (int roll = 0; roll < kRolls; roll++) {
    const size_t segments = Segments().size();
    const uint64_t segment_start = log->stats().bytes_written;
    while (log->stats().bytes_written - segment_start < opts_.segment_bytes * 3 / 4) {
      ASSERT_NO_FATAL_FAILURE(append());
      ASSERT_EQ(Segments().size(), segments) << "rolled before the tail was three quarters full";
    }
    std::string ready;  // a zero-filled file waiting to become the next segment
    {
      std::unique_lock lk(mu);
      bool made = cv.wait_for(lk, std::chrono::seconds(10), [&] {
        for (const std::string& p : prealloc_synced) {
          if (*mem_.Exists(p)) ready = p;
        }
        return !ready.empty();
      });
      ASSERT_TRUE(made) << "roll " << roll << ": no segment was zero-filled ahead of time";
    }
    // The thread hands the file over just after syncing it; the next append
    // may roll at once (Sync() callers write themselves), so give it a moment.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    while (Segments().size() == segments) ASSERT_NO_FATAL_FAILURE(append());
    const std::string newest = LogPath(Segments().back());
    if (!*mem_.Exists(ready) && mem_.ReadFileForTest(newest)->size() == opts_.segment_bytes) prefilled++;
  }
  mem_.SetSyncHook({});
  // Normally all; a roll may rarely win the race against the thread that
  // hands over the file it has just synced.
  EXPECT_GE(prefilled, kRolls - 2) << "segments were not the zero-filled files made ahead of time";
}

// ---- Rule 1 and T9: one Sync() is one fdatasync ----

TEST_F(RulesGapTest, OneSyncMakesAppendsAndHardStatesDurableWithOneFdatasync) {
  opts_.segment_bytes = 1 << 20;  // no roll (a roll syncs the sealed segment)
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  std::vector<LogEntry> all = MakeEntries(1, 10, 2, 100);
  ASSERT_TRUE(log->Append({all.data(), 5}).ok());
  ASSERT_TRUE(log->SetHardState({2, 1, 0}).ok());
  ASSERT_TRUE(log->Append({all.data() + 5, 5}).ok());
  ASSERT_TRUE(log->SetHardState({2, 1, 5}).ok());
  const uint64_t before = mem_.sync_count();
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(mem_.sync_count() - before, 1u) << "fdatasync calls for one Sync() of queued appends and hard states";
  log.reset();
  mem_.Crash(CrashMode::kDropUnsynced, 1);
  auto reopened = OpenLog();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->hard_state(), (HardState{2, 1, 5}));
  ExpectEntries(*reopened, all);
}

// ---- DESIGN §2: every segment starts with a checkpoint of the whole state ----

// The hard state is recorded once, in the first segment; after that segment
// is purged and deleted, the checkpoints of later segments still carry it.
TEST_F(RulesGapTest, HardStateSurvivesTheDeletionOfTheSegmentThatRecordedIt) {
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->Append(MakeEntries(1, 10, 3, 100)).ok());
  ASSERT_TRUE(log->SetHardState({3, 2, 8}).ok());
  ASSERT_TRUE(log->Sync().ok());
  for (uint64_t next = 11; Segments().size() < 4; next += 20) {
    ASSERT_TRUE(log->Append(MakeEntries(next, 20, 3, 400)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  const uint64_t purge = Segments()[2];
  ASSERT_TRUE(log->PurgeUpTo(purge, 3).ok());
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_FALSE(*mem_.Exists(LogPath(1))) << "the purge should have deleted the first segment";
  log.reset();
  auto reopened = OpenLog();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->hard_state(), (HardState{3, 2, 8}));
  EXPECT_EQ(reopened->first_index(), purge + 1);
  EXPECT_EQ(*reopened->Term(purge), 3u);
}

// ---- Rule 4: memory does not grow with the length of the log ----

// Heap bytes a log holds after Open and after reading all of it, for a log of
// `entries` small entries in one segment (so only per-entry memory can differ).
struct HeldBytes {
  int64_t after_open = 0;
  int64_t after_reads = 0;
};

HeldBytes HeapHeldByALogOf(uint64_t entries) {
  HeldBytes held;
  std::string tmpl = (std::filesystem::temp_directory_path() / "replog-gap-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return held;
  const std::string dir = tmpl;
  common::PosixFs fs;
  storage::Options opts;
  opts.segment_bytes = 8 << 20;
  opts.max_segment_entries = 1 << 16;
  opts.preallocate = false;
  opts.cache_bytes = 0;
  {
    auto log = SegmentedLog::Open(fs, dir, opts);
    CHECK_MSG(log.has_value(), log.error().ToString());
    for (uint64_t i = 1; i <= entries; i += 1000) CHECK_OK((*log)->Append(MakeEntries(i, 1000, 1, 16)));
    CHECK_OK((*log)->Sync());
  }
  {
    const int64_t before = g_live_heap_bytes;
    auto log = SegmentedLog::Open(fs, dir, opts);
    CHECK_MSG(log.has_value(), log.error().ToString());
    held.after_open = g_live_heap_bytes - before;
    for (uint64_t i = 1; i <= entries; i += 1000) {
      auto got = (*log)->Entries(i, i + 1000, kAll);
      CHECK_MSG(got.has_value() && got->size() == 1000, "reading back the log");
    }
    held.after_reads = g_live_heap_bytes - before;
  }
  std::filesystem::remove_all(dir);
  return held;
}

TEST(RulesGapMemoryTest, HeapAfterOpenAndReadsDoesNotGrowWithTheLog) {
  constexpr uint64_t kShort = 1000, kLong = 11000;
  HeldBytes short_log = HeapHeldByALogOf(kShort);
  HeldBytes long_log = HeapHeldByALogOf(kLong);
  ASSERT_GT(short_log.after_open, 0) << "allocations are not being counted";
  // Less than one byte per extra entry: no per-entry structure (an offset
  // vector alone would take 4 bytes per entry).
  EXPECT_LT(long_log.after_open - short_log.after_open, static_cast<int64_t>(kLong - kShort))
      << "after open: " << short_log.after_open << " B for " << kShort << " entries, " << long_log.after_open
      << " B for " << kLong;
  EXPECT_LT(long_log.after_reads - short_log.after_reads, static_cast<int64_t>(kLong - kShort))
      << "after reading everything: " << short_log.after_reads << " B for " << kShort << " entries, "
      << long_log.after_reads << " B for " << kLong;
}

// ---- Rule 3: damage outside the end of the last segment is corruption ----

// Sealed segments are trusted at open, but their header and checkpoint are
// read: a flipped byte anywhere in them fails Open, naming the file.
TEST_F(RulesGapTest, DamagedHeadOfASealedSegmentFailsOpenNamingTheFile) {
  Fill(300, 30, 100);
  const std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  const uint64_t head = f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize);
  for (uint64_t pos = 0; pos < head; pos++) {
    MemFs mem;
    CopyFiles(&mem);
    mem.FlipByteForTest(LogPath(segs[1]), pos);
    auto log = SegmentedLog::Open(mem, kDir, opts_);
    ASSERT_FALSE(log.has_value()) << "a flipped byte at " << pos << " of a sealed segment's head was accepted";
    ExpectDataLossNaming(log.error(), LogPath(segs[1]), "flip at " + std::to_string(pos));
  }
}

// A sealed segment whose .log ends inside a record lost durable data: when
// its index is gone and Open rebuilds it, that is kDataLoss, not a torn tail
// to cut (only the last segment has one).
TEST_F(RulesGapTest, CutSealedSegmentIsDataLossNotATornTail) {
  Fill(300, 30, 100);
  const std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  const std::string bytes = *mem_.ReadFileForTest(LogPath(segs[0]));
  const std::vector<RecordPos> records = ParseRecords(bytes);
  ASSERT_GT(records.size(), 10u);
  const uint64_t cut = records[records.size() / 2].start + 20;  // inside a record in the middle
  MemFs mem;
  CopyFiles(&mem);
  ASSERT_TRUE(mem.WriteFileForTest(LogPath(segs[0]), bytes.substr(0, cut)).ok());
  ASSERT_TRUE(mem.Remove(IndexPath(segs[0])).ok());
  auto log = SegmentedLog::Open(mem, kDir, opts_);
  ASSERT_FALSE(log.has_value()) << "a sealed segment cut at " << cut << " was opened, last index "
                                << (*log)->last_index();
  ExpectDataLossNaming(log.error(), LogPath(segs[0]), "cut at " + std::to_string(cut));
}

// WAL-7c: Open repairs only the last segment. Even when it rebuilds and
// reseals the lost or damaged index of a sealed segment, the .log files of
// sealed segments keep every byte.
TEST_F(RulesGapTest, OpenNeverWritesTheLogOfASealedSegment) {
  Fill(300, 30, 100);
  const std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  std::map<uint64_t, std::string> sealed;
  for (size_t i = 0; i + 1 < segs.size(); i++) sealed[segs[i]] = *mem_.ReadFileForTest(LogPath(segs[i]));
  ASSERT_TRUE(mem_.Remove(IndexPath(segs[0])).ok());
  mem_.FlipByteForTest(IndexPath(segs[1]), f::kIndexLastIndexOff);
  OpenLog().reset();
  for (const auto& [first, bytes] : sealed) EXPECT_TRUE(*mem_.ReadFileForTest(LogPath(first)) == bytes) << LogPath(first);
}

// ---- WAL-1: a stray file cannot pass for a segment ----

// A segment's bytes under another segment's name (a file copied or renamed
// by hand) are refused: its header and checkpoint name another first index.
TEST_F(RulesGapTest, SegmentUnderAnotherNameFailsOpen) {
  Fill(10, 10, 100);  // one round: no later BatchEnd vouches for it
  ASSERT_EQ(Segments(), std::vector<uint64_t>{1});
  MemFs mem;
  ASSERT_TRUE(mem.WriteFileForTest(LogPath(7), *mem_.ReadFileForTest(LogPath(1))).ok());
  auto log = SegmentedLog::Open(mem, kDir, opts_);
  ASSERT_FALSE(log.has_value()) << "segment 1 renamed to 7 was opened, last index " << (*log)->last_index();
  ExpectDataLossNaming(log.error(), LogPath(7), "renamed segment");
}

// ---- WAL-7d: torn records are counted ----

// The last round loses its BatchEnd: its records are valid but were never
// acknowledged. Open drops them and says how many records and bytes.
TEST_F(RulesGapTest, RecordsOfAnIncompleteLastRoundAreCounted) {
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->Append(MakeEntries(1, 3, 1, 50)).ok());
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->Append(MakeEntries(4, 4, 1, 50)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  const std::string bytes = *mem_.ReadFileForTest(LogPath(1));
  const std::vector<RecordPos> records = ParseRecords(bytes);
  ASSERT_GE(records.size(), 5u);
  const RecordPos& last_end = records.back();
  ASSERT_EQ(last_end.type, f::RecordType::kBatchEnd);
  uint64_t round_start = 0;  // after the BatchEnd before the last one
  for (size_t i = 0; i + 1 < records.size(); i++) {
    if (records[i].type == f::RecordType::kBatchEnd) round_start = records[i].start + records[i].size;
  }
  MemFs mem;
  ASSERT_TRUE(mem.WriteFileForTest(LogPath(1), bytes.substr(0, last_end.start)).ok());
  auto log = SegmentedLog::Open(mem, kDir, opts_);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  EXPECT_EQ((*log)->last_index(), 3u);
  EXPECT_EQ((*log)->stats().torn_records_dropped, 4u);
  EXPECT_EQ((*log)->stats().torn_bytes_dropped, last_end.start - round_start);
}

// ---- CL-3 and DESIGN §2: files that are not segments ----

// Open ignores what it does not own and deletes none of it: the KV
// snapshots/ directory, and unknown files.
TEST_F(RulesGapTest, UnknownFilesAndSnapshotsAreLeftAlone) {
  std::vector<LogEntry> all = Fill(100, 10, 100);
  const std::map<std::string, std::string> others = {
      {std::string(kDir) + "/snapshots/00000000000000000042.snap", "snapshot"},
      {std::string(kDir) + "/NOTES", "not a segment"},
      {LogPath(1) + ".bak", *mem_.ReadFileForTest(LogPath(1))},
      {std::string(kDir) + "/1.log", "short name"},
  };
  for (const auto& [path, bytes] : others) ASSERT_TRUE(mem_.WriteFileForTest(path, bytes).ok());
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  ExpectEntries(*log, all);
  for (const auto& [path, bytes] : others) {
    auto kept = mem_.ReadFileForTest(path);
    ASSERT_TRUE(kept.has_value()) << path << " was removed";
    EXPECT_EQ(*kept, bytes) << path << " was changed";
  }
}

// ---- WAL-9: deleted files that reappear ----

// A purge deletes a segment's .log, then its .index; a crash may bring back
// the .index alone. Open removes it and opens the log as it was.
TEST_F(RulesGapTest, PurgedIndexThatReappearsWithoutItsLogIsRemoved) {
  std::vector<LogEntry> all = Fill(600, 30, 100);
  const std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 4u);
  const std::string old_index = *mem_.ReadFileForTest(IndexPath(segs[0]));
  const uint64_t purge = segs[2] + 3;
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->PurgeUpTo(purge, 1).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_FALSE(*mem_.Exists(IndexPath(segs[0])));
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(segs[0]), old_index).ok());
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->first_index(), purge + 1);
  ExpectEntries(*log, std::vector<LogEntry>(all.begin() + purge, all.end()));
  EXPECT_FALSE(*mem_.Exists(IndexPath(segs[0])));
}

}  // namespace
}  // namespace storage_testing
