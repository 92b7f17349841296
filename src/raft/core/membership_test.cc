// Membership changes (Raft §6, thesis §4): one pending change at a time and
// the no-op-first rule, joint consensus, learners, removal of the leader and
// of partitioned nodes. Catalogue 44-50.

#include <gtest/gtest.h>

#include <set>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::PreVoteCheckQuorum;
using testing::TestCluster;
using testing::Voters;

ConfChange Change(ConfChangeType type, NodeId node) { return ConfChange{.changes = {{type, node}}}; }

std::set<NodeId> VotersOf(TestCluster& c, NodeId id) { return c.node(id).config().voters.incoming.ids(); }


// Catalogue 44 (etcd TestStepIgnoreConfig): a second change is refused
// while one is pending (appended but not applied).
TEST(RaftMembershipTest, OnlyOneConfChangeMayBePending) {
  TestCluster c(3);
  c.Add(4, Voters({1, 2, 3}));  // a joiner starts from the initial configuration
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 4)).ok());
  EXPECT_EQ(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 5)).code(),
            common::Code::kFailedPrecondition);
  c.Stabilize();
  EXPECT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddVoter, 4)).ok());
}

// Catalogue 44 (Ongaro, raft-dev 2015; etcd TestNewLeaderPendingConfig): a
// new leader proposes no change before an entry of its term is applied.
TEST(RaftMembershipTest, NewLeaderRefusesConfChangesUntilItsNoopIsApplied) {
  TestCluster c(3);
  c.node(1).Campaign();
  c.Stabilize(2);
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  ASSERT_LT(c.node(1).log().applied(), c.node(1).log().last_index());
  EXPECT_EQ(c.node(1).ProposeConfChange(Change(ConfChangeType::kRemove, 3)).code(),
            common::Code::kFailedPrecondition);
  c.Stabilize();
  EXPECT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kRemove, 3)).ok());
}

// A joint configuration {1,4,5} & {1,2,3} on five nodes.
void AddJoint(TestCluster& c) {
  ConfState cs{.voters = {1, 4, 5}, .voters_outgoing = {1, 2, 3}};
  for (NodeId id = 1; id <= 5; ++id) c.Add(id, cs);
}

// Catalogue 45 (etcd quorum joint_vote): in a joint configuration an
// election needs a majority of both halves.
TEST(RaftMembershipTest, JointElectionNeedsBothMajorities) {
  TestCluster c;
  AddJoint(c);
  c.Cut(1, 4);
  c.Cut(1, 5);
  c.Elect(1);  // votes of 1, 2, 3: all of the old half, none of the new
  EXPECT_NE(c.node(1).role(), Role::kLeader);
  c.Heal();
  c.Cut(1, 2);
  c.Cut(1, 3);
  c.Elect(1);  // all of the new half, none of the old
  EXPECT_NE(c.node(1).role(), Role::kLeader);
  c.Heal();
  c.Cut(1, 3);
  c.Cut(1, 5);
  c.Elect(1);  // {1,2} of the old half and {1,4} of the new
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
}

// Catalogue 45 (etcd quorum joint_commit): in a joint configuration an entry
// commits only once a majority of both halves holds it.
TEST(RaftMembershipTest, JointCommitNeedsBothMajorities) {
  TestCluster c;
  AddJoint(c);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  uint64_t before = c.node(1).log().committed();
  c.Cut(1, 4);
  c.Cut(1, 5);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(1).log().committed(), before) << "committed with only the outgoing half";
  c.Heal();
  c.TickAll(1);
  ASSERT_EQ(c.node(1).log().committed(), before + 1);
  c.Cut(1, 2);
  c.Cut(1, 3);
  ASSERT_TRUE(c.node(1).Propose("y").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(1).log().committed(), before + 1) << "committed with only the incoming half";
  c.Heal();
  c.TickAll(1);
  EXPECT_EQ(c.node(1).log().committed(), before + 2);
}

// Catalogue 45, 46 (etcd confchange_v2_add_double_auto): adding two voters at
// once goes through a joint configuration that the leader leaves itself.
TEST(RaftMembershipTest, AddingTwoVotersAtOnceEntersAndAutoLeavesJoint) {
  TestCluster c(3);
  c.Add(4, Voters({1, 2, 3}));  // a joiner starts from the initial configuration
  c.Add(5, Voters({1, 2, 3}));
  c.Elect(1);
  ConfChange cc{.changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kAddVoter, 5}}};
  ASSERT_TRUE(c.node(1).ProposeConfChange(cc).ok());
  c.Stabilize();
  for (NodeId id = 1; id <= 5; ++id) {
    EXPECT_FALSE(c.node(id).config().joint()) << id;
    EXPECT_EQ(VotersOf(c, id), (std::set<NodeId>{1, 2, 3, 4, 5})) << id;
  }
  EXPECT_TRUE(c.Propose(1, "x"));
  EXPECT_EQ(c.member(5).applied.back().data, "x");
}

// Catalogue 45 (etcd confchange_v2 explicit): with an explicit transition the
// joint configuration stays until the caller proposes the leave.
TEST(RaftMembershipTest, ExplicitJointConfigIsLeftOnlyByTheCallersEmptyChange) {
  TestCluster c(3);
  c.Add(4, Voters({1, 2, 3}));  // a joiner starts from the initial configuration
  c.Elect(1);
  ConfChange cc{.transition = ConfChangeTransition::kJointExplicit,
                .changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kRemove, 3}}};
  ASSERT_TRUE(c.node(1).ProposeConfChange(cc).ok());
  c.Stabilize();
  c.TickAll(2);
  ASSERT_TRUE(c.node(1).config().joint());
  EXPECT_EQ(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddVoter, 5)).code(),
            common::Code::kFailedPrecondition);
  ASSERT_TRUE(c.node(1).ProposeConfChange(ConfChange{}).ok());
  c.Stabilize();
  EXPECT_FALSE(c.node(1).config().joint());
  EXPECT_EQ(VotersOf(c, 1), (std::set<NodeId>{1, 2, 4}));
}

// Catalogue 46 (etcd TestLearnerPromotion, hashicorp AddNonvoter): a learner
// catches up without counting toward the quorum, then is promoted.
TEST(RaftMembershipTest, LearnerCatchesUpThenIsPromoted) {
  TestCluster c(3);
  c.Add(4, Voters({1, 2, 3}));  // a joiner starts from the initial configuration
  c.Elect(1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.Propose(1, "v" + std::to_string(i)));
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 4)).ok());
  c.Stabilize();
  c.TickAll(1);  // the new member is probed at the next heartbeat
  EXPECT_EQ(c.node(4).log().last_index(), c.node(1).log().last_index());
  EXPECT_TRUE(c.node(1).config().learners.contains(4));
  // Not counted: with 2 and 3 cut off, the learner's copy commits nothing.
  c.Cut(1, 2);
  c.Cut(1, 3);
  uint64_t before = c.node(1).log().committed();
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(4).log().last_index(), c.node(1).log().last_index());
  EXPECT_EQ(c.node(1).log().committed(), before);
  c.Heal();
  c.TickAll(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddVoter, 4)).ok());
  c.Stabilize();
  EXPECT_EQ(VotersOf(c, 4), (std::set<NodeId>{1, 2, 3, 4}));
  EXPECT_FALSE(c.node(4).config().learners.contains(4));
}

// Catalogue 46 (etcd simple_promote_demote.txt, hashicorp DemoteVoter): a
// voter demoted to learner no longer counts toward the quorum.
TEST(RaftMembershipTest, DemotedVoterNoLongerCounts) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kAddLearner, 3)).ok());
  c.Stabilize();
  EXPECT_EQ(VotersOf(c, 1), (std::set<NodeId>{1, 2}));
  EXPECT_TRUE(c.node(1).config().learners.contains(3));
  c.Cut(1, 2);
  uint64_t before = c.node(1).log().committed();
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(1).log().committed(), before);
}

// Catalogue 47 (etcd confchange_v1_remove_leader, TestCommitAfterRemoveNode;
// thesis §4.2.2): a leader removing itself leads until the change is
// applied, then steps down; the rest elect and commit.
TEST(RaftMembershipTest, RemovedLeaderStepsDownOnceTheChangeApplies) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kRemove, 1)).ok());
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
  c.Stabilize();
  EXPECT_NE(c.node(1).role(), Role::kLeader);
  EXPECT_EQ(VotersOf(c, 2), (std::set<NodeId>{2, 3}));
  EXPECT_EQ(c.node(2).log().committed(), c.node(1).log().committed());
  c.TickAll(60);
  NodeId l = c.Leader();
  ASSERT_TRUE(l == 2 || l == 3) << l;
  EXPECT_TRUE(c.Propose(l, "after"));
  EXPECT_EQ(c.member(2).applied.back().data, "after");
  EXPECT_EQ(c.member(3).applied.back().data, "after");
}

// Catalogue 47 (etcd README: removing a member of a two-node cluster can
// wedge it): the leader of two removes itself and the append that would tell
// the other the removal committed is lost; the survivor still takes over
// (the removed node still votes and acknowledges until it is told).
TEST(RaftMembershipTest, RemovingTheLeaderOfATwoNodeClusterDoesNotWedge) {
  TestCluster c(2);
  c.Elect(1);
  c.TickAll(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kRemove, 1)).ok());
  c.drop = [](const Message& m) { return m.type == MessageType::kApp && m.to == 2 && m.entries.empty(); };
  c.Stabilize();
  ASSERT_NE(c.node(1).role(), Role::kLeader);
  ASSERT_EQ(VotersOf(c, 2), (std::set<NodeId>{1, 2}));  // 2 has not learned the commit
  c.drop = nullptr;
  c.TickAll(60);
  EXPECT_EQ(c.Leader(), 2u);
  EXPECT_EQ(VotersOf(c, 2), (std::set<NodeId>{2}));
  EXPECT_TRUE(c.Propose(2, "after"));
  EXPECT_EQ(c.member(2).applied.back().data, "after");
}

// Catalogue 48 (etcd confchange_v2_replace_leader): the leader is replaced
// in one joint change, hands leadership to the joiner, and once the joint
// configuration is left cannot campaign.
TEST(RaftMembershipTest, LeaderReplacedThroughJointChangeAndTransfer) {
  TestCluster c(3);
  c.Add(4, Voters({1, 2, 3}));  // a joiner starts from the initial configuration
  c.Elect(1);
  ConfChange cc{.transition = ConfChangeTransition::kJointExplicit,
                .changes = {{ConfChangeType::kAddVoter, 4}, {ConfChangeType::kRemove, 1}}};
  ASSERT_TRUE(c.node(1).ProposeConfChange(cc).ok());
  c.Stabilize();
  ASSERT_TRUE(c.node(1).config().joint());
  EXPECT_EQ(c.node(1).role(), Role::kLeader);  // still an outgoing voter
  c.TickAll(1);
  c.node(1).TransferLeadership(4);
  c.Stabilize();
  ASSERT_EQ(c.Leader(), 4u);
  c.TickAll(1);
  ASSERT_TRUE(c.node(4).ProposeConfChange(ConfChange{}).ok());
  c.Stabilize();
  EXPECT_EQ(VotersOf(c, 4), (std::set<NodeId>{2, 3, 4}));
  EXPECT_FALSE(c.node(1).config().voters.contains(1));
  uint64_t term = c.node(4).term();
  c.TickAll(100);
  EXPECT_EQ(c.Leader(), 4u);
  EXPECT_EQ(c.node(4).term(), term);
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
}

// Catalogue 49 (hashicorp TestRaft_RemovePartitionedNode): a node removed
// while cut off stays harmless after the partition heals.
TEST(RaftMembershipTest, RemovedPartitionedNodeStaysQuietAfterHealing) {
  TestCluster c(3, PreVoteCheckQuorum);
  c.Elect(1);
  c.Isolate(3);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kRemove, 3)).ok());
  c.Stabilize();
  ASSERT_EQ(VotersOf(c, 1), (std::set<NodeId>{1, 2}));
  c.TickAll(50);
  c.Heal();
  c.TickAll(100);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).term(), 1u);
  EXPECT_TRUE(c.Propose(1, "x"));
  EXPECT_EQ(c.member(2).applied.back().data, "x");
}

// Catalogue 50 (hashicorp membership.md): a configuration entry that never
// committed and is truncated leaves the configuration as it was (entries
// take effect when applied, not when appended).
TEST(RaftMembershipTest, TruncatedConfChangeHasNoEffect) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(Change(ConfChangeType::kRemove, 2)).ok());
  c.Stabilize();
  c.Elect(2);
  ASSERT_EQ(c.node(2).role(), Role::kLeader);
  EXPECT_TRUE(c.Propose(2, "x"));
  c.Heal();
  c.TickAll(3);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(VotersOf(c, id), (std::set<NodeId>{1, 2, 3})) << id;
    EXPECT_EQ(c.LogTerms(id), c.LogTerms(2)) << id;
  }
}

// Catalogue 41 (core part; the race itself is between the caller's apply
// and its snapshot restore, raft/node): a node holding a committed conf
// change it has not applied yet does not campaign — the change may alter
// who votes (etcd's hup refuses the same way).
TEST(RaftMembershipTest, NoCampaignWhileACommittedConfChangeIsUnapplied) {
  TestCluster c;
  Entry cc{1, 1, EntryType::kConfChange, EncodeConfChange(Change(ConfChangeType::kRemove, 3))};
  c.AddWithLog(1, Voters({1, 2, 3}), {cc}, HardState{.term = 1, .commit = 1});
  c.Add(2, Voters({1, 2, 3}));
  c.node(1).Campaign();
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(1).term(), 1u);
  c.HandleReady(1);  // applies the change
  c.node(1).Campaign();
  EXPECT_EQ(c.node(1).role(), Role::kCandidate);
}

}  // namespace
}  // namespace raft
