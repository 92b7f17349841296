#include "server/kv_membership.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "raft/node/node_test_util.h"

namespace server {
namespace {

using raft::NodeId;
using raft::node_testing::kSec;
using raft::node_testing::TestCluster;
using ::testing::HasSubstr;

bool Has(const std::vector<NodeId>& ids, NodeId id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

// Two groups over members 1..3 (and a member 4 that joins): `log` stands for
// the log group, `kv` for the KV group that follows it.
TEST(KvMembershipTest, TheKvGroupFollowsAJoinAndALeaveOfTheLogGroup) {
  TestCluster log(3);
  TestCluster kv(3);
  log.AddMember(4, true);
  ASSERT_TRUE(log.Start(4).ok());
  kv.AddMember(4, true);
  ASSERT_TRUE(kv.Start(4).ok());
  // Member 4 follows nobody until it is added: leave it out of the waits.
  const NodeId log_leader = log.WaitForLeader({4});
  const NodeId kv_leader = kv.WaitForLeader({4});
  ASSERT_NE(log_leader, raft::kNoNode);
  ASSERT_NE(kv_leader, raft::kNoNode);
  // The follower runs on the KV leader, with that member's view of the log group.
  KvMembership follower(log.node(kv_leader), kv.node(kv_leader), {.max_lag = 10});
  EXPECT_EQ(follower.ReconcileOnce(), "");  // the groups agree

  raft::ConfChange add;
  add.changes.push_back({raft::ConfChangeType::kAddLearner, 4});
  ASSERT_TRUE(log.node(log_leader).ChangeMembership(add, {{4, TestCluster::Address(4)}}).get().ok());
  ASSERT_TRUE(log.WaitUntil([&] { return Has(log.node(kv_leader).GetStatus().conf_state.learners, 4); }));
  EXPECT_FALSE(ReadyForLogPromotion(kv.node(kv_leader), 4));
  EXPECT_THAT(follower.ReconcileOnce(), HasSubstr("add member 4 at node-4 as a learner: done"));
  EXPECT_TRUE(Has(kv.node(kv_leader).GetStatus().conf_state.learners, 4));
  // Promoted in the KV group once caught up there, while still a learner of
  // the log group, which may then promote it.
  std::string promoted;
  ASSERT_TRUE(kv.WaitUntil([&] {
    promoted = follower.ReconcileOnce();
    return !promoted.empty();
  }, 10 * kSec));
  EXPECT_THAT(promoted, HasSubstr("promote member 4 to voter: done"));
  EXPECT_TRUE(ReadyForLogPromotion(kv.node(kv_leader), 4));
  EXPECT_EQ(follower.ReconcileOnce(), "");

  raft::ConfChange remove;
  remove.changes.push_back({raft::ConfChangeType::kRemove, 4});
  ASSERT_TRUE(log.node(log.WaitForLeader({4})).ChangeMembership(remove, {}).get().ok());
  std::string removed;
  ASSERT_TRUE(kv.WaitUntil([&] {
    removed = follower.ReconcileOnce();
    return !removed.empty();
  }, 10 * kSec));
  EXPECT_THAT(removed, HasSubstr("remove member 4: done"));
  const raft::ConfState cs = kv.node(kv_leader).GetStatus().conf_state;
  EXPECT_EQ(cs.voters.size(), 3u);
  EXPECT_FALSE(Has(cs.voters, 4));
  EXPECT_FALSE(Has(cs.learners, 4));
}

TEST(KvMembershipTest, OnlyTheKvLeaderActs) {
  TestCluster log(3);
  TestCluster kv(3);
  const NodeId kv_leader = kv.WaitForLeader();
  ASSERT_NE(log.WaitForLeader(), raft::kNoNode);
  const NodeId other = kv_leader == 1 ? 2 : 1;
  log.AddMember(4, true);
  ASSERT_TRUE(log.Start(4).ok());
  raft::ConfChange add;
  add.changes.push_back({raft::ConfChangeType::kAddLearner, 4});
  ASSERT_TRUE(log.node(log.WaitForLeader({4})).ChangeMembership(add, {{4, TestCluster::Address(4)}}).get().ok());
  ASSERT_TRUE(log.WaitUntil([&] { return Has(log.node(other).GetStatus().conf_state.learners, 4); }));
  KvMembership follower(log.node(other), kv.node(other));
  EXPECT_EQ(follower.ReconcileOnce(), "");
  EXPECT_FALSE(Has(kv.node(kv_leader).GetStatus().conf_state.learners, 4));
}

// A member removed from the cluster stops its follower at shutdown: that
// must not wait out a KV change that cannot commit (here its leader is cut
// off from the other KV members).
TEST(KvMembershipTest, StopDoesNotWaitForAChangeThatCannotCommit) {
  TestCluster log(3);
  TestCluster kv(3);
  log.AddMember(4, true);
  ASSERT_TRUE(log.Start(4).ok());
  const NodeId log_leader = log.WaitForLeader({4});
  const NodeId kv_leader = kv.WaitForLeader();
  ASSERT_NE(log_leader, raft::kNoNode);
  ASSERT_NE(kv_leader, raft::kNoNode);
  raft::ConfChange add;
  add.changes.push_back({raft::ConfChangeType::kAddLearner, 4});
  ASSERT_TRUE(log.node(log_leader).ChangeMembership(add, {{4, TestCluster::Address(4)}}).get().ok());
  ASSERT_TRUE(log.WaitUntil([&] { return Has(log.node(kv_leader).GetStatus().conf_state.learners, 4); }));

  kv.net().Isolate(kv_leader);
  const uint64_t before = kv.node(kv_leader).GetStatus().last_index;
  KvMembership follower(log.node(kv_leader), kv.node(kv_leader), {.check_ms = 5, .change_timeout_ms = 60'000});
  follower.Start();
  // The change to add member 4 is in the leader's log and cannot commit.
  const auto proposed_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (kv.node(kv_leader).GetStatus().last_index == before && std::chrono::steady_clock::now() < proposed_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GT(kv.node(kv_leader).GetStatus().last_index, before) << "no change was proposed";
  const auto start = std::chrono::steady_clock::now();
  follower.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(Has(kv.node(kv_leader).GetStatus().conf_state.learners, 4));
  kv.net().Heal();
}

}  // namespace
}  // namespace server
