#pragma once

// Which follower a leader should hand leadership to (on shutdown, on removal
// of the leader, or when an operator asks without naming one).

#include <string>

#include "raft/node/node.h"

namespace raft {

// The follower a leader with status `st` should hand over to: among the
// voters other than itself that it is streaming appends to
// (PeerProgress::replicating: not probed, unreachable or sent a snapshot),
// the one with the highest match index; ties go to one heard from recently,
// then to the lowest id. kNoNode when `st` is not a leader's or no follower
// qualifies; `why` (if given) then says why, naming each follower left out.
NodeId PickSuccessor(const NodeStatus& st, std::string* why);

}  // namespace raft
