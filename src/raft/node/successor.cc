#include "raft/node/successor.h"

namespace raft {
namespace {

// True when `a` (member `a_id`) is a better successor than `b` (`b_id`).
bool Better(const PeerProgress& a, NodeId a_id, const PeerProgress& b, NodeId b_id) {
  if (a.match != b.match) return a.match > b.match;
  if (a.recent_active != b.recent_active) return a.recent_active;
  return a_id < b_id;
}

void Note(std::string* why, NodeId id, const char* reason) {
  if (why == nullptr) return;
  if (!why->empty()) *why += "; ";
  *why += std::to_string(id) + " " + reason;
}

}  // namespace

NodeId PickSuccessor(const NodeStatus& st, std::string* why) {
  if (why != nullptr) why->clear();
  if (st.role != Role::kLeader) {
    if (why != nullptr) *why = "this member is not the leader";
    return kNoNode;
  }
  NodeId best = kNoNode;
  PeerProgress best_pr;
  for (NodeId v : st.conf_state.voters) {
    if (v == st.id) continue;
    auto it = st.progress.find(v);
    if (it == st.progress.end()) {
      Note(why, v, "has no replication progress");
      continue;
    }
    if (!it->second.replicating) {
      Note(why, v, "is not being replicated to (unreachable, probed or sent a snapshot)");
      continue;
    }
    if (best == kNoNode || Better(it->second, v, best_pr, best)) {
      best = v;
      best_pr = it->second;
    }
  }
  if (best == kNoNode && why != nullptr) {
    *why = why->empty() ? "no other voter" : "no follower qualifies: " + *why;
  }
  return best;
}

}  // namespace raft
