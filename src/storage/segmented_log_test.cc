#include "storage/segmented_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "storage/record_format.h"
#include "testing/mem_fs.h"

namespace storage {
namespace {

using common::Code;

class SegmentedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "replog-seglog-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    opts_.segment_bytes = 16 << 10;
    opts_.preallocate = false;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SegmentedLog> OpenLog() {
    auto log = SegmentedLog::Open(fs_, dir_, opts_);
    EXPECT_TRUE(log.has_value()) << log.error().ToString();
    return log.has_value() ? std::move(*log) : nullptr;
  }

  static std::vector<LogEntry> Make(uint64_t first, uint64_t n, uint64_t term, size_t size = 100) {
    std::vector<LogEntry> v;
    for (uint64_t i = first; i < first + n; i++) {
      v.push_back(LogEntry{i, term, EntryKind::kNormal, std::string(size, static_cast<char>('a' + i % 26))});
    }
    return v;
  }

  // Writes rounds A (entries 1-3), B (entry 4 of `b_payload` bytes) and C
  // (entry 5), each synced, into one segment, then zeroes round B on disk.
  void WriteRoundsAndZeroTheMiddle(size_t b_payload, uint64_t* b_start, uint64_t* c_start) {
    opts_.segment_bytes = 16 << 20;
    const uint64_t head = format::kLogHeaderSize + format::RecordSize(format::kCheckpointSize) +
                          format::RecordSize(format::kBatchEndSize);
    {
      auto log = OpenLog();
      ASSERT_TRUE(log->Append(Make(1, 3, 1)).ok());
      ASSERT_TRUE(log->Sync().ok());
      *b_start = head + log->stats().bytes_written;
      ASSERT_TRUE(log->Append(Make(4, 1, 1, b_payload)).ok());
      ASSERT_TRUE(log->Sync().ok());
      *c_start = head + log->stats().bytes_written;
      ASSERT_TRUE(log->Append(Make(5, 2, 1)).ok());
      ASSERT_TRUE(log->Sync().ok());
    }
    auto file = fs_.Open(dir_ + "/00000000000000000001.log", common::OpenMode::kReadWrite);
    ASSERT_TRUE(file.has_value());
    std::string zeros(*c_start - *b_start, '\0');
    ASSERT_TRUE((*file)->WriteAt(*b_start, zeros.data(), zeros.size()).ok());
  }

  std::string ReadWholeFile(const std::string& path) {
    auto file = fs_.Open(path, common::OpenMode::kRead);
    EXPECT_TRUE(file.has_value()) << path;
    if (!file.has_value()) return "";
    std::string bytes(*(*file)->Size(), '\0');
    EXPECT_EQ(*(*file)->ReadAt(0, bytes.data(), bytes.size()), bytes.size());
    return bytes;
  }

  size_t CountFiles(std::string_view ext) {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_)) n += e.path().extension() == ext;
    return n;
  }

  void FlipByte(const std::string& name, uint64_t pos) {
    auto file = fs_.Open(dir_ + "/" + name, common::OpenMode::kReadWrite);
    ASSERT_TRUE(file.has_value());
    char c;
    ASSERT_TRUE((*file)->ReadAt(pos, &c, 1).has_value());
    c ^= 0x20;
    ASSERT_TRUE((*file)->WriteAt(pos, &c, 1).ok());
  }

  common::PosixFs fs_;
  std::string dir_;
  Options opts_;
};

TEST_F(SegmentedLogTest, NewLogIsEmpty) {
  auto log = OpenLog();
  EXPECT_EQ(log->first_index(), 1u);
  EXPECT_EQ(log->last_index(), 0u);
  EXPECT_EQ(*log->Term(0), 0u);
  EXPECT_EQ(log->Entry(1).error().code(), Code::kOutOfRange);
}

TEST_F(SegmentedLogTest, AppendedEntriesReadBackBeforeAndAfterReopen) {
  auto entries = Make(1, 50, 3);
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(entries).ok());
    ASSERT_TRUE(log->SetHardState({3, 2, 40}).ok());
    EXPECT_EQ(*log->Entry(7), entries[6]);
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(log->durable_index(), 50u);
  }
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 50u);
  EXPECT_EQ(log->hard_state(), (HardState{3, 2, 40}));
  auto all = log->Entries(1, 51, UINT64_MAX);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(*all, entries);
}

TEST_F(SegmentedLogTest, AppendRejectsGapsAndKeepsNothing) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 3, 1)).ok());
  Status s = log->Append(Make(5, 1, 1));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(log->last_index(), 3u);
}

TEST_F(SegmentedLogTest, TruncateAfterRemovesSuffixDurably) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 10, 1)).ok());
    ASSERT_TRUE(log->TruncateAfter(6).ok());
    ASSERT_TRUE(log->Append(Make(7, 2, 2)).ok());
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(log->TruncateAfter(20).code(), Code::kOutOfRange);
  }
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 8u);
  EXPECT_EQ(*log->Term(6), 1u);
  EXPECT_EQ(*log->Term(7), 2u);
  EXPECT_EQ(*log->Term(8), 2u);
}

TEST_F(SegmentedLogTest, SegmentsRollBySizeAndReopenScansOnlyTheLast) {
  {
    auto log = OpenLog();
    for (uint64_t i = 1; i <= 1000; i += 10) {
      ASSERT_TRUE(log->Append(Make(i, 10, 1)).ok());
      ASSERT_TRUE(log->Sync().ok());
    }
  }
  EXPECT_GT(CountFiles(".log"), 5u);
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 1000u);
  EXPECT_LE(log->stats().tail_bytes_scanned, opts_.segment_bytes + (1 << 20));
  for (uint64_t i = 1; i <= 1000; i += 37) EXPECT_EQ(log->Entry(i)->index, i);
}

TEST_F(SegmentedLogTest, SegmentsRollByEntryCount) {
  opts_.max_segment_entries = 16;
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 100, 1, 8)).ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_GE(log->stats().segments, 7u);
}

TEST_F(SegmentedLogTest, SegmentsListsWholeSegmentsAndPurgeDropsThem) {
  opts_.max_segment_entries = 16;
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 100, 1, 8)).ok());
  ASSERT_TRUE(log->Sync().ok());
  std::vector<SegmentInfo> segs = log->Segments();
  ASSERT_GE(segs.size(), 7u);
  EXPECT_EQ(segs.front().first_index, 1u);
  EXPECT_EQ(segs.back().last_index, 100u);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    EXPECT_TRUE(segs[i].sealed) << i;
    EXPECT_GT(segs[i].bytes, 8u * (segs[i].last_index - segs[i].first_index + 1)) << i;
    EXPECT_EQ(segs[i].last_index + 1, segs[i + 1].first_index) << i;
  }
  EXPECT_FALSE(segs.back().sealed);
  EXPECT_GT(segs.back().bytes, 0u);

  // Purging to the end of the second segment leaves the third first.
  ASSERT_TRUE(log->PurgeUpTo(segs[1].last_index, 1).ok());
  ASSERT_TRUE(log->Sync().ok());
  std::vector<SegmentInfo> after = log->Segments();
  ASSERT_EQ(after.size(), segs.size() - 2);
  EXPECT_EQ(after.front().first_index, segs[2].first_index);
  // A purge inside a segment trims its first index.
  ASSERT_TRUE(log->PurgeUpTo(segs[2].first_index + 2, 1).ok());
  EXPECT_EQ(log->Segments().front().first_index, segs[2].first_index + 3);
}

TEST_F(SegmentedLogTest, TruncateBelowLastSegmentStartsNewSegment) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 600, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_GT(log->stats().segments, 3u);
    ASSERT_TRUE(log->TruncateAfter(100).ok());
    ASSERT_TRUE(log->Append(Make(101, 5, 2)).ok());
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(*log->Term(105), 2u);
  }
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 105u);
  EXPECT_EQ(*log->Term(100), 1u);
  EXPECT_EQ(*log->Term(101), 2u);
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/00000000000000000101.log"));
}

TEST_F(SegmentedLogTest, TruncateRecordAloneSurvivesReopen) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 600, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->TruncateAfter(50).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 50u);
  ASSERT_TRUE(log->Append(Make(51, 3, 4)).ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(*log->Term(53), 4u);
}

TEST_F(SegmentedLogTest, PurgeDeletesWholeSegmentsOnceDurable) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 600, 1)).ok());
  ASSERT_TRUE(log->Sync().ok());
  size_t before = CountFiles(".log");
  ASSERT_TRUE(log->PurgeUpTo(400, 1).ok());
  EXPECT_EQ(log->first_index(), 401u);
  EXPECT_EQ(*log->Term(400), 1u);
  EXPECT_EQ(log->Entry(400).error().code(), Code::kOutOfRange);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_LT(CountFiles(".log"), before);
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->first_index(), 401u);
  EXPECT_EQ(log->Entry(401)->index, 401u);
}

TEST_F(SegmentedLogTest, PurgePastTheEndResetsTheLog) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 10, 1)).ok());
    ASSERT_TRUE(log->PurgeUpTo(5000, 7).ok());
    EXPECT_EQ(log->first_index(), 5001u);
    EXPECT_EQ(log->last_index(), 5000u);
    ASSERT_TRUE(log->Append(Make(5001, 2, 7)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = OpenLog();
  EXPECT_EQ(log->first_index(), 5001u);
  EXPECT_EQ(log->last_index(), 5002u);
  EXPECT_EQ(*log->Term(5000), 7u);
}

TEST_F(SegmentedLogTest, SecondOpenIsRefusedWithThePid) {
  auto log = OpenLog();
  auto again = SegmentedLog::Open(fs_, dir_, opts_);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);
  EXPECT_NE(again.error().message().find("locked by pid " + std::to_string(getpid())), std::string::npos)
      << again.error().message();
}

TEST_F(SegmentedLogTest, SyncWithNothingQueuedDoesNotSync) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 1, 1)).ok());
  ASSERT_TRUE(log->Sync().ok());
  uint64_t syncs = log->stats().syncs;
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->stats().syncs, syncs);
}

TEST_F(SegmentedLogTest, EachFdatasyncOfARoundIsTimedIntoTheFsyncHistogram) {
  metrics::Registry registry;
  common::ManualClock clock;
  opts_.metrics = &registry;
  opts_.metrics_clock = &clock;
  opts_.metrics_group = "log";
  auto log = OpenLog();
  for (uint64_t i = 1; i <= 3; i++) {
    ASSERT_TRUE(log->Append(Make(i, 1, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_TRUE(log->Sync().ok());  // nothing queued: no fdatasync
  const metrics::Histogram::Snapshot h =
      registry.AddHistogram("replog_storage_fsync_seconds", "Time of one fdatasync of a write round of the log.",
                            metrics::LatencyBounds(), {{"group", "log"}})
          .snapshot();
  EXPECT_GE(h.count, 3u);
  EXPECT_EQ(h.count, log->stats().syncs);
}

TEST_F(SegmentedLogTest, MetricsWithoutAClockAreRefused) {
  metrics::Registry registry;
  opts_.metrics = &registry;
  auto log = SegmentedLog::Open(fs_, dir_, opts_);
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error().code(), Code::kInvalidArgument);
}

TEST_F(SegmentedLogTest, ConcurrentSyncsShareFdatasyncs) {
  opts_.segment_bytes = 4 << 20;
  auto log = OpenLog();
  std::mutex mu;
  uint64_t next = 1;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&] {
      for (int k = 0; k < 50; k++) {
        {
          std::lock_guard lk(mu);
          ASSERT_TRUE(log->Append(Make(next++, 1, 1)).ok());
        }
        ASSERT_TRUE(log->Sync().ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(log->last_index(), 400u);
  EXPECT_LT(log->stats().syncs, 400u);
}

// Without a Sync() or a later Append(), the background writer evicts what
// it wrote once it has nothing more to write.
TEST_F(SegmentedLogTest, UnsyncedAppendsLeaveTheCacheOnceTheWriterIsIdle) {
  opts_.cache_bytes = 1000;
  opts_.flush_bytes = 512;
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 300, 2)).ok());  // nothing written yet: all cached
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log->stats().cache_bytes > 1000u && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_LE(log->stats().cache_bytes, 1000u);
  auto all = log->Entries(1, 301, UINT64_MAX);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(all->size(), 300u);
}

// Payloads of at least shared_payload_bytes are written from the cache's
// copy. Entries truncated or purged out of the cache before their records were
// written still get their records written whole: the log file is byte for
// byte the one written with every payload copied, and it reopens to the
// right entries. (Without the pinning of such payloads, the allocations made
// after the truncation take their memory, and the records written are wrong.)
TEST_F(SegmentedLogTest, SharedPayloadsThatLeaveTheCacheUnwrittenAreWrittenWhole) {
  opts_.flush_bytes = 64 << 20;  // nothing is written before Sync()
  auto run = [&](uint64_t shared_payload_bytes) {
    opts_.shared_payload_bytes = shared_payload_bytes;
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 6, 1, 1000)).ok());
    ASSERT_TRUE(log->TruncateAfter(3).ok());  // 4-6 leave the cache unwritten
    std::vector<std::string> reuse(6, std::string(1000, 'Z'));
    ASSERT_TRUE(log->Append(Make(4, 2, 2, 600)).ok());
    ASSERT_TRUE(log->Append(Make(6, 1, 2, 100)).ok());  // below the threshold: copied
    ASSERT_TRUE(log->PurgeUpTo(1, 1).ok());             // 1 leaves the cache unwritten
    std::vector<std::string> reuse2(6, std::string(1000, 'Y'));
    EXPECT_EQ(*log->Entry(4), Make(4, 1, 2, 600)[0]);  // from the cache, before the write
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(log->stats().write_rounds, 1u);
  };
  run(UINT64_MAX);
  const std::string path = dir_ + "/00000000000000000001.log";
  const std::string copied = ReadWholeFile(path);
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directory(dir_);
  run(500);
  const std::string shared = ReadWholeFile(path);
  ASSERT_GT(copied.size(), 6000u);
  EXPECT_TRUE(copied == shared) << "the log files differ";

  auto log = OpenLog();
  std::vector<LogEntry> want = Make(2, 2, 1, 1000);
  for (LogEntry& e : Make(4, 2, 2, 600)) want.push_back(e);
  want.push_back(Make(6, 1, 2, 100)[0]);
  auto all = log->Entries(2, 7, UINT64_MAX);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(*all, want);
}

// Back-pressure counts every byte waiting to be written, shared payloads
// included (their pending buffer holds only headers): while the writer is
// held up, Append blocks once max_pending_bytes are queued, and goes on when
// the writer does.
TEST_F(SegmentedLogTest, AppendBlocksWhileMaxPendingBytesOfSharedPayloadsWait) {
  opts_.segment_bytes = 16 << 10;
  opts_.flush_bytes = 16 << 10;
  opts_.max_pending_bytes = 64 << 10;
  opts_.shared_payload_bytes = 1000;
  replog_testing::MemFs mem;
  auto opened = SegmentedLog::Open(mem, "/log", opts_);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  std::unique_ptr<SegmentedLog> log = std::move(*opened);

  // The writer's first segment roll syncs the sealed segment: hold it there.
  std::mutex mu;
  std::condition_variable cv;
  bool held = false, release = false;
  mem.SetSyncHook([&](const std::string&) {
    std::unique_lock lk(mu);
    held = true;
    cv.notify_all();
    cv.wait(lk, [&] { return release; });
  });
  constexpr uint64_t kEntries = 200;  // 2,000-byte payloads: 400 KB in all
  std::atomic<uint64_t> appended = 0;
  std::thread appender([&] {
    for (uint64_t i = 1; i <= kEntries; i++) {
      ASSERT_TRUE(log->Append(Make(i, 1, 1, 2000)).ok());
      appended = i;
    }
  });
  {
    std::unique_lock lk(mu);
    ASSERT_TRUE(cv.wait_for(lk, std::chrono::seconds(10), [&] { return held; })) << "the writer never synced";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // At most the round the writer holds and what was queued after it: each
  // reached max_pending_bytes by at most one more record (2,040 bytes).
  const uint64_t bound = 2 * (opts_.max_pending_bytes / format::RecordSize(format::kEntryHeaderSize + 2000) + 1);
  EXPECT_LE(appended.load(), bound) << "Append did not wait for the writer";
  {
    std::lock_guard lk(mu);
    release = true;
  }
  cv.notify_all();
  appender.join();
  mem.SetSyncHook({});
  EXPECT_EQ(appended.load(), kEntries);
  ASSERT_TRUE(log->Sync().ok());
  auto last = log->Entry(kEntries);
  ASSERT_TRUE(last.has_value()) << last.error().ToString();
  EXPECT_EQ(*last, Make(kEntries, 1, 1, 2000)[0]);
}

TEST_F(SegmentedLogTest, EvictedEntriesAreReadFromDisk) {
  opts_.cache_bytes = 1000;
  auto log = OpenLog();
  auto entries = Make(1, 300, 2);
  ASSERT_TRUE(log->Append(entries).ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_LE(log->stats().cache_bytes, 1000u);
  auto all = log->Entries(1, 301, UINT64_MAX);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(*all, entries);
  EXPECT_GT(log->stats().cache_misses, 0u);
}

TEST_F(SegmentedLogTest, RangeReadsStopAtTheByteBudget) {
  auto log = OpenLog();
  ASSERT_TRUE(log->Append(Make(1, 20, 1, 100)).ok());
  auto some = log->Entries(1, 21, 350);
  ASSERT_TRUE(some.has_value());
  EXPECT_EQ(some->size(), 3u);
  auto one = log->Entries(1, 21, 10);
  EXPECT_EQ(one->size(), 1u);
}

TEST_F(SegmentedLogTest, FlippedByteInSealedSegmentFailsTheRead) {
  opts_.cache_bytes = 0;
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 600, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  // Entry 2's payload in the first (sealed) segment.
  uint64_t pos = format::kLogHeaderSize + format::RecordSize(format::kCheckpointSize) +
                 format::RecordSize(format::kBatchEndSize) + format::RecordSize(format::kEntryHeaderSize + 100) +
                 format::kRecordHeaderSize + format::kEntryHeaderSize + 5;
  FlipByte("00000000000000000001.log", pos);
  auto log = OpenLog();
  auto e = log->Entry(2);
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), Code::kDataLoss);
  EXPECT_NE(e.error().message().find("00000000000000000001.log at "), std::string::npos) << e.error().message();
  EXPECT_EQ(log->Entries(1, 10, UINT64_MAX).error().code(), Code::kDataLoss);
  EXPECT_TRUE(log->Entry(3).has_value());
}

TEST_F(SegmentedLogTest, FlippedByteFollowedBySyncedDataFailsOpen) {
  {
    auto log = OpenLog();
    for (uint64_t i = 1; i <= 5; i++) {
      ASSERT_TRUE(log->Append(Make(i, 1, 1)).ok());
      ASSERT_TRUE(log->Sync().ok());
    }
  }
  uint64_t first_entry = format::kLogHeaderSize + format::RecordSize(format::kCheckpointSize) +
                         format::RecordSize(format::kBatchEndSize);
  FlipByte("00000000000000000001.log", first_entry + 40);
  auto log = SegmentedLog::Open(fs_, dir_, opts_);
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error().code(), Code::kDataLoss);
  EXPECT_NE(log.error().message().find("00000000000000000001.log at " + std::to_string(first_entry)),
            std::string::npos)
      << log.error().message();
}

TEST_F(SegmentedLogTest, DamagedLastRoundIsATornTail) {
  uint64_t round_start = 0;
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->Append(Make(1, 3, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
    round_start = log->stats().bytes_written + format::kLogHeaderSize + format::RecordSize(format::kCheckpointSize) +
                  format::RecordSize(format::kBatchEndSize);
    ASSERT_TRUE(log->Append(Make(4, 3, 1)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  FlipByte("00000000000000000001.log", round_start + 30);
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 3u);
  EXPECT_GT(log->stats().torn_bytes_dropped, 0u);
  ASSERT_TRUE(log->Append(Make(4, 1, 2)).ok());
  ASSERT_TRUE(log->Sync().ok());
  log.reset();
  log = OpenLog();
  EXPECT_EQ(log->last_index(), 4u);
  EXPECT_EQ(*log->Term(4), 2u);
  EXPECT_EQ(log->stats().torn_bytes_dropped, 0u);
}

// Recovery stops at zeros only when nothing follows them: data after a
// zeroed round that was synced is damage, reported with file and position.
TEST_F(SegmentedLogTest, ZeroedRoundInsideSyncedDataIsDataLoss) {
  uint64_t b_start = 0, c_start = 0;
  WriteRoundsAndZeroTheMiddle(400, &b_start, &c_start);
  auto log = SegmentedLog::Open(fs_, dir_, opts_);
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error().code(), common::Code::kDataLoss);
  EXPECT_THAT(log.error().message(), ::testing::HasSubstr("00000000000000000001.log at " + std::to_string(b_start)));
}

// A zeroed run longer than recovery looks past (4 MiB) hides what follows
// it; that leftover round must still never chain onto rounds written after
// the reopen, even when a new round ends exactly where it begins.
TEST_F(SegmentedLogTest, StaleRoundPastAHoleNeverChainsOntoNewRounds) {
  uint64_t b_start = 0, c_start = 0;
  WriteRoundsAndZeroTheMiddle(5 << 20, &b_start, &c_start);
  {
    auto log = OpenLog();
    ASSERT_NE(log, nullptr);
    ASSERT_EQ(log->last_index(), 3u);
    // Open wrote a 40-byte marker round; this round (one entry record and
    // its BatchEnd) then ends exactly at c_start.
    const uint64_t payload = (c_start - b_start) - 2 * format::RecordSize(format::kBatchEndSize) -
                             format::kRecordHeaderSize - format::kEntryHeaderSize;
    ASSERT_TRUE(log->Append(Make(4, 1, 2, payload)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->last_index(), 4u);
  EXPECT_EQ(*log->Term(4), 2u);
}

TEST_F(SegmentedLogTest, PreallocatedSegmentsAreUsed) {
  opts_.preallocate = true;
  {
    auto log = OpenLog();
    for (uint64_t i = 1; i <= 1000; i += 10) {
      ASSERT_TRUE(log->Append(Make(i, 10, 1)).ok());
      ASSERT_TRUE(log->Sync().ok());
    }
  }
  auto log = OpenLog();
  EXPECT_EQ(log->last_index(), 1000u);
  auto all = log->Entries(1, 1001, UINT64_MAX);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(all->size(), 1000u);
}

}  // namespace
}  // namespace storage
