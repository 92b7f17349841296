#pragma once

// InvariantChecker: the safety invariants of RAFT-TESTING.md §8, checked
// from the outside. It knows nothing of how a cluster is run: a driver (the
// simulator, or a test with a hand-made history) feeds it observations —
// what each running node looks like after a step, what a node made durable,
// what a node applied, when a process (re)started — and it reports the first
// violation as a sentence for a person. Later observations are ignored once
// a violation was found.
//
// What it checks, and when:
//   ObserveNode (after every step, each running node):
//     applied ≤ commit ≤ last; term and commit never go back within one
//     process life; the last entry's term ≤ the current term; within a term
//     the vote and the known leader are set at most once (per process life);
//     ElectionSafety (one leader per term over the whole run); a leader
//     knows itself as leader and voted for itself; its followers' match <
//     next and match ≤ its last index; the inflight window is respected;
//     LeaderCompleteness when a node becomes leader, i.e. is first seen
//     leading a term (it holds every entry applied anywhere in an earlier
//     term).
//   Persisted: at most one vote per (node, term) across crashes; records
//     what each disk holds durably (the QuorumLogInv check below uses it).
//   Applied: StateMachineSafety (one entry per index, the same on every
//     node); one configuration per conf-change index; QuorumLogInv /
//     CommittedIsDurable: when an entry is first applied, a quorum of one of
//     the recent configurations holds it on disk.
//
// Not thread-safe; one driver feeds it in the order things happened.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft/core/types.h"

namespace sim {

// An entry as a node applied it.
struct AppliedEntry {
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t data_hash = 0;
  uint64_t client = 0;  // for a client command: who sent it (0 otherwise); unused by the checker
  uint64_t seq = 0;
  std::optional<raft::ConfState> conf;  // for a conf change: the configuration after it
};

// What a running node looks like at one moment.
struct NodeView {
  raft::NodeId id = raft::kNoNode;
  raft::Role role = raft::Role::kFollower;
  uint64_t term = 0;
  raft::NodeId vote = raft::kNoNode;
  raft::NodeId leader = raft::kNoNode;  // the leader it knows of in `term`
  uint64_t commit = 0;
  uint64_t applied = 0;
  uint64_t first_index = 1;  // first index the log still holds (earlier ones are compacted)
  uint64_t last_index = 0;
  uint64_t last_term = 0;
  // Term of the entry at an index of its log (nullopt: compacted or past the
  // end). Called only while ObserveNode runs; may be empty.
  std::function<std::optional<uint64_t>(uint64_t index)> term_at;
  // A leader's view of its followers (empty on other roles).
  struct Follower {
    raft::NodeId id = raft::kNoNode;
    uint64_t match = 0;
    uint64_t next = 0;
    size_t inflight = 0;  // messages in flight
  };
  std::vector<Follower> followers;
};

class InvariantChecker {
 public:
  struct Options {
    size_t max_inflight = std::numeric_limits<size_t>::max();
    // Told of noteworthy events (a new leader), for a trace; may be empty.
    std::function<void(const std::string&)> note;
  };

  // `bootstrap`: the configuration every node starts with (index 0).
  InvariantChecker(const raft::ConfState& bootstrap, Options options);

  // A node's process (re)started and looks like `v`: per-life baselines
  // (term, commit, role, vote, leader) start again from here.
  void NodeStarted(const NodeView& v);
  // A running node after a step. Call for every running node after every step.
  void ObserveNode(const NodeView& v);
  // Node `id` made durable: a hard state (if any), a snapshot covering up to
  // `snapshot_index` (0: none), then `entries` as (index, term) — which
  // replace whatever its disk held from the first of them on.
  void Persisted(raft::NodeId id, const std::optional<raft::HardState>& hard_state,
                 const std::vector<std::pair<uint64_t, uint64_t>>& entries, uint64_t snapshot_index);
  // Node `id`, in term `node_term`, applied `entries` (in index order).
  void Applied(raft::NodeId id, uint64_t node_term, const std::vector<AppliedEntry>& entries);

  bool ok() const { return violation_.empty(); }
  // The first violation found ("" while none).
  const std::string& violation() const { return violation_; }

  // Configurations by the index of the conf-change entry that made them
  // (0: the bootstrap one).
  const std::map<uint64_t, raft::ConfState>& configs() const { return configs_; }
  // The highest index applied anywhere (0: none).
  uint64_t highest_applied() const { return committed_.empty() ? 0 : committed_.rbegin()->first; }
  // How many terms had a leader.
  size_t leader_terms() const { return leaders_.size(); }

 private:
  void Fail(const std::string& why);
  void CheckNode(const NodeView& v);
  void CheckLeader(const NodeView& v);
  void CheckNewLeader(const NodeView& v);
  void CheckApplied(raft::NodeId id, uint64_t node_term, const AppliedEntry& e);
  void CheckQuorumDurable(raft::NodeId id, const AppliedEntry& e);

  Options options_;
  std::string violation_;

  // The global log of applied entries. `known_by_term`: the term of the
  // node that first applied it, which is at least the term in which it was
  // committed.
  struct CommittedEntry { uint64_t term; uint64_t hash; uint64_t known_by_term; };
  std::map<uint64_t, CommittedEntry> committed_;
  std::map<uint64_t, raft::ConfState> configs_;
  std::map<uint64_t, raft::NodeId> leaders_;  // term -> leader
  // What each node's disk holds durably: entry terms by index, and the
  // snapshot floor (everything at or below it was committed and applied).
  struct DurableLog { std::map<uint64_t, uint64_t> terms; uint64_t floor = 0; };
  std::map<raft::NodeId, DurableLog> durable_;
  std::map<std::pair<raft::NodeId, uint64_t>, raft::NodeId> votes_;  // (node, term) -> vote persisted
  // Per node, within one process life.
  struct Life {
    raft::Role role = raft::Role::kFollower;
    uint64_t term = 0;
    uint64_t commit = 0;
    raft::NodeId vote = raft::kNoNode;
    raft::NodeId leader = raft::kNoNode;
  };
  std::map<raft::NodeId, Life> life_;
};

}  // namespace sim
