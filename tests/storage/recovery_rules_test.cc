// Tests of recovery rules (DESIGN §2 rules 2-3, WAL-7, WAL-9, WAL-14): a
// damaged byte before synced rounds of the last segment is kDataLoss naming
// the file and position; a torn last round, cut at any byte, is cut off,
// zeroed and counted; stale preallocated files and segments that a purge or
// truncation deleted but a crash brought back are ignored.

#include <string>

#include "rules_fixture.h"

namespace storage_testing {
namespace {

using common::Code;
using replog_testing::MemFs;
using storage::Options;
using storage::SegmentedLog;

class RecoveryRulesTest : public RulesTest {};

// ---- Rule 3: damage before synced data is corruption ----

// Builds one segment of `rounds` synced rounds; returns its bytes.
std::string SyncedRounds(MemFs& mem, const Options& opts, int rounds, std::vector<LogEntry>* all) {
  auto log = SegmentedLog::Open(mem, kDir, opts);
  CHECK(log.has_value());
  uint64_t next = 1;
  for (int r = 0; r < rounds; r++) {
    std::vector<LogEntry> batch = MakeEntries(next, 1 + r % 3, 1 + r / 3, 13 + 29 * r);
    CHECK_OK((*log)->Append(batch));
    if (r % 4 == 1) CHECK_OK((*log)->SetHardState({1 + static_cast<uint64_t>(r) / 3, 1, next}));
    CHECK_OK((*log)->Sync());
    all->insert(all->end(), batch.begin(), batch.end());
    next += batch.size();
  }
  return *mem.ReadFileForTest(LogPath(1));
}

TEST_F(RecoveryRulesTest, FlippedByteFollowedBySyncedRoundsFailsOpenNamingFileAndPosition) {
  std::vector<LogEntry> all;
  const std::string bytes = SyncedRounds(mem_, opts_, 8, &all);
  const std::vector<RecordPos> records = ParseRecords(bytes);
  const std::vector<uint64_t> bounds = RoundBounds(records);
  ASSERT_EQ(bounds.size(), 10u);  // checkpoint round, 8 rounds, end
  const uint64_t last_round = bounds[bounds.size() - 2];
  size_t flips = 0;
  for (uint64_t pos = 0; pos < last_round; pos++) {
    // Where the engine should report the damage: the record holding the byte.
    uint64_t at = 0;
    bool padding = false;
    for (const RecordPos& r : records) {
      if (pos >= r.start && pos < r.start + r.size) {
        at = r.start;
        padding = pos >= r.body_end;
      }
    }
    MemFs mem;
    ASSERT_TRUE(mem.WriteFileForTest(LogPath(1), bytes).ok());
    mem.FlipByteForTest(LogPath(1), pos);
    auto log = SegmentedLog::Open(mem, kDir, opts_);
    if (padding) {
      // Padding is not data; a flip there may go unnoticed, but must not change anything.
      if (log.has_value()) {
        EXPECT_EQ((*log)->last_index(), all.size()) << "flip at " << pos;
      }
      continue;
    }
    flips++;
    ASSERT_FALSE(log.has_value()) << "a flipped byte at " << pos << " (record at " << at
                                  << ") before synced rounds was accepted, last index "
                                  << (*log)->last_index();
    EXPECT_EQ(log.error().code(), Code::kDataLoss) << "flip at " << pos << ": " << log.error().ToString();
    std::string where = LogPath(1) + " at " + std::to_string(at);
    ASSERT_NE(log.error().message().find(where), std::string::npos)
        << "flip at " << pos << ": want '" << where << "' in: " << log.error().ToString();
  }
  EXPECT_GT(flips, 1000u);
}

// ---- Rule 3: a torn last round is cut and counted ----

// The state a log image reopens to.
ModelState OpenedState(const std::string& log_bytes, const Options& opts) {
  MemFs mem;
  CHECK_OK(mem.WriteFileForTest(LogPath(1), log_bytes));
  auto log = SegmentedLog::Open(mem, kDir, opts);
  CHECK_MSG(log.has_value(), log.error().ToString());
  auto state = ReadLogState(**log);
  CHECK_MSG(state.has_value(), state.error().ToString());
  return *state;
}

// The last round cut at every byte, the file either ending there (a torn
// append) or zero-filled to the segment size (a torn write into a
// preallocated file): the log reopens to the previous round, counts the torn
// bytes, and keeps working.
TEST_F(RecoveryRulesTest, TornLastRoundAtEveryByteReopensToThePreviousRound) {
  std::vector<LogEntry> all;
  const std::string bytes = SyncedRounds(mem_, opts_, 6, &all);
  const std::vector<uint64_t> bounds = RoundBounds(ParseRecords(bytes));
  const uint64_t start = bounds[bounds.size() - 2];
  const uint64_t end = bounds.back();
  ASSERT_EQ(end, bytes.size());
  const ModelState before = OpenedState(bytes.substr(0, start), opts_);
  const ModelState after = OpenedState(bytes, opts_);
  ASSERT_LT(before.last_index, after.last_index);
  for (uint64_t cut = start; cut < end; cut++) {
    for (bool zero_fill : {false, true}) {
      std::string torn = bytes.substr(0, cut);
      if (zero_fill) torn.resize(opts_.segment_bytes, '\0');
      // Zeroing bytes that were zero already tears nothing.
      const bool intact = zero_fill && bytes.find_first_not_of('\0', cut) == std::string::npos;
      const ModelState& want = intact ? after : before;
      std::string context = "cut at " + std::to_string(cut) + (zero_fill ? " (zero-filled)" : " (truncated)") +
                            ", last round [" + std::to_string(start) + ", " + std::to_string(end) + ")";
      MemFs mem;
      ASSERT_TRUE(mem.WriteFileForTest(LogPath(1), torn).ok());
      {
        auto log = SegmentedLog::Open(mem, kDir, opts_);
        ASSERT_TRUE(log.has_value()) << context << ": " << log.error().ToString();
        auto got = ReadLogState(**log);
        ASSERT_TRUE(got.has_value()) << context << ": " << got.error().ToString();
        ASSERT_TRUE(*got == want) << context << ": got " << got->Summary() << ", want " << want.Summary();
        const bool dirty = !intact && torn.find_first_not_of('\0', start) != std::string::npos;
        EXPECT_EQ((*log)->stats().torn_bytes_dropped > 0, dirty) << context;
        EXPECT_LE((*log)->stats().torn_bytes_dropped, end - start) << context;
        ASSERT_TRUE((*log)->Append(MakeEntries(want.last_index + 1, 2, 77, 30)).ok());
        ASSERT_TRUE((*log)->Sync().ok()) << context;
      }
      mem.Crash(replog_testing::CrashMode::kDropUnsynced, cut);
      auto log = SegmentedLog::Open(mem, kDir, opts_);
      ASSERT_TRUE(log.has_value()) << context << ": after appending: " << log.error().ToString();
      EXPECT_EQ((*log)->last_index(), want.last_index + 2) << context;
      EXPECT_EQ(*(*log)->Term(want.last_index + 2), 77u) << context;
    }
  }
}

// Recovery zeroes the whole torn tail, so that the next clean open finds no
// torn tail, whatever byte the torn write ended at.
TEST_F(RecoveryRulesTest, TornTailIsZeroedToTheEndOfTheFile) {
  std::vector<LogEntry> all;
  const std::string bytes = SyncedRounds(mem_, opts_, 6, &all);
  const std::vector<uint64_t> bounds = RoundBounds(ParseRecords(bytes));
  const uint64_t start = bounds[bounds.size() - 2];
  for (uint64_t cut = start + 1; cut < bytes.size(); cut++) {
    std::string context = "file cut at " + std::to_string(cut) + " in the last round [" + std::to_string(start) +
                          ", " + std::to_string(bytes.size()) + ")";
    MemFs mem;
    ASSERT_TRUE(mem.WriteFileForTest(LogPath(1), bytes.substr(0, cut)).ok());
    uint64_t last = 0;
    {
      auto log = SegmentedLog::Open(mem, kDir, opts_);
      ASSERT_TRUE(log.has_value()) << context << ": " << log.error().ToString();
      last = (*log)->last_index();
      ASSERT_TRUE((*log)->Append(MakeEntries(last + 1, 2, 77, 30)).ok());
      ASSERT_TRUE((*log)->Sync().ok()) << context;
    }
    auto log = SegmentedLog::Open(mem, kDir, opts_);
    ASSERT_TRUE(log.has_value()) << context << ": " << log.error().ToString();
    EXPECT_EQ((*log)->last_index(), last + 2) << context;
    ASSERT_EQ((*log)->stats().torn_bytes_dropped, 0u)
        << context << ": a clean reopen after recovery and a synced append found a torn tail: bytes of the old "
        << "torn write were left unzeroed past the new data";
  }
}

// ---- WAL-9: stale and dead files ----

TEST_F(RecoveryRulesTest, StalePreallocatedFilesAreRemovedOnOpen) {
  std::vector<LogEntry> all = Fill(100, 10, 100);
  const std::string zeros(opts_.segment_bytes, '\0');
  const std::string stale1 = std::string(kDir) + "/prealloc-7.tmp";
  const std::string stale2 = LogPath(5000) + ".tmp";
  ASSERT_TRUE(mem_.WriteFileForTest(stale1, zeros).ok());
  ASSERT_TRUE(mem_.WriteFileForTest(stale2, zeros).ok());
  auto log = OpenLog();
  EXPECT_FALSE(*mem_.Exists(stale1));
  EXPECT_FALSE(*mem_.Exists(stale2));
  ExpectEntries(*log, all);
}

TEST_F(RecoveryRulesTest, PurgedSegmentThatReappearsIsIgnored) {
  std::vector<LogEntry> all = Fill(600, 30, 100);
  std::vector<uint64_t> segs = Segments();
  ASSERT_GE(segs.size(), 4u);
  const std::string old_log = *mem_.ReadFileForTest(LogPath(segs[0]));
  const std::string old_index = *mem_.ReadFileForTest(IndexPath(segs[0]));
  const uint64_t purge = segs[2] + 3;
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->PurgeUpTo(purge, 1).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_FALSE(*mem_.Exists(LogPath(segs[0])));
  // A crash undid the removal (it was never made durable by a directory sync).
  ASSERT_TRUE(mem_.WriteFileForTest(LogPath(segs[0]), old_log).ok());
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(segs[0]), old_index).ok());
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->first_index(), purge + 1);
  EXPECT_EQ(log->Entry(purge).error().code(), Code::kOutOfRange);
  EXPECT_EQ(*log->Term(purge), 1u);
  ExpectEntries(*log, std::vector<LogEntry>(all.begin() + purge, all.end()));
  EXPECT_FALSE(*mem_.Exists(LogPath(segs[0])));
  EXPECT_FALSE(*mem_.Exists(IndexPath(segs[0])));
}

TEST_F(RecoveryRulesTest, PurgedSegmentLogWithoutIndexThatReappearsIsIgnored) {
  std::vector<LogEntry> all = Fill(600, 30, 100);
  std::vector<uint64_t> segs = Segments();
  const std::string old_log = *mem_.ReadFileForTest(LogPath(segs[0]));
  const uint64_t purge = segs[2] + 3;
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->PurgeUpTo(purge, 1).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_TRUE(mem_.WriteFileForTest(LogPath(segs[0]), old_log).ok());
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->first_index(), purge + 1);
  ExpectEntries(*log, std::vector<LogEntry>(all.begin() + purge, all.end()));
  EXPECT_FALSE(*mem_.Exists(LogPath(segs[0])));
}

// A segment deleted because a truncation reached below it must not bring its
// truncated entries back if it reappears (DESIGN §2 rule 2).
TEST_F(RecoveryRulesTest, TruncatedSegmentThatReappearsIsIgnored) {
  std::vector<LogEntry> all = Fill(600, 30, 100);
  std::vector<uint64_t> segs = Segments();
  const uint64_t dead = segs.back();
  const std::string old_log = *mem_.ReadFileForTest(LogPath(dead));
  const std::string old_index = *mem_.ReadFileForTest(IndexPath(dead));
  const uint64_t keep = dead - 20;
  std::vector<LogEntry> fresh = MakeEntries(keep + 1, 40, 2, 60);
  {
    auto log = OpenLog();
    ASSERT_TRUE(log->TruncateAfter(keep).ok());
    ASSERT_TRUE(log->Append(fresh).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_FALSE(*mem_.Exists(LogPath(dead)));
  ASSERT_TRUE(mem_.WriteFileForTest(LogPath(dead), old_log).ok());
  ASSERT_TRUE(mem_.WriteFileForTest(IndexPath(dead), old_index).ok());
  auto log = OpenLog();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->last_index(), fresh.back().index);
  std::vector<LogEntry> want(all.begin(), all.begin() + keep);
  want.insert(want.end(), fresh.begin(), fresh.end());
  ExpectEntries(*log, want);
  EXPECT_FALSE(*mem_.Exists(LogPath(dead)));
}

}  // namespace
}  // namespace storage_testing
