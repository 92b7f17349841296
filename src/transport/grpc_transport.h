#pragma once

// GrpcTransport: transport::Transport over the replog.v1.Peer gRPC service
// (proto/replog/v1/peer.proto), the production transport (DESIGN §4).
//
// Outbound: one PeerSender per peer (peer_sender.h): a bounded queue and a
// thread writing everything queued over one long-lived Peer.Stream call, as
// soon as it is queued, one PeerBatch per group. Order per (peer, group) is
// the order of Send. A full queue, an unknown peer, a broken stream or a
// failed connection drops messages and reports them with
// Inbox::ReportUnreachable; after a failure the peer gets a backoff (50 ms
// doubling to 1 s, jittered) during which its messages are dropped and
// reported at once. kSnap messages travel separately, in chunks over
// Peer.SendSnapshot (snapshot_sender.h), and end with Inbox::ReportSnapshot.
// Reports reach inboxes from one reporting thread (report_queue.h), never
// from inside Send.
//
// Inbound: the Peer service (peer_service.h) delivers each batch to the inbox
// of its group. The transport does not own a grpc::Server: the process has
// one server for all its services; register service() on its builder:
//
//   GrpcTransport transport(options);
//   grpc::ServerBuilder builder;
//   GrpcTransport::ConfigureServerBuilder(options, &builder);
//   builder.AddListeningPort(address, creds);
//   builder.RegisterService(transport.service());
//   ... other services ...
//   auto server = builder.BuildAndStart();
//
// Shutdown order: stop the raft nodes (they Unregister), then
// transport.Shutdown() (ends our streams both ways, so that the server's
// Shutdown does not wait on them), then server->Shutdown() and destroy the
// server, then destroy the transport (the service must outlive the server).
//
// Thread-safety: every method is thread-safe. Inbox methods must not call
// Register or Unregister (they run under the registry's read lock).

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_builder.h>

#include "transport/grpc_options.h"
#include "transport/inbox_registry.h"
#include "transport/peer_sender.h"
#include "transport/peer_service.h"
#include "transport/report_queue.h"
#include "transport/snapshot_sender.h"
#include "transport/transport.h"

namespace transport {

class GrpcTransport final : public Transport {
 public:
  // options.self must be set. Starts the reporting thread; peers come with
  // SetPeer.
  explicit GrpcTransport(GrpcTransportOptions options);
  ~GrpcTransport() override;  // Shutdown()
  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  // The Peer service to register on the process's grpc::ServerBuilder. Owned
  // by the transport; the server must be shut down before the transport is
  // destroyed.
  grpc::Service* service() { return &service_; }

  // Server settings the peer service needs (message size limits, keepalive
  // policy); see ConfigurePeerServer in grpc_options.h. Call on the builder
  // before BuildAndStart.
  static void ConfigureServerBuilder(const GrpcTransportOptions& options, grpc::ServerBuilder* builder) {
    ConfigurePeerServer(options, builder);
  }

  // Transport. Register/Unregister: see transport.h; Unregister waits for a
  // call into the inbox that is running. SetPeer for this node's own id is
  // ignored (Raft sends nothing to itself). After Shutdown, Send drops
  // without reporting.
  common::Status Register(GroupId group, Inbox* inbox) override;
  void Unregister(GroupId group) override;
  void SetPeer(NodeId id, const std::string& address) override;
  void RemovePeer(NodeId id) override;
  void Send(GroupId group, std::vector<raft::Message> msgs) override;

  // Stops every sender and snapshot send, ends the inbound calls in progress
  // and refuses new ones, and stops reporting. Returns once our threads and
  // handlers are done (promptly: calls are cancelled, not drained).
  // Idempotent.
  void Shutdown();

  GrpcTransportStats stats() const { return counters_.Read(); }
  const GrpcTransportOptions& options() const { return options_; }

 private:
  // Joins and forgets the snapshot sends that ended. mu_ held.
  void ReapSnapshots();

  const GrpcTransportOptions options_;
  internal::Counters counters_;
  InboxRegistry inboxes_;
  ReportQueue reports_;
  PeerService service_;

  std::mutex mu_;
  bool shutdown_ = false;                                             // guarded by mu_
  std::unordered_map<NodeId, std::unique_ptr<PeerSender>> peers_;     // guarded by mu_
  std::vector<std::unique_ptr<SnapshotSender>> snapshots_;            // guarded by mu_
};

}  // namespace transport
