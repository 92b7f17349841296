#pragma once

// Majority and joint quorums: which index a configuration has committed and
// whether an election is won. Pure functions over sets of node ids.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <vector>

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
  // `acked(id)` returns std::optional<uint64_t> (an AckedIndexFn or any
  // callable: this runs for every acknowledgement a leader receives, so it
  // takes no std::function and allocates nothing for up to 16 voters).
  template <typename Acked>
  uint64_t CommittedIndex(const Acked& acked) const;

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
  template <typename Acked>
  uint64_t CommittedIndex(const Acked& acked) const {
    return std::min(incoming.CommittedIndex(acked), outgoing.CommittedIndex(acked));
  }
  VoteResult Vote(const std::map<NodeId, bool>& votes) const;
};

template <typename Acked>
uint64_t MajorityConfig::CommittedIndex(const Acked& acked) const {
  const size_t n = ids_.size();
  if (n == 0) return std::numeric_limits<uint64_t>::max();
  constexpr size_t kSmall = 16;
  uint64_t small[kSmall];
  std::vector<uint64_t> big;
  uint64_t* idx = small;
  if (n > kSmall) {
    big.resize(n);
    idx = big.data();
  }
  size_t i = 0;
  for (NodeId id : ids_) idx[i++] = acked(id).value_or(0);
  // In ascending order, the value at (n - 1) / 2 is held by n / 2 + 1 voters:
  // a majority.
  size_t k = (n - 1) / 2;
  std::nth_element(idx, idx + k, idx + n);
  return idx[k];
}

}  // namespace raft
