#pragma once

// KvService: the gRPC service replog.v1.KV (proto/replog/v1/kv.proto,
// docs/kv.md) over the KV group's raft::Node and KvStateMachine.
//
// Writes (Put, Delete, CompareAndSet, and each request of a WriteStream) are
// proposed as one entry each and answered from the state machine's result
// once applied; a member that is not the KV group's leader refuses them with
// the leader hint. A WriteStream carries pipelined writes
// (rpc::PipelinedStreams): each response has its request's id and the
// error, if any, in its fields (kv.proto, KvWriteResponse). Reads (Get,
// Scan, and each request of a ReadStream) are served by any member from its
// applied state: at once for LOCAL, after a ReadIndex barrier for
// LINEARIZABLE (the default). A ReadStream carries pipelined reads as a
// WriteStream carries writes (KvReadResponse). Status reports
// the member's view of the group and a hash of the map at its applied index.
// RemoveMember takes a member out of the group (for a member that rejoins
// with an empty data directory; server/kv_membership.h).
//
// Errors (gRPC codes): INVALID_ARGUMENT for a malformed request (the
// message names the flaw); UNAVAILABLE when this member is not the leader
// (rpc/leader_hint.h), has no leader, or is shutting down: nothing was
// proposed; ABORTED when the write was proposed but overwritten (never
// committed); DEADLINE_EXCEEDED when its outcome is unknown;
// FAILED_PRECONDITION for a session gap (trailing metadata
// "replog-expected-sequence" holds the sequence to send); ALREADY_EXISTS for
// a retry of a write applied so long ago that its response is forgotten.
//
// Threads: every method uses gRPC's callback API: a handler proposes or asks
// for a read barrier and returns; the node's callback (on a node thread)
// finishes the call. BeginShutdown() may be called from any thread.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "kv/kv_state_machine.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "replog/v1/kv.grpc.pb.h"
#include "rpc/pipelined_stream.h"

namespace kv {

inline constexpr char kExpectedSequenceKey[] = "replog-expected-sequence";

struct KvServiceOptions {
  // Bound of a write's or a linearizable read's wait when the call's
  // deadline is further away (or absent).
  int64_t timeout_ns = 10'000'000'000;
  // The most keys a Scan returns, and what limit 0 means.
  uint32_t max_scan_keys = 10'000;
  // WriteStream and ReadStream requests in flight per stream (proposed or
  // waiting, or answered and not yet written); no further request is read
  // beyond it. 0 is taken as 1.
  size_t max_stream_inflight = 1024;
};

class KvService final : public replog::v1::KV::CallbackService {
 public:
  // `node`, `storage` (the node's) and `state_machine` (the node's) must
  // outlive the service.
  KvService(raft::Node& node, const raft::DurableStorage& storage, KvStateMachine& state_machine,
            KvServiceOptions options = {});
  // Joins the RemoveMember threads (each ends once the node completes its
  // change, which Node::Shutdown does).
  ~KvService() override;

  // Refuses new calls with UNAVAILABLE from now on. Calls in flight end when
  // the node completes them (Node::Shutdown completes every one); each
  // WriteStream and ReadStream reads no more requests and ends, with
  // UNAVAILABLE (a WriteStream's with the leader hint), once those it read
  // are answered.
  void BeginShutdown() {
    shutting_down_.store(true);
    write_streams_.BeginShutdown();
    read_streams_.BeginShutdown();
  }

  grpc::ServerUnaryReactor* Put(grpc::CallbackServerContext* ctx, const replog::v1::PutRequest* req,
                                replog::v1::PutResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx, const replog::v1::DeleteRequest* req,
                                   replog::v1::DeleteResponse* resp) override;
  grpc::ServerUnaryReactor* CompareAndSet(grpc::CallbackServerContext* ctx,
                                          const replog::v1::CompareAndSetRequest* req,
                                          replog::v1::CompareAndSetResponse* resp) override;
  grpc::ServerBidiReactor<replog::v1::KvWriteRequest, replog::v1::KvWriteResponse>* WriteStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx, const replog::v1::GetRequest* req,
                                replog::v1::GetResponse* resp) override;
  grpc::ServerUnaryReactor* Scan(grpc::CallbackServerContext* ctx, const replog::v1::ScanRequest* req,
                                 replog::v1::ScanResponse* resp) override;
  grpc::ServerBidiReactor<replog::v1::KvReadRequest, replog::v1::KvReadResponse>* ReadStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx, const replog::v1::KvStatusRequest* req,
                                   replog::v1::KvStatusResponse* resp) override;
  // Waits for the change on a thread of its own (a rare administrative call).
  grpc::ServerUnaryReactor* RemoveMember(grpc::CallbackServerContext* ctx, const replog::v1::KvRemoveMemberRequest* req,
                                         replog::v1::KvRemoveMemberResponse* resp) override;

 private:
  using WriteStreams = rpc::PipelinedStreams<replog::v1::KvWriteRequest, replog::v1::KvWriteResponse>;
  using ReadStreams = rpc::PipelinedStreams<replog::v1::KvReadRequest, replog::v1::KvReadResponse>;
  // How a write ended: OK with the state machine's result (kOk or
  // kCompareFailed), or the error, with the leader hint for UNAVAILABLE and
  // the sequence expected next for FAILED_PRECONDITION (a session gap).
  struct WriteOutcome {
    common::Status status;
    KvResult result;
    raft::LeaderHint hint;
    std::optional<uint64_t> expected_sequence;
  };
  using Fill = std::function<void(const KvResult&)>;
  // Proposes `command` (or refuses it: its error, invalid, shutting down)
  // and calls `done` with the outcome, at once or on a node thread.
  void Propose(common::Result<KvCommand> command, int64_t timeout_ns, std::function<void(WriteOutcome)> done);
  // Proposes `command` and finishes `ctx`'s call with `fill` run on its
  // result, or with the error.
  grpc::ServerUnaryReactor* Write(grpc::CallbackServerContext* ctx, common::Result<KvCommand> command, Fill fill);
  // Answers or proposes one request read from a WriteStream.
  void HandleStreamed(grpc::CallbackServerContext* ctx, const replog::v1::KvWriteRequest& req,
                      WriteStreams::Reply reply);
  // How a wait for a read ended: OK (serve it now) or the error, with the
  // leader hint for UNAVAILABLE.
  using ReadDone = std::function<void(const common::Status& status, const raft::LeaderHint& hint)>;
  // Calls `done` at once for LOCAL, once a read barrier passed for
  // LINEARIZABLE (on a node thread), or with the error: shutting down, an
  // unknown consistency, a barrier that failed.
  void WhenReadable(replog::v1::ReadConsistency consistency, int64_t timeout_ns, ReadDone done);
  // Finishes `ctx`'s call with `valid` when it is an error, else runs `read`
  // once readable and finishes the call.
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* ctx, const common::Status& valid,
                                 replog::v1::ReadConsistency consistency, std::function<void()> read);
  // Answers or waits for one request read from a ReadStream.
  void HandleStreamedRead(grpc::CallbackServerContext* ctx, const replog::v1::KvReadRequest& req,
                          ReadStreams::Reply reply);
  // A read's result from the applied map.
  void FillGet(const std::string& key, replog::v1::GetResponse* resp) const;
  void FillScan(const replog::v1::ScanRequest& req, replog::v1::ScanResponse* resp) const;
  int64_t TimeoutOf(const grpc::CallbackServerContext* ctx) const;

  raft::Node& node_;
  const raft::DurableStorage& storage_;
  KvStateMachine& sm_;
  const KvServiceOptions options_;
  std::atomic<bool> shutting_down_{false};
  std::mutex removals_mu_;
  std::vector<std::thread> removals_;  // RemoveMember's waits
  WriteStreams write_streams_;
  ReadStreams read_streams_;
};

}  // namespace kv
