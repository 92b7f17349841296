// Majority and joint quorums (§5.3 commit, §5.2 election, §6 joint
// consensus). Catalogue 20, 45.

#include "raft/core/quorum.h"

#include <gtest/gtest.h>

#include <limits>

namespace raft {
namespace {

AckedIndexFn Acks(std::map<NodeId, uint64_t> acks) {
  return [acks](NodeId id) -> std::optional<uint64_t> {
    auto it = acks.find(id);
    if (it == acks.end()) return std::nullopt;
    return it->second;
  };
}

// Catalogue 20, 29; §5.3: the committed index is the highest index a
// majority acknowledged; an unknown member counts as 0.
TEST(RaftQuorumTest, MajorityCommittedIndexIsHeldByAMajority) {
  EXPECT_EQ(MajorityConfig({1}).CommittedIndex(Acks({{1, 5}})), 5u);
  EXPECT_EQ(MajorityConfig({1, 2}).CommittedIndex(Acks({{1, 5}, {2, 3}})), 3u);
  EXPECT_EQ(MajorityConfig({1, 2, 3}).CommittedIndex(Acks({{1, 5}, {2, 3}, {3, 1}})), 3u);
  EXPECT_EQ(MajorityConfig({1, 2, 3}).CommittedIndex(Acks({{1, 5}})), 0u);
  EXPECT_EQ(MajorityConfig({1, 2, 3, 4}).CommittedIndex(Acks({{1, 5}, {2, 5}, {3, 2}, {4, 1}})), 2u);
  EXPECT_EQ(MajorityConfig({1, 2, 3, 4, 5}).CommittedIndex(Acks({{1, 9}, {2, 8}, {3, 7}, {4, 1}})), 7u);
}

// Catalogue 45: an empty half never limits a joint configuration.
TEST(RaftQuorumTest, EmptyMajorityCommitsEverythingAndWins) {
  EXPECT_EQ(MajorityConfig().CommittedIndex(Acks({})), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(MajorityConfig().Vote({}), VoteResult::kWon);
}

// Catalogue 45 (etcd quorum joint_commit): a joint configuration commits
// what both halves committed.
TEST(RaftQuorumTest, JointCommittedIndexIsTheMinimumOfBothHalves) {
  JointConfig j{MajorityConfig({1, 2, 3}), MajorityConfig({1, 4, 5})};
  EXPECT_EQ(j.CommittedIndex(Acks({{1, 9}, {2, 9}, {3, 9}, {4, 2}, {5, 1}})), 2u);
  EXPECT_EQ(j.CommittedIndex(Acks({{1, 9}, {2, 3}, {3, 1}, {4, 9}, {5, 9}})), 3u);
  JointConfig simple{MajorityConfig({1, 2, 3}), MajorityConfig()};
  EXPECT_EQ(simple.CommittedIndex(Acks({{1, 9}, {2, 9}})), 9u);
}

// Catalogue 1, 2; §5.2: an election is won with a majority of grants and
// lost once a majority is out of reach.
TEST(RaftQuorumTest, MajorityVoteIsWonLostOrPending) {
  MajorityConfig c({1, 2, 3});
  EXPECT_EQ(c.Vote({{1, true}}), VoteResult::kPending);
  EXPECT_EQ(c.Vote({{1, true}, {2, true}}), VoteResult::kWon);
  EXPECT_EQ(c.Vote({{1, true}, {2, false}}), VoteResult::kPending);
  EXPECT_EQ(c.Vote({{1, true}, {2, false}, {3, false}}), VoteResult::kLost);
  EXPECT_EQ(c.Vote({{1, true}, {9, true}}), VoteResult::kPending);  // a non-member's vote does not count
  MajorityConfig even({1, 2, 3, 4});
  EXPECT_EQ(even.Vote({{1, true}, {2, true}, {3, false}, {4, false}}), VoteResult::kLost);
}

// Catalogue 45 (etcd quorum joint_vote): a joint election is won only with
// both halves, lost if either is lost.
TEST(RaftQuorumTest, JointVoteNeedsBothHalves) {
  JointConfig j{MajorityConfig({1, 2, 3}), MajorityConfig({1, 4, 5})};
  EXPECT_EQ(j.Vote({{1, true}, {2, true}, {3, true}}), VoteResult::kPending);
  EXPECT_EQ(j.Vote({{1, true}, {2, true}, {4, true}}), VoteResult::kWon);
  EXPECT_EQ(j.Vote({{1, true}, {2, true}, {4, false}, {5, false}}), VoteResult::kLost);
  EXPECT_EQ(j.Vote({{1, false}, {2, false}, {4, true}, {5, true}}), VoteResult::kLost);
}

}  // namespace
}  // namespace raft
