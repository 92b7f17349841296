#pragma once

// The operation behind Client::ProduceAsync (client.h): an AsyncProduce
// carries out the steps of one ProduceRetry (produce_retry.h) on the means
// AsyncOp gives it (async_op.h): Produce RPCs on gRPC's callback API,
// discovery rounds likewise, backoff on a grpc::Alarm. Internal to the
// client library; threads as AsyncOp.

#include <optional>
#include <string>

#include "client/async_op.h"
#include "client/client.h"
#include "client/produce_retry.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

class AsyncProduce final : public AsyncOp {
 public:
  // Finishes with `precheck` at once when it is an error (no RPC), else runs
  // the produce of `request`; `done` gets the outcome (AsyncOp: never from
  // inside Begin). A cancelled produce finishes with
  // ProduceRetry::Cancelled() unless an answer it already had says more.
  AsyncProduce(const AsyncEnv& env, common::Status precheck, v1::ProduceRequest request, ProduceRetry retry,
               ProduceCallback done);

 private:
  using Step = ProduceRetry::Step;

  void Start() override;
  void Deliver() override;
  // Carries out `s` and the steps that follow it at once, until one waits
  // for an event or the operation finishes.
  void Run(Step s);
  void StartAttempt(const Step& send);
  void OnAttemptDone(const grpc::Status& status);
  void Finish(common::Result<ProduceResult> result);

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
