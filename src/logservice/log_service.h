#pragma once

// LogService: the gRPC service replog.v1.Log (proto/replog/v1/log.proto,
// DESIGN §5) over one Raft group. Produce goes through Raft::Node (one entry
// per record: a record's offset is its entry's index); Consume and
// ConsumeStream read the local committed prefix straight from the group's
// SegmentedLog (or, on request, after a ReadIndex barrier); GetServers lists
// the members from the node's status.
//
// Exactly-once produce (docs/logservice.md): a request with a producer id is
// answered from this member's applied producer table when all its records
// are stored already (no proposal), else proposed with each record's
// producer stamp, and answered from the state machine's apply results
// (produce_outcome.h). Consume and ConsumeStream skip the entries the state
// machine did not store as records. Both need the LogStateMachine: a service
// built without it refuses producer ids with FAILED_PRECONDITION (so no such
// entries can exist that its readers would not skip).
//
// Errors (gRPC codes): INVALID_ARGUMENT for a malformed produce;
// UNAVAILABLE when this member is not the leader (with the leader hint of
// rpc/leader_hint.h) or is shutting down — nothing was proposed; ABORTED when
// the records were proposed but overwritten by a new leader (not
// committed; safe to retry); DEADLINE_EXCEEDED when the outcome is unknown;
// OUT_OF_RANGE for an offset outside [first retained, end of the committed
// log], with that range in the message; FAILED_PRECONDITION for an
// out-of-order sequence or unknown producer (trailing metadata
// "replog-expected-sequence"); ALREADY_EXISTS for a retry whose records are
// all stored but whose offsets are not all remembered.
//
// Threads: Produce and ProduceStream use gRPC's callback API: the handler
// proposes and returns, and the node's callback (on its apply thread)
// finishes the call or sends the stream's response, so no thread waits for
// a commit. The other methods run on gRPC's sync server threads.
// BeginShutdown() may be called from any thread.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/clock.h"
#include "logservice/log_reader.h"
#include "logservice/log_service_metrics.h"
#include "logservice/log_state_machine.h"
#include "logservice/produce_outcome.h"
#include "logservice/record_codec.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "replog/v1/log.grpc.pb.h"
#include "rpc/pipelined_stream.h"

namespace logservice {

struct LogServiceOptions {
  RecordLimits limits;
  // What a Consume returns when the request names no limit, and the most
  // it may ask for.
  ReadLimits default_read;
  ReadLimits max_read{.max_records = 100'000, .max_bytes = 16 << 20};
  // A produce waits at most this long for its commit (less if the client's
  // deadline is sooner); then its outcome is unknown.
  int64_t produce_timeout_ns = 10'000'000'000;
  // A waiting ConsumeStream wakes this often to notice a cancelled call.
  int64_t stream_poll_ns = 250'000'000;
  // A ConsumeStream from an offset past this member's end waits this long
  // for the member to catch up before answering OUT_OF_RANGE.
  int64_t stream_catch_up_ns = 5'000'000'000;
  // ProduceStream requests in flight per stream (proposed or answered, not
  // yet written); no further request is read beyond it. 0 is taken as 1.
  size_t max_stream_inflight = 1024;
  // Metrics (log_service_metrics.h, docs/metrics.md) are created in this
  // registry; nullptr: none. The registry must outlive the service.
  metrics::Registry* metrics = nullptr;
};

class LogService final
    : public replog::v1::Log::WithCallbackMethod_Produce<
          replog::v1::Log::WithCallbackMethod_ProduceStream<replog::v1::Log::Service>> {
 public:
  // `node`, `storage` (the group's), `state_machine` (the node's) and
  // `clock` must outlive the service.
  LogService(raft::Node& node, const raft::DurableStorage& storage, const LogStateMachine& state_machine,
             common::Clock& clock, LogServiceOptions options = {});

  // New calls are refused with UNAVAILABLE, every ConsumeStream ends with OK
  // within stream_poll_ns, and every ProduceStream reads no more requests
  // and ends, with UNAVAILABLE and the leader hint, once those it read are
  // answered (the node's shutdown fails those still waiting). Call before
  // shutting down the gRPC server.
  void BeginShutdown();

  grpc::ServerUnaryReactor* Produce(grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest* req,
                                    replog::v1::ProduceResponse* resp) override;
  grpc::ServerBidiReactor<replog::v1::ProduceRequest, replog::v1::ProduceResponse>* ProduceStream(
      grpc::CallbackServerContext* ctx) override;
  grpc::Status Consume(grpc::ServerContext* ctx, const replog::v1::ConsumeRequest* req,
                       replog::v1::ConsumeResponse* resp) override;
  grpc::Status ConsumeStream(grpc::ServerContext* ctx, const replog::v1::ConsumeRequest* req,
                             grpc::ServerWriter<replog::v1::ConsumeResponse>* writer) override;
  grpc::Status GetServers(grpc::ServerContext* ctx, const replog::v1::GetServersRequest* req,
                          replog::v1::GetServersResponse* resp) override;

 private:
  using ProduceStreams = rpc::PipelinedStreams<replog::v1::ProduceRequest, replog::v1::ProduceResponse>;

  // Answers or proposes one request read from a ProduceStream
  // (produce_stream.cc).
  void HandleStreamed(grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest& req,
                      ProduceStreams::Reply reply);
  // INVALID_ARGUMENT when `req` is malformed.
  common::Status Validate(const replog::v1::ProduceRequest& req) const;
  // The answer to a valid `req` without proposing, when it has one
  // (AnswerFromTable).
  std::optional<ProduceOutcome> AnswerWithoutProposing(const replog::v1::ProduceRequest& req) const;
  // The records of a valid `req` as entry payloads.
  std::vector<std::string> Encode(const replog::v1::ProduceRequest& req);
  // The answer from the apply results of `req`'s records.
  ProduceOutcome Outcome(const ProduceKey& key, const std::vector<raft::ApplyResult>& applied) const;
  // The entries in [from, end) readers skip.
  std::vector<uint64_t> Skipped(uint64_t from, uint64_t end) const;
  int64_t ProduceTimeout(const grpc::ServerContextBase* ctx) const;
  ReadRange CurrentRange() const;
  // The answer to a read from `from` that failed with `s`: a read a purge
  // overtook (kOutOfRange) gets the message of one that started after it,
  // naming the new first offset.
  grpc::Status ReadFailed(const common::Status& s, uint64_t from) const;
  ReadLimits LimitsOf(const replog::v1::ConsumeRequest& req) const;
  // Now, when metrics are on (else 0): when a produce arrived.
  int64_t ProduceStart() const { return metrics_.produce_seconds != nullptr ? clock_.NowNanos() : 0; }
  // The leader a produce refused at shutdown names (rpc::StoppingHint).
  raft::LeaderHint StoppingHint() const;
  // ReadIndex barrier for a linearizable read.
  common::Status Barrier(const grpc::ServerContextBase* ctx);

  raft::Node& node_;
  const raft::DurableStorage& storage_;
  const LogStateMachine& state_machine_;
  common::Clock& clock_;
  const LogServiceOptions options_;
  const LogServiceMetrics metrics_;
  std::atomic<bool> shutting_down_{false};
  ProduceStreams produce_streams_;
};

}  // namespace logservice
