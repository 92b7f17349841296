// raft::Node: membership changes, snapshots (a follower catching up from
// one, a restart from one) and a failing disk.

#include <gtest/gtest.h>

#include <cerrno>

#include "raft/node/node_test_util.h"

namespace raft {
namespace {

using node_testing::kMs;
using node_testing::kSec;
using node_testing::TestCluster;

// A membership change through whoever leads; retries refusals (no leader
// yet, the new leader's no-op not applied yet).
Status ChangeOnLeader(TestCluster& c, const ConfChange& cc, std::map<NodeId, std::string> addresses,
                      const std::set<NodeId>& not_following = {}) {
  Status last;
  for (int attempt = 0; attempt < 50; ++attempt) {
    NodeId leader = c.WaitForLeader(not_following);
    if (leader == kNoNode) return common::UnavailableError("no leader");
    last = c.node(leader).ChangeMembership(cc, addresses).get();
    if (last.ok()) return last;
    if (last.code() != common::Code::kUnavailable && last.code() != common::Code::kFailedPrecondition &&
        last.code() != common::Code::kAborted) {
      return last;
    }
    c.WaitUntil([] { return false; }, 20 * kMs);
  }
  return last;
}

TEST(NodeMembershipTest, AddsALearnerThenPromotesIt) {
  TestCluster c(3);
  ASSERT_NE(c.WaitForLeader(), kNoNode);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.ApplyOnLeader("a" + std::to_string(i)).has_value());
  // Node 4 starts with the group's initial configuration (it is not in it)
  // and learns the rest from the leader's log.
  c.AddMember(4, true);
  ASSERT_TRUE(c.Start(4).ok());
  Status s = ChangeOnLeader(c, ConfChange{.changes = {{ConfChangeType::kAddLearner, 4}}},
                            {{4, TestCluster::Address(4)}}, {4});
  ASSERT_TRUE(s.ok()) << s.ToString();
  NodeId leader = c.WaitForLeader({4});
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.WaitConverged(leader));
  EXPECT_EQ(c.sm(4).data().size(), 10u);
  EXPECT_TRUE(c.WaitUntil([&] { return c.node(4).GetStatus().is_learner; }));
  EXPECT_EQ(c.node(leader).GetStatus().peers.at(4), TestCluster::Address(4));

  s = ChangeOnLeader(c, ConfChange{.changes = {{ConfChangeType::kAddVoter, 4}}}, {});
  ASSERT_TRUE(s.ok()) << s.ToString();
  leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  EXPECT_EQ(c.node(leader).GetStatus().conf_state.voters, (std::vector<NodeId>{1, 2, 3, 4}));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.ApplyOnLeader("b" + std::to_string(i)).has_value());
  ASSERT_TRUE(c.WaitConverged(leader));
  EXPECT_EQ(c.sm(4).data().size(), 20u);
  EXPECT_TRUE(c.WaitUntil([&] { return !c.node(4).GetStatus().is_learner; }));
}

TEST(NodeMembershipTest, RemovesAMember) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
  NodeId gone = leader % 3 + 1;
  Status s = ChangeOnLeader(c, ConfChange{.changes = {{ConfChangeType::kRemove, gone}}}, {});
  ASSERT_TRUE(s.ok()) << s.ToString();
  c.Stop(gone);
  leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  EXPECT_EQ(c.node(leader).GetStatus().conf_state.voters.size(), 2u);
  EXPECT_FALSE(c.node(leader).GetStatus().peers.contains(gone));
  ASSERT_TRUE(c.ApplyOnLeader("y").has_value());
}

// The start of the snapshot tests: a leader, one entry ("first") on every
// member, then a follower stopped so that it will need a snapshot.
void StopAFollowerAfterOneEntry(TestCluster& c, NodeId* leader, NodeId* lagging) {
  *leader = c.WaitForLeader();
  ASSERT_NE(*leader, kNoNode);
  *lagging = *leader % 3 + 1;
  ASSERT_TRUE(c.ApplyOnLeader("first").has_value());
  ASSERT_TRUE(c.WaitConverged(*leader));
  c.Stop(*lagging);
}

// Member `id` restored its state machine from one snapshot, then applied
// the later entries in order: `entries` in all.
void ExpectCaughtUpFromOneSnapshot(TestCluster& c, NodeId id, size_t entries) {
  EXPECT_EQ(c.sm(id).restores(), 1u);
  EXPECT_EQ(c.sm(id).data().size(), entries);
  EXPECT_EQ(c.sm(id).order_violations(), 0);
}

// The leader compacts its log behind a snapshot; a follower that was down
// needs it, installs it (state machine restored before later entries), and
// the leader itself restarts from it.
TEST(NodeSnapshotTest, LaggingFollowerCatchesUpFromASnapshot) {
  TestCluster c(3);
  NodeId leader = kNoNode, lagging = kNoNode;
  ASSERT_NO_FATAL_FAILURE(StopAFollowerAfterOneEntry(c, &leader, &lagging));
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.ApplyOnLeader("s" + std::to_string(i)).has_value());
  leader = c.WaitForLeader({lagging});
  auto [index, data] = c.sm(leader).Serialize();
  DurableStorage& st = *c.member(leader).storage;
  ASSERT_TRUE(st.SaveSnapshot(index, c.node(leader).GetStatus().conf_state, data).ok());
  ASSERT_TRUE(st.Compact(index).ok());
  ASSERT_TRUE(c.ApplyOnLeader("after-snapshot").has_value());

  ASSERT_TRUE(c.Start(lagging).ok());
  ASSERT_TRUE(c.WaitConverged(leader));
  ExpectCaughtUpFromOneSnapshot(c, lagging, 32);

  // The leader restarts from its own snapshot plus the log after it.
  c.Stop(leader);
  ASSERT_TRUE(c.Start(leader).ok());
  EXPECT_EQ(c.sm(leader).restores(), 1u);
  NodeId now = c.WaitForLeader();
  ASSERT_NE(now, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("last").has_value());
  ASSERT_TRUE(c.WaitConverged(now));
  EXPECT_EQ(c.sm(leader).data().size(), 33u);
}

// Node::SnapshotAsync: the snapshot is taken between entries on the apply
// thread, with the configuration as of its index (a learner added before it
// is in it), the log is dropped up to compact_to, a follower that was down
// catches up from the snapshot, and a second snapshot without new entries is
// refused.
TEST(NodeSnapshotTest, SnapshotAsyncStoresStateAndConfigAndCompacts) {
  TestCluster c(3);
  NodeId leader = kNoNode, lagging = kNoNode;
  ASSERT_NO_FATAL_FAILURE(StopAFollowerAfterOneEntry(c, &leader, &lagging));
  ASSERT_TRUE(c.node(leader).ChangeMembership(ConfChange{.changes = {{ConfChangeType::kAddLearner, 9}}}, {}).get().ok());
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.ApplyOnLeader("s" + std::to_string(i)).has_value());
  const uint64_t applied = c.node(leader).applied();

  std::promise<Result<uint64_t>> taken;
  c.node(leader).SnapshotAsync(applied - 5, [&](Result<uint64_t> r) { taken.set_value(std::move(r)); });
  Result<uint64_t> index = taken.get_future().get();
  ASSERT_TRUE(index.has_value()) << index.error().ToString();
  EXPECT_GE(*index, applied);
  DurableStorage& st = *c.member(leader).storage;
  ASSERT_TRUE(st.snapshot_meta().has_value());
  EXPECT_EQ(st.snapshot_meta()->index, *index);
  EXPECT_EQ(st.snapshot_meta()->conf_state.learners, std::vector<NodeId>{9});
  EXPECT_EQ(st.FirstIndex(), applied - 4);

  std::promise<Result<uint64_t>> again;
  c.node(leader).SnapshotAsync(0, [&](Result<uint64_t> r) { again.set_value(std::move(r)); });
  EXPECT_EQ(again.get_future().get().error().code(), common::Code::kFailedPrecondition);

  ASSERT_TRUE(c.Start(lagging).ok());
  ASSERT_TRUE(c.ApplyOnLeader("after").has_value());
  ASSERT_TRUE(c.WaitConverged(leader));
  ExpectCaughtUpFromOneSnapshot(c, lagging, 32);
}

// A failed fsync stops the node for good: its pending proposal ends with an
// unknown outcome, later calls are refused, its status names the error; the
// others go on, and a restart on a healthy disk catches up.
TEST(NodeFaultTest, PersistFailureStopsTheNode) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("ok").has_value());
  c.member(leader).fs->FailMatching([](std::string_view op, const std::string&) { return op == "fdatasync"; }, EIO);
  auto r = c.node(leader).Apply("doomed").get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), common::Code::kDeadlineExceeded) << r.error().ToString();
  NodeStatus st = c.node(leader).GetStatus();
  EXPECT_FALSE(st.error.ok());
  EXPECT_EQ(c.member(leader).fatal_calls->load(), 1);  // the process is told, once
  EXPECT_NE(st.error.message().find("persist"), std::string::npos) << st.error.ToString();
  auto refused = c.node(leader).Apply("refused").get();
  EXPECT_EQ(refused.error().code(), common::Code::kUnavailable);
  EXPECT_NE(refused.error().message().find("stopped after an error"), std::string::npos);
  EXPECT_EQ(c.node(leader).WaitApplied(1'000'000, INT64_MAX), c.node(leader).applied());  // no hang

  NodeId next = c.WaitForLeader({leader});
  ASSERT_NE(next, kNoNode);
  ASSERT_NE(next, leader);
  ASSERT_TRUE(c.node(next).Apply("goes on").get().has_value());

  c.Stop(leader);
  c.member(leader).fs->Reset();
  ASSERT_TRUE(c.Start(leader).ok());
  ASSERT_TRUE(c.WaitConverged(next));
  EXPECT_TRUE(c.node(leader).GetStatus().error.ok());
  for (NodeId id : {leader, next}) EXPECT_EQ(c.member(id).fatal_calls->load(), id == leader ? 1 : 0);
}

}  // namespace
}  // namespace raft
