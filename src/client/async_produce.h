#pragma once

// The operation behind Client::ProduceAsync (client.h): an AsyncProduce
// carries out the steps of one ProduceRetry (produce_retry.h) on the means
// AsyncOp gives it (async_op.h): each attempt a request on the client's
// produce stream to the member (ProduceStreams, produce_streams.h), or with
// `streams` nullptr a Produce RPC on gRPC's callback API; discovery rounds
// on the callback API too, backoff on a grpc::Alarm. Internal to the client
// library; threads as AsyncOp.

#include <optional>
#include <string>

#include "client/async_op.h"
#include "client/client.h"
#include "client/produce_retry.h"
#include "client/produce_streams.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

class AsyncProduce final : public AsyncOp {
 public:
  // Finishes with `precheck` at once when it is an error (no RPC), else runs
  // the produce of `request`; `done` gets the outcome (AsyncOp: never from
  // inside Begin). A cancelled produce finishes with
  // ProduceRetry::Cancelled() unless an answer it already had says more.
  // `streams` (nullptr: unary RPCs) outlives the operation.
  AsyncProduce(const AsyncEnv& env, ProduceStreams* streams, common::Status precheck, v1::ProduceRequest request,
               ProduceRetry retry, ProduceCallback done);

 private:
  using Step = ProduceRetry::Step;

  void Start() override;
  void Deliver() override;
  // Carries out `s` and the steps that follow it at once, until one waits
  // for an event or the operation finishes.
  void Run(Step s);
  void StartAttempt(const Step& send);
  void OnAttemptDone(const grpc::Status& status);
  // How an attempt ended, either way.
  void Attempted(const ProduceAttempt& a);
  void Finish(common::Result<ProduceResult> result);

  ProduceStreams* const streams_;
  const common::Status precheck_;
  v1::ProduceRequest request_;  // its producer fields set per attempt
  ProduceRetry retry_;
  ProduceCallback done_;
  std::unique_ptr<v1::Log::Stub> stub_;
  grpc::ClientContext* ctx_ = nullptr;  // of the Produce in flight (AsyncOp owns it)
  std::string target_;                  // of the Produce in flight
  v1::ProduceResponse response_;
  std::optional<common::Result<ProduceResult>> outcome_;
};

}  // namespace replog
