#pragma once

// Membership changes: what a conf-change entry holds, its encoding, and the
// rules that turn one configuration into the next.
//
// One change of one voter is applied directly ("simple"). Anything else is a
// joint change (thesis §4.3): the new configuration is entered with the old
// voters kept as `outgoing`, and left by a second, empty conf change — which
// the leader proposes itself when `auto_leave` is set.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raft/core/tracker.h"
#include "raft/core/types.h"

namespace raft {

enum class ConfChangeType : uint8_t { kAddVoter = 0, kAddLearner = 1, kRemove = 2 };

struct ConfChangeItem {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;
  friend bool operator==(const ConfChangeItem&, const ConfChangeItem&) = default;
};

enum class ConfChangeTransition : uint8_t {
  kAuto = 0,           // simple if possible, else joint with auto-leave
  kJointImplicit = 1,  // joint, left automatically
  kJointExplicit = 2,  // joint, left by the caller's empty change
};

struct ConfChange {
  ConfChangeTransition transition = ConfChangeTransition::kAuto;
  std::vector<ConfChangeItem> changes;  // empty: leave the joint configuration
  std::string context;                  // opaque to Raft (the services put addresses here)

  bool IsLeaveJoint() const { return changes.empty(); }
  friend bool operator==(const ConfChange&, const ConfChange&) = default;
};

std::string EncodeConfChange(const ConfChange& cc);
// kDataLoss if `data` is not a well-formed encoding.
Result<ConfChange> DecodeConfChange(std::string_view data);

// Applies `cc` to `cfg`. Errors (kInvalidArgument / kFailedPrecondition):
// entering a joint change while joint, leaving while not joint, a simple
// change of more than one voter, removing every voter, a node listed twice.
Result<TrackerConfig> ApplyConfChangeToConfig(const TrackerConfig& cfg, const ConfChange& cc);

}  // namespace raft
