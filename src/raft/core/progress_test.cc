// Progress and Inflights: the leader's per-follower nextIndex / matchIndex
// (§5.3) and flow-control window (thesis §10.2). Catalogue 22, 24, 38.

#include "raft/core/progress.h"

#include <gtest/gtest.h>

namespace raft {
namespace {

// Catalogue 24 (etcd TestInflightsFull): the window fills by count, or by bytes.
TEST(RaftProgressTest, InflightsFillByCountOrBytesAndFreeWhenAcked) {
  Inflights by_count(3, 0);
  for (uint64_t i = 1; i <= 3; ++i) by_count.Add(i, 100);
  EXPECT_TRUE(by_count.Full());
  by_count.FreeLE(2);
  EXPECT_EQ(by_count.count(), 1u);
  EXPECT_FALSE(by_count.Full());
  Inflights by_bytes(100, 250);
  by_bytes.Add(1, 100);
  by_bytes.Add(2, 100);
  EXPECT_FALSE(by_bytes.Full());
  by_bytes.Add(3, 100);
  EXPECT_TRUE(by_bytes.Full());
  by_bytes.FreeLE(1);
  EXPECT_EQ(by_bytes.bytes(), 200u);
  EXPECT_FALSE(by_bytes.Full());
}

// Catalogue 18; §5.3: matchIndex only grows, so a stale acknowledgement
// (reordered or duplicated) changes nothing.
TEST(RaftProgressTest, MaybeUpdateOnlyMovesForward) {
  Progress pr(5, 10, 0, false);
  EXPECT_TRUE(pr.MaybeUpdate(3));
  EXPECT_EQ(pr.match, 3u);
  EXPECT_EQ(pr.next, 5u);
  EXPECT_FALSE(pr.MaybeUpdate(2));
  EXPECT_EQ(pr.match, 3u);
  EXPECT_TRUE(pr.MaybeUpdate(7));
  EXPECT_EQ(pr.next, 8u);
}

// Catalogue 24: a stale rejection while replicating is ignored; a real one
// sends next back to just after the match.
TEST(RaftProgressTest, ReplicateRejectionIgnoresStaleAndFallsBackToMatch) {
  Progress pr(1, 10, 0, false);
  pr.MaybeUpdate(5);
  pr.BecomeReplicate();
  pr.SentEntries(9, 4, 40);
  EXPECT_EQ(pr.next, 10u);
  EXPECT_FALSE(pr.MaybeDecrTo(5, 5));  // at the match: stale
  EXPECT_TRUE(pr.MaybeDecrTo(8, 2));
  EXPECT_EQ(pr.next, 6u);
}

// Catalogue 22: in probe only the rejection of the append sent counts, and
// the follower's hint moves next back, but never to or below the match.
TEST(RaftProgressTest, ProbeRejectionUsesTheHintButNotBelowTheMatch) {
  Progress pr(10, 10, 0, false);
  pr.MaybeUpdate(2);
  pr.next = 10;
  EXPECT_FALSE(pr.MaybeDecrTo(5, 3));  // not the append we sent (prev 9)
  EXPECT_TRUE(pr.MaybeDecrTo(9, 4));
  EXPECT_EQ(pr.next, 5u);
  EXPECT_TRUE(pr.MaybeDecrTo(4, 0));
  EXPECT_EQ(pr.next, 3u);  // match + 1
}

// Catalogue 24, 38: probe pauses after one append, replicate when the window
// is full, snapshot always.
TEST(RaftProgressTest, IsPausedDependsOnTheState) {
  Progress pr(1, 2, 0, false);
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(1, 1, 10);
  EXPECT_TRUE(pr.IsPaused());  // probe: one in flight
  pr.BecomeReplicate();
  pr.SentEntries(1, 1, 10);
  EXPECT_FALSE(pr.IsPaused());
  pr.SentEntries(2, 1, 10);
  EXPECT_TRUE(pr.IsPaused());  // window of 2 full
  pr.BecomeSnapshot(10);
  EXPECT_TRUE(pr.IsPaused());
}

// Catalogue 38 (etcd TestSnapshotSucceed / Failure): leaving the snapshot
// state resumes after the snapshot, or after the match if it failed.
TEST(RaftProgressTest, BecomeProbeAfterSnapshotResumesPastIt) {
  Progress pr(1, 10, 0, false);
  pr.MaybeUpdate(3);
  pr.BecomeSnapshot(20);
  pr.BecomeProbe();
  EXPECT_EQ(pr.next, 21u);
  pr.BecomeSnapshot(20);
  pr.pending_snapshot = 0;  // the snapshot failed
  pr.BecomeProbe();
  EXPECT_EQ(pr.next, 4u);
}

}  // namespace
}  // namespace raft
