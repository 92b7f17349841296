// Log replication: Raft §5.3 (AppendEntries, consistency check, conflicts,
// backtracking), Figure 7, proposal forwarding and message economy.
// Catalogue numbers refer to RAFT-TESTING.md §7.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::EntriesWithTerms;
using testing::Msg;
using testing::TestCluster;
using testing::Voters;

Message App(NodeId from, NodeId to, uint64_t term, uint64_t prev_index, uint64_t prev_term,
            std::vector<Entry> entries, uint64_t commit = 0) {
  Message m = Msg(MessageType::kApp, from, to, term);
  m.index = prev_index;
  m.log_term = prev_term;
  m.entries = std::move(entries);
  m.commit = commit;
  return m;
}

const Message* FindResp(const std::vector<Message>& msgs) {
  for (const Message& m : msgs) {
    if (m.type == MessageType::kAppResp) return &m;
  }
  return nullptr;
}

// Catalogue 17; §5.3 consistency check (etcd TestFollowerCheckMsgApp): a
// follower accepts an append only if it holds prev_index with prev_term.
TEST(RaftReplicationTest, FollowerRejectsAppendWhosePrevEntryDoesNotMatch) {
  struct Case {
    uint64_t prev_index, prev_term;
    bool accept;
  } cases[] = {{0, 0, true}, {1, 1, true}, {2, 2, true}, {2, 1, false}, {3, 2, false}, {1, 2, false}};
  for (const Case& tc : cases) {
    TestCluster c;
    c.AddWithLog(2, Voters({1, 2, 3}), EntriesWithTerms({1, 2}), HardState{.term = 2});
    ASSERT_TRUE(c.node(2).Step(App(1, 2, 2, tc.prev_index, tc.prev_term, {})).ok());
    const Message* r = FindResp(c.Collect());
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(!r->reject, tc.accept) << tc.prev_index << "/" << tc.prev_term;
    if (r->reject) {
      EXPECT_EQ(r->index, tc.prev_index);
    }
  }
}

// Catalogue 17; §5.3 "If an existing entry conflicts with a new one (same
// index but different terms), delete the existing entry and all that follow
// it" — and only then (etcd TestFollowerAppendEntries).
TEST(RaftReplicationTest, FollowerTruncatesOnlyAtATermConflict) {
  struct Case {
    uint64_t prev_index, prev_term;
    std::vector<Entry> entries;
    std::vector<uint64_t> want;
  } cases[] = {
      {2, 2, EntriesWithTerms({3}, 3), {1, 2, 3}},
      {1, 1, EntriesWithTerms({3, 4}, 2), {1, 3, 4}},
      {0, 0, EntriesWithTerms({1}, 1), {1, 2}},  // matches: nothing is cut
      {0, 0, EntriesWithTerms({1, 2}, 1), {1, 2}},
      {0, 0, EntriesWithTerms({3}, 1), {3}},
  };
  for (const Case& tc : cases) {
    TestCluster c;
    c.AddWithLog(2, Voters({1, 2, 3}), EntriesWithTerms({1, 2}), HardState{.term = 2});
    ASSERT_TRUE(c.node(2).Step(App(1, 2, 4, tc.prev_index, tc.prev_term, tc.entries)).ok());
    c.Collect();
    EXPECT_EQ(c.LogTerms(2), tc.want) << "prev " << tc.prev_index;
  }
}

// Catalogue 18 (etcd TestLogReplicationWithReorderedMessage): an old,
// shorter append delivered late does not cut the entries a newer one added.
TEST(RaftReplicationTest, StaleShorterAppendNeverRemovesMatchingEntries) {
  TestCluster c;
  c.Add(2, Voters({1, 2, 3}));
  Message longer = App(1, 2, 1, 0, 0, EntriesWithTerms({1, 1, 1}));
  Message shorter = App(1, 2, 1, 0, 0, EntriesWithTerms({1}));
  ASSERT_TRUE(c.node(2).Step(longer).ok());
  c.Collect();
  ASSERT_TRUE(c.node(2).Step(shorter).ok());
  auto msgs = c.Collect();
  EXPECT_EQ(c.node(2).log().last_index(), 3u);
  EXPECT_EQ(c.LogTerms(2), (std::vector<uint64_t>{1, 1, 1}));
  const Message* r = FindResp(msgs);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->reject);
}

// Catalogue 18 (MIT TestFigure8Unreliable): with every message duplicated,
// and with appends delivered in reverse order, logs converge and each entry
// is applied once.
TEST(RaftReplicationTest, DuplicatedAndReorderedAppendsConverge) {
  TestCluster c(3);
  c.duplicate = true;
  c.Elect(1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.Propose(1, "d" + std::to_string(i)));
  c.duplicate = false;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.node(1).Propose("r" + std::to_string(i)).ok());
  auto msgs = c.Collect();
  std::reverse(msgs.begin(), msgs.end());
  for (const Message& m : msgs) c.Deliver(m);
  c.Stabilize();
  c.TickAll(2);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.LogTerms(id), c.LogTerms(1)) << id;
    ASSERT_EQ(c.member(id).applied.size(), 11u) << id;
    for (size_t i = 0; i < c.member(id).applied.size(); ++i) EXPECT_EQ(c.member(id).applied[i].index, i + 1);
  }
}

// Catalogue 22 (etcd TestFastLogRejection, MIT TestBackup2B): the leader
// skips a whole divergent term per round trip, not one entry.
TEST(RaftReplicationTest, LeaderBacksUpOverALongDivergentLogQuickly) {
  std::vector<uint64_t> good(1, 1), bad(1, 1);
  good.insert(good.end(), 50, 3);
  bad.insert(bad.end(), 100, 2);
  TestCluster c;
  ConfState cs = Voters({1, 2, 3});
  c.AddWithLog(1, cs, EntriesWithTerms(good), HardState{.term = 3});
  c.AddWithLog(2, cs, EntriesWithTerms(bad), HardState{.term = 3});
  c.AddWithLog(3, cs, EntriesWithTerms(good), HardState{.term = 3});
  int rejects = 0;
  c.observe = [&](const Message& m) { rejects += m.type == MessageType::kAppResp && m.reject; };
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  EXPECT_LE(rejects, 3);
  EXPECT_EQ(c.LogTerms(2), c.LogTerms(1));
}

// Catalogue 23; Figure 7: a leader of term 8 brings each follower shape
// (a)-(f) of the figure to its own log.
TEST(RaftReplicationTest, LeaderBringsEveryFigure7FollowerInSync) {
  std::vector<uint64_t> leader = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6},              // (a) missing one
      {1, 1, 1, 4},                             // (b) missing many
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},        // (c) one extra of term 6
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},     // (d) extra of term 7
      {1, 1, 1, 4, 4, 4, 4},                    // (e) extra of term 4
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},        // (f) extra of terms 2 and 3
  };
  for (size_t i = 0; i < followers.size(); ++i) {
    TestCluster c;
    ConfState cs = Voters({1, 2, 3});
    c.AddWithLog(1, cs, EntriesWithTerms(leader), HardState{.term = 7});
    c.AddWithLog(2, cs, EntriesWithTerms(followers[i]), HardState{.term = 7});
    c.AddWithLog(3, cs, EntriesWithTerms(leader), HardState{.term = 7});
    c.Elect(1);
    ASSERT_EQ(c.Leader(), 1u) << i;
    ASSERT_EQ(c.node(1).term(), 8u);
    std::vector<uint64_t> want = leader;
    want.push_back(8);  // the new leader's no-op
    EXPECT_EQ(c.LogTerms(2), want) << "follower (" << static_cast<char>('a' + i) << ")";
    EXPECT_EQ(c.node(2).log().committed(), 11u);
  }
}

// Catalogue 25 (etcd lagging_commit.txt): a follower that missed the append
// carrying the new commit index learns it from the next heartbeat.
TEST(RaftReplicationTest, LaggingFollowerLearnsTheCommitIndexFromTheNextHeartbeat) {
  TestCluster c(3);
  c.Elect(1);
  c.drop = [](const Message& m) { return m.type == MessageType::kApp && m.to == 3 && m.entries.empty(); };
  EXPECT_TRUE(c.Propose(1, "x"));
  ASSERT_EQ(c.node(1).log().committed(), 2u);
  EXPECT_EQ(c.node(3).log().last_index(), 2u);
  EXPECT_EQ(c.node(3).log().committed(), 1u);
  c.TickAll(1);
  EXPECT_EQ(c.node(3).log().committed(), 2u);
  EXPECT_EQ(c.member(3).applied.back().data, "x");
}

// Catalogue 27 (MIT TestRejoin2B, camunda#5360): entries a deposed leader
// appended without a quorum are replaced when it rejoins.
TEST(RaftReplicationTest, DeposedLeadersUncommittedEntriesAreOverwritten) {
  TestCluster c(3);
  c.Elect(1);
  c.Isolate(1);
  ASSERT_TRUE(c.node(1).Propose("lost1").ok());
  ASSERT_TRUE(c.node(1).Propose("lost2").ok());
  c.Stabilize();
  c.Elect(2);
  ASSERT_EQ(c.node(2).role(), Role::kLeader);
  EXPECT_TRUE(c.Propose(2, "kept"));
  c.Heal();
  c.TickAll(3);
  EXPECT_EQ(c.node(1).role(), Role::kFollower);
  EXPECT_EQ(c.LogTerms(1), c.LogTerms(2));
  for (NodeId id : c.ids()) {
    for (const Entry& e : c.member(id).applied) EXPECT_TRUE(e.data.rfind("lost", 0) != 0) << id;
    EXPECT_EQ(c.member(id).applied.back().data, "kept");
  }
}

// Catalogue 28 (etcd TestProposalByProxy): a follower forwards a proposal to
// the leader, which commits it.
TEST(RaftReplicationTest, FollowerForwardsProposalsToTheLeader) {
  TestCluster c(3);
  c.Elect(1);
  EXPECT_TRUE(c.Propose(2, "via2"));
  for (NodeId id : c.ids()) EXPECT_EQ(c.member(id).applied.back().data, "via2");
}

// Catalogue 28 (etcd TestDisableProposalForwarding): with forwarding off a
// follower refuses the proposal and sends nothing.
TEST(RaftReplicationTest, DisabledForwardingRefusesProposalsOnAFollower) {
  TestCluster c(3, [](Config& cfg) { cfg.disable_proposal_forwarding = true; });
  c.Elect(1);
  Status s = c.node(2).Propose("no");
  EXPECT_EQ(s.code(), common::Code::kUnavailable);
  EXPECT_TRUE(c.Collect().empty());
}

// Catalogue 28: without a known leader a proposal is refused, not queued.
TEST(RaftReplicationTest, ProposalWithoutALeaderIsRefused) {
  TestCluster c(3);
  EXPECT_EQ(c.node(2).Propose("no").code(), common::Code::kUnavailable);
  EXPECT_TRUE(c.Collect().empty());
}

// Catalogue 31 (MIT TestRPCBytes2B): in steady state each entry goes to each
// follower once.
TEST(RaftReplicationTest, SteadyStateSendsEachEntryOncePerFollower) {
  TestCluster c(3);
  c.Elect(1);
  std::map<std::pair<NodeId, uint64_t>, int> sent;
  c.observe = [&](const Message& m) {
    if (m.type == MessageType::kApp) for (const Entry& e : m.entries) ++sent[{m.to, e.index}];
  };
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(c.Propose(1, "p" + std::to_string(i)));
  EXPECT_EQ(sent.size(), 60u);
  for (const auto& [key, n] : sent) EXPECT_EQ(n, 1) << "to " << key.first << " index " << key.second;
}

// Catalogue 31 (MIT TestCount2B): an idle leader sends one heartbeat per
// follower per heartbeat interval and nothing else.
TEST(RaftReplicationTest, IdleLeaderSendsOnlyHeartbeats) {
  TestCluster c(3, [](Config& cfg) { cfg.heartbeat_tick = 2; });
  c.Elect(1);
  std::map<MessageType, int> count;
  c.observe = [&](const Message& m) {
    if (m.from == 1) ++count[m.type];
  };
  c.TickAll(10);
  EXPECT_EQ(count.size(), 1u);
  EXPECT_EQ(count[MessageType::kHeartbeat], 10);  // 5 intervals x 2 followers
}

// Catalogue 36 (etcd async_storage_writes_append_aba_race.txt): a write
// that completes after its entries were replaced (a new leader's entries at
// the same index) does not mark the replacement durable.
TEST(RaftReplicationTest, LateWriteAcknowledgementDoesNotCoverReplacedEntries) {
  TestCluster c;
  c.Add(2, Voters({1, 2, 3}));
  Raft& r = c.node(2);
  ASSERT_TRUE(r.Step(App(1, 2, 1, 0, 0, EntriesWithTerms({1, 1}))).ok());
  Ready rd = r.GetReady();  // the write of (1,1),(2,1) is in flight
  ASSERT_EQ(rd.entries.size(), 2u);
  // Meanwhile leader 3 of term 2 replaces index 2.
  ASSERT_TRUE(r.Step(App(3, 2, 2, 1, 1, {Entry{2, 2, EntryType::kNormal, "new"}})).ok());
  CHECK_OK(c.storage(2).Append(rd.entries));
  r.Advance();  // acknowledges index 2 of term 1, which is gone
  EXPECT_LT(r.GetStatus().durable_index, 2u);
  Ready rd2 = r.GetReady();
  ASSERT_FALSE(rd2.entries.empty());
  EXPECT_EQ(rd2.entries.back(), (Entry{2, 2, EntryType::kNormal, "new"}));
  // The acknowledgement of the replacement must wait for its own write.
  bool early_ack = false;
  for (const Message& m : rd2.messages) early_ack |= m.type == MessageType::kAppResp;
  EXPECT_FALSE(early_ack);
  r.Advance();
}

}  // namespace
}  // namespace raft
