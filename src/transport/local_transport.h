#pragma once

// LocalNetwork and LocalTransport: an in-process Transport for tests.
//
// One LocalNetwork stands for the wire between the nodes of a test; each
// node gets a LocalTransport attached to it under its own id and address.
// A node's transport resolves a destination id to an address with the
// peers given to SetPeer (as GrpcTransport does), so a test also checks that
// the runtime hands the transport the right addresses.
//
// Delivery. Send() only queues. One delivery thread in the network takes
// the queue in order and calls the destination's Inbox::Deliver for the
// group, so messages from one node to another on one group arrive in the
// order sent (or not at all). A message carrying a snapshot is delivered
// whole, on its own, and then the sender's inbox gets ReportSnapshot(to,
// false).
//
// Faults. Isolate(id) and DropBetween(a, b) make the network drop messages
// silently, checked when a message is delivered (so messages already queued
// are lost too); a snapshot dropped that way ends with ReportSnapshot(to,
// true) and ReportUnreachable(to) on the sender's side. A destination with
// no address, or an address where no transport is attached, is reported
// unreachable; a destination that has not registered the group drops the
// message silently (the node is not started yet). SetDelay holds every
// message back for a while, keeping the order.
//
// Threads: every method is thread-safe. Inbox calls are made on the
// network's delivery thread only, never under a lock of the network, and
// never after Unregister() (or the transport's destructor) returned.
// Lifetime: the clock outlives the network, the network outlives its
// transports.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "transport/transport.h"

namespace transport {

class LocalNetwork {
 public:
  // Starts the delivery thread. `clock` times SetDelay.
  explicit LocalNetwork(common::Clock& clock);
  // Stops the delivery thread; queued messages are dropped. Every transport
  // must have been destroyed first (CHECK).
  ~LocalNetwork();

  LocalNetwork(const LocalNetwork&) = delete;
  LocalNetwork& operator=(const LocalNetwork&) = delete;

  // Drops every message from or to node `id` until Heal().
  void Isolate(NodeId id);
  // Drops the messages between nodes `a` and `b` (both ways) until Heal().
  void DropBetween(NodeId a, NodeId b);
  // Ends every Isolate and DropBetween.
  void Heal();
  // Every message sent from now on is delivered no earlier than `delay_ns`
  // after its Send (0: at once). Order is kept: a message never overtakes
  // one queued before it.
  void SetDelay(int64_t delay_ns);

  // Messages handed to an inbox / dropped by a fault so far.
  uint64_t delivered() const { return delivered_.load(); }
  uint64_t dropped() const { return dropped_.load(); }

 private:
  friend class LocalTransport;

  enum class ItemKind { kMessages, kUnreachable };
  struct Item {
    ItemKind kind = ItemKind::kMessages;
    NodeId from = 0;
    NodeId to = 0;
    std::string from_address;
    std::string to_address;
    GroupId group = 0;
    bool snapshot = false;  // one message carrying a snapshot
    std::vector<raft::Message> msgs;
    int64_t deliver_at_ns = 0;
  };
  struct Endpoint {
    NodeId id = 0;
    std::map<GroupId, Inbox*> inboxes;
  };

  // Called by LocalTransport.
  void Attach(NodeId id, const std::string& address);
  void Detach(const std::string& address);
  common::Status RegisterInbox(const std::string& address, GroupId group, Inbox* inbox);
  void UnregisterInbox(const std::string& address, GroupId group);
  void Enqueue(std::vector<Item> items);

  void Run();
  // Delivers one item; `lock` is held on entry and exit, released around the
  // inbox call.
  void DeliverLocked(std::unique_lock<std::mutex>& lock, Item item);
  bool DroppedLocked(NodeId a, NodeId b) const;
  Inbox* InboxLocked(const std::string& address, GroupId group) const;
  // Calls `fn(inbox)` without the lock, marking the inbox busy meanwhile.
  template <typename Fn>
  void CallLocked(std::unique_lock<std::mutex>& lock, Inbox* inbox, Fn fn);

  common::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // delivery thread: items queued or stop
  std::condition_variable idle_cv_;  // Unregister/Detach: the busy inbox is done
  std::deque<Item> queue_;
  std::map<std::string, Endpoint> endpoints_;  // by address
  std::set<NodeId> isolated_;
  std::set<std::pair<NodeId, NodeId>> dropped_links_;  // (min, max)
  int64_t delay_ns_ = 0;
  Inbox* busy_inbox_ = nullptr;  // the inbox being called, if any
  bool stop_ = false;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

class LocalTransport final : public Transport {
 public:
  // Attaches node `self` at `address` (unique on the network: CHECK).
  LocalTransport(LocalNetwork& network, NodeId self, std::string address);
  // Detaches; returns once no inbox call of this transport is running.
  ~LocalTransport() override;

  LocalTransport(const LocalTransport&) = delete;
  LocalTransport& operator=(const LocalTransport&) = delete;

  common::Status Register(GroupId group, Inbox* inbox) override;
  void Unregister(GroupId group) override;
  void SetPeer(NodeId id, const std::string& address) override;
  void RemovePeer(NodeId id) override;
  void Send(GroupId group, std::vector<raft::Message> msgs) override;

  NodeId self() const { return self_; }
  const std::string& address() const { return address_; }

 private:
  LocalNetwork& network_;
  const NodeId self_;
  const std::string address_;
  std::mutex mu_;
  std::map<NodeId, std::string> peers_;
};

}  // namespace transport
