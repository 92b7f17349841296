#pragma once

// Transport: how Raft messages travel between the members of a cluster
// (DESIGN §4). A process has one Transport shared by every Raft group it
// hosts; each message batch names its group, and the receiving side hands it
// to the Inbox registered for that group.
//
// Delivery is best effort, as Raft expects: messages may be lost (a peer is
// down, a queue is full, a stream broke), never corrupted, and messages from
// one node to another on one group arrive in the order sent or not at all.
// Raft retries by itself; the transport only tells it when a peer could not
// be reached (Inbox::ReportUnreachable) and how a snapshot send ended
// (Inbox::ReportSnapshot), as raft::Raft::ReportUnreachable/ReportSnapshot
// expect.
//
// Implementations: GrpcTransport (grpc_transport.h: a long-lived stream per
// peer, snapshots in chunks, reconnection with backoff) in production;
// LocalNetwork (local_transport.h: in-process, with partitions and drops)
// in tests.

#include <cstdint>
#include <string>
#include <vector>

#include "raft/core/types.h"

namespace transport {

using GroupId = uint64_t;
using raft::NodeId;

// The receiving side of one Raft group on one node. Implemented by
// raft::Node. Every method may be called from any transport thread, so it
// must only queue the work and return quickly; none may block on the network.
class Inbox {
 public:
  virtual ~Inbox() = default;
  // Messages for this group, in the order the sender sent them. A kSnap
  // message arrives with its whole snapshot (data included).
  virtual void Deliver(std::vector<raft::Message> msgs) = 0;
  // A message to `peer` could not be sent (no connection, stream broken,
  // queue full).
  virtual void ReportUnreachable(NodeId peer) = 0;
  // The snapshot sent to `peer` arrived (failed = false) or not.
  virtual void ReportSnapshot(NodeId peer, bool failed) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Registers the inbox of `group` on this node; it must stay valid until
  // Unregister(group) returns (after which no call reaches it).
  // kFailedPrecondition if the group is already registered.
  virtual common::Status Register(GroupId group, Inbox* inbox) = 0;
  virtual void Unregister(GroupId group) = 0;

  // Sets (or changes) the address of member `id`. Messages to a member with
  // no address are dropped and reported unreachable.
  virtual void SetPeer(NodeId id, const std::string& address) = 0;
  virtual void RemovePeer(NodeId id) = 0;

  // Queues `msgs` (all from this node, any destinations) for sending and
  // returns at once; never blocks on the network. Messages with a snapshot
  // go on a separate chunked path and end with Inbox::ReportSnapshot.
  // Thread-safe.
  virtual void Send(GroupId group, std::vector<raft::Message> msgs) = 0;
};

}  // namespace transport
