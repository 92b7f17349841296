#pragma once

// The addresses a membership change carries in ConfChange::context, so that
// every member applying the change (and every member re-applying it after a
// restart) learns how to reach the members it adds. Node::ChangeMembership
// writes it; Node applies it to its transport when the change is applied.
//
// Encoding (little-endian): "RPA1", then per member, in id order: id
// (fixed64), address length (fixed32), address bytes. An empty context means
// no addresses.

#include <map>
#include <string>
#include <string_view>

#include "raft/core/types.h"

namespace raft {

std::string EncodePeerAddresses(const std::map<NodeId, std::string>& addresses);
// An empty `context` gives an empty map. kDataLoss for anything that is not
// an encoding of EncodePeerAddresses (another format, truncated bytes).
Result<std::map<NodeId, std::string>> DecodePeerAddresses(std::string_view context);

// What a state machine that keeps the members' addresses (for
// StateMachine::PeerAddresses) does with an applied entry: for a conf
// change, records the addresses it carries and forgets the members it
// removes; other entries change nothing. A malformed change changes nothing
// (the Node reports it: it applies the same entry).
void UpdatePeerAddresses(const Entry& entry, std::map<NodeId, std::string>& addresses);

}  // namespace raft
