#include "transport/grpc_transport.h"

#include <utility>

namespace transport {

GrpcTransport::GrpcTransport(GrpcTransportOptions options)
    : options_(std::move(options)), reports_(inboxes_), service_(options_, inboxes_, counters_) {
  CHECK_MSG(options_.self != raft::kNoNode, "GrpcTransportOptions.self is required");
  CHECK(options_.max_message_bytes > 0 && options_.snapshot_chunk_bytes > 0);
}

GrpcTransport::~GrpcTransport() { Shutdown(); }

common::Status GrpcTransport::Register(GroupId group, Inbox* inbox) {
  return inboxes_.Register(group, inbox);
}

void GrpcTransport::Unregister(GroupId group) { inboxes_.Unregister(group); }

void GrpcTransport::SetPeer(NodeId id, const std::string& address) {
  if (id == options_.self) return;
  std::unique_ptr<PeerSender> old;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    std::unique_ptr<PeerSender>& slot = peers_[id];
    if (slot && slot->address() == address) return;
    old = std::move(slot);
    slot = std::make_unique<PeerSender>(id, address, options_, reports_, counters_);
  }
  // Outside the lock: stopping joins the old sender's thread.
  if (old) old->Stop();
}

void GrpcTransport::RemovePeer(NodeId id) {
  std::unique_ptr<PeerSender> old;
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    old = std::move(it->second);
    peers_.erase(it);
  }
  old->Stop();
}

void GrpcTransport::Send(GroupId group, std::vector<raft::Message> msgs) {
  std::lock_guard lock(mu_);
  if (shutdown_) return;
  for (raft::Message& msg : msgs) {
    const NodeId to = msg.to;
    const bool snapshot = msg.type == raft::MessageType::kSnap && msg.snapshot.has_value();
    auto it = peers_.find(to);
    if (it == peers_.end()) {
      internal::Add(counters_.dropped_no_peer);
      if (snapshot) {
        reports_.SnapshotDone(group, to, /*failed=*/true);
      } else {
        reports_.Unreachable(group, to);
      }
      continue;
    }
    if (snapshot) {
      ReapSnapshots();
      snapshots_.push_back(std::make_unique<SnapshotSender>(it->second->channel(), group, std::move(msg),
                                                            options_, reports_, counters_));
      continue;
    }
    switch (it->second->Enqueue(group, std::move(msg))) {
      case PeerSender::EnqueueResult::kQueued:
      case PeerSender::EnqueueResult::kStopped:
        break;
      case PeerSender::EnqueueResult::kQueueFull:
        internal::Add(counters_.dropped_queue_full);
        reports_.Unreachable(group, to);
        break;
      case PeerSender::EnqueueResult::kDisconnected:
        internal::Add(counters_.dropped_disconnected);
        reports_.Unreachable(group, to);
        break;
    }
  }
}

void GrpcTransport::ReapSnapshots() {
  std::erase_if(snapshots_, [](const std::unique_ptr<SnapshotSender>& s) {
    if (!s->done()) return false;
    s->Join();
    return true;
  });
}

void GrpcTransport::Shutdown() {
  std::unordered_map<NodeId, std::unique_ptr<PeerSender>> peers;
  std::vector<std::unique_ptr<SnapshotSender>> snapshots;
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    shutdown_ = true;
    peers.swap(peers_);
    snapshots.swap(snapshots_);
  }
  // Cancel everything first, then wait: each wait is then short.
  for (auto& s : snapshots) s->Cancel();
  service_.Shutdown();
  for (auto& [id, sender] : peers) sender->Stop();
  for (auto& s : snapshots) s->Join();
  reports_.Stop();
}

}  // namespace transport
