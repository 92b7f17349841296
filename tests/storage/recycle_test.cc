// Recycled segments (Options::recycle_segments): a purged segment's .log
// file becomes a later segment, so the bytes past that segment's end of
// data are stale records of the older one. They must never come back as
// entries or state, whether the log was closed or crashed, and must not be
// mistaken for damage.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rules_fixture.h"
#include "storage/record.h"
#include "storage/record_format.h"
#include "storage/segmented_log.h"
#include "testing/mem_fs.h"

namespace storage_testing {
namespace {

using replog_testing::CrashMode;
using storage::HardState;
using storage::LogEntry;

class RecycleTest : public RulesTest {
 protected:
  RecycleTest() {
    opts_.max_segment_entries = 4;  // rolls by count, at known indexes
    opts_.preallocate = true;       // the first segment is a full, zero-filled file
    opts_.recycle_segments = true;
  }

  // The log header of the segment named `first`.
  storage::LogHeader Header(uint64_t first) {
    auto bytes = mem_.ReadFileForTest(LogPath(first));
    EXPECT_TRUE(bytes.has_value());
    if (!bytes.has_value()) return {};
    auto h = storage::DecodeLogHeader(*bytes);
    EXPECT_TRUE(h.has_value());
    return h.has_value() ? *h : storage::LogHeader{};
  }

  static std::vector<LogEntry> One(uint64_t index, size_t payload) { return MakeEntries(index, 1, 1, payload); }

  void StaleRoundNeverChains(CrashMode mode);
};

// Segment 1's second and third rounds are hard-state rounds at fixed
// positions (144 and 224). Its file is recycled for segment 9, whose only
// round after the checkpoint is an entry with an empty payload: it ends at
// 224 too, so segment 1's stale round at 224 has exactly the batch start,
// count and generation that would chain onto it. Only the salted checksum
// keeps that old hard state (term 1) from replacing the durable one (term 3).
void RecycleTest::StaleRoundNeverChains(CrashMode mode) {
  const uint64_t head = f::kLogHeaderSize + f::RecordSize(f::kCheckpointSize) + f::RecordSize(f::kBatchEndSize);
  const HardState current{3, 2, 8};
  {
    std::string old_rounds;
    {
      auto log = OpenLog();
      ASSERT_TRUE(log->SetHardState(HardState{1, 1, 0}).ok());
      ASSERT_TRUE(log->Sync().ok());
      ASSERT_TRUE(log->SetHardState(HardState{1, 2, 0}).ok());
      ASSERT_TRUE(log->Sync().ok());
      ASSERT_TRUE(log->Append(MakeEntries(1, 4, 1, 16)).ok());
      ASSERT_TRUE(log->Sync().ok());
      old_rounds = mem_.ReadFileForTest(LogPath(1))->substr(head, 160);
      ASSERT_TRUE(log->Append(MakeEntries(5, 4, 1, 16)).ok());  // segment 5
      ASSERT_TRUE(log->SetHardState(current).ok());
      ASSERT_TRUE(log->PurgeUpTo(4, 1).ok());
      ASSERT_TRUE(log->Sync().ok());  // purge durable: segment 1's file is recycled
      ASSERT_TRUE(log->Append(One(9, 0)).ok());  // segment 9, in segment 1's file
      ASSERT_TRUE(log->Sync().ok());
      mem_.Crash(mode, 7);
    }
    ASSERT_EQ(Segments(), (std::vector<uint64_t>{5, 9}));
    ASSERT_TRUE(Header(9).recycled());
    std::string now = *mem_.ReadFileForTest(LogPath(9));
    ASSERT_EQ(now.substr(head + 80, 80), old_rounds.substr(80, 80)) << "segment 1's third round is not where expected";

    auto log = OpenLog();
    EXPECT_EQ(log->hard_state(), current);
    EXPECT_EQ(log->first_index(), 5u);
    EXPECT_EQ(log->last_index(), 9u);
    EXPECT_EQ(log->stats().torn_bytes_dropped, 0u);
    ExpectEntries(*log, MakeEntries(5, 4, 1, 16));
  }
}

TEST_F(RecycleTest, StaleRoundOfARecycledFileNeverChainsAfterPowerLoss) { StaleRoundNeverChains(CrashMode::kDropUnsynced); }

TEST_F(RecycleTest, StaleRoundOfARecycledFileNeverChainsAfterATornWrite) {
  StaleRoundNeverChains(CrashMode::kTearLastWrite);
}

// A log that keeps purging writes every later segment into recycled files;
// after a clean close and after a crash it reopens with exactly the synced
// entries, no torn bytes and no damage, and the purged files do not pile up.
TEST_F(RecycleTest, PurgingLogReusesFilesAndReopensExactly) {
  std::vector<LogEntry> all = MakeEntries(1, 200, 1, 100);
  uint64_t recycled_segments = 0;
  {
    auto log = OpenLog();
    for (uint64_t i = 1; i <= 200; i++) {
      ASSERT_TRUE(log->Append(std::vector<LogEntry>{all[i - 1]}).ok());
      if (i > 12 && i % 4 == 0) {
        ASSERT_TRUE(log->PurgeUpTo(i - 12, 1).ok());
      }
      ASSERT_TRUE(log->Sync().ok());
      std::vector<uint64_t> segs = Segments();
      if (Header(segs.back()).recycled()) recycled_segments++;
      size_t files = mem_.ListAll().size();
      ASSERT_LE(files, 2 * segs.size() + 2 /* recycled */ + 1 /* LOCK */ + 1 /* prealloc */);
    }
  }
  EXPECT_GT(recycled_segments, 100u) << "new segments should come from purged files";
  for (bool crash : {false, true}) {
    if (crash) mem_.Crash(CrashMode::kTearLastWrite, 3);
    auto log = OpenLog();
    EXPECT_EQ(log->first_index(), 189u);
    EXPECT_EQ(log->last_index(), 200u);
    EXPECT_EQ(log->stats().torn_bytes_dropped, 0u);
    ExpectEntries(*log, std::vector<LogEntry>(all.begin() + 188, all.end()));
  }
}

// A torn round at the end of a recycled segment (a crash mid-write) is cut,
// the entries synced before it stay, and the stale bytes after it are not
// reported as damage.
TEST_F(RecycleTest, TornRoundInARecycledSegmentIsCut) {
  std::vector<LogEntry> all = MakeEntries(1, 40, 1, 300);
  {
    auto log = OpenLog();
    for (uint64_t i = 1; i <= 36; i++) {
      ASSERT_TRUE(log->Append(std::vector<LogEntry>{all[i - 1]}).ok());
      if (i > 8 && i % 4 == 0) {
        ASSERT_TRUE(log->PurgeUpTo(i - 8, 1).ok());
      }
      ASSERT_TRUE(log->Sync().ok());
    }
    ASSERT_TRUE(Header(Segments().back()).recycled());
    ASSERT_TRUE(log->Append(std::vector<LogEntry>(all.begin() + 36, all.begin() + 39)).ok());
    mem_.Crash(CrashMode::kTearLastWrite, 11);  // the unsynced round may be torn anywhere
  }
  auto log = OpenLog();
  ASSERT_EQ(log->first_index(), 29u);
  ASSERT_GE(log->last_index(), 36u);
  ExpectEntries(*log, std::vector<LogEntry>(all.begin() + 28, all.begin() + static_cast<long>(log->last_index())));
}

}  // namespace
}  // namespace storage_testing
