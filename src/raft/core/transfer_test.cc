// Leadership transfer (thesis §3.10): catch-up first, TimeoutNow, timeout
// and abort, proposals refused meanwhile, and no lease reads once the
// target may campaign. Catalogue 52-55.

#include <gtest/gtest.h>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::TestCluster;

// Catalogue 52 (etcd TestLeaderTransferToUpToDateNode).
TEST(RaftTransferTest, TransferToAnUpToDateFollower) {
  TestCluster c(3);
  c.Elect(1);
  c.node(1).TransferLeadership(2);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.node(2).term(), 2u);
}

// Catalogue 52 (etcd TestLeaderTransferToUpToDateNodeFromFollower): a
// transfer asked on a follower names the target, not the follower.
TEST(RaftTransferTest, TransferRequestedOnAFollowerGoesToTheNamedTarget) {
  TestCluster c(3);
  c.Elect(1);
  c.node(3).TransferLeadership(2);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 2u);
}

// Catalogue 52 (etcd TestLeaderTransferToSlowFollower; hashicorp PR 487): a
// lagging target is caught up first, so it wins and nothing is lost.
TEST(RaftTransferTest, LaggingTargetIsCaughtUpBeforeTimeoutNow) {
  TestCluster c(3);
  c.Elect(1);
  c.drop = [](const Message& m) { return m.type == MessageType::kApp && m.to == 3; };
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.Propose(1, "v" + std::to_string(i)));
  ASSERT_LT(c.node(3).log().last_index(), c.node(1).log().last_index());
  c.drop = nullptr;
  bool timeout_before_caught_up = false;
  c.observe = [&](const Message& m) {
    if (m.type == MessageType::kTimeoutNow) {
      timeout_before_caught_up = c.node(1).GetStatus().progress.at(3).match < c.node(1).log().last_index();
    }
  };
  c.node(1).TransferLeadership(3);
  c.Stabilize();
  EXPECT_FALSE(timeout_before_caught_up);
  ASSERT_EQ(c.Leader(), 3u);
  EXPECT_EQ(c.LogTerms(3), c.LogTerms(1));
  EXPECT_EQ(c.member(3).applied[c.member(3).applied.size() - 2].data, "v4");  // then 3's no-op
}

// Catalogue 52 (etcd TestLeaderTransferAfterSnapshot): a target behind the
// compaction point gets the snapshot first.
TEST(RaftTransferTest, TransferToATargetThatNeedsASnapshot) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(c.Propose(1, "v"));
  uint64_t idx = c.node(1).log().applied();
  CHECK_OK(c.storage(1).CreateSnapshot(idx, c.node(1).GetStatus().conf_state, "s"));
  CHECK_OK(c.storage(1).Compact(idx));
  c.Heal();
  c.TickAll(1);  // 3 answers a heartbeat: it is alive, so a snapshot may go
  c.node(1).TransferLeadership(3);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 3u);
}

// Catalogue 52 (etcd TestLeaderTransferToSelf, ...ToNonExistingNode): a
// transfer to the leader itself or to a non-member does nothing.
TEST(RaftTransferTest, TransferToSelfOrNonMemberDoesNothing) {
  TestCluster c(3);
  c.Elect(1);
  c.node(1).TransferLeadership(1);
  c.node(1).TransferLeadership(9);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoNode);
  EXPECT_TRUE(c.node(1).Propose("x").ok());
}

// Catalogue 52 (etcd TestLeaderTransferTimeout, TestLeaderTransferIgnoreProposal):
// proposals are refused during a transfer, which is abandoned after an
// election timeout.
TEST(RaftTransferTest, TransferTimesOutAndProposalsResume) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  c.node(1).TransferLeadership(3);
  c.Stabilize();
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, 3u);
  EXPECT_EQ(c.node(1).Propose("x").code(), common::Code::kUnavailable);
  c.TickAll(9);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, 3u);
  c.TickAll(1);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoNode);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_TRUE(c.node(1).Propose("x").ok());
}

// Catalogue 52 (etcd TestLeaderTransferSecondTransferToAnotherNode,
// ...ToSameNode): a repeated transfer does not restart the timeout; a
// transfer to another node replaces the first.
TEST(RaftTransferTest, SecondTransferToSameNodeKeepsTimeoutAndToAnotherReplaces) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  c.node(1).TransferLeadership(3);
  c.TickAll(5);
  c.node(1).TransferLeadership(3);
  c.TickAll(5);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoNode);  // aborted 10 ticks after the first
  c.node(1).TransferLeadership(3);
  c.node(1).TransferLeadership(2);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 2u);
}

// Catalogue 53 (hashicorp PR 581, redpanda#2606): under a steady stream of
// writes the transfer completes and every accepted write survives.
TEST(RaftTransferTest, TransferUnderWritesLosesNoAcceptedWrite) {
  TestCluster c(3);
  c.Elect(1);
  std::vector<std::string> accepted;
  int n = 0;
  auto write = [&](NodeId at) {
    std::string v = "w" + std::to_string(n++);
    if (c.node(at).Propose(v).ok()) accepted.push_back(v);
  };
  for (int i = 0; i < 5; ++i) write(1);
  c.node(1).TransferLeadership(2);
  for (int i = 0; i < 5; ++i) write(1);  // before anything is delivered
  c.Stabilize();
  ASSERT_EQ(c.Leader(), 2u);
  for (int i = 0; i < 5; ++i) write(2);
  c.Stabilize();
  std::vector<std::string> applied;
  for (const Entry& e : c.member(3).applied) {
    if (e.type == EntryType::kNormal) applied.push_back(e.data);
  }
  EXPECT_EQ(applied, accepted);
  EXPECT_EQ(accepted.size(), 10u);  // the five proposed while the transfer was pending were refused
}

// Catalogue 54 (hashicorp#696): a leader deposed in the middle of a transfer
// keeps no transfer state; when it leads again it takes proposals.
TEST(RaftTransferTest, LeaderDeposedMidTransferKeepsNoStuckTransfer) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  c.node(1).TransferLeadership(3);
  c.Stabilize();
  ASSERT_EQ(c.node(1).GetStatus().lead_transferee, 3u);
  c.Elect(2);  // a higher term deposes 1
  ASSERT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoNode);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoNode);
  EXPECT_TRUE(c.node(1).Propose("x").ok());
}

// Catalogue 54: a CheckQuorum step-down mid-transfer also clears it.
TEST(RaftTransferTest, CheckQuorumStepDownMidTransferClearsIt) {
  TestCluster c(3, [](Config& cfg) { cfg.check_quorum = true; });
  c.Elect(1);
  c.Isolate(1);
  c.node(1).TransferLeadership(3);
  c.Tick(1, 20);
  ASSERT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(1).GetStatus().lead_transferee, kNoNode);
}

// Catalogue 55 (etcd #12704, openraft#1747): once TimeoutNow is sent the
// target may already lead, so the old leader serves no lease read.
TEST(RaftTransferTest, NoLeaseReadsAfterTimeoutNowIsSent) {
  TestCluster c(3, [](Config& cfg) {
    cfg.check_quorum = true;
    cfg.read_only = ReadOnlyOption::kLeaseBased;
  });
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ReadIndex("before").ok());
  c.Collect();
  ASSERT_EQ(c.member(1).reads.size(), 1u);  // the lease works before the transfer
  c.node(1).TransferLeadership(2);
  std::vector<Message> held = c.Collect();
  bool timeout_now = false;
  for (const Message& m : held) timeout_now |= m.type == MessageType::kTimeoutNow;
  ASSERT_TRUE(timeout_now);
  ASSERT_TRUE(c.node(1).ReadIndex("after").ok());
  c.Collect();  // the read's heartbeats are lost
  EXPECT_EQ(c.member(1).reads.size(), 1u) << "served a lease read after TimeoutNow";
  for (const Message& m : held) c.Deliver(m);
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.member(1).reads.size(), 1u);
}

}  // namespace
}  // namespace raft
