#include "server/leader_handover.h"

#include <string>
#include <utility>

namespace server {

using raft::kNoNode;
using raft::NodeId;
using raft::NodeStatus;
using raft::PickSuccessor;

namespace {

int64_t MsOf(int64_t ns) { return ns / 1'000'000; }

}  // namespace

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
