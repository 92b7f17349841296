// Flow control (thesis §10.2, etcd raft_flow_control_test): the leader's
// per-follower states probe / replicate / snapshot, the inflight window in
// messages and bytes, and the size of one append. Catalogue 24.

#include <gtest/gtest.h>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::Msg;
using testing::TestCluster;

Progress ProgressOf(TestCluster& c, NodeId leader, NodeId id) { return c.node(leader).GetStatus().progress.at(id); }

int CountAppsTo(const std::vector<Message>& msgs, NodeId to) {
  int n = 0;
  for (const Message& m : msgs) n += m.type == MessageType::kApp && m.to == to;
  return n;
}

// Catalogue 24: a follower starts in probe and moves to replicate once an
// append is acknowledged.
TEST(RaftFlowControlTest, FollowerMovesFromProbeToReplicateOnFirstAck) {
  TestCluster c(3);
  c.node(1).Campaign();
  c.Stabilize(2);  // elected, first appends not yet answered
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kProbe);
  c.Stabilize();
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kReplicate);
  EXPECT_EQ(ProgressOf(c, 1, 2).match, 1u);
}

// Catalogue 24 (etcd heartbeat_resp_recovers_from_probing.txt): in probe, one
// append is out at a time; the next goes only after an answer — a
// heartbeat's answer resumes a probe whose append was lost.
TEST(RaftFlowControlTest, ProbeSendsOneAppendPerAnswer) {
  TestCluster c(3);
  int apps_to_2 = 0;
  c.observe = [&](const Message& m) { apps_to_2 += m.type == MessageType::kApp && m.to == 2; };
  c.drop = [](const Message& m) { return m.type == MessageType::kApp && m.to == 2; };
  c.Elect(1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.Propose(1, "x"));
  EXPECT_EQ(apps_to_2, 1);
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kProbe);
  EXPECT_TRUE(ProgressOf(c, 1, 2).IsPaused());
  c.drop = nullptr;
  c.TickAll(1);  // heartbeat answer: probe again, and this time it arrives
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kReplicate);
  EXPECT_EQ(c.node(2).log().last_index(), 6u);
}

// Catalogue 24 (etcd TestMsgAppFlowControlFull, PR 14633): in replicate the
// leader pipelines appends until the window is full, then pauses.
TEST(RaftFlowControlTest, ReplicatePausesWhenTheInflightWindowIsFull) {
  TestCluster c(3, [](Config& cfg) { cfg.max_inflight_msgs = 3; });
  c.Elect(1);
  ASSERT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kReplicate);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).Propose("x").ok());
  auto msgs = c.Collect();
  EXPECT_EQ(CountAppsTo(msgs, 2), 3);
  Progress pr = ProgressOf(c, 1, 2);
  EXPECT_EQ(pr.inflights.count(), 3u);
  EXPECT_TRUE(pr.IsPaused());
}

// Catalogue 24 (etcd TestMsgAppFlowControlMoveForward): an acknowledgement
// frees the window and the leader sends the rest.
TEST(RaftFlowControlTest, AckOpensTheWindowAndTheRestIsSent) {
  TestCluster c(3, [](Config& cfg) { cfg.max_inflight_msgs = 3; });
  c.Elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).Propose("x").ok());
  auto msgs = c.Collect();
  const Message* first = nullptr;
  for (const Message& m : msgs) {
    if (m.type == MessageType::kApp && m.to == 2) {
      first = &m;
      break;
    }
  }
  ASSERT_NE(first, nullptr);
  Message ack = Msg(MessageType::kAppResp, 2, 1, c.node(1).term());
  ack.index = first->entries.back().index;
  ASSERT_TRUE(c.node(1).Step(ack).ok());
  auto more = c.Collect();
  EXPECT_EQ(CountAppsTo(more, 2), 1);  // one append with everything that waited
  EXPECT_EQ(ProgressOf(c, 1, 2).next, c.node(1).log().last_index() + 1);
}

// Catalogue 24: the window is also bounded in bytes.
TEST(RaftFlowControlTest, ReplicatePausesWhenInflightBytesAreUsedUp) {
  TestCluster c(3, [](Config& cfg) { cfg.max_inflight_bytes = 3 * (100 + 24); });
  c.Elect(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).Propose(std::string(100, 'x')).ok());
  auto msgs = c.Collect();
  EXPECT_EQ(CountAppsTo(msgs, 2), 3);
  EXPECT_TRUE(ProgressOf(c, 1, 2).IsPaused());
}

// Catalogue 24: a backlog goes out in appends of at most max_size_per_msg
// bytes (one entry at least).
TEST(RaftFlowControlTest, BacklogIsSplitByMaxSizePerMsg) {
  TestCluster c(3, [](Config& cfg) { cfg.max_size_per_msg = 250; });
  c.Elect(1);
  c.Isolate(2);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(c.Propose(1, std::string(100, 'x')));
  size_t largest = 0;
  c.observe = [&](const Message& m) {
    if (m.type == MessageType::kApp && m.to == 2) largest = std::max(largest, m.entries.size());
  };
  c.Heal();
  c.TickAll(3);
  EXPECT_EQ(largest, 2u);  // 2 x 124 bytes fit in 250, 3 do not
  EXPECT_EQ(c.node(2).log().last_index(), 11u);
}

// Catalogue 24: a rejection while replicating falls back to probe.
TEST(RaftFlowControlTest, RejectionMovesReplicateToProbe) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_TRUE(c.Propose(1, "x"));
  Message rej = Msg(MessageType::kAppResp, 2, 1, 1);
  rej.index = 3;  // past the match (2)
  rej.reject = true;
  rej.reject_hint = 2;
  ASSERT_TRUE(c.node(1).Step(rej).ok());
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kProbe);
  // A stale rejection (at or below the match) changes nothing.
  c.Stabilize();
  ASSERT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kReplicate);
  rej.index = 1;
  ASSERT_TRUE(c.node(1).Step(rej).ok());
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kReplicate);
}

// Catalogue 24: the transport reporting a follower unreachable moves it to probe.
TEST(RaftFlowControlTest, UnreachableFollowerIsProbed) {
  TestCluster c(3);
  c.Elect(1);
  c.node(1).ReportUnreachable(2);
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kProbe);
  c.TickAll(1);
  EXPECT_EQ(ProgressOf(c, 1, 2).state, ProgressState::kReplicate);
}

}  // namespace
}  // namespace raft
