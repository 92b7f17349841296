#pragma once

// PeerSender: the outbound side of GrpcTransport for one peer. It owns the
// channel to the peer, a bounded queue of messages and a thread that writes
// them over one long-lived Peer.Stream call.
//
// The thread writes as soon as something is queued, with no batching delay:
// everything queued by then goes into one PeerBatch per group (more only to
// stay under max_message_bytes), so batches grow by themselves when the
// stream is slower than the producers. Order per group is the order of
// Enqueue.
//
// States: connecting (no stream yet, or the first write of a new stream in
// flight: messages queue) -> ready (messages queue) -> backoff after a
// failed write (the queued messages and every message enqueued during the
// backoff are dropped and reported unreachable) -> connecting. gRPC's own
// reconnection runs on the same schedule underneath.
//
// Threads: Enqueue and Stop from any thread; the rest runs on the sender's
// thread. Time is real time (this is the network); backoff waits on a
// condition variable so that Stop interrupts it.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/sync_stream.h>

#include "raft/core/types.h"
#include "replog/v1/peer.grpc.pb.h"
#include "transport/grpc_options.h"
#include "transport/report_queue.h"
#include "transport/transport.h"

namespace transport {

class PeerSender {
 public:
  enum class EnqueueResult { kQueued, kQueueFull, kDisconnected, kStopped };

  // Starts the thread. `options`, `reports` and `counters` must outlive the
  // sender.
  PeerSender(NodeId peer, std::string address, const GrpcTransportOptions& options,
             ReportQueue& reports, internal::Counters& counters);
  ~PeerSender();  // Stop()
  PeerSender(const PeerSender&) = delete;
  PeerSender& operator=(const PeerSender&) = delete;

  const std::string& address() const { return address_; }
  // The channel to the peer, for calls beside the stream (snapshots).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // Queues `msg` (of `group`, to this peer). Anything but kQueued means the
  // message was dropped: the caller reports it unreachable. Never blocks on
  // the network. Thread-safe.
  EnqueueResult Enqueue(GroupId group, raft::Message&& msg);

  // Cancels the stream, drops the queue (without reports) and joins the
  // thread. Idempotent; thread-safe; not from the sender's own thread.
  void Stop();

 private:
  enum class State { kConnecting, kReady, kBackoff, kStopped };
  struct Item {
    GroupId group;
    raft::Message msg;
    uint64_t bytes;  // MessageBytes(msg)
  };
  // A batch being filled for one group, and its estimated size.
  struct Pending {
    replog::v1::PeerBatch batch;
    uint64_t bytes = 0;
  };

  void Run();
  bool stopping();
  bool TakeQueue(std::vector<Item>* items);  // waits; false once stopped
  bool OpenStream();                         // false once stopped
  bool WriteItems(std::vector<Item>& items);  // false when the stream broke
  // The batch of `group` among batches_[0, *used), started if needed.
  Pending& BatchFor(GroupId group, size_t* used);
  bool WriteBatch(Pending& pending);  // writes and empties it; false when broken
  grpc::Status CloseStream();  // Finish()es the stream, if any; its status

  void FailAndBackOff(std::vector<Item>& items);
  int64_t NextBackoffMs();

  const NodeId peer_;
  const std::string address_;
  const GrpcTransportOptions& options_;
  ReportQueue& reports_;
  internal::Counters& counters_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<replog::v1::Peer::Stub> stub_;

  std::mutex mu_;
  std::condition_variable cv_;
  State state_ = State::kConnecting;  // guarded by mu_
  std::vector<Item> queue_;           // guarded by mu_
  uint64_t queue_bytes_ = 0;          // guarded by mu_
  // The stream's context, reachable by Stop for TryCancel. Guarded by mu_;
  // created and destroyed only by the sender's thread.
  std::unique_ptr<grpc::ClientContext> context_;

  // Sender thread only.
  std::unique_ptr<grpc::ClientWriter<replog::v1::PeerBatch>> writer_;
  replog::v1::PeerStreamSummary summary_;
  std::vector<Pending> batches_;  // reused across rounds
  int stream_rounds_ = 0;              // rounds written on this stream
  bool first_write_of_round_ = false;  // nothing of the current items written yet
  int64_t backoff_ms_ = 0;
  bool logged_failure_ = false;  // one log line per outage
  std::mt19937_64 rng_;

  std::thread thread_;
};

// Bytes `msg` counts for in queue and message size limits.
uint64_t MessageBytes(const raft::Message& msg);

}  // namespace transport
