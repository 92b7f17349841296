#pragma once

// LogStateMachine: the log group's raft::StateMachine. The log service's
// state is the committed prefix of the Raft log itself (a record's offset is
// its entry's index, and consumers read the entries where Raft stored them),
// so applying an entry changes nothing but the applied index the Node keeps.
// Issue 5 adds state here (producer sequence numbers for exactly-once).
//
// Threads: the Node's apply thread only.

#include <string>

#include "raft/node/node.h"

namespace logservice {

class LogStateMachine final : public raft::StateMachine {
 public:
  std::string Apply(const raft::Entry& entry) override {
    (void)entry;
    return {};
  }
  // The log keeps no state beside its entries: a snapshot only moves the
  // first offset (the leader's log was purged), and DurableStorage already
  // installed it.
  common::Status Restore(const raft::Snapshot& snapshot) override {
    (void)snapshot;
    return common::Status::Ok();
  }
};

}  // namespace logservice
