#pragma once

// PeerService: the inbound side of GrpcTransport, the replog.v1.Peer service
// (proto/replog/v1/peer.proto). Stream is on gRPC's callback API (a read's
// completion is handled on the gRPC thread that polled it, with no hand-off
// to a per-call thread: one context switch less per batch received);
// SendSnapshot, rare and long, on the synchronous API.
//
// Stream: each batch is decoded and handed to the inbox registered for its
// group, in the order received. A message that does not decode is dropped and
// counted (the rest of its batch still goes); a batch for a group not
// registered here is dropped and counted. A batch addressed to another node
// (an address now used by someone else) ends the stream with
// FAILED_PRECONDITION, so that the sender reports the peer unreachable.
//
// SendSnapshot: chunks are reassembled (at most max_snapshot_bytes, else
// RESOURCE_EXHAUSTED), the first chunk's message decoded and given the data,
// and the message delivered; the call then answers OK. A stream that ends
// before its last chunk, or is malformed, delivers nothing.
//
// Shutdown: Shutdown() cancels every call in progress, waits until their
// handlers returned, and makes later calls fail with UNAVAILABLE at once, so
// that the server's own Shutdown never waits on a peer stream.
//
// Threads: Stream's reactions run on gRPC's callback threads and deliver to
// the inbox from there; SendSnapshot runs on a gRPC server thread per call.

#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_set>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>
#include <grpcpp/support/sync_stream.h>

#include "replog/v1/peer.grpc.pb.h"
#include "transport/grpc_options.h"
#include "transport/inbox_registry.h"

namespace transport {

class PeerService final : public replog::v1::Peer::WithCallbackMethod_Stream<replog::v1::Peer::Service> {
 public:
  // `options`, `inboxes` and `counters` must outlive the service (and the
  // service must outlive the grpc::Server it is registered with).
  PeerService(const GrpcTransportOptions& options, const InboxRegistry& inboxes,
              internal::Counters& counters);

  grpc::ServerReadReactor<replog::v1::PeerBatch>* Stream(grpc::CallbackServerContext* context,
                                                         replog::v1::PeerStreamSummary* summary) override;
  grpc::Status SendSnapshot(grpc::ServerContext* context,
                            grpc::ServerReader<replog::v1::SnapshotChunk>* reader,
                            replog::v1::SnapshotAck* ack) override;

  // Cancels the calls in progress and waits for their handlers; later calls
  // fail at once. Idempotent; thread-safe.
  void Shutdown();

 private:
  class StreamReactor;

  // Enter records a call in progress (false after Shutdown); Leave ends it.
  bool Enter(grpc::ServerContextBase* context);
  void Leave(grpc::ServerContextBase* context);
  // Decodes `batch` (moving its bytes out) and delivers it. Sets *logged
  // after logging a bad message, so that a stream logs one.
  void Route(replog::v1::PeerBatch& batch, bool* logged);
  grpc::Status ReceiveSnapshot(grpc::ServerReader<replog::v1::SnapshotChunk>* reader);
  // Checks the first chunk and decodes its message into *msg.
  grpc::Status TakeSnapshotHeader(replog::v1::SnapshotChunk& chunk, std::optional<raft::Message>* msg);

  const GrpcTransportOptions& options_;
  const InboxRegistry& inboxes_;
  internal::Counters& counters_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::unordered_set<grpc::ServerContextBase*> active_;  // guarded by mu_
  bool shutdown_ = false;                            // guarded by mu_
};

}  // namespace transport
