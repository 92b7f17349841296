// Linearizable reads (thesis §6.4): ReadIndex with a heartbeat round,
// leader leases, forwarding from followers and learners. Catalogue 56-60.

#include <gtest/gtest.h>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::EntriesWithTerms;
using testing::TestCluster;
using testing::Voters;

void Lease(Config& cfg) {
  cfg.check_quorum = true;
  cfg.read_only = ReadOnlyOption::kLeaseBased;
}

// Catalogue 56 (etcd #7331 / PR 7332, TestReadOnlyForNewLeader): a new
// leader's commit index may be stale until it commits an entry of its term,
// so a read waits for that and returns an index covering it.
TEST(RaftReadIndexTest, NewLeaderAnswersOnlyAfterItsFirstCommit) {
  TestCluster c;
  ConfState cs = Voters({1, 2, 3});
  // Entries 1-2 may have been committed by the previous leader.
  for (NodeId id : {1, 2, 3}) c.AddWithLog(id, cs, EntriesWithTerms({1, 1}), HardState{.term = 1});
  c.node(1).Campaign();
  c.Stabilize(2);
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  ASSERT_EQ(c.node(1).log().committed(), 0u);
  ASSERT_TRUE(c.node(1).ReadIndex("r").ok());
  c.HandleReady(1);
  EXPECT_TRUE(c.member(1).reads.empty()) << "answered with the stale commit index";
  c.Stabilize();
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_EQ(c.member(1).reads[0].request_ctx, "r");
  EXPECT_GE(c.member(1).reads[0].index, 3u);
}

// Catalogue 57 (etcd #20418, TestReadOnlyDuplicateRequest): a duplicated
// (late) heartbeat answer confirms only reads made before that heartbeat —
// also when a request id is reused.
TEST(RaftReadIndexTest, DuplicatedHeartbeatAckDoesNotConfirmALaterRead) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ReadIndex("a").ok());
  Message ack;
  for (const Message& m : c.Collect()) {
    if (m.type == MessageType::kHeartbeat && m.to == 2) c.Deliver(m);
  }
  for (const Message& m : c.Collect()) {
    if (m.type == MessageType::kHeartbeatResp) ack = m;
  }
  ASSERT_EQ(ack.type, MessageType::kHeartbeatResp);
  ASSERT_TRUE(c.node(1).Step(ack).ok());
  c.Collect();
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_TRUE(c.Propose(1, "w"));  // a write completes after the first read
  c.drop = [](const Message&) { return true; };
  ASSERT_TRUE(c.node(1).ReadIndex("b").ok());
  ASSERT_TRUE(c.node(1).ReadIndex("a").ok());  // a retry reusing an old id
  c.Collect();
  ASSERT_TRUE(c.node(1).Step(ack).ok());  // the old answer, delivered again
  ASSERT_TRUE(c.node(1).Step(ack).ok());
  c.Collect();
  EXPECT_EQ(c.member(1).reads.size(), 1u) << "a stale answer confirmed a newer read";
  c.drop = nullptr;
  c.TickAll(1);
  ASSERT_EQ(c.member(1).reads.size(), 3u);
  for (size_t i = 1; i < 3; ++i) EXPECT_EQ(c.member(1).reads[i].index, 2u);  // covers "w"
}

// Thesis §6.4: reads requested before a heartbeat round are all confirmed by
// it. Those of one step share one round (the newest request's number),
// rather than a round each, and each gets the commit index.
TEST(RaftReadIndexTest, ReadsOfOneStepShareOneHeartbeatRound) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ReadIndex("a").ok());
  ASSERT_TRUE(c.node(1).ReadIndex("b").ok());
  ASSERT_TRUE(c.node(1).ReadIndex("c").ok());
  std::vector<Message> msgs = c.Collect();
  for (NodeId f : {2, 3}) {
    int heartbeats = 0;
    for (const Message& m : msgs) heartbeats += m.type == MessageType::kHeartbeat && m.to == f;
    EXPECT_EQ(heartbeats, 1) << "follower " << f;
  }
  for (const Message& m : msgs) c.Deliver(m);
  c.Stabilize();
  ASSERT_EQ(c.member(1).reads.size(), 3u);
  for (const ReadState& r : c.member(1).reads) EXPECT_EQ(r.index, c.node(1).log().committed());
}

// Catalogue 58 (etcd TestNodeReadIndex): a follower's read is forwarded to
// the leader and comes back with the leader's commit index.
TEST(RaftReadIndexTest, FollowerReadIsForwardedToTheLeader) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_TRUE(c.Propose(1, "x"));
  ASSERT_TRUE(c.node(2).ReadIndex("f").ok());
  c.Stabilize();
  ASSERT_EQ(c.member(2).reads.size(), 1u);
  EXPECT_EQ(c.member(2).reads[0], (ReadState{2, "f"}));
}

// Catalogue 58: without a known leader a read is refused at once.
TEST(RaftReadIndexTest, ReadWithoutALeaderIsRefused) {
  TestCluster c(3);
  EXPECT_EQ(c.node(2).ReadIndex("f").code(), common::Code::kUnavailable);
}

// Catalogue 58 (etcd TestNodeReadIndexToOldLeader): a leader cut off while
// another was elected and wrote never confirms a read (no quorum answers
// its heartbeats); once it learns the new term the read is dropped.
TEST(RaftReadIndexTest, DeposedLeaderNeverAnswersAStaleRead) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  c.Elect(2);
  EXPECT_TRUE(c.Propose(2, "x"));
  ASSERT_TRUE(c.node(1).ReadIndex("stale").ok());
  c.TickAll(30);
  EXPECT_TRUE(c.member(1).reads.empty());
  c.Heal();
  c.TickAll(5);
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_TRUE(c.member(1).reads.empty());
}

// Catalogue 59 (etcd Config docs): lease reads are refused without CheckQuorum.
TEST(RaftReadIndexTest, LeaseReadsRequireCheckQuorum) {
  Config cfg;
  cfg.id = 1;
  cfg.read_only = ReadOnlyOption::kLeaseBased;
  EXPECT_EQ(cfg.Validate().code(), common::Code::kInvalidArgument);
  cfg.check_quorum = true;
  EXPECT_TRUE(cfg.Validate().ok());
}

// Catalogue 59: with a lease a leader answers without a heartbeat round.
TEST(RaftReadIndexTest, LeaseReadIsServedWithoutAHeartbeatRound) {
  TestCluster c(3, Lease);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).ReadIndex("l").ok());
  auto msgs = c.Collect();
  EXPECT_TRUE(msgs.empty());
  ASSERT_EQ(c.member(1).reads.size(), 1u);
  EXPECT_EQ(c.member(1).reads[0].index, 1u);
}

// Catalogue 59 (Jepsen etcd 0.4.1; armon gist 11059431): a leader cut off
// from the others stops serving lease reads no later than the moment a new
// leader is elected, whatever the phase of its quorum checks.
TEST(RaftReadIndexTest, PartitionedLeaderStopsLeaseReadsBeforeANewLeaderExists) {
  for (int phase = 0; phase < 10; ++phase) {
    TestCluster c(3, Lease);
    c.Elect(1);
    c.TickAll(phase);
    c.Isolate(1);
    bool new_leader = false;
    for (int t = 0; t < 60; ++t) {
      c.TickAll(1);
      new_leader |= c.node(2).role() == Role::kLeader || c.node(3).role() == Role::kLeader;
      if (!new_leader) continue;
      if (c.node(1).role() != Role::kLeader) break;
      size_t before = c.member(1).reads.size();
      ASSERT_TRUE(c.node(1).ReadIndex("t").ok());
      c.Collect();
      EXPECT_EQ(c.member(1).reads.size(), before)
          << "phase " << phase << ", tick " << t << ": lease read while another leader exists";
    }
    EXPECT_TRUE(new_leader) << phase;
  }
}

// Catalogue 60 (etcd TestReadOnlyWithLearner): a learner reads through the leader.
TEST(RaftReadIndexTest, LearnerReadsThroughReadIndex) {
  TestCluster c;
  ConfState cs{.voters = {1, 2}, .learners = {3}};
  for (NodeId id : {1, 2, 3}) c.Add(id, cs);
  c.Elect(1);
  EXPECT_TRUE(c.Propose(1, "x"));
  ASSERT_TRUE(c.node(3).ReadIndex("l").ok());
  c.Stabilize();
  ASSERT_EQ(c.member(3).reads.size(), 1u);
  EXPECT_EQ(c.member(3).reads[0], (ReadState{2, "l"}));
}

}  // namespace
}  // namespace raft
