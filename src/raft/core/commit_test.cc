// Commitment: §5.3 (follower commit index), §5.4.2 and Figure 8 (only
// current-term entries commit by counting), thesis §10.2.1 (durability
// before counting), bounded uncommitted bytes, restarts with Config::applied.
// Catalogue numbers refer to RAFT-TESTING.md §7.

#include <gtest/gtest.h>

#include "raft/core/raft_test_util.h"

namespace raft {
namespace {

using testing::EntriesWithTerms;
using testing::Msg;
using testing::TestCluster;
using testing::Voters;

bool HasType(const std::vector<Message>& msgs, MessageType t) {
  for (const Message& m : msgs) {
    if (m.type == t) return true;
  }
  return false;
}

// Catalogue 19 (copycat#265, scylladb#9965); Figure 2 AppendEntries rule 5:
// commitIndex = min(leaderCommit, index of last new entry) — not the
// follower's own last index, whose tail may be stale entries of an old term.
TEST(RaftCommitTest, FollowerCommitIsCappedAtTheLastEntryTheRequestVerified) {
  TestCluster c;
  c.AddWithLog(2, Voters({1, 2, 3}), EntriesWithTerms({1, 1, 1, 1, 1}), HardState{.term = 1});
  // The leader of term 2 holds [1 1 2 2 2] and has committed all five; its
  // append proves only that index 2 matches.
  Message m = Msg(MessageType::kApp, 1, 2, 2);
  m.index = 2;
  m.log_term = 1;
  m.commit = 5;
  ASSERT_TRUE(c.node(2).Step(m).ok());
  EXPECT_EQ(c.node(2).log().committed(), 2u);
  c.Collect();
  for (const Entry& e : c.member(2).applied) EXPECT_LE(e.index, 2u);
}

// Catalogue 20; §5.4.2 and Figure 8 (etcd TestLeaderOnlyCommitsLogFromCurrentTerm,
// MIT TestFigure8): an entry of an older term stored on a majority is not
// committed by counting, and indeed a later leader may overwrite it.
TEST(RaftCommitTest, Figure8OlderTermEntryOnAMajorityIsNotCommitted) {
  TestCluster c;
  ConfState cs = Voters({1, 2, 3, 4, 5});
  auto one_entry_per_append = [](Config& cfg) { cfg.max_size_per_msg = 1; };
  // Figure 8 (b): S1 wrote index 2 in term 2; S5 wrote index 2 in term 3.
  c.AddWithLog(1, cs, EntriesWithTerms({1, 2}), HardState{.term = 3}, one_entry_per_append);
  c.AddWithLog(2, cs, EntriesWithTerms({1, 2}), HardState{.term = 3}, one_entry_per_append);
  c.AddWithLog(3, cs, EntriesWithTerms({1}), HardState{.term = 3}, one_entry_per_append);
  c.AddWithLog(4, cs, EntriesWithTerms({1}), HardState{.term = 3}, one_entry_per_append);
  c.AddWithLog(5, cs, EntriesWithTerms({1, 3}), HardState{.term = 3}, one_entry_per_append);
  // (c): S1 leads term 4 and copies index 2 to S3, but its own index 3 reaches nobody.
  // (Appends of index 3 are lost whenever the follower would accept them;
  // those it would reject get through, so that S1 can back up.)
  c.Cut(1, 5);
  c.drop = [&c](const Message& m) {
    return m.type == MessageType::kApp && !m.entries.empty() && m.entries.back().index >= 3 &&
           c.node(m.to).log().MatchTerm(m.index, m.log_term);
  };
  c.Elect(1);
  ASSERT_EQ(c.Leader(), 1u);
  ASSERT_EQ(c.LogTerms(3), (std::vector<uint64_t>{1, 2}));
  ASSERT_EQ(c.LogTerms(4), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(c.node(1).log().committed(), 0u) << "index 2 (term 2) is on a majority but must not commit";
  // (d): S1 crashes; S5 (last term 3) is elected by S2, S3, S4 and overwrites index 2.
  c.drop = nullptr;
  c.Heal();
  c.Isolate(1);
  c.Elect(5);
  if (c.node(5).role() != Role::kLeader) c.Elect(5);
  ASSERT_EQ(c.node(5).role(), Role::kLeader);
  EXPECT_EQ(c.LogTerms(3)[1], 3u);
  for (NodeId id : c.ids()) {
    for (const Entry& e : c.member(id).applied) EXPECT_FALSE(e.index == 2 && e.term == 2) << id;
  }
}

// Catalogue 20; §5.4.2 at the unit level: an acknowledgement of an
// older-term index does not commit it; one of the leader's own entry does.
TEST(RaftCommitTest, LeaderCountsReplicasOnlyForEntriesOfItsTerm) {
  TestCluster c;
  ConfState cs = Voters({1, 2, 3});
  c.AddWithLog(1, cs, EntriesWithTerms({1, 1}), HardState{.term = 1});
  c.Add(2, cs);
  c.Add(3, cs);
  c.node(1).Campaign();
  for (const Message& m : c.Collect()) {
    if (m.type == MessageType::kVote) {
      Message r = Msg(MessageType::kVoteResp, m.to, 1, m.term);
      ASSERT_TRUE(c.node(1).Step(r).ok());
    }
  }
  ASSERT_EQ(c.node(1).role(), Role::kLeader);
  c.Collect();  // the leader persists its no-op at index 3 (term 2)
  Message ack = Msg(MessageType::kAppResp, 2, 1, 2);
  ack.index = 2;
  ASSERT_TRUE(c.node(1).Step(ack).ok());
  EXPECT_EQ(c.node(1).log().committed(), 0u);
  ack.index = 3;
  ASSERT_TRUE(c.node(1).Step(ack).ok());
  EXPECT_EQ(c.node(1).log().committed(), 3u);
}

// Catalogue 21 (etcd TestCommitWithoutNewTermEntry): a new leader commits
// the earlier terms' entries through the no-op of its own term.
TEST(RaftCommitTest, NewLeaderCommitsEarlierTermEntriesThroughItsNoop) {
  TestCluster c;
  ConfState cs = Voters({1, 2, 3});
  for (NodeId id : {1, 2, 3}) c.AddWithLog(id, cs, EntriesWithTerms({1, 1}), HardState{.term = 1});
  c.Elect(1);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.node(id).log().committed(), 3u) << id;
    ASSERT_EQ(c.member(id).applied.size(), 3u) << id;
    EXPECT_EQ(c.member(id).applied[2].type, EntryType::kNoop);
  }
}

// Catalogue 26 (MIT TestFailNoAgree2B): without a quorum nothing commits;
// once the quorum is back it does.
TEST(RaftCommitTest, ProposalsDoNotCommitWithoutAQuorum) {
  TestCluster c(5);
  c.Elect(1);
  c.Cut(1, 2);
  c.Cut(1, 3);
  c.Cut(1, 4);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(1).log().committed(), 1u);
  c.Heal();
  c.TickAll(2);
  EXPECT_EQ(c.node(1).log().committed(), 2u);
}

// Catalogue 26 (etcd TestUncommittedEntryLimit): a leader that cannot
// commit drops proposals once its uncommitted bytes pass the limit, and
// takes them again once they commit.
TEST(RaftCommitTest, UncommittedBytesAreBoundedWithoutAQuorum) {
  TestCluster c(3, [](Config& cfg) { cfg.max_uncommitted_entries_size = 1000; });
  c.Elect(1);
  c.Isolate(1);
  std::string data(100, 'x');
  int accepted = 0;
  Status last;
  for (int i = 0; i < 50; ++i) {
    last = c.node(1).Propose(data);
    if (!last.ok()) break;
    ++accepted;
    c.Stabilize();
  }
  EXPECT_EQ(last.code(), common::Code::kUnavailable);
  EXPECT_EQ(accepted, 10);
  c.Heal();
  c.TickAll(2);
  EXPECT_EQ(c.node(1).log().committed(), 11u);
  EXPECT_TRUE(c.node(1).Propose(data).ok());
}

// Catalogue 29, 32; thesis §10.2.1: a follower acknowledges an append only
// after persisting it, and the leader counts itself only once its own write
// is done (a follower's ack alone is not a majority of three).
TEST(RaftCommitTest, LeaderCountsItselfOnlyAfterItsOwnWrite) {
  TestCluster c(3);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("x").ok());
  Raft& l = c.node(1);
  Ready rd = l.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  EXPECT_TRUE(rd.must_sync);
  for (const Message& m : rd.messages) c.Deliver(m);  // sent before the leader's own write
  ASSERT_TRUE(c.node(2).HasReady());
  Ready frd = c.node(2).GetReady();
  EXPECT_FALSE(HasType(frd.messages, MessageType::kAppResp)) << "a follower acked before persisting";
  ASSERT_TRUE(HasType(frd.messages_after_persist, MessageType::kAppResp));
  for (const Message& m : frd.messages_after_persist) {
    if (m.type == MessageType::kAppResp) {
      ASSERT_TRUE(l.Step(m).ok());
    }
  }
  EXPECT_EQ(l.log().committed(), 1u) << "committed with only one durable copy";
  CHECK_OK(c.storage(1).Append(rd.entries));
  l.Advance();
  EXPECT_EQ(l.log().committed(), 2u);
  CHECK_OK(c.storage(2).Append(frd.entries));
  c.node(2).Advance();
}

// `msgs` hold exactly one append to each of followers 2 and 3, with
// `entries` entries and the commit index `commit`.
void ExpectOneAppendToEachFollower(const std::vector<Message>& msgs, size_t entries, uint64_t commit) {
  for (NodeId f : {2, 3}) {
    std::vector<Message> apps;
    for (const Message& m : msgs) {
      if (m.type == MessageType::kApp && m.to == f) apps.push_back(m);
    }
    ASSERT_EQ(apps.size(), 1u) << "follower " << f;
    EXPECT_EQ(apps[0].entries.size(), entries) << "follower " << f;
    EXPECT_EQ(apps[0].commit, commit) << "follower " << f;
  }
}

// Elects 1 of three, proposes "x" there, has every follower hold it and the
// leader's own write done, then steps follower 2's acknowledgement into the
// leader, which commits "x" by it. Returns the index of "x".
uint64_t CommitOneEntryOnAnAck(TestCluster& c) {
  c.Elect(1);
  EXPECT_TRUE(c.node(1).Propose("x").ok());
  std::vector<Message> appends = c.Collect();
  for (const Message& m : appends) c.Deliver(m);
  Message ack;
  for (const Message& m : c.Collect()) {
    if (m.type == MessageType::kAppResp && m.from == 2) ack = m;
  }
  EXPECT_EQ(ack.type, MessageType::kAppResp);
  EXPECT_TRUE(c.node(1).Step(ack).ok());
  EXPECT_EQ(c.node(1).log().committed(), ack.index);
  return ack.index;
}

// §5.3: followers learn of a commit from the next append. One that nothing
// else is sent with goes out at once, empty, in the next Ready.
TEST(RaftCommitTest, NewCommitGoesToFollowersInTheNextReady) {
  TestCluster c(3);
  const uint64_t index = CommitOneEntryOnAnAck(c);
  ASSERT_TRUE(c.node(1).HasReady());
  std::vector<Message> msgs = c.node(1).GetReady().messages;
  c.node(1).Advance();
  ExpectOneAppendToEachFollower(msgs, /*entries=*/0, index);
}

// A commit learned in the same step as new proposals rides on the appends
// that carry them: no empty append just for the commit index (at load, it
// would double the messages and acknowledgements).
TEST(RaftCommitTest, NewCommitRidesOnTheAppendOfNewEntries) {
  TestCluster c(3);
  const uint64_t index = CommitOneEntryOnAnAck(c);
  ASSERT_TRUE(c.node(1).Propose("y").ok());
  ExpectOneAppendToEachFollower(c.node(1).GetReady().messages, /*entries=*/1, index);
}

// Catalogue 30 (etcd #14370, single_node.txt): a single voter does not hand
// out an entry as committed in the Ready that asks to persist it.
TEST(RaftCommitTest, SingleVoterCommitsOnlyAfterPersisting) {
  TestCluster c(1);
  c.Elect(1);
  ASSERT_TRUE(c.node(1).Propose("a").ok());
  Raft& r = c.node(1);
  Ready rd = r.GetReady();
  ASSERT_EQ(rd.entries.size(), 1u);
  uint64_t idx = rd.entries[0].index;
  for (const Entry& e : rd.committed_entries) EXPECT_LT(e.index, idx);
  if (rd.hard_state) {
    EXPECT_LT(rd.hard_state->commit, idx);
  }
  CHECK_OK(c.storage(1).Append(rd.entries));
  r.Advance();
  ASSERT_TRUE(r.HasReady());
  Ready rd2 = r.GetReady();
  ASSERT_FALSE(rd2.committed_entries.empty());
  EXPECT_EQ(rd2.committed_entries.back().index, idx);
  r.Advance();
}

// Catalogue 33 (core part; crashes of the disk belong to tests/sim): every
// node restarted from its persisted state keeps every committed entry, and
// the group goes on committing.
TEST(RaftCommitTest, RestartingEveryNodeKeepsCommittedEntries) {
  TestCluster c(3);
  c.Elect(1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.Propose(1, "v" + std::to_string(i)));
  for (NodeId id : c.ids()) c.Restart(id);
  for (NodeId id : c.ids()) EXPECT_EQ(c.node(id).log().committed(), 6u) << id;
  c.TickAll(50);
  NodeId l = c.Leader();
  ASSERT_NE(l, kNoNode);
  EXPECT_TRUE(c.Propose(l, "after"));
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.member(id).applied.back().data, "after");
    EXPECT_EQ(c.LogTerms(id), c.LogTerms(l));
  }
}

// Catalogue 35 (etcd Config.Applied): a restart with `applied` hands out
// exactly the committed entries after it: nothing again, nothing skipped.
TEST(RaftCommitTest, RestartWithAppliedNeitherReappliesNorSkips) {
  TestCluster c(3);
  c.Elect(1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(c.Propose(1, "v" + std::to_string(i)));
  ASSERT_EQ(c.member(2).applied_index, 6u);
  c.member(2).applied_index = 4;  // the state machine had persisted only up to 4
  c.member(2).applied.resize(4);
  c.Restart(2);
  c.Stabilize();
  EXPECT_TRUE(c.Propose(1, "after"));
  const auto& applied = c.member(2).applied;
  ASSERT_EQ(applied.size(), 7u);
  for (size_t i = 0; i < applied.size(); ++i) EXPECT_EQ(applied[i].index, i + 1);
  EXPECT_EQ(applied.back().data, "after");
}

}  // namespace
}  // namespace raft
