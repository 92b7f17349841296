// Tests of the storage rules of DESIGN §2 that the basic unit tests
// (src/storage/segmented_log_test.cc) leave out: reading entry i costs one
// pread and a range one pread per segment (rule 5), concurrent readers never
// see other bytes, memory and open cost do not grow with the log (rule 4,
// WAL-6), and the .index is derived data, rebuilt when lost or damaged.

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <chrono>
#include <thread>

#include "rules_fixture.h"

namespace storage_testing {
namespace {

using common::Code;
using replog_testing::MemFs;
using storage::Options;
using storage::SegmentedLog;

class DesignRulesTest : public RulesTest {};

// ---- Rule 5: reads ----

TEST_F(DesignRulesTest, ReadingAnEntryOfASealedSegmentCostsOnePread) {
  std::vector<LogEntry> all = Fill(600, 50, 100);
  ASSERT_GE(Segments().size(), 4u);
  CountingFs fs(mem_);
  auto log = OpenLog(fs);
  for (uint64_t index : {1u, 2u, 77u, 150u, 333u}) {
    fs.counts().Clear();
    auto e = log->Entry(index);
    ASSERT_TRUE(e.has_value()) << e.error().ToString();
    EXPECT_EQ(*e, all[index - 1]);
    EXPECT_EQ(fs.counts().TotalCalls(), 1u) << "entry " << index << " took more than one pread";
  }
}

TEST_F(DesignRulesTest, ReadingARangeCostsOnePreadPerSegment) {
  opts_.segment_bytes = 64 << 10;  // ~400 entries per segment
  std::vector<LogEntry> all = Fill(1200, 100, 100);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  CountingFs fs(mem_);
  auto log = OpenLog(fs);

  fs.counts().Clear();
  auto hundred = log->Entries(10, 110, kAll);
  ASSERT_TRUE(hundred.has_value()) << hundred.error().ToString();
  EXPECT_TRUE(std::equal(hundred->begin(), hundred->end(), all.begin() + 9));
  EXPECT_EQ(fs.counts().TotalCalls(), 1u) << "100 entries of one segment should cost one pread";

  // Across a segment boundary: one pread per segment touched.
  fs.counts().Clear();
  auto across = log->Entries(segs[1] - 50, segs[1] + 50, kAll);
  ASSERT_TRUE(across.has_value()) << across.error().ToString();
  EXPECT_EQ(across->size(), 100u);
  EXPECT_EQ(fs.counts().TotalCalls(), 2u);
}

// Readers racing the writer (appends, rolls, truncations, purges, syncs)
// get either the entry that was written at that index or kOutOfRange, never
// an error or other bytes (WAL-14: concurrent readers during append).
TEST_F(DesignRulesTest, ConcurrentReadersSeeOnlyWrittenEntries) {
  opts_.preallocate = true;
  opts_.flush_bytes = 2048;
  opts_.cache_bytes = 4096;
  opts_.max_segment_entries = 64;
  auto log = OpenLog();
  auto payload = [](uint64_t index) { return std::string(20 + index % 50, static_cast<char>('a' + index % 26)); };
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!done) {
      uint64_t first = log->first_index();
      uint64_t last = log->last_index();
      if (last < first) continue;
      uint64_t i = first + rng() % (last - first + 1);
      if (rng() % 4 == 0) {
        auto run = log->Entries(i, std::min(last, i + 30) + 1, kAll);
        if (!run.has_value()) {
          ASSERT_EQ(run.error().code(), Code::kOutOfRange) << run.error().ToString();
          continue;
        }
        for (const LogEntry& e : *run) ASSERT_EQ(e.payload, payload(e.index)) << "entry " << e.index;
      } else {
        auto e = log->Entry(i);
        if (!e.has_value()) {
          ASSERT_EQ(e.error().code(), Code::kOutOfRange) << e.error().ToString();
          continue;
        }
        ASSERT_EQ(e->index, i);
        ASSERT_EQ(e->payload, payload(i)) << "entry " << i;
      }
      reads++;
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  std::mt19937_64 rng(3);
  uint64_t term = 1;
  // The readers must be reading before the writer starts (on a loaded
  // machine they may not run at all during its few milliseconds).
  const std::vector<LogEntry> first{LogEntry{1, term, storage::EntryKind::kNormal, payload(1)}};
  ASSERT_TRUE(log->Append(first).ok());
  for (int i = 0; i < 5'000 && reads.load() == 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int round = 0; round < 400; round++) {
    uint64_t next = log->last_index() + 1;
    std::vector<LogEntry> batch;
    for (uint64_t i = 0, n = 1 + rng() % 8; i < n; i++) {
      batch.push_back(LogEntry{next + i, term, storage::EntryKind::kNormal, payload(next + i)});
    }
    ASSERT_TRUE(log->Append(batch).ok());
    if (rng() % 10 == 0 && log->last_index() > log->first_index() + 20) {
      ASSERT_TRUE(log->TruncateAfter(log->last_index() - rng() % 20).ok());
      term++;
    }
    if (rng() % 15 == 0 && log->last_index() > 300) {
      ASSERT_TRUE(log->PurgeUpTo(log->last_index() - 200, *log->Term(log->last_index() - 200)).ok());
    }
    if (rng() % 3 == 0) {
      ASSERT_TRUE(log->Sync().ok());
    }
  }
  done = true;
  r1.join();
  r2.join();
  EXPECT_GT(reads.load(), 0u);
}

// ---- Rule 4: memory ----

TEST_F(DesignRulesTest, CacheStaysWithinItsBudgetAfterEverySync) {
  opts_.cache_bytes = 3000;
  opts_.flush_bytes = 4096;
  auto log = OpenLog();
  uint64_t next = 1;
  for (int round = 0; round < 200; round++) {
    size_t n = 1 + round % 7;
    ASSERT_TRUE(log->Append(MakeEntries(next, n, 1, 50 + (round * 37) % 400)).ok());
    next += n;
    if (round % 3 == 0) {
      ASSERT_TRUE(log->Sync().ok());
      storage::Stats st = log->stats();
      ASSERT_LE(st.cache_bytes, opts_.cache_bytes) << "after sync of round " << round;
      ASSERT_LE(st.cache_entries, 3000u / 50 + 1) << "after sync of round " << round;
    }
  }
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_LE(log->stats().cache_bytes, opts_.cache_bytes);
  EXPECT_EQ(log->Entries(1, next, kAll)->size(), next - 1);
}

// ---- WAL-6 / T7: open cost ----

TEST_F(DesignRulesTest, ReopenReadsOnlyTheHeadOfSealedSegments) {
  opts_.preallocate = true;  // the tail is a zero-filled, full-size file
  Fill(3000, 40, 100);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 20u);
  CountingFs fs(mem_);
  auto log = OpenLog(fs);
  ASSERT_EQ(log->last_index(), 3000u);
  const uint64_t head = f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize);
  for (size_t i = 0; i + 1 < segs.size(); i++) {
    EXPECT_LE(fs.counts().Bytes(LogPath(segs[i])), head) << "sealed segment " << LogPath(segs[i]) << " was scanned";
    EXPECT_EQ(fs.counts().Bytes(IndexPath(segs[i])), 0u);
  }
  // The tail is read once (plus its head again, for the checkpoint).
  EXPECT_LE(fs.counts().Bytes(LogPath(segs.back())), opts_.segment_bytes + 2 * head);
  EXPECT_LE(log->stats().tail_bytes_scanned, opts_.segment_bytes);
}

// ---- The .index is derived data ----

TEST_F(DesignRulesTest, DeletedIndexOfTheLastSegmentIsRebuilt) {
  std::vector<LogEntry> all = Fill(300, 30, 100);
  uint64_t last = Segments().back();
  ASSERT_TRUE(mem_.Remove(IndexPath(last)).ok());
  auto log = OpenLog();
  ExpectEntries(*log, all);
  EXPECT_TRUE(*mem_.Exists(IndexPath(last)));
}

TEST_F(DesignRulesTest, DamagedIndexOfTheLastSegmentIsRebuilt) {
  std::vector<LogEntry> all = Fill(300, 30, 100);
  uint64_t last = Segments().back();
  std::string index = *mem_.ReadFileForTest(IndexPath(last));
  for (size_t i = 0; i < index.size(); i++) index[i] = static_cast<char>(0xA5 ^ i);
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(last), index).ok());
  auto log = OpenLog();
  ExpectEntries(*log, all);
}

TEST_F(DesignRulesTest, ShortIndexOfTheLastSegmentIsRebuilt) {
  std::vector<LogEntry> all = Fill(300, 30, 100);
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(Segments().back()), "short").ok());
  auto log = OpenLog();
  ExpectEntries(*log, all);
}

TEST_F(DesignRulesTest, DeletedIndexOfASealedSegmentIsRebuilt) {
  std::vector<LogEntry> all = Fill(300, 30, 100);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 3u);
  ASSERT_TRUE(mem_.Remove(IndexPath(segs[1])).ok());
  auto log = OpenLog();
  ExpectEntries(*log, all);
  EXPECT_TRUE(*mem_.Exists(IndexPath(segs[1])));
}

TEST_F(DesignRulesTest, DamagedIndexHeaderOfASealedSegmentIsRebuilt) {
  std::vector<LogEntry> all = Fill(300, 30, 100);
  std::vector<uint64_t> segs = Segments();
  mem_.FlipByteForTest(IndexPath(segs[0]), f::kIndexLastIndexOff);
  // And a slot, which the damaged header no longer vouches for.
  mem_.FlipByteForTest(IndexPath(segs[0]), f::kIndexHeaderSize + 3 * f::kIndexSlotSize);
  auto log = OpenLog();
  ExpectEntries(*log, all);
}

// The same on the real file system, where a sealed segment's index is mapped
// read-only: rebuilding its slots must not write through that mapping. Run
// in a child process so that a crash is reported, not fatal to the suite.
TEST_F(DesignRulesTest, DamagedIndexOfASealedSegmentIsRebuiltOnPosixFs) {
  // "fast" death tests fork at EXPECT_EXIT (no thread runs by then), so the
  // child reopens the directory made here, which is removed below.
  GTEST_FLAG_SET(death_test_style, "fast");
  std::string tmpl = (std::filesystem::temp_directory_path() / "replog-rules-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::string dir = tmpl;
  // Removes the directory however the test ends (the death-test child leaves
  // through std::exit, which runs no destructor).
  std::unique_ptr<const std::string, void (*)(const std::string*)> cleanup(
      &dir, [](const std::string* d) { std::filesystem::remove_all(*d); });
  common::PosixFs fs;
  std::vector<LogEntry> all = MakeEntries(1, 300, 1, 100);
  {
    auto log = SegmentedLog::Open(fs, dir, opts_);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    for (uint64_t i = 0; i < all.size(); i += 30) {
      ASSERT_TRUE((*log)->Append(std::vector<LogEntry>(all.begin() + i, all.begin() + i + 30)).ok());
      ASSERT_TRUE((*log)->Sync().ok());
    }
    ASSERT_GE((*log)->stats().segments, 3u);
  }
  {
    // The index of the first (sealed) segment loses its bytes but keeps its size.
    auto index = fs.Open(dir + "/" + storage::SegmentIndexName(1), common::OpenMode::kReadWrite);
    ASSERT_TRUE(index.has_value());
    std::string zeros(*(*index)->Size(), '\0');
    ASSERT_TRUE((*index)->WriteAt(0, zeros.data(), zeros.size()).ok());
  }
  auto reopen_and_check = [&] {
    auto log = SegmentedLog::Open(fs, dir, opts_);
    if (!log.has_value()) {
      std::fprintf(stderr, "open: %s\n", log.error().ToString().c_str());
      std::exit(1);
    }
    auto got = (*log)->Entries(1, all.size() + 1, kAll);
    std::exit(got.has_value() && *got == all ? 0 : 2);
  };
  EXPECT_EXIT(reopen_and_check(), ::testing::ExitedWithCode(0), "")
      << "reopening with a zeroed index of a sealed segment (see the child's status above)";
}

// A rebuilt index is as good as the one it replaces: the next open trusts it
// again instead of scanning the segment at every open from now on.
TEST_F(DesignRulesTest, RebuiltIndexOfASealedSegmentIsTrustedAtTheNextOpen) {
  Fill(300, 30, 100);
  std::vector<uint64_t> segs = Segments();
  ASSERT_TRUE(mem_.Remove(IndexPath(segs[0])).ok());
  OpenLog().reset();
  CountingFs fs(mem_);
  auto log = OpenLog(fs);
  EXPECT_LE(fs.counts().Bytes(LogPath(segs[0])), f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize))
      << "the sealed segment whose index was rebuilt is scanned again";
}

// A sealed index is trusted at open, but a slot that points at the wrong
// record is caught by the read: kDataLoss, never another entry's data.
TEST_F(DesignRulesTest, WrongSlotInASealedIndexIsDataLossNotData) {
  Fill(300, 30, 100);
  std::vector<uint64_t> segs = Segments();
  std::string index = *mem_.ReadFileForTest(IndexPath(segs[0]));
  const size_t slot5 = f::kIndexHeaderSize + 4 * f::kIndexSlotSize;
  const size_t slot6 = slot5 + f::kIndexSlotSize;
  index.replace(slot5, f::kIndexSlotSize, index.substr(slot6, f::kIndexSlotSize));
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(segs[0]), index).ok());
  auto log = OpenLog();
  auto e = log->Entry(5);
  ASSERT_FALSE(e.has_value()) << "entry 5 read as " << e->index;
  EXPECT_EQ(e.error().code(), Code::kDataLoss);
  EXPECT_NE(e.error().message().find(LogPath(segs[0])), std::string::npos) << e.error().ToString();
  EXPECT_TRUE(log->Entry(6).has_value());
}

}  // namespace
}  // namespace storage_testing
