#include "server/leader_handover.h"

#include <string>
#include <utility>

namespace server {

using raft::kNoNode;
using raft::NodeId;
using raft::NodeStatus;
using raft::PeerProgress;

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

int64_t MsOf(int64_t ns) { return ns / 1'000'000; }

}  // namespace

NodeId PickSuccessor(const NodeStatus& st, std::string* why) {
  if (why != nullptr) why->clear();
  if (st.role != raft::Role::kLeader) {
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

HandoverResult HandOverLeadership(raft::Node& node, int64_t timeout_ns, common::Clock& clock) {
  const int64_t start = clock.NowNanos();
  const int64_t deadline = start + timeout_ns;
  HandoverResult r;
  auto done = [&](HandoverOutcome o, std::string detail) {
    r.outcome = o;
    r.detail = std::move(detail);
    r.elapsed_ns = clock.NowNanos() - start;
    if (r.successor == kNoNode) {
      const NodeId leader = node.leader_hint().id;
      if (leader != node.id()) r.successor = leader;
    }
    return r;
  };
  const NodeStatus st = node.GetStatus();
  if (st.role != raft::Role::kLeader) return done(HandoverOutcome::kNotLeader, "not the leader");
  std::string why;
  const NodeId to = PickSuccessor(st, &why);
  if (to == kNoNode) return done(HandoverOutcome::kNoSuccessor, why);
  if (common::Status s = node.TransferLeadership(to); !s.ok()) {
    return done(HandoverOutcome::kFailed, "transfer to " + std::to_string(to) + " refused: " + s.message());
  }
  // The raft thread answers a status request after the transfer queued
  // before it, and the core refuses proposals once a transfer runs: `last`
  // is the last entry this node appended as leader.
  const uint64_t last = node.GetStatus().last_index;
  if (common::Status s = node.WaitForNewLeader(st.id, deadline - clock.NowNanos()); !s.ok()) {
    return done(HandoverOutcome::kFailed, "asked " + std::to_string(to) + " (match " +
                                              std::to_string(st.progress.at(to).match) + ") to take over; no new " +
                                              "leader within " + std::to_string(MsOf(timeout_ns)) + " ms");
  }
  r.successor = node.leader_hint().id;
  // The successor had every entry up to `last` when it took over (the core
  // sends TimeoutNow only once its match reaches our last index), so they
  // commit in its term and apply here, and their proposers get OK.
  const uint64_t applied = node.WaitApplied(last, deadline);
  if (applied < last) {
    return done(HandoverOutcome::kUnsettled, "entries " + std::to_string(applied + 1) + ".." + std::to_string(last) +
                                                 " not applied within " + std::to_string(MsOf(timeout_ns)) +
                                                 " ms: their produces end with an unknown outcome");
  }
  return done(HandoverOutcome::kHandedOver, "asked " + std::to_string(to));
}

const char* HandoverOutcomeName(HandoverOutcome o) {
  switch (o) {
    case HandoverOutcome::kNotLeader: return "not the leader";
    case HandoverOutcome::kHandedOver: return "handed over";
    case HandoverOutcome::kUnsettled: return "handed over, in-flight entries unsettled";
    case HandoverOutcome::kNoSuccessor: return "no successor";
    case HandoverOutcome::kFailed: return "failed";
  }
  return "?";
}

}  // namespace server
