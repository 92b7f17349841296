#pragma once

// Leadership hand-over on shutdown (issue 5, item 2): a leader that is told
// to stop first moves leadership to its most up-to-date follower, so that
// the group has a leader again within a few round trips instead of an
// election timeout, and so that its own in-flight proposals are committed by
// the successor instead of ending with an unknown outcome.
//
// Produces that reach the stepping-down leader meanwhile are refused by its
// node with kUnavailable and never proposed: while the transfer runs the core
// refuses proposals ("transfer in progress"); once it has stepped down they
// are refused as on any follower, with the new leader's hint as soon as it
// is known. Nothing is acknowledged that the successor does not have.

#include <cstdint>
#include <string>

#include "common/clock.h"
#include "raft/node/node.h"
#include "raft/node/successor.h"

namespace server {

enum class HandoverOutcome {
  kNotLeader,    // nothing to do: the node was not the leader
  kHandedOver,   // a successor leads, and this node's in-flight proposals settled
  kUnsettled,    // a successor leads, but in-flight proposals were still pending at the deadline
  kNoSuccessor,  // no follower qualified; nothing was asked
  kFailed,       // no successor was known by the deadline (or the node refused the transfer)
};

struct HandoverResult {
  HandoverOutcome outcome = HandoverOutcome::kNotLeader;
  raft::NodeId successor = raft::kNoNode;  // the leader known at the end (kNoNode: none)
  int64_t elapsed_ns = 0;
  std::string detail;  // why, for the log
};

// When `node` leads: picks a successor, asks for the transfer and waits until
// this node knows another leader and has applied every entry it appended
// (its pending proposals then have their outcome), all within `timeout_ns`
// of `clock`. Returns at once when the node does not lead. Never stops the
// node; the caller shuts it down afterwards whatever the outcome.
// Threads: any thread but the node's own (its callbacks); blocks.
HandoverResult HandOverLeadership(raft::Node& node, int64_t timeout_ns, common::Clock& clock);

const char* HandoverOutcomeName(HandoverOutcome o);

}  // namespace server
