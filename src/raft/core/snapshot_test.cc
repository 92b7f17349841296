// Snapshots and compaction (Raft §7): sending one to a follower behind the
// compaction point, its states and failures, stale snapshots, the
// configuration a snapshot carries. Catalogue 37-43.

#include <gtest/gtest.h>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::EntriesWithTerms;
using testing::Msg;
using testing::TestCluster;
using testing::Voters;

Progress ProgressOf(TestCluster& c, NodeId leader, NodeId id) { return c.node(leader).GetStatus().progress.at(id); }

// Elects 1 in a 3-node cluster, commits `n` entries while 3 is cut off and
// compacts 1's log up to what it applied (as the caller does after taking a
// snapshot). Returns the snapshot index.
uint64_t CompactWhile3IsAway(TestCluster& c, int n) {
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < n; ++i) EXPECT_TRUE(c.Propose(1, "v" + std::to_string(i)));
  uint64_t idx = c.node(1).log().applied();
  CHECK_OK(c.storage(1).CreateSnapshot(idx, c.node(1).GetStatus().conf_state, "state@" + std::to_string(idx)));
  CHECK_OK(c.storage(1).Compact(idx));
  return idx;
}

Message Snap(NodeId from, NodeId to, uint64_t term, uint64_t index, uint64_t snap_term, const ConfState& cs) {
  Message m = Msg(MessageType::kSnap, from, to, term);
  m.snapshot = Snapshot{SnapshotMeta{index, snap_term, cs}, "data"};
  return m;
}

// Catalogue 37 (etcd slow_follower_after_compaction.txt, TestSlowNodeRestore):
// a follower behind the compaction point gets the snapshot, then appends.
TEST(RaftSnapshotTest, FollowerBehindCompactionGetsASnapshotThenReplicates) {
  TestCluster c(3);
  uint64_t idx = CompactWhile3IsAway(c, 5);
  int snaps = 0;
  c.observe = [&](const Message& m) { snaps += m.type == MessageType::kSnap; };
  c.Heal();
  c.TickAll(2);
  EXPECT_EQ(snaps, 1);
  EXPECT_EQ(c.storage(3).GetSnapshot()->meta.index, idx);
  EXPECT_EQ(c.storage(3).GetSnapshot()->data, "state@" + std::to_string(idx));
  EXPECT_EQ(c.member(3).applied_index, idx);
  EXPECT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kReplicate);
  EXPECT_TRUE(c.Propose(1, "after"));
  EXPECT_EQ(c.member(3).applied.back().data, "after");
}

// Catalogue 38 (etcd TestPendingSnapshotPauseReplication): while a snapshot
// is in flight nothing else is sent to that follower.
TEST(RaftSnapshotTest, PendingSnapshotPausesReplication) {
  TestCluster c(3);
  CompactWhile3IsAway(c, 3);
  c.drop = [](const Message& m) { return m.type == MessageType::kSnap; };
  c.Heal();
  c.TickAll(1);
  ASSERT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kSnapshot);
  int apps = 0;
  c.observe = [&](const Message& m) { apps += m.type == MessageType::kApp && m.to == 3; };
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(c.Propose(1, "x"));
  EXPECT_EQ(apps, 0);
}

// Catalogue 38 (etcd TestSnapshotFailure): a failed snapshot puts the
// follower back in probe, and the leader sends the snapshot again.
TEST(RaftSnapshotTest, FailedSnapshotIsSentAgain) {
  TestCluster c(3);
  uint64_t idx = CompactWhile3IsAway(c, 3);
  c.drop = [](const Message& m) { return m.type == MessageType::kSnap; };
  c.Heal();
  c.TickAll(1);
  ASSERT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kSnapshot);
  c.node(1).ReportSnapshot(3, /*failed=*/true);
  Progress pr = ProgressOf(c, 1, 3);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.pending_snapshot, 0u);
  c.drop = nullptr;
  c.TickAll(2);
  EXPECT_EQ(c.member(3).applied_index, idx);
  EXPECT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kReplicate);
}

// Catalogue 38 (etcd TestSnapshotSucceed): a snapshot reported delivered
// (its acknowledgement lost) resumes probing just after the snapshot.
TEST(RaftSnapshotTest, SucceededSnapshotResumesAfterTheSnapshotIndex) {
  TestCluster c(3);
  uint64_t idx = CompactWhile3IsAway(c, 3);
  c.drop = [](const Message& m) { return m.type == MessageType::kAppResp && m.from == 3 && !m.reject; };
  c.Heal();
  c.TickAll(1);
  ASSERT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kSnapshot);
  ASSERT_EQ(c.member(3).applied_index, idx);
  c.node(1).ReportSnapshot(3, /*failed=*/false);
  Progress pr = ProgressOf(c, 1, 3);
  EXPECT_EQ(pr.state, ProgressState::kProbe);
  EXPECT_EQ(pr.next, idx + 1);
  c.drop = nullptr;
  c.TickAll(2);
  EXPECT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kReplicate);
  EXPECT_EQ(ProgressOf(c, 1, 3).match, c.node(1).log().last_index());
}

// Catalogue 39 (etcd snapshot_succeed_via_app_resp.txt): while a snapshot is
// pending, late appends bring the follower up to the compaction point; their
// acknowledgement ends the snapshot state without the snapshot.
TEST(RaftSnapshotTest, AppendsAckedWhileASnapshotIsPendingEndTheSnapshotState) {
  TestCluster c(3);
  c.Elect(1);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(c.node(1).Propose("v" + std::to_string(i)).ok());
  std::vector<Message> to3;  // the appends of entries 2..5 to 3, held back
  c.Cut(1, 3);
  for (const Message& m : c.Collect()) {
    if (m.type == MessageType::kApp && m.to == 3) to3.push_back(m);
    c.Deliver(m);
  }
  c.Stabilize();
  ASSERT_EQ(to3.size(), 4u);
  ASSERT_EQ(c.node(1).log().applied(), 5u);
  CHECK_OK(c.storage(1).CreateSnapshot(5, c.node(1).GetStatus().conf_state, "s"));
  CHECK_OK(c.storage(1).Compact(5));
  c.Heal();
  c.drop = [](const Message& m) { return m.type == MessageType::kSnap; };
  c.Deliver(to3[1]);  // out of order: 3 rejects, the leader must go back past its compaction point
  c.Stabilize();
  ASSERT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kSnapshot);
  c.drop = nullptr;
  for (const Message& m : to3) c.Deliver(m);
  c.Stabilize();
  EXPECT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kReplicate);
  EXPECT_EQ(ProgressOf(c, 1, 3).match, 5u);
  EXPECT_EQ(c.storage(3).GetSnapshot()->meta.index, 0u);
  EXPECT_TRUE(c.Propose(1, "after"));
  EXPECT_EQ(c.member(3).applied.back().data, "after");
}

// Catalogue 39 (etcd TestRestoreIgnoreSnapshot): a snapshot at or below the
// commit index changes nothing, and is answered with the commit index.
TEST(RaftSnapshotTest, StaleSnapshotIsIgnored) {
  TestCluster c;
  c.AddWithLog(2, Voters({1, 2}), EntriesWithTerms({1, 1, 1, 1, 1}), HardState{.term = 1, .commit = 5});
  ASSERT_TRUE(c.node(2).Step(Snap(1, 2, 1, 3, 1, Voters({1, 2}))).ok());
  EXPECT_FALSE(c.node(2).log().unstable_snapshot().has_value());
  auto msgs = c.Collect();
  EXPECT_EQ(c.storage(2).FirstIndex(), 1u);
  EXPECT_EQ(c.node(2).log().last_index(), 5u);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].type, MessageType::kAppResp);
  EXPECT_EQ(msgs[0].index, 5u);
}

// Catalogue 40 (etcd TestRestoreWithLearner, canonical/raft#250): a node
// whose first contact is a snapshot takes its configuration from it,
// learners included.
TEST(RaftSnapshotTest, SnapshotInstallsItsConfigurationWithLearners) {
  TestCluster c;
  c.Add(4, ConfState{});  // a new node: knows no configuration yet
  ConfState cs{.voters = {1, 2, 3}, .learners = {4}};
  ASSERT_TRUE(c.node(4).Step(Snap(1, 4, 2, 10, 2, cs)).ok());
  c.Collect();
  EXPECT_EQ(c.node(4).GetStatus().conf_state, cs);
  EXPECT_EQ(c.node(4).log().committed(), 10u);
  EXPECT_EQ(c.storage(4).GetInitialState()->conf_state, cs);
  c.Restart(4);
  EXPECT_EQ(c.node(4).GetStatus().conf_state, cs);
}

// Catalogue 40 (etcd TestRestoreWithVotersOutgoing): a snapshot taken in a
// joint configuration restores both halves, so decisions need both.
TEST(RaftSnapshotTest, SnapshotInstallsAJointConfiguration) {
  TestCluster c;
  c.Add(3, Voters({1, 2, 3}));
  ConfState cs{.voters = {2, 3, 4}, .voters_outgoing = {1, 2, 3}, .auto_leave = true};
  ASSERT_TRUE(c.node(3).Step(Snap(1, 3, 2, 10, 2, cs)).ok());
  c.Collect();
  EXPECT_EQ(c.node(3).GetStatus().conf_state, cs);
  EXPECT_TRUE(c.node(3).config().joint());
}

// Catalogue 42 (openraft#511): an append whose prev index lies inside this
// node's snapshot is not a conflict.
TEST(RaftSnapshotTest, PrevIndexInsideTheSnapshotIsNotAConflict) {
  TestCluster c;
  c.Add(2, Voters({1, 2, 3}));
  CHECK_OK(c.storage(2).ApplySnapshot(Snapshot{SnapshotMeta{5, 1, Voters({1, 2, 3})}, "s"}));
  c.storage(2).SetHardState(HardState{.term = 1, .commit = 5});
  c.Restart(2);
  Message app = Msg(MessageType::kApp, 1, 2, 1);
  app.index = 3;
  app.log_term = 1;
  app.entries = EntriesWithTerms({1, 1, 1}, 4);
  app.commit = 6;
  ASSERT_TRUE(c.node(2).Step(app).ok());
  auto msgs = c.Collect();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_FALSE(msgs[0].reject);
  EXPECT_GE(msgs[0].index, 5u);
  EXPECT_EQ(c.storage(2).FirstIndex(), 6u);
}

// Catalogue 43 (braft Leader_step_down_during_install_snapshot): a snapshot
// in flight when the leader changes does not wedge the follower; the new
// leader brings it up to date.
TEST(RaftSnapshotTest, SnapshotInterruptedByALeaderChangeRecovers) {
  TestCluster c(3);
  CompactWhile3IsAway(c, 3);
  c.drop = [](const Message& m) { return m.type == MessageType::kSnap; };
  c.Heal();
  c.TickAll(1);
  ASSERT_EQ(ProgressOf(c, 1, 3).state, ProgressState::kSnapshot);
  c.drop = nullptr;
  c.Isolate(1);
  c.Elect(2);
  ASSERT_EQ(c.node(2).role(), Role::kLeader);
  EXPECT_TRUE(c.Propose(2, "new"));
  EXPECT_EQ(c.member(3).applied.back().data, "new");
  EXPECT_EQ(c.LogTerms(3), c.LogTerms(2));
  c.Heal();
  c.TickAll(2);
  EXPECT_EQ(c.member(1).applied.back().data, "new");
}

}  // namespace
}  // namespace raft
