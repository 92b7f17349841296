// RaftLog: the follower's side of AppendEntries (§5.3), the up-to-date
// comparison (§5.4.1), fast-backtracking hints, and the rule that only
// durable committed entries are applied. Catalogue 17, 19, 22, 29, 36.

#include <gtest/gtest.h>

#include "raft/core/log.h"
#include "raft/core/memory_storage.h"
#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::EntriesWithTerms;

// A log whose durable entries have `terms` (indexes 1..n) and commit index `commit`.
struct Fixture {
  explicit Fixture(const std::vector<uint64_t>& terms, uint64_t commit = 0) {
    CHECK_OK(storage.Append(EntriesWithTerms(terms)));
    log = std::make_unique<RaftLog>(storage);
    log->CommitTo(commit);
  }
  MemoryStorage storage;
  std::unique_ptr<RaftLog> log;
};

std::vector<uint64_t> Terms(const RaftLog& log) {
  std::vector<uint64_t> out;
  for (uint64_t i = log.first_index(); i <= log.last_index(); ++i) out.push_back(log.TermOrZero(i));
  return out;
}

// Catalogue 17, 19; Figure 2 AppendEntries rules 2-5 (etcd TestLogMaybeAppend).
TEST(RaftLogTest, MaybeAppendChecksPrevTruncatesOnlyOnConflictAndCapsCommit) {
  struct Case {
    uint64_t prev_index, prev_term, commit;
    std::vector<Entry> entries;
    std::optional<uint64_t> last_new;
    std::vector<uint64_t> terms;
    uint64_t committed;
  } cases[] = {
      {3, 2, 3, {}, std::nullopt, {1, 2, 3}, 1},                      // prev term mismatch
      {4, 3, 3, {}, std::nullopt, {1, 2, 3}, 1},                      // prev past the end
      {3, 3, 3, {}, 3, {1, 2, 3}, 3},                                 // heartbeat-like
      {3, 3, 9, {}, 3, {1, 2, 3}, 3},                                 // commit capped at last new
      {1, 1, 9, {}, 1, {1, 2, 3}, 1},                                 // ...not at our last index
      {3, 3, 4, EntriesWithTerms({4}, 4), 4, {1, 2, 3, 4}, 4},        // plain append
      {1, 1, 2, EntriesWithTerms({2}, 2), 2, {1, 2, 3}, 2},           // matching: nothing cut
      {1, 1, 2, EntriesWithTerms({4, 4}, 2), 3, {1, 4, 4}, 2},        // conflict at 2
      {2, 2, 3, EntriesWithTerms({3, 4}, 3), 4, {1, 2, 3, 4}, 3},     // overlap, then new
  };
  for (const Case& tc : cases) {
    Fixture f({1, 2, 3}, 1);
    auto got = f.log->MaybeAppend(tc.prev_index, tc.prev_term, tc.commit, tc.entries);
    EXPECT_EQ(got, tc.last_new) << tc.prev_index << "/" << tc.prev_term;
    EXPECT_EQ(Terms(*f.log), tc.terms) << tc.prev_index << "/" << tc.prev_term;
    EXPECT_EQ(f.log->committed(), tc.committed) << tc.prev_index << "/" << tc.prev_term;
  }
}

// Catalogue 17; Figure 3 State Machine Safety / Log Matching: a conflict at
// or below the commit index would erase a committed entry — a broken
// invariant, so the core aborts rather than do it.
TEST(RaftLogTest, ConflictAtOrBelowTheCommitIndexIsABug) {
  Fixture f({1, 2, 3}, 2);
  EXPECT_DEATH(f.log->MaybeAppend(1, 1, 3, EntriesWithTerms({5}, 2)), "conflict");
}

// Catalogue 3; §5.4.1 (etcd TestIsUpToDate): later last term wins, then length.
TEST(RaftLogTest, IsUpToDateComparesLastTermThenIndex) {
  Fixture f({1, 2, 3});
  EXPECT_TRUE(f.log->IsUpToDate(1, 4));
  EXPECT_TRUE(f.log->IsUpToDate(3, 3));
  EXPECT_TRUE(f.log->IsUpToDate(4, 3));
  EXPECT_FALSE(f.log->IsUpToDate(2, 3));
  EXPECT_FALSE(f.log->IsUpToDate(9, 2));
}

// Catalogue 22 (etcd TestFindConflictByTerm): the hint is the last index at
// or below the given one whose term is at most the given term.
TEST(RaftLogTest, FindConflictByTermSkipsWholeTerms) {
  Fixture f({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
  EXPECT_EQ(f.log->FindConflictByTerm(10, 6), (std::pair<uint64_t, uint64_t>{10, 6}));
  EXPECT_EQ(f.log->FindConflictByTerm(10, 5), (std::pair<uint64_t, uint64_t>{7, 5}));
  EXPECT_EQ(f.log->FindConflictByTerm(10, 3), (std::pair<uint64_t, uint64_t>{3, 1}));
  EXPECT_EQ(f.log->FindConflictByTerm(5, 4), (std::pair<uint64_t, uint64_t>{5, 4}));
  EXPECT_EQ(f.log->FindConflictByTerm(10, 0), (std::pair<uint64_t, uint64_t>{0, 0}));
}

// Catalogue 17 (etcd TestFindConflict).
TEST(RaftLogTest, FindConflictReturnsTheFirstMismatchOrNewEntry) {
  Fixture f({1, 2, 3});
  EXPECT_EQ(f.log->FindConflict(EntriesWithTerms({1, 2, 3})), 0u);
  EXPECT_EQ(f.log->FindConflict(EntriesWithTerms({2, 3}, 2)), 0u);
  EXPECT_EQ(f.log->FindConflict(EntriesWithTerms({2, 3, 4}, 2)), 4u);
  EXPECT_EQ(f.log->FindConflict(EntriesWithTerms({4, 4}, 2)), 2u);
}

// Catalogue 29, 30; thesis §10.2.1: committed entries are applied only once
// they are durable here.
TEST(RaftLogTest, OnlyDurableCommittedEntriesAreHandedOut) {
  Fixture f({1, 1});
  f.log->Append(EntriesWithTerms({1}, 3));
  f.log->CommitTo(3);
  auto ents = f.log->NextCommitted(UINT64_MAX);
  ASSERT_EQ(ents.size(), 2u);
  EXPECT_EQ(ents.back().index, 2u);
  CHECK_OK(f.storage.Append(f.log->unstable_entries()));
  f.log->StableTo(3, 1);
  EXPECT_EQ(f.log->NextCommitted(UINT64_MAX).back().index, 3u);
}

// Catalogue 36 (etcd async_storage_writes_append_aba_race.txt): confirming a
// write for (index, term) no longer in the log changes nothing.
TEST(RaftLogTest, StableToIgnoresEntriesThatWereReplaced) {
  Fixture f({1});
  f.log->Append(EntriesWithTerms({1, 1}, 2));
  f.log->Append(EntriesWithTerms({2}, 3));  // index 3 replaced by a new leader's
  f.log->StableTo(3, 1);
  EXPECT_EQ(f.log->unstable_entries().back(), (EntriesWithTerms({2}, 3)[0]));
  EXPECT_LT(f.log->durable_index(), 3u);
  CHECK_OK(f.storage.Append(f.log->unstable_entries()));
  f.log->StableTo(3, 2);
  EXPECT_EQ(f.log->durable_index(), 3u);
}

// Catalogue 37, 42: a compacted index has no term, and a slice from it is
// out of range (the leader sends a snapshot instead).
TEST(RaftLogTest, CompactedEntriesAreOutOfRange) {
  Fixture f({1, 1, 2, 2});
  CHECK_OK(f.storage.CreateSnapshot(3, ConfState{}, "s"));
  CHECK_OK(f.storage.Compact(3));
  EXPECT_EQ(f.log->first_index(), 4u);
  EXPECT_EQ(f.log->Term(3).value(), 2u);  // the snapshot's own index keeps its term
  EXPECT_EQ(f.log->Term(2).error().code(), common::Code::kOutOfRange);
  EXPECT_EQ(f.log->Slice(2, 5, UINT64_MAX).error().code(), common::Code::kOutOfRange);
}

// Catalogue 24: a slice stops at max_bytes but always holds one entry.
TEST(RaftLogTest, SliceRespectsMaxBytesButReturnsAtLeastOneEntry) {
  Fixture f({1, 1, 1, 1});
  uint64_t one = EntrySize(EntriesWithTerms({1})[0]);
  EXPECT_EQ(f.log->Slice(1, 5, 1)->size(), 1u);
  EXPECT_EQ(f.log->Slice(1, 5, 2 * one)->size(), 2u);
  EXPECT_EQ(f.log->Slice(1, 5, UINT64_MAX)->size(), 4u);
}

// Catalogue 37: restoring a snapshot replaces the log and commits its index.
TEST(RaftLogTest, RestoreReplacesTheLogWithTheSnapshot) {
  Fixture f({1, 1});
  f.log->Restore(Snapshot{SnapshotMeta{10, 3, ConfState{}}, "s"});
  EXPECT_EQ(f.log->first_index(), 11u);
  EXPECT_EQ(f.log->last_index(), 10u);
  EXPECT_EQ(f.log->last_term(), 3u);
  EXPECT_EQ(f.log->committed(), 10u);
  EXPECT_EQ(f.log->durable_index(), 0u);  // until the snapshot is persisted
}

}  // namespace
}  // namespace raft
