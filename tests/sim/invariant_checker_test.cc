// Tests of the invariant checker itself: hand-made histories that break one
// invariant each are caught, and the legal histories next to them pass.

#include "sim/invariant_checker.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <utility>
#include <vector>

namespace sim {
namespace {

using Entries = std::vector<std::pair<uint64_t, uint64_t>>;  // (index, term)

raft::ConfState Voters(int n) {
  raft::ConfState cs;
  for (int i = 1; i <= n; ++i) cs.voters.push_back(static_cast<raft::NodeId>(i));
  return cs;
}

// A node as it looks after a step: a follower unless made otherwise.
NodeView Node(raft::NodeId id, uint64_t term, uint64_t commit, uint64_t applied, uint64_t last) {
  NodeView v;
  v.id = id;
  v.term = term;
  v.commit = commit;
  v.applied = applied;
  v.last_index = last;
  v.last_term = last == 0 ? 0 : term;
  return v;
}

// A hand-made history of a cluster: keeps each node's durable log so that
// leaders come with a log view and applied entries with their term.
class History {
 public:
  explicit History(int nodes) : checker_(Voters(nodes), {}) {
    for (int i = 1; i <= nodes; ++i) checker_.NodeStarted(Node(static_cast<raft::NodeId>(i), 0, 0, 0, 0));
  }

  // Node `id` writes `entries` durably (replacing its log from the first one on).
  void Persist(raft::NodeId id, const Entries& entries) {
    std::map<uint64_t, uint64_t>& log = logs_[id];
    log.erase(log.lower_bound(entries.front().first), log.end());
    for (const auto& [index, term] : entries) log[index] = term;
    checker_.Persisted(id, std::nullopt, entries, 0);
  }
  void PersistVote(raft::NodeId id, uint64_t term, raft::NodeId vote) {
    checker_.Persisted(id, raft::HardState{term, vote, 0}, {}, 0);
  }
  void PersistSnapshot(raft::NodeId id, uint64_t index) {
    logs_[id].clear();
    checker_.Persisted(id, std::nullopt, {}, index);
  }

  // Node `id` wins the election of `term` with the log it holds.
  void Lead(raft::NodeId id, uint64_t term) {
    const std::map<uint64_t, uint64_t>& log = logs_[id];
    NodeView v = Node(id, term, 0, 0, log.empty() ? 0 : log.rbegin()->first);
    v.last_term = log.empty() ? 0 : log.rbegin()->second;
    v.role = raft::Role::kLeader;
    v.vote = id;
    v.leader = id;
    v.term_at = [&log](uint64_t index) -> std::optional<uint64_t> {
      auto it = log.find(index);
      if (it == log.end()) return std::nullopt;
      return it->second;
    };
    checker_.ObserveNode(v);
  }

  // Node `id`, in term `node_term`, applies its entry at `index`.
  void Apply(raft::NodeId id, uint64_t node_term, uint64_t index) {
    uint64_t term = logs_[id].at(index);
    AppliedEntry e;
    e.index = index;
    e.term = term;
    e.data_hash = term * 1000 + index;  // one command per (index, term)
    checker_.Applied(id, node_term, {e});
  }

  InvariantChecker& checker() { return checker_; }

 private:
  InvariantChecker checker_;
  std::map<raft::NodeId, std::map<uint64_t, uint64_t>> logs_;
};

// Figure 8 of the Raft paper, up to the point where the leader of term 4
// has put its term-2 entry on a majority (S1, S2, S3) without an entry of
// its own term; S5 holds a term-3 entry at the same index.
void Figure8Prefix(History& h) {
  h.Lead(1, 2);
  h.Persist(1, {{1, 2}});
  h.Persist(2, {{1, 2}});
  h.Lead(5, 3);
  h.Persist(5, {{1, 3}});
  h.Lead(1, 4);
  h.Persist(3, {{1, 2}});
}

TEST(InvariantCheckerTest, Figure8NewLeaderLackingACommittedEntryIsCaught) {
  History h(5);
  Figure8Prefix(h);
  // The bug: S1 commits index 1 by counting replicas although its term is 2.
  h.Apply(1, 4, 1);
  ASSERT_TRUE(h.checker().ok()) << h.checker().violation();
  // S5 can still win term 5 (its last term 3 beats 2) without that entry.
  h.Lead(5, 5);
  EXPECT_EQ(h.checker().violation(), "leader 5 of term 5 lacks committed entry 1 (term 2)");
}

TEST(InvariantCheckerTest, Figure8OverwrittenCommittedEntryIsCaught) {
  History h(5);
  Figure8Prefix(h);
  h.Apply(1, 4, 1);
  // S5 leads term 5 unobserved and overwrites index 1 on S2, S3, S4, which apply it.
  h.Persist(5, {{1, 3}, {2, 5}});
  for (raft::NodeId id : {2, 3, 4}) h.Persist(id, {{1, 3}, {2, 5}});
  h.Apply(2, 5, 1);
  EXPECT_EQ(h.checker().violation(), "node 2 applied a different entry at 1 (term 3, first seen term 2)");
}

TEST(InvariantCheckerTest, Figure8WithTheCommitRulePasses) {
  History h(5);
  Figure8Prefix(h);
  // §5.4.2: S1 commits index 1 only with an entry of term 4 on a majority.
  for (raft::NodeId id : {1, 2, 3}) h.Persist(id, {{1, 2}, {2, 4}});
  h.Apply(1, 4, 1);
  h.Apply(1, 4, 2);
  h.Apply(3, 4, 1);
  // Only a node holding both can lead next.
  h.Lead(2, 5);
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, Figure8OverwriteOfAnUncommittedEntryPasses) {
  History h(5);
  Figure8Prefix(h);
  // S1 did not commit index 1; S5 may win term 5 and overwrite it everywhere.
  h.Lead(5, 5);
  for (raft::NodeId id : {1, 2, 3, 4}) h.Persist(id, {{1, 3}, {2, 5}});
  for (raft::NodeId id : {1, 2, 3, 4, 5}) h.Apply(id, 5, 1);
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, TwoLeadersInOneTermAreCaught) {
  History h(3);
  h.Lead(1, 3);
  h.Lead(2, 3);
  EXPECT_EQ(h.checker().violation(), "two leaders in term 3: 1 and 2");
}

TEST(InvariantCheckerTest, LeadersOfDifferentTermsPass) {
  History h(3);
  h.Lead(1, 3);
  h.Lead(2, 4);
  h.Lead(1, 5);
  h.Lead(1, 5);  // still the same leader
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, DoubleVoteInOneTermAcrossACrashIsCaught) {
  History h(3);
  h.PersistVote(2, 5, 1);
  // Node 2 crashes and restarts; the vote was durable, yet it votes again.
  h.checker().NodeStarted(Node(2, 5, 0, 0, 0));
  h.PersistVote(2, 5, 3);
  EXPECT_EQ(h.checker().violation(), "node 2 voted for 1 and then 3 in term 5");
}

TEST(InvariantCheckerTest, OneVotePerTermPasses) {
  History h(3);
  h.PersistVote(2, 5, 1);
  h.checker().NodeStarted(Node(2, 5, 0, 0, 0));
  h.PersistVote(2, 5, 1);  // the same vote, persisted again
  h.PersistVote(2, 6, 3);  // another term, another candidate
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, VoteChangedWithinATermIsCaught) {
  History h(3);
  NodeView v = Node(2, 5, 0, 0, 0);
  v.vote = 1;
  h.checker().ObserveNode(v);
  v.vote = 3;
  h.checker().ObserveNode(v);
  EXPECT_EQ(h.checker().violation(), "node 2: vote changed from 1 to 3 in term 5");
}

TEST(InvariantCheckerTest, CommitGoingBackIsCaught) {
  History h(3);
  h.checker().ObserveNode(Node(1, 2, 5, 3, 6));
  h.checker().ObserveNode(Node(1, 2, 4, 3, 6));
  EXPECT_EQ(h.checker().violation(), "node 1: commit went back to 4");
}

TEST(InvariantCheckerTest, CommitLowerAfterARestartPasses) {
  // The commit index alone is not synced: a restart may come back lower.
  History h(3);
  h.checker().ObserveNode(Node(1, 2, 5, 3, 6));
  h.checker().NodeStarted(Node(1, 2, 3, 3, 6));
  h.checker().ObserveNode(Node(1, 2, 3, 3, 6));
  h.checker().ObserveNode(Node(1, 2, 6, 3, 6));
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, TermGoingBackIsCaught) {
  History h(3);
  h.checker().ObserveNode(Node(1, 4, 0, 0, 0));
  h.checker().ObserveNode(Node(1, 3, 0, 0, 0));
  EXPECT_EQ(h.checker().violation(), "node 1: term went back to 3");
}

TEST(InvariantCheckerTest, AppliedPastCommitIsCaught) {
  History h(3);
  h.checker().ObserveNode(Node(1, 2, 3, 4, 6));
  EXPECT_EQ(h.checker().violation(), "node 1: applied 4 commit 3 last 6");
}

TEST(InvariantCheckerTest, CommitPastLastIsCaught) {
  History h(3);
  h.checker().ObserveNode(Node(1, 2, 7, 4, 6));
  EXPECT_EQ(h.checker().violation(), "node 1: applied 4 commit 7 last 6");
}

TEST(InvariantCheckerTest, AppliedWithinCommitPasses) {
  History h(3);
  h.checker().ObserveNode(Node(1, 2, 3, 3, 6));
  h.checker().ObserveNode(Node(1, 2, 6, 4, 6));
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, EntryAppliedOnLessThanAQuorumOfDisksIsCaught) {
  History h(5);
  h.Persist(1, {{1, 1}});
  h.Persist(2, {{1, 1}});
  h.Persist(3, {{1, 2}});  // a different entry at that index does not count
  h.Apply(1, 1, 1);
  EXPECT_EQ(h.checker().violation(),
            "entry 1 applied by 1 is on the disk of only 1 2: not a quorum of the recent configurations "
            "[voters 1,2,3,4,5]");
}

TEST(InvariantCheckerTest, EntryOverwrittenOnDiskDoesNotCount) {
  History h(3);
  h.Persist(1, {{1, 1}});
  h.Persist(2, {{1, 1}});
  h.Persist(2, {{1, 2}});  // node 2's disk lost it again
  h.Apply(1, 2, 1);
  EXPECT_FALSE(h.checker().ok());
}

TEST(InvariantCheckerTest, EntryAppliedOnAQuorumOfDisksPasses) {
  History h(5);
  h.Persist(1, {{1, 1}, {2, 1}});
  h.Persist(2, {{1, 1}, {2, 1}});
  h.PersistSnapshot(3, 2);  // a snapshot covering the entries counts
  h.Apply(1, 1, 1);
  h.Apply(1, 1, 2);
  EXPECT_TRUE(h.checker().ok()) << h.checker().violation();
}

TEST(InvariantCheckerTest, LeaderThatDidNotVoteForItselfIsCaught) {
  History h(3);
  NodeView v = Node(1, 2, 0, 0, 0);
  v.role = raft::Role::kLeader;
  v.leader = 1;
  v.vote = 2;
  h.checker().ObserveNode(v);
  EXPECT_EQ(h.checker().violation(), "leader 1 of term 2 knows 1 as leader and voted for 2");
}

TEST(InvariantCheckerTest, FollowerMatchNotBelowNextIsCaught) {
  History h(3);
  NodeView v = Node(1, 2, 0, 0, 5);
  v.role = raft::Role::kLeader;
  v.leader = v.vote = 1;
  v.followers.push_back({2, 3, 3, 0});
  h.checker().ObserveNode(v);
  EXPECT_EQ(h.checker().violation(), "leader 1: match 3 of 2 not below next 3");
}

TEST(InvariantCheckerTest, TheFirstViolationIsKept) {
  History h(3);
  h.checker().ObserveNode(Node(1, 2, 3, 4, 6));
  h.Lead(1, 3);
  h.Lead(2, 3);
  EXPECT_EQ(h.checker().violation(), "node 1: applied 4 commit 3 last 6");
}

}  // namespace
}  // namespace sim
