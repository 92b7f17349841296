// Leader election: Raft §5.2, §5.4.1, thesis §4.2.3 (disruptive servers),
// §9.6 (PreVote) and CheckQuorum. Catalogue numbers refer to
// RAFT-TESTING.md §7.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::EntriesWithTerms;
using testing::Msg;
using testing::PreVoteCheckQuorum;
using testing::TestCluster;
using testing::Voters;

void PreVote(Config& c) { c.pre_vote = true; }
void CheckQuorum(Config& c) { c.check_quorum = true; }

// Finds the first message of `type` from `from`, or nullptr.
const Message* Find(const std::vector<Message>& msgs, MessageType type, NodeId from = kNoNode) {
  for (const Message& m : msgs) {
    if (m.type == type && (from == kNoNode || m.from == from)) return &m;
  }
  return nullptr;
}

// Catalogue 1; Figure 3 ElectionSafety: at most one leader per term, for
// 3, 5 and 7 nodes under randomized timeouts and a lossy network.
TEST(RaftElectionTest, AtMostOneLeaderPerTermUnderRandomTimeouts) {
  for (size_t n : {3u, 5u, 7u}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      TestCluster c(n, {}, seed);
      uint64_t rng = seed;
      c.drop = [&rng](const Message&) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        return (rng >> 33) % 10 == 0;  // lose 10%
      };
      std::map<uint64_t, NodeId> leader_of_term;
      for (int t = 0; t < 300; ++t) {
        c.TickAll();
        for (NodeId id : c.ids()) {
          if (c.node(id).role() != Role::kLeader) continue;
          auto [it, added] = leader_of_term.try_emplace(c.node(id).term(), id);
          ASSERT_EQ(it->second, id) << "two leaders in term " << it->first << " n=" << n << " seed=" << seed;
        }
      }
      EXPECT_FALSE(leader_of_term.empty()) << "n=" << n << " seed=" << seed;
    }
  }
}

// Catalogue 2 (MIT TestReElection2A): no leader without a quorum; one
// appears once a quorum can talk again.
TEST(RaftElectionTest, NoLeaderWithoutQuorumAndOneOnceQuorumReturns) {
  TestCluster c(3, CheckQuorum);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  for (NodeId id : c.ids()) c.Isolate(id);
  c.TickAll(100);
  EXPECT_EQ(c.Leader(), kNoNode);  // 1 stepped down (CheckQuorum); nobody else can win
  c.Heal();
  c.Isolate(1);
  c.TickAll(50);
  NodeId l = c.Leader();
  EXPECT_TRUE(l == 2 || l == 3) << l;
}

// Catalogue 3; §5.4.1: a candidate whose last log term is older never wins,
// even with a longer log.
TEST(RaftElectionTest, CandidateWithOlderLastTermNeverWins) {
  TestCluster c;
  ConfState cs = Voters({1, 2, 3});
  c.AddWithLog(1, cs, EntriesWithTerms({1, 1, 1}), HardState{.term = 2});
  c.AddWithLog(2, cs, EntriesWithTerms({1, 2}), HardState{.term = 2});
  c.AddWithLog(3, cs, EntriesWithTerms({1, 2}), HardState{.term = 2});
  c.Elect(1);
  EXPECT_NE(c.node(1).role(), Role::kLeader);
  c.Elect(2);
  ASSERT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.LogTerms(1), c.LogTerms(2));  // 1's stale entries were replaced
}

// Catalogue 3; §5.4.1: with equal last terms, the shorter log never wins.
TEST(RaftElectionTest, CandidateWithShorterLogOfSameTermNeverWins) {
  TestCluster c;
  ConfState cs = Voters({1, 2, 3});
  c.AddWithLog(1, cs, EntriesWithTerms({1, 1}), HardState{.term = 1});
  c.AddWithLog(2, cs, EntriesWithTerms({1, 1, 1}), HardState{.term = 1});
  c.AddWithLog(3, cs, EntriesWithTerms({1, 1, 1}), HardState{.term = 1});
  c.Elect(1);
  EXPECT_NE(c.node(1).role(), Role::kLeader);
  EXPECT_EQ(c.Leader(), kNoNode);
}

// Catalogue 3; §5.4.1 from the voter's side (etcd TestVoter): grant only to
// a log ending in a later term, or the same term and at least as long.
TEST(RaftElectionTest, VoterGrantsOnlyToALogAtLeastAsUpToDate) {
  struct Case {
    uint64_t index, log_term;
    bool grant;
  } cases[] = {
      {2, 2, true}, {3, 2, true}, {1, 2, false}, {5, 1, false}, {1, 3, true}, {0, 0, false},
  };
  for (const Case& tc : cases) {
    TestCluster c;
    c.AddWithLog(1, Voters({1, 2}), EntriesWithTerms({1, 2}), HardState{.term = 2});
    Message v = Msg(MessageType::kVote, 2, 1, 3);
    v.index = tc.index;
    v.log_term = tc.log_term;
    ASSERT_TRUE(c.node(1).Step(v).ok());
    auto msgs = c.Collect();
    const Message* r = Find(msgs, MessageType::kVoteResp);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(!r->reject, tc.grant) << "index " << tc.index << " term " << tc.log_term;
  }
}

// Catalogue 4 (etcd TestDuelingCandidates): two candidates that cannot hear
// each other; the one with the stale log cannot win, and the cluster
// converges on one leader and one log once healed.
TEST(RaftElectionTest, DuelingCandidatesConverge) {
  TestCluster c(3);
  c.Cut(1, 3);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  c.Elect(3);  // 2 refuses: 3 missed the leader's no-op
  EXPECT_EQ(c.node(3).role(), Role::kCandidate);
  EXPECT_EQ(c.node(2).role(), Role::kFollower);
  c.Heal();
  c.TickAll(60);
  NodeId l = c.Leader();
  ASSERT_NE(l, kNoNode);
  EXPECT_NE(l, 3u) << "3 never received the term-1 no-op, so it cannot win before catching up";
  for (NodeId id : c.ids()) EXPECT_EQ(c.LogTerms(id).front(), 1u);
}

// Catalogue 4 (etcd TestDuelingPreCandidates): with PreVote the losing
// pre-candidate does not raise its term, so the leader is not disturbed.
TEST(RaftElectionTest, DuelingPreCandidatesLeaveTheLeaderInPlace) {
  TestCluster c(3, PreVote);
  c.Cut(1, 3);
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  c.Elect(3);
  EXPECT_EQ(c.node(3).term(), 1u);
  EXPECT_NE(c.node(3).role(), Role::kCandidate);
  c.Heal();
  c.TickAll(5);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).term(), 1u);
}

// Catalogue 4; §5.2: a split vote (no majority for anyone) is resolved by
// randomized timeouts in a later term.
TEST(RaftElectionTest, SplitVoteIsResolvedByRandomizedTimeouts) {
  TestCluster c(4);
  c.drop = [](const Message& m) {
    return m.type == MessageType::kVote && ((m.from == 1 && m.to == 4) || (m.from == 2 && m.to == 3));
  };
  c.node(1).Campaign();
  c.node(2).Campaign();
  c.Stabilize();
  EXPECT_EQ(c.Leader(), kNoNode);  // 1 has {1,3}, 2 has {2,4}: 2 of 4 each
  c.drop = nullptr;
  c.TickAll(60);
  ASSERT_NE(c.Leader(), kNoNode);
  EXPECT_GE(c.node(c.Leader()).term(), 2u);
}

// Catalogue 5; §5.2: at most one vote per term.
TEST(RaftElectionTest, GrantsAtMostOneVotePerTerm) {
  TestCluster c(3);
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 2, 1, 1)).ok());
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 3, 1, 1)).ok());
  auto msgs = c.Collect();
  const Message* to2 = nullptr;
  const Message* to3 = nullptr;
  for (const Message& m : msgs) {
    if (m.type == MessageType::kVoteResp && m.to == 2) to2 = &m;
    if (m.type == MessageType::kVoteResp && m.to == 3) to3 = &m;
  }
  ASSERT_TRUE(to2 && to3);
  EXPECT_FALSE(to2->reject);
  EXPECT_TRUE(to3->reject);
}

// Catalogue 5 (hashicorp#661): the vote survives a crash and restart, so a
// second candidate of the same term is still refused.
TEST(RaftElectionTest, VoteSurvivesRestartAndIsNotGrantedTwice) {
  TestCluster c(3);
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 2, 1, 1)).ok());
  c.Collect();
  c.Restart(1);
  EXPECT_EQ(c.node(1).term(), 1u);
  EXPECT_EQ(c.node(1).vote(), 2u);
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 3, 1, 1)).ok());
  auto msgs = c.Collect();
  const Message* r = Find(msgs, MessageType::kVoteResp);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->reject);
}

// Catalogue 5, 32; Figure 2 "persistent state ... updated on stable storage
// before responding": a granted vote leaves only after the term and vote
// are persisted (messages_after_persist, with must_sync).
TEST(RaftElectionTest, VoteIsSentOnlyAfterTermAndVoteArePersisted) {
  TestCluster c(3);
  Raft& r = c.node(1);
  ASSERT_TRUE(r.Step(Msg(MessageType::kVote, 2, 1, 1)).ok());
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, 1u);
  EXPECT_EQ(rd.hard_state->vote, 2u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_EQ(Find(rd.messages, MessageType::kVoteResp), nullptr);
  const Message* resp = Find(rd.messages_after_persist, MessageType::kVoteResp);
  ASSERT_NE(resp, nullptr);
  EXPECT_FALSE(resp->reject);
  r.Advance();
}

// Catalogue 5, 32: a candidate asks for votes only after its new term and
// self-vote are persisted.
TEST(RaftElectionTest, CandidateRequestsVotesOnlyAfterPersistingItsTerm) {
  TestCluster c(3);
  Raft& r = c.node(1);
  r.Campaign();
  Ready rd = r.GetReady();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->term, 1u);
  EXPECT_EQ(rd.hard_state->vote, 1u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_EQ(Find(rd.messages, MessageType::kVote), nullptr);
  EXPECT_NE(Find(rd.messages_after_persist, MessageType::kVote), nullptr);
  r.Advance();
}

// Catalogue 6 (akka-raft#29): a duplicated RequestVote from the candidate we
// voted for is granted again.
TEST(RaftElectionTest, DuplicateVoteRequestIsGrantedAgain) {
  TestCluster c(3);
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 2, 1, 1)).ok());
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 2, 1, 1)).ok());
  auto msgs = c.Collect();
  int granted = 0;
  for (const Message& m : msgs) granted += m.type == MessageType::kVoteResp && !m.reject;
  EXPECT_EQ(granted, 2);
  EXPECT_EQ(c.node(1).vote(), 2u);
}

// Puts node 1 of `c` into `role` without delivering anything.
void MakeRole(TestCluster& c, Role role) {
  switch (role) {
    case Role::kFollower:
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      c.node(1).Campaign();
      c.Collect();
      break;
    case Role::kLeader:
      c.Elect(1);
      break;
  }
  ASSERT_EQ(c.node(1).role(), role);
}

// Catalogue 7; Figure 2 "All servers": a message of a higher term makes any
// role a follower of that term.
TEST(RaftElectionTest, HigherTermMessageDemotesEveryRole) {
  for (Role role : {Role::kFollower, Role::kPreCandidate, Role::kCandidate, Role::kLeader}) {
    for (MessageType type : {MessageType::kApp, MessageType::kHeartbeat, MessageType::kVote,
                             MessageType::kAppResp, MessageType::kVoteResp}) {
      TestCluster c(3, role == Role::kPreCandidate ? PreVote : testing::Tweak{});
      MakeRole(c, role);
      uint64_t term = c.node(1).term() + 2;
      Message m = Msg(type, 2, 1, term);
      m.log_term = 5;  // an up-to-date log for vote requests
      m.index = 5;
      ASSERT_TRUE(c.node(1).Step(m).ok());
      EXPECT_EQ(c.node(1).role(), Role::kFollower) << RoleName(role) << " " << MessageTypeName(type);
      EXPECT_EQ(c.node(1).term(), term) << RoleName(role) << " " << MessageTypeName(type);
      bool from_leader = type == MessageType::kApp || type == MessageType::kHeartbeat;
      EXPECT_EQ(c.node(1).leader(), from_leader ? 2u : kNoNode);
    }
  }
}

// Catalogue 7 (etcd TestStepIgnoreOldTermMsg): messages of an older term
// change nothing.
TEST(RaftElectionTest, LowerTermMessagesChangeNothing) {
  TestCluster c(3);
  c.Elect(1);
  c.Elect(2);  // term 2, leader 2; 1 is a follower
  ASSERT_EQ(c.Leader(), 2u);
  uint64_t last = c.node(1).log().last_index();
  Message app = Msg(MessageType::kApp, 3, 1, 1);
  app.index = last;
  app.log_term = 2;
  app.entries = EntriesWithTerms({1}, last + 1);
  ASSERT_TRUE(c.node(1).Step(app).ok());
  ASSERT_TRUE(c.node(1).Step(Msg(MessageType::kVote, 3, 1, 1)).ok());
  EXPECT_EQ(c.node(1).term(), 2u);
  EXPECT_EQ(c.node(1).leader(), 2u);
  EXPECT_EQ(c.node(1).log().last_index(), last);
  auto msgs = c.Collect();
  EXPECT_EQ(Find(msgs, MessageType::kVoteResp), nullptr);
}

// Catalogue 8 (etcd TestDisruptiveFollowerPreVote): a node that was cut off
// does not raise its term with PreVote, so rejoining deposes nobody.
TEST(RaftElectionTest, PreVoteKeepsARejoiningNodeFromDeposingTheLeader) {
  TestCluster c(3, PreVote);
  c.Elect(1);
  c.Isolate(3);
  c.TickAll(100);
  EXPECT_EQ(c.node(3).term(), 1u);
  c.Heal();
  c.TickAll(30);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).term(), 1u);
}

// Catalogue 8, contrast: without PreVote the same rejoin forces an election
// (which shows the test above depends on PreVote).
TEST(RaftElectionTest, WithoutPreVoteARejoiningNodeForcesAnElection) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  c.TickAll(100);
  EXPECT_GT(c.node(3).term(), 1u);
  c.Heal();
  c.TickAll(30);
  EXPECT_GT(c.node(1).term(), 1u);
}

// Catalogue 9 (etcd prevote_checkquorum.txt): followers that hear from a
// live leader refuse prevotes, so a follower cannot start an election.
TEST(RaftElectionTest, FollowersRefusePreVotesWhileTheLeaderIsLive) {
  TestCluster c(3, PreVoteCheckQuorum);
  c.Elect(1);
  c.Elect(2);
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).term(), 1u);
  EXPECT_EQ(c.node(2).term(), 1u);
}

// Catalogue 9 (etcd forget_leader_prevote_checkquorum.txt): ForgetLeader
// lets a follower grant prevotes (and votes) again at once.
TEST(RaftElectionTest, ForgetLeaderLetsAFollowerGrantPreVotes) {
  TestCluster c(3, PreVoteCheckQuorum);
  c.Elect(1);
  c.node(3).ForgetLeader();
  EXPECT_EQ(c.node(3).leader(), kNoNode);
  c.Elect(2);
  EXPECT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.node(2).term(), 2u);
}

// Catalogue 10 (etcd #8243, TestNodeWithSmallerTermCanCompleteElection): a
// pre-candidate with a smaller term learns the higher term from a prevote
// rejection, so the cluster can still elect.
TEST(RaftElectionTest, NodeWithSmallerTermCanCompleteAnElection) {
  TestCluster c(3, PreVote);
  c.Cut(1, 3);
  c.Cut(2, 3);
  c.Elect(1);
  c.Elect(2);
  ASSERT_EQ(c.Leader(), 2u);
  EXPECT_EQ(c.node(1).term(), 2u);
  EXPECT_EQ(c.node(3).term(), 0u);
  c.Heal();
  c.Isolate(2);  // the leader crashes
  c.Elect(3);
  EXPECT_EQ(c.node(3).term(), 2u);  // learned from 1's rejection
  c.Elect(1);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
}

// Catalogue 11 (etcd #8501 TestPreVoteMigration*): nodes with and without
// PreVote still elect, and a rolling upgrade one restart at a time keeps
// committing.
TEST(RaftElectionTest, MixedPreVoteSettingsStillElectDuringARollingUpgrade) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(3);
  c.TickAll(60);  // 3 (no PreVote) inflates its term
  c.Heal();
  for (NodeId id : c.ids()) {
    c.Restart(id, PreVote);
    c.TickAll(80);
    NodeId l = c.Leader();
    ASSERT_NE(l, kNoNode) << "after upgrading " << id;
    EXPECT_TRUE(c.Propose(l, "after-" + std::to_string(id)));
    for (NodeId other : c.ids()) {
      EXPECT_EQ(c.member(other).applied.back().data, "after-" + std::to_string(id));
    }
  }
}

// Catalogue 12 (etcd checkquorum.txt): an isolated leader steps down once an
// election timeout passes without hearing from a quorum.
TEST(RaftElectionTest, IsolatedLeaderStepsDownWithCheckQuorum) {
  TestCluster c(3, CheckQuorum);
  c.Elect(1);
  c.Isolate(1);
  c.Tick(1, 9);
  EXPECT_EQ(c.node(1).role(), Role::kLeader);
  c.Tick(1, 11);
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
}

// Catalogue 12 (etcd TestFreeStuckCandidateWithCheckQuorum): a candidate
// whose term ran ahead while cut off answers the leader's stale heartbeat
// with its term; the leader steps down and the cluster elects again.
TEST(RaftElectionTest, StuckCandidateIsFreedWithCheckQuorum) {
  TestCluster c(3, CheckQuorum);
  c.Elect(1);
  c.Isolate(3);
  c.Tick(3, 60);
  uint64_t t3 = c.node(3).term();
  ASSERT_GT(t3, 1u);
  c.Heal();
  c.TickAll(1);  // the leader's heartbeat reaches 3, whose answer carries t3
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.node(1).term(), t3);
  c.TickAll(60);
  EXPECT_NE(c.Leader(), kNoNode);
}

// Catalogue 13 (etcd TestLearnerElectionTimeout): a learner never campaigns.
TEST(RaftElectionTest, LearnerNeverCampaigns) {
  TestCluster c;
  ConfState cs{.voters = {1, 2}, .learners = {3}};
  for (NodeId id : {1, 2, 3}) c.Add(id, cs);
  c.Tick(3, 100);
  c.node(3).Campaign();
  c.Stabilize();
  EXPECT_EQ(c.node(3).role(), Role::kFollower);
  EXPECT_EQ(c.node(3).term(), 0u);
}

// Catalogue 13 (etcd campaign_learner_must_vote.txt): a learner votes when
// a candidate asks (the candidate's newer config may make it a voter).
TEST(RaftElectionTest, LearnerVotesWhenACandidateAsks) {
  TestCluster c;
  ConfState cs{.voters = {1, 2}, .learners = {3}};
  for (NodeId id : {1, 2, 3}) c.Add(id, cs);
  ASSERT_TRUE(c.node(3).Step(Msg(MessageType::kVote, 1, 3, 1)).ok());
  auto msgs = c.Collect();
  const Message* r = Find(msgs, MessageType::kVoteResp);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->reject);
}

// Catalogue 14; thesis §4.2.3: a node removed from the configuration never
// campaigns, and its (pre)votes do not disturb the rest.
TEST(RaftElectionTest, RemovedNodeCannotDisruptTheCluster) {
  TestCluster c(3, PreVoteCheckQuorum);
  c.Elect(1);
  c.TickAll(1);
  ASSERT_TRUE(c.node(1).ProposeConfChange(ConfChange{.changes = {{ConfChangeType::kRemove, 3}}}).ok());
  c.Stabilize();
  c.TickAll(2);
  ASSERT_EQ(c.node(1).config().voters.incoming.ids(), (std::set<NodeId>{1, 2}));
  ASSERT_FALSE(c.node(3).config().voters.contains(3));
  c.Tick(3, 100);
  EXPECT_EQ(c.node(3).role(), Role::kFollower);
  c.node(3).Campaign();
  c.Stabilize();
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).term(), 1u);
}

// Catalogue 15 (Howard & Abraham 2020): with PreVote and CheckQuorum, a
// follower that cannot hear the leader (but can hear the other follower)
// does not cause endless elections.
TEST(RaftElectionTest, PartialPartitionKeepsAStableLeader) {
  TestCluster c(3, PreVoteCheckQuorum);
  c.Elect(1);
  c.Cut(1, 3);
  c.TickAll(100);  // idle: 3's log is as good as 2's, so only the lease stops it
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(2).term(), 1u);
  for (int i = 0; i < 10; ++i) {
    c.TickAll(10);
    EXPECT_TRUE(c.Propose(1, "w" + std::to_string(i)));
  }
  EXPECT_EQ(c.Leader(), 1u);
  EXPECT_EQ(c.node(1).term(), 1u);
  EXPECT_EQ(c.member(2).applied.back().data, "w9");
}

// Catalogue 16 (in ticks; the distribution in ms belongs to the simulator):
// after the leader is lost, a new one is elected within about two election
// timeouts.
TEST(RaftElectionTest, NewLeaderWithinTwoElectionTimeouts) {
  std::vector<int> ticks;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    TestCluster c(5, {}, seed);
    c.Elect(1);
    c.Isolate(1);
    int t = 0;
    while (t < 200) {
      c.TickAll();
      ++t;
      NodeId l = kNoNode;
      for (NodeId id : {2, 3, 4, 5}) if (c.node(id).role() == Role::kLeader) l = id;
      if (l != kNoNode) break;
    }
    ticks.push_back(t);
  }
  std::sort(ticks.begin(), ticks.end());
  EXPECT_LE(ticks[ticks.size() / 2], 20);  // randomized timeout < 2 * election_tick
  EXPECT_LE(ticks.back(), 60);
}

}  // namespace
}  // namespace raft
