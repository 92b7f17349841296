#include "raft/durable/durable_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "raft/durable/snapshot_file.h"
#include "testing/faulty_fs.h"
#include "testing/mem_fs.h"

namespace raft {
namespace {

using common::Code;
using replog_testing::CrashMode;
using replog_testing::FaultyFs;
using replog_testing::MemFs;
using ::testing::HasSubstr;

const char* const kDir = "/g";

// No background preallocation: its syncs would make sync points differ from run to run.
storage::Options TestOptions() {
  storage::Options o;
  o.preallocate = false;
  o.segment_bytes = 4096;
  o.max_segment_entries = 256;
  return o;
}

std::unique_ptr<DurableStorage> OpenOrDie(common::Fs& fs) {
  auto s = DurableStorage::Open(fs, kDir, TestOptions());
  EXPECT_TRUE(s.has_value()) << s.error().ToString();
  return s.has_value() ? std::move(*s) : nullptr;
}

ConfState Voters(std::vector<NodeId> ids) {
  ConfState cs;
  cs.voters = std::move(ids);
  return cs;
}

std::vector<Entry> MakeEntries(uint64_t lo, uint64_t hi, uint64_t term, size_t payload = 10) {
  std::vector<Entry> out;
  for (uint64_t i = lo; i <= hi; ++i) {
    EntryType type = i % 3 == 0 ? EntryType::kNoop : EntryType::kNormal;
    out.push_back(Entry{i, term, type, type == EntryType::kNoop ? "" : std::string(payload, char('a' + i % 26))});
  }
  return out;
}

Ready EntriesReady(std::vector<Entry> entries, HardState hs) {
  Ready rd;
  rd.entries = std::move(entries);
  rd.hard_state = hs;
  rd.must_sync = true;
  return rd;
}

std::vector<Entry> AllEntries(const DurableStorage& s) {
  auto e = s.Entries(s.FirstIndex(), s.LastIndex() + 1, UINT64_MAX);
  EXPECT_TRUE(e.has_value()) << e.error().ToString();
  return e.has_value() ? *e : std::vector<Entry>{};
}

TEST(DurableStorageTest, RoundTripAcrossReopen) {
  MemFs fs;
  const std::vector<Entry> entries = MakeEntries(1, 8, 2);
  ConfState later = Voters({1, 2, 3});
  later.learners = {4};
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Bootstrap(Voters({1, 2, 3})).ok());
    ASSERT_TRUE(s->Persist(EntriesReady(entries, HardState{2, 1, 6})).ok());
    ASSERT_TRUE(s->SaveSnapshot(6, later, "state@6").ok());
    ASSERT_TRUE(s->Compact(4).ok());  // keep a trailing window 5..6 behind the snapshot
  }
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  auto st = s->GetInitialState();
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->hard_state, (HardState{2, 1, 6}));
  EXPECT_EQ(st->conf_state, later);
  EXPECT_EQ(s->FirstIndex(), 5u);
  EXPECT_EQ(s->LastIndex(), 8u);
  EXPECT_EQ(*s->Term(4), 2u);  // first - 1: the purge term
  EXPECT_EQ(s->Term(3).status().code(), Code::kOutOfRange);
  EXPECT_EQ(AllEntries(*s), std::vector<Entry>(entries.begin() + 4, entries.end()));
  auto snap = s->GetSnapshot();
  ASSERT_TRUE(snap.has_value()) << snap.error().ToString();
  EXPECT_EQ(*snap, (Snapshot{SnapshotMeta{6, 2, later}, "state@6"}));
  EXPECT_EQ(s->open_stats().old_snapshots_removed, 0u);  // the bootstrap file went when index 6 was durable
  EXPECT_FALSE(fs.Exists("/g/snapshots/00000000000000000000.snap").value());
}

TEST(DurableStorageTest, OlderSnapshotFileLeftByACrashIsRemovedOnOpen) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 4, 1), HardState{1, 0, 4})).ok());
    ASSERT_TRUE(s->SaveSnapshot(4, Voters({1}), "new").ok());
  }
  // As if a crash came before the deletion of the file at 2 was durable.
  const std::string old_path = "/g/snapshots/00000000000000000002.snap";
  ASSERT_TRUE(fs.WriteFileForTest(old_path, snapshot_file::Encode(SnapshotMeta{2, 1, Voters({1})}, "old")).ok());
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->open_stats().old_snapshots_removed, 1u);
  EXPECT_FALSE(fs.Exists(old_path).value());
  EXPECT_EQ(s->GetSnapshot()->data, "new");
}

TEST(DurableStorageTest, BootstrapStoresTheFirstConfigurationOnce) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->Bootstrap(ConfState{}).code(), Code::kInvalidArgument);
    ASSERT_TRUE(s->Bootstrap(Voters({1, 2, 3})).ok());
    EXPECT_EQ(s->Bootstrap(Voters({1})).code(), Code::kFailedPrecondition);
  }
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->GetInitialState()->conf_state, Voters({1, 2, 3}));
  EXPECT_EQ(s->GetSnapshot().status().code(), Code::kUnavailable);  // index 0 is not a snapshot to send
  EXPECT_EQ(*s->Term(0), 0u);
  EXPECT_TRUE(fs.Exists("/g/snapshots/00000000000000000000.snap").value());
  Status again = s->Bootstrap(Voters({1, 2, 3}));
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("already holds state"));
}

TEST(DurableStorageTest, BootstrapAtAnIndexStartsTheLogAfterIt) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->BootstrapAt(1, 0, Voters({1}), "state").code(), Code::kInvalidArgument);
    ASSERT_TRUE(s->BootstrapAt(1, 1, Voters({1, 2, 3}), "state").ok());
    EXPECT_EQ(s->BootstrapAt(1, 1, Voters({1, 2, 3}), "state").code(), Code::kFailedPrecondition);
  }
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->GetInitialState()->conf_state, Voters({1, 2, 3}));
  EXPECT_EQ(s->FirstIndex(), 2u);  // a member that needs index 1 is sent the snapshot
  EXPECT_EQ(s->LastIndex(), 1u);
  EXPECT_EQ(*s->Term(1), 1u);
  ASSERT_TRUE(s->GetSnapshot().has_value());
  EXPECT_EQ(s->GetSnapshot()->data, "state");
  EXPECT_EQ(s->GetSnapshot()->meta.index, 1u);
  ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(2, 3, 1), HardState{1, 0, 2})).ok());
  EXPECT_EQ(s->LastIndex(), 3u);
}

// BootstrapAt makes the snapshot durable before it purges the log: a crash
// or an I/O error between the two leaves the snapshot, and Open completes
// the purge.
TEST(DurableStorageTest, BootstrapAtInterruptedBeforeThePurgeIsCompletedByOpen) {
  for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearLastWrite}) {
    MemFs mem;
    FaultyFs faulty(mem);
    {
      auto s = OpenOrDie(faulty);
      ASSERT_NE(s, nullptr);
      // The log's sync after the purge fails; the snapshot's syncs went through.
      faulty.FailMatching([](std::string_view op, const std::string& path) {
        return op == "fdatasync" && path.find("snapshots") == std::string::npos;
      }, EIO, 1);
      Status st = s->BootstrapAt(1, 1, Voters({1, 2, 3}), "state");
      ASSERT_FALSE(st.ok());
      EXPECT_THAT(st.message(), HasSubstr("bootstrap"));
    }
    mem.Crash(mode, 7);
    auto s = OpenOrDie(mem);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->snapshot_meta().has_value());
    EXPECT_EQ(s->snapshot_meta()->index, 1u);
    EXPECT_EQ(s->GetSnapshot()->data, "state");
    EXPECT_EQ(s->FirstIndex(), 2u);
    EXPECT_EQ(s->LastIndex(), 1u);
  }
}

TEST(DurableStorageTest, BootstrapRefusesADirectoryWithALog) {
  MemFs fs;
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 2, 1), HardState{1, 0, 0})).ok());
  EXPECT_EQ(s->Bootstrap(Voters({1})).code(), Code::kFailedPrecondition);
  EXPECT_EQ(s->GetInitialState()->conf_state, ConfState{});  // a joining node starts without one
}

TEST(DurableStorageTest, PersistWithOverlappingEntriesTruncates) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 6, 1), HardState{1, 1, 2})).ok());
    ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(4, 5, 3), HardState{3, 2, 2})).ok());
    EXPECT_EQ(s->LastIndex(), 5u);
  }
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  std::vector<Entry> want = MakeEntries(1, 3, 1);
  for (const Entry& e : MakeEntries(4, 5, 3)) want.push_back(e);
  EXPECT_EQ(AllEntries(*s), want);
  EXPECT_EQ(s->GetInitialState()->hard_state, (HardState{3, 2, 2}));
}

TEST(DurableStorageTest, PersistRefusesAGapOrEntriesBelowTheSnapshot) {
  MemFs fs;
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 4, 1), HardState{1, 0, 4})).ok());
  Status gap = s->Persist(EntriesReady(MakeEntries(7, 8, 1), HardState{1, 0, 4}));
  EXPECT_EQ(gap.code(), Code::kInvalidArgument);
  EXPECT_THAT(gap.message(), HasSubstr("persist: append entries [7, 8]"));
  ASSERT_TRUE(s->SaveSnapshot(3, Voters({1}), "s").ok());
  ASSERT_TRUE(s->Compact(3).ok());
  Status below = s->Persist(EntriesReady(MakeEntries(2, 4, 2), HardState{2, 0, 4}));
  EXPECT_EQ(below.code(), Code::kOutOfRange) << below.ToString();
}

TEST(DurableStorageTest, EntriesCountEntrySizeAgainstMaxBytes) {
  MemFs fs;
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  std::vector<Entry> entries;
  for (uint64_t i = 1; i <= 10; ++i) entries.push_back(Entry{i, 1, EntryType::kNormal, std::string(10, 'x')});
  ASSERT_TRUE(s->Persist(EntriesReady(entries, HardState{1, 0, 0})).ok());
  // EntrySize is 34 each: 2 * 34 = 68 <= 100 < 102.
  EXPECT_EQ(s->Entries(1, 11, 100)->size(), 2u);
  EXPECT_EQ(s->Entries(1, 11, 102)->size(), 3u);
  EXPECT_EQ(s->Entries(1, 11, 0)->size(), 1u);  // at least one
  EXPECT_EQ(s->Entries(4, 11, UINT64_MAX)->size(), 7u);
  EXPECT_EQ(s->Entries(4, 4, 0)->size(), 0u);
  EXPECT_EQ(s->Entries(1, 12, 100).status().code(), Code::kOutOfRange);
  EXPECT_EQ(s->Entries(0, 2, 100).status().code(), Code::kOutOfRange);
  EXPECT_EQ((*s->Entries(5, 6, 0))[0], entries[4]);
}

TEST(DurableStorageTest, SaveSnapshotAndCompactCheckTheirIndex) {
  MemFs fs;
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 5, 1), HardState{1, 0, 5})).ok());
  EXPECT_EQ(s->Compact(2).code(), Code::kFailedPrecondition);  // no snapshot yet
  EXPECT_EQ(s->SaveSnapshot(6, Voters({1}), "x").code(), Code::kOutOfRange);
  ASSERT_TRUE(s->SaveSnapshot(4, Voters({1}), "x").ok());
  EXPECT_EQ(s->SaveSnapshot(4, Voters({1}), "y").code(), Code::kFailedPrecondition);
  EXPECT_EQ(s->Compact(5).code(), Code::kFailedPrecondition);  // past the snapshot
  ASSERT_TRUE(s->Compact(4).ok());
  ASSERT_TRUE(s->Compact(2).ok());  // already purged: no-op
  EXPECT_EQ(s->FirstIndex(), 5u);
  EXPECT_EQ(s->Entries(4, 5, 100).status().code(), Code::kOutOfRange);
}

TEST(DurableStorageTest, CrashAfterPersistReturnsKeepsEverything) {
  for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearLastWrite}) {
    MemFs fs;
    const std::vector<Entry> entries = MakeEntries(11, 14, 3);
    {
      auto s = OpenOrDie(fs);
      ASSERT_NE(s, nullptr);
      ASSERT_TRUE(s->Bootstrap(Voters({1, 2, 3})).ok());
      ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 6, 1), HardState{1, 1, 2})).ok());
      Ready rd = EntriesReady(entries, HardState{3, 2, 12});
      rd.snapshot = Snapshot{SnapshotMeta{10, 2, Voters({1, 2})}, "snap@10"};
      ASSERT_TRUE(s->Persist(rd).ok());
      fs.Crash(mode, 7);
    }
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->GetInitialState()->hard_state, (HardState{3, 2, 12}));
    EXPECT_EQ(s->GetInitialState()->conf_state, Voters({1, 2}));
    EXPECT_EQ(s->FirstIndex(), 11u);
    EXPECT_EQ(*s->Term(10), 2u);
    EXPECT_EQ(AllEntries(*s), entries);
    EXPECT_EQ(s->GetSnapshot()->data, "snap@10");
    EXPECT_FALSE(s->open_stats().completed_snapshot_install);
  }
}

TEST(DurableStorageTest, CrashBeforeTheSyncLosesOnlyUnsyncedState) {
  for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearLastWrite}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      MemFs fs;
      const std::vector<Entry> first = MakeEntries(1, 3, 1);
      const std::vector<Entry> second = MakeEntries(4, 9, 2, 300);
      {
        auto s = OpenOrDie(fs);
        ASSERT_NE(s, nullptr);
        ASSERT_TRUE(s->Persist(EntriesReady(first, HardState{1, 1, 1})).ok());
        Ready commit_only;  // written, not synced: the commit index is learned again
        commit_only.hard_state = HardState{1, 1, 3};
        ASSERT_TRUE(s->Persist(commit_only).ok());
        fs.SetSyncHook([&](const std::string&) { fs.Crash(mode, seed); });
        EXPECT_FALSE(s->Persist(EntriesReady(second, HardState{2, 2, 3})).ok());
        fs.SetSyncHook({});
      }
      auto s = OpenOrDie(fs);
      ASSERT_NE(s, nullptr);
      std::vector<Entry> got = AllEntries(*s);
      HardState hs = s->GetInitialState()->hard_state;
      ASSERT_GE(got.size(), first.size());
      EXPECT_EQ(std::vector<Entry>(got.begin(), got.begin() + 3), first);
      // Unsynced writes may survive, as a prefix in write order.
      for (size_t i = 3; i < got.size(); ++i) EXPECT_EQ(got[i], second[i - 3]);
      if (hs.term == 2) {
        EXPECT_EQ(got.size(), 9u);
      }
      EXPECT_TRUE(hs == (HardState{1, 1, 1}) || hs == (HardState{1, 1, 3}) || hs == (HardState{2, 2, 3}))
          << hs.term << "/" << hs.vote << "/" << hs.commit;
      // It keeps working: a new write is durable.
      ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(got.size() + 1, got.size() + 1, 4), HardState{4, 0, 1})).ok());
    }
  }
}

TEST(DurableStorageTest, TornTempSnapshotFileIsIgnoredAndRemoved) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Bootstrap(Voters({1})).ok());
  }
  std::string full = snapshot_file::Encode(SnapshotMeta{5, 1, Voters({1})}, "torn");
  ASSERT_TRUE(fs.WriteFileForTest("/g/snapshots/00000000000000000005.snap.tmp", full.substr(0, 30)).ok());
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->open_stats().snapshot_temps_removed, 1u);
  EXPECT_EQ(s->snapshot_meta()->index, 0u);
  EXPECT_FALSE(fs.Exists("/g/snapshots/00000000000000000005.snap.tmp").value());
}

TEST(DurableStorageTest, CorruptSnapshotFileIsDataLossNamingTheFile) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 4, 1), HardState{1, 0, 4})).ok());
    ASSERT_TRUE(s->SaveSnapshot(4, Voters({1, 2}), "data").ok());
  }
  const std::string path = "/g/snapshots/00000000000000000004.snap";
  const uint64_t size = fs.ReadFileForTest(path)->size();
  for (uint64_t offset = 0; offset < size; ++offset) {
    fs.FlipByteForTest(path, offset);
    auto s = DurableStorage::Open(fs, kDir, TestOptions());
    ASSERT_FALSE(s.has_value()) << "byte " << offset;
    EXPECT_EQ(s.error().code(), Code::kDataLoss) << "byte " << offset << ": " << s.error().ToString();
    EXPECT_THAT(s.error().message(), HasSubstr(path)) << "byte " << offset;
    fs.FlipByteForTest(path, offset);
  }
  ASSERT_TRUE(fs.WriteFileForTest(path, fs.ReadFileForTest(path)->substr(0, size - 1)).ok());
  auto s = DurableStorage::Open(fs, kDir, TestOptions());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kDataLoss);
  EXPECT_THAT(s.error().message(), HasSubstr(path));
}

TEST(DurableStorageTest, LogPurgedPastEverySnapshotIsDataLoss) {
  MemFs fs;
  {
    auto s = OpenOrDie(fs);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 4, 1), HardState{1, 0, 4})).ok());
    ASSERT_TRUE(s->SaveSnapshot(3, Voters({1}), "data").ok());
    ASSERT_TRUE(s->Compact(3).ok());
  }
  ASSERT_TRUE(fs.Remove("/g/snapshots/00000000000000000003.snap").ok());
  auto s = DurableStorage::Open(fs, kDir, TestOptions());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), Code::kDataLoss);
  EXPECT_THAT(s.error().message(), HasSubstr("holds no snapshot"));
}

TEST(DurableStorageTest, IoErrorDuringPersistNamesTheOperation) {
  MemFs mem;
  FaultyFs faulty(mem);
  auto s = OpenOrDie(faulty);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, 3, 1), HardState{1, 0, 0})).ok());
  faulty.FailMatching([](std::string_view op, const std::string&) { return op == "fdatasync"; }, EIO, 1);
  Status st = s->Persist(EntriesReady(MakeEntries(4, 5, 1), HardState{1, 0, 3}));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("persist: sync /g"));
  EXPECT_THAT(st.message(), HasSubstr("fdatasync"));
  EXPECT_THAT(st.message(), HasSubstr("Input/output error"));
  // The log is read-only until reopened: later writes repeat the error.
  EXPECT_FALSE(s->Persist(EntriesReady(MakeEntries(4, 4, 1), HardState{1, 0, 3})).ok());
}

TEST(DurableStorageTest, IoErrorWritingASnapshotNamesTheFile) {
  MemFs mem;
  FaultyFs faulty(mem);
  {
    auto s = OpenOrDie(faulty);
    ASSERT_NE(s, nullptr);
    ASSERT_TRUE(s->Bootstrap(Voters({1, 2, 3})).ok());
    faulty.FailMatching([](std::string_view op, const std::string&) { return op == "rename"; }, EIO, 1);
    Ready rd;
    rd.snapshot = Snapshot{SnapshotMeta{10, 2, Voters({1, 2, 3})}, "snap"};
    rd.hard_state = HardState{2, 0, 10};
    rd.must_sync = true;
    Status st = s->Persist(rd);
    ASSERT_FALSE(st.ok());
    EXPECT_THAT(st.message(), HasSubstr("persist: install snapshot at 10: rename /g/snapshots/"));
    EXPECT_THAT(st.message(), HasSubstr("00000000000000000010.snap.tmp"));
  }
  // Nothing of it happened: the old state, and the temp file is cleaned up.
  auto s = OpenOrDie(mem);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->snapshot_meta()->index, 0u);
  EXPECT_EQ(s->open_stats().snapshot_temps_removed, 1u);
  EXPECT_EQ(s->LastIndex(), 0u);
}


// ---- crash at every sync point of a snapshot install ----

// The state before: entries 1..old_last of term 1, a snapshot at 3 and the
// log compacted to 2 (a trailing window). The install: a snapshot at
// `snap_index` of term 2 with another configuration.
struct InstallCase {
  uint64_t old_last;
  uint64_t snap_index;
};

void SetUpOldState(MemFs& fs, const InstallCase& c) {
  auto s = OpenOrDie(fs);
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->Bootstrap(Voters({1, 2, 3})).ok());
  ASSERT_TRUE(s->Persist(EntriesReady(MakeEntries(1, c.old_last, 1), HardState{1, 1, 3})).ok());
  ASSERT_TRUE(s->SaveSnapshot(3, Voters({1, 2, 3}), "old@3").ok());
  ASSERT_TRUE(s->Compact(2).ok());
}

Ready InstallReady(const InstallCase& c) {
  Ready rd;
  rd.snapshot = Snapshot{SnapshotMeta{c.snap_index, 2, Voters({1, 2, 3, 4})}, "new@" + std::to_string(c.snap_index)};
  rd.hard_state = HardState{2, 0, c.snap_index};
  rd.must_sync = true;
  return rd;
}

// What a restarted node would rebuild from: the snapshot (index, term, data,
// configuration) together with the log after it.
std::string Describe(const DurableStorage& s) {
  auto snap = s.GetSnapshot();
  if (!snap.has_value()) return "GetSnapshot: " + snap.error().ToString();
  std::string out = "snapshot " + std::to_string(snap->meta.index) + "/" + std::to_string(snap->meta.term) + " " +
                    snap->data + " voters=" + std::to_string(snap->meta.conf_state.voters.size()) +
                    " conf=" + std::to_string(s.GetInitialState()->conf_state.voters.size()) + " log [" +
                    std::to_string(s.FirstIndex()) + ", " + std::to_string(s.LastIndex()) + "] terms " +
                    std::to_string(*s.Term(s.FirstIndex() - 1));
  for (const Entry& e : AllEntries(s)) out += "," + std::to_string(e.term);
  return out;
}

// Runs the install on a fresh copy of the old state, crashing at sync point
// `crash_at` (0: never); returns how many sync points it passed.
uint64_t RunInstall(MemFs& fs, const InstallCase& c, uint64_t crash_at, CrashMode mode, uint64_t seed) {
  SetUpOldState(fs, c);
  uint64_t syncs = 0;
  auto s = OpenOrDie(fs);
  if (s == nullptr) return 0;
  fs.SetSyncHook([&](const std::string&) {
    if (++syncs == crash_at) fs.Crash(mode, seed);
  });
  Status st = s->Persist(InstallReady(c));
  EXPECT_EQ(st.ok(), crash_at == 0) << st.ToString();
  fs.SetSyncHook({});
  return syncs;
}

TEST(DurableStorageTest, CrashAtEverySyncOfASnapshotInstallLeavesOldOrNewState) {
  for (const InstallCase& c : {InstallCase{5, 10}, InstallCase{12, 10}}) {
    std::string old_state, new_state;
    uint64_t points = 0;
    {
      MemFs fs;
      SetUpOldState(fs, c);
      auto s = OpenOrDie(fs);
      ASSERT_NE(s, nullptr);
      old_state = Describe(*s);
    }
    {
      MemFs fs;
      points = RunInstall(fs, c, 0, CrashMode::kDropUnsynced, 0);
      auto s = OpenOrDie(fs);
      ASSERT_NE(s, nullptr);
      new_state = Describe(*s);
    }
    ASSERT_NE(old_state, new_state);
    ASSERT_GE(points, 3u);  // snapshot file, snapshots/, log
    for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearLastWrite}) {
      std::set<std::string> seen;
      bool completed_on_open = false;
      for (uint64_t k = 1; k <= points; ++k) {
        // Crash again at each sync of the first reopen (which may complete the install).
        for (uint64_t j = 0; j <= 3; ++j) {
          SCOPED_TRACE("install at " + std::to_string(c.snap_index) + ", crash at sync " + std::to_string(k) +
                       ", then at reopen sync " + std::to_string(j));
          MemFs fs;
          uint64_t seed = k * 10 + j;
          RunInstall(fs, c, k, mode, seed);
          if (j > 0) {
            uint64_t syncs = 0;
            fs.SetSyncHook([&](const std::string&) {
              if (++syncs == j) fs.Crash(mode, seed + 1);
            });
            auto crashed = DurableStorage::Open(fs, kDir, TestOptions());
            fs.SetSyncHook({});
          }
          auto s = OpenOrDie(fs);
          ASSERT_NE(s, nullptr);
          std::string got = Describe(*s);
          EXPECT_TRUE(got == old_state || got == new_state) << got << "\nold: " << old_state << "\nnew: " << new_state;
          HardState hs = s->GetInitialState()->hard_state;
          if (got == old_state) {
            EXPECT_EQ(hs, (HardState{1, 1, 3}));
          }
          seen.insert(got);
          completed_on_open |= s->open_stats().completed_snapshot_install;
        }
      }
      EXPECT_EQ(seen.size(), 2u) << "both outcomes occur across the sync points";
      EXPECT_TRUE(completed_on_open) << "some crash leaves the file durable and the log not yet purged";
    }
  }
}

}  // namespace
}  // namespace raft
