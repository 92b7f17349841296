#pragma once

// Options and statistics of GrpcTransport (grpc_transport.h), and the gRPC
// channel and server settings that follow from them.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/server_builder.h>

#include "raft/core/types.h"

namespace transport {

struct GrpcTransportOptions {
  // This node's id (required, not raft::kNoNode). Batches name it as their
  // sender, and a batch that names another node as its receiver is refused.
  raft::NodeId self = raft::kNoNode;

  // Per-peer send queue: messages beyond either limit are dropped and
  // reported unreachable. The queue drains as fast as the stream takes it.
  size_t max_queue_messages = 16384;
  uint64_t max_queue_bytes = 64ull << 20;

  // Largest gRPC message, sent or received, on our channels; the server
  // needs the same (ConfigureServerBuilder). Queued messages are split over
  // several batches to stay under it; one Raft message that alone exceeds it
  // is dropped and reported unreachable (keep raft's max bytes per message
  // well below).
  int max_message_bytes = 64 << 20;

  // After a failed connection or a broken stream, messages to the peer are
  // dropped (and reported unreachable) for a backoff that starts at
  // backoff_initial_ms, doubles up to backoff_max_ms, and varies by
  // +-backoff_jitter; the next message after it opens a new stream. The same
  // schedule drives gRPC's own reconnection attempts.
  int64_t backoff_initial_ms = 50;
  int64_t backoff_max_ms = 1000;
  double backoff_jitter = 0.2;
  // A connection attempt that takes longer fails.
  int64_t connect_timeout_ms = 1000;
  // HTTP/2 keepalive on peer connections: a connection whose ping is not
  // answered within keepalive_timeout_ms is closed (a stopped or cut-off
  // peer), which breaks the stream and starts a reconnection.
  int64_t keepalive_time_ms = 2000;
  int64_t keepalive_timeout_ms = 2000;

  // Snapshots travel in chunks of this many data bytes; a received snapshot
  // larger than max_snapshot_bytes is refused (RESOURCE_EXHAUSTED).
  size_t snapshot_chunk_bytes = 1 << 20;
  uint64_t max_snapshot_bytes = 4ull << 30;

  // Credentials of the channels to peers; nullptr means insecure.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Seed of the backoff jitter; 0 picks one at random.
  uint64_t seed = 0;
};

// Counters since the transport was created. Messages are raft::Messages.
struct GrpcTransportStats {
  uint64_t batches_sent = 0;
  uint64_t messages_sent = 0;
  uint64_t batches_received = 0;
  uint64_t messages_received = 0;   // delivered to an inbox
  uint64_t dropped_no_peer = 0;      // no address for the destination
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_disconnected = 0;  // stream broke, connect failed, or in backoff
  uint64_t dropped_oversize = 0;      // one message over max_message_bytes
  uint64_t dropped_unknown_group = 0;  // received for a group not registered here
  uint64_t dropped_invalid = 0;        // received and failed to decode
  uint64_t stream_failures = 0;        // outbound streams that failed or broke
  uint64_t snapshots_sent = 0;         // acknowledged by the receiver
  uint64_t snapshots_failed = 0;
  uint64_t snapshots_received = 0;     // delivered to an inbox
};

// Applies the server-side settings peer streams need to `builder`: message
// size limits (max_message_bytes both ways; gRPC's default receive limit is
// 4 MiB), keepalive pings from peers allowed at our rate, and keepalive of
// the server's own connections. They apply to every service of the server.
void ConfigurePeerServer(const GrpcTransportOptions& options, grpc::ServerBuilder* builder);

// A channel to a peer at `address` ("host:port") with the options' limits,
// reconnection backoff, keepalive and credentials. Each channel has its own
// connection (a local subchannel pool).
std::shared_ptr<grpc::Channel> NewPeerChannel(const std::string& address,
                                              const GrpcTransportOptions& options);

namespace internal {

// The live counters behind GrpcTransportStats, shared by the transport's
// parts. Relaxed atomics: they are statistics, not synchronization.
struct Counters {
  std::atomic<uint64_t> batches_sent{0};
  std::atomic<uint64_t> messages_sent{0};
  std::atomic<uint64_t> batches_received{0};
  std::atomic<uint64_t> messages_received{0};
  std::atomic<uint64_t> dropped_no_peer{0};
  std::atomic<uint64_t> dropped_queue_full{0};
  std::atomic<uint64_t> dropped_disconnected{0};
  std::atomic<uint64_t> dropped_oversize{0};
  std::atomic<uint64_t> dropped_unknown_group{0};
  std::atomic<uint64_t> dropped_invalid{0};
  std::atomic<uint64_t> stream_failures{0};
  std::atomic<uint64_t> snapshots_sent{0};
  std::atomic<uint64_t> snapshots_failed{0};
  std::atomic<uint64_t> snapshots_received{0};

  GrpcTransportStats Read() const;
};

inline void Add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

}  // namespace internal
}  // namespace transport
