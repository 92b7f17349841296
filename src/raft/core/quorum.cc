#include "raft/core/quorum.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace raft {

uint64_t MajorityConfig::CommittedIndex(const AckedIndexFn& acked) const {
  if (ids_.empty()) return std::numeric_limits<uint64_t>::max();
  std::vector<uint64_t> idx;
  idx.reserve(ids_.size());
  for (NodeId id : ids_) idx.push_back(acked(id).value_or(0));
  // Sorted descending, the (n/2+1)-th value is held by a majority.
  std::sort(idx.begin(), idx.end(), std::greater<>());
  return idx[ids_.size() / 2];
}

VoteResult MajorityConfig::Vote(const std::map<NodeId, bool>& votes) const {
  if (ids_.empty()) return VoteResult::kWon;
  size_t yes = 0, missing = 0;
  for (NodeId id : ids_) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++yes;
    }
  }
  size_t q = ids_.size() / 2 + 1;
  if (yes >= q) return VoteResult::kWon;
  if (yes + missing >= q) return VoteResult::kPending;
  return VoteResult::kLost;
}

std::set<NodeId> JointConfig::ids() const {
  std::set<NodeId> out = incoming.ids();
  out.insert(outgoing.ids().begin(), outgoing.ids().end());
  return out;
}

uint64_t JointConfig::CommittedIndex(const AckedIndexFn& acked) const {
  return std::min(incoming.CommittedIndex(acked), outgoing.CommittedIndex(acked));
}

VoteResult JointConfig::Vote(const std::map<NodeId, bool>& votes) const {
  VoteResult a = incoming.Vote(votes);
  VoteResult b = outgoing.Vote(votes);
  if (a == b) return a;
  if (a == VoteResult::kLost || b == VoteResult::kLost) return VoteResult::kLost;
  return VoteResult::kPending;
}

}  // namespace raft
