#pragma once

// Majority and joint quorums: which index a configuration has committed and
// whether an election is won. Pure functions over sets of node ids.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "raft/core/types.h"

namespace raft {

enum class VoteResult { kPending, kLost, kWon };

// Index acknowledged by `id` (its durable match), or nullopt if unknown.
using AckedIndexFn = std::function<std::optional<uint64_t>(NodeId)>;

class MajorityConfig {
 public:
  MajorityConfig() = default;
  explicit MajorityConfig(std::set<NodeId> ids) : ids_(std::move(ids)) {}

  const std::set<NodeId>& ids() const { return ids_; }
  std::set<NodeId>& ids() { return ids_; }
  bool contains(NodeId id) const { return ids_.contains(id); }
  size_t size() const { return ids_.size(); }
  bool empty() const { return ids_.empty(); }

  // The largest index acknowledged by a majority. An empty config commits
  // everything (UINT64_MAX) so that it never limits a joint config.
  uint64_t CommittedIndex(const AckedIndexFn& acked) const;

  // kWon with a majority of granted votes, kLost once a majority can no
  // longer be reached, kPending otherwise. An empty config wins.
  VoteResult Vote(const std::map<NodeId, bool>& votes) const;

 private:
  std::set<NodeId> ids_;
};

// The incoming and (during a joint change) outgoing voter sets; a decision
// needs a majority of both.
struct JointConfig {
  MajorityConfig incoming;
  MajorityConfig outgoing;

  bool contains(NodeId id) const { return incoming.contains(id) || outgoing.contains(id); }
  std::set<NodeId> ids() const;
  uint64_t CommittedIndex(const AckedIndexFn& acked) const;
  VoteResult Vote(const std::map<NodeId, bool>& votes) const;
};

}  // namespace raft
