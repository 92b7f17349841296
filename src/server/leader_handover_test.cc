#include "server/leader_handover.h"

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "raft/node/node_test_util.h"

namespace server {
namespace {

using raft::kNoNode;
using raft::NodeId;
using raft::NodeStatus;
using raft::PeerProgress;
using raft::PickSuccessor;
using raft::node_testing::kSec;
using raft::node_testing::TestCluster;
using ::testing::HasSubstr;

// A leader's status: member 1 leads voters 1..3 (and learner 4).
NodeStatus LeaderStatus() {
  NodeStatus st;
  st.id = 1;
  st.role = raft::Role::kLeader;
  st.leader = 1;
  st.conf_state.voters = {1, 2, 3};
  st.conf_state.learners = {4};
  st.progress[1] = PeerProgress{.match = 100, .replicating = true, .recent_active = true};
  st.progress[2] = PeerProgress{.match = 90, .replicating = true, .recent_active = true};
  st.progress[3] = PeerProgress{.match = 95, .replicating = true, .recent_active = true};
  st.progress[4] = PeerProgress{.match = 100, .replicating = true, .recent_active = true};
  return st;
}

TEST(PickSuccessorTest, TakesTheVoterWithTheHighestMatch) {
  std::string why;
  EXPECT_EQ(PickSuccessor(LeaderStatus(), &why), 3u);  // not the learner 4, not itself
  EXPECT_EQ(why, "");
}

TEST(PickSuccessorTest, SkipsFollowersNotReplicatedTo) {
  NodeStatus st = LeaderStatus();
  st.progress[3].replicating = false;
  EXPECT_EQ(PickSuccessor(st, nullptr), 2u);
}

TEST(PickSuccessorTest, TiesGoToTheRecentlyActiveThenTheLowestId) {
  NodeStatus st = LeaderStatus();
  st.progress[2].match = 95;
  EXPECT_EQ(PickSuccessor(st, nullptr), 2u);
  st.progress[2].recent_active = false;
  EXPECT_EQ(PickSuccessor(st, nullptr), 3u);
}

TEST(PickSuccessorTest, NoneWhenNotLeaderOrNoFollowerQualifies) {
  NodeStatus st = LeaderStatus();
  st.role = raft::Role::kFollower;
  std::string why;
  EXPECT_EQ(PickSuccessor(st, &why), kNoNode);
  EXPECT_THAT(why, HasSubstr("not the leader"));
  st = LeaderStatus();
  st.progress[2].replicating = false;
  st.progress.erase(3);
  EXPECT_EQ(PickSuccessor(st, &why), kNoNode);
  EXPECT_THAT(why, HasSubstr("no follower qualifies"));
  EXPECT_THAT(why, HasSubstr("2 is not being replicated to"));
  EXPECT_THAT(why, HasSubstr("3 has no replication progress"));
  st.conf_state.voters = {1};
  EXPECT_EQ(PickSuccessor(st, &why), kNoNode);
  EXPECT_EQ(why, "no other voter");
}

TEST(HandOverLeadershipTest, ASuccessorLeadsAndInFlightProposalsSucceed) {
  TestCluster c(3);
  const NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
  std::vector<std::future<raft::Result<raft::ApplyResult>>> pending;
  for (int i = 0; i < 20; ++i) pending.push_back(c.node(leader).Apply("p" + std::to_string(i), 10 * kSec));
  common::RealClock clock;
  HandoverResult r = HandOverLeadership(c.node(leader), 5 * kSec, clock);
  const uint64_t applied_at_return = c.node(leader).applied();
  ASSERT_EQ(r.outcome, HandoverOutcome::kHandedOver) << r.detail;
  EXPECT_NE(r.successor, kNoNode);
  EXPECT_NE(r.successor, leader);
  EXPECT_EQ(c.node(leader).leader_hint().id, r.successor);
  EXPECT_NE(c.node(leader).GetStatus().role, raft::Role::kLeader);
  // Every proposal made before the hand-over is applied here, and its
  // outcome is success: the successor committed them. (The apply thread
  // publishes applied() just before it completes the proposals: allow it
  // that moment.)
  for (auto& f : pending) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(1)), std::future_status::ready);
    auto res = f.get();
    ASSERT_TRUE(res.has_value()) << res.error().ToString();
    EXPECT_LE(res->index, applied_at_return) << "the hand-over returned before its in-flight entries applied";
  }
  // A proposal now is refused with the successor's hint.
  auto after = c.node(leader).Apply("late", kSec).get();
  ASSERT_FALSE(after.has_value());
  EXPECT_EQ(after.error().code(), common::Code::kUnavailable);
  EXPECT_THAT(after.error().message(), HasSubstr(TestCluster::Address(r.successor)));
}

TEST(HandOverLeadershipTest, AFollowerHasNothingToDo) {
  TestCluster c(3);
  const NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  const NodeId follower = leader % 3 + 1;
  common::RealClock clock;
  HandoverResult r = HandOverLeadership(c.node(follower), 5 * kSec, clock);
  EXPECT_EQ(r.outcome, HandoverOutcome::kNotLeader);
  EXPECT_EQ(c.node(leader).GetStatus().role, raft::Role::kLeader);
}

}  // namespace
}  // namespace server
