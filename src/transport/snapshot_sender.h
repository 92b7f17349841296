#pragma once

// SnapshotSender: one kSnap message on its way to a peer through
// Peer.SendSnapshot, on a thread of its own. Part of GrpcTransport.
//
// The first chunk carries the message (with the snapshot's meta), every
// chunk the next snapshot_chunk_bytes of data, the last one `last`. When the
// call ends, the group's inbox hears ReportSnapshot(peer, failed): failed
// unless the receiver answered OK (it took the snapshot in). The call has no
// deadline: a dead or stopped peer is noticed by keepalive, and Cancel (on
// shutdown) ends it at once.

#include <atomic>
#include <memory>
#include <thread>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "raft/core/types.h"
#include "transport/grpc_options.h"
#include "transport/report_queue.h"
#include "transport/transport.h"

namespace transport {

class SnapshotSender {
 public:
  // Starts sending `msg` (a kSnap with its snapshot) of `group` over
  // `channel`. `options`, `reports` and `counters` must outlive the sender.
  SnapshotSender(std::shared_ptr<grpc::Channel> channel, GroupId group, raft::Message msg,
                 const GrpcTransportOptions& options, ReportQueue& reports,
                 internal::Counters& counters);
  ~SnapshotSender();  // Cancel() and Join()
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  // True once the send ended and was reported; Join() then returns at once.
  bool done() const { return done_.load(std::memory_order_acquire); }
  // Ends the call (it then counts as failed). Thread-safe.
  void Cancel() { context_.TryCancel(); }
  // Waits for the thread. Not concurrently with itself.
  void Join();

 private:
  void Run();
  grpc::Status Send();

  const std::shared_ptr<grpc::Channel> channel_;
  const GroupId group_;
  const NodeId to_;
  raft::Message msg_;
  const GrpcTransportOptions& options_;
  ReportQueue& reports_;
  internal::Counters& counters_;
  grpc::ClientContext context_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace transport
