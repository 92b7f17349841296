#pragma once

// The leader's (and candidate's) view of the cluster: the configuration,
// each member's Progress and the votes of the current election.

#include <cstdint>
#include <map>
#include <set>

#include "raft/core/progress.h"
#include "raft/core/quorum.h"
#include "raft/core/types.h"

namespace raft {

struct TrackerConfig {
  JointConfig voters;
  std::set<NodeId> learners;
  // Outgoing voters that become learners when the joint change is left.
  std::set<NodeId> learners_next;
  bool auto_leave = false;

  bool joint() const { return !voters.outgoing.empty(); }
  ConfState ToConfState() const;
  static TrackerConfig FromConfState(const ConfState& cs);
  friend bool operator==(const TrackerConfig& a, const TrackerConfig& b) {
    return a.voters.incoming.ids() == b.voters.incoming.ids() &&
           a.voters.outgoing.ids() == b.voters.outgoing.ids() && a.learners == b.learners &&
           a.learners_next == b.learners_next && a.auto_leave == b.auto_leave;
  }
};

struct FlowLimits {
  size_t max_inflight = 256;
  uint64_t max_inflight_bytes = 0;
};

class ProgressTracker {
 public:
  explicit ProgressTracker(FlowLimits limits) : limits_(limits) {}

  TrackerConfig config;
  std::map<NodeId, Progress> progress;  // every voter (both halves) and learner

  const FlowLimits& limits() const { return limits_; }

  // The highest index durable on a quorum (a majority of both halves when joint).
  uint64_t Committed() const;

  void ResetVotes() { votes_.clear(); }
  void RecordVote(NodeId id, bool granted) { votes_.try_emplace(id, granted); }
  VoteResult TallyVotes() const { return config.voters.Vote(votes_); }
  size_t granted_count() const;
  size_t rejected_count() const;

  // Whether the members marked recent_active (and the leader) form a quorum.
  bool QuorumActive(NodeId self) const;

  bool IsVoter(NodeId id) const { return config.voters.contains(id); }
  bool IsLearner(NodeId id) const { return config.learners.contains(id) || config.learners_next.contains(id); }
  bool IsSingleton() const {
    return config.voters.incoming.size() == 1 && config.voters.outgoing.empty();
  }

  // Makes `progress` match `config`: adds a Progress (next = next_index) for
  // each new member, removes those no longer in it, and sets learner flags.
  void SyncProgress(uint64_t next_index);

 private:
  FlowLimits limits_;
  std::map<NodeId, bool> votes_;
};

}  // namespace raft
