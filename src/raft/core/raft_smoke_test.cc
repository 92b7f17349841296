#include <gtest/gtest.h>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::TestCluster;

TEST(RaftSmokeTest, ThreeNodesElectAndCommit) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  ASSERT_TRUE(c.node(1).Propose("hello").ok());
  c.Stabilize();
  for (NodeId id : c.ids()) {
    ASSERT_EQ(c.member(id).applied.size(), 2u) << id;  // the no-op and "hello"
    EXPECT_EQ(c.member(id).applied[1].data, "hello");
  }
}

TEST(RaftSmokeTest, TicksElectALeader) {
  TestCluster c(5, [](Config& cfg) { cfg.pre_vote = true; cfg.check_quorum = true; });
  c.TickAll(40);
  NodeId l = c.Leader();
  ASSERT_NE(l, kNoNode);
  ASSERT_TRUE(c.node(l).Propose("x").ok());
  c.Stabilize();
  for (NodeId id : c.ids()) EXPECT_EQ(c.member(id).applied.back().data, "x");
}

TEST(RaftSmokeTest, SingleNodeCommitsOnlyAfterPersist) {
  TestCluster c(1);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  Ready rd = c.node(1).GetReady();
  EXPECT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.committed_entries.empty());  // etcd #14370
}

}  // namespace
}  // namespace raft
