#pragma once

// The operations behind KvClient::PutAsync and GetAsync (kv_client.h):
// AsyncKvWrite carries out the steps of one KvWriteRetry, AsyncKvRead those
// of one KvReadRetry (kv_retry.h), on the means AsyncOp gives them
// (async_op.h): KV RPCs on gRPC's callback API, or each attempt a request on
// the client's write or read stream to the member (KvWriteStreams,
// KvReadStreams), discovery rounds on the callback API, backoff on a
// grpc::Alarm. The RPC
// itself (which method, its request and response) is the caller's, as for
// the blocking calls (KvClient::WriteCall, ReadCall), so that any write or
// read can run this way. Internal to the
// client library; threads as AsyncOp.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "client/async_op.h"
#include "client/kv_retry.h"
#include "client/kv_streams.h"
#include "replog/v1/kv.grpc.pb.h"

namespace replog {

// Called when an RPC started by a StartKvWrite or StartKvRead ends.
using RpcDone = std::function<void(grpc::Status)>;

// What an asynchronous write is to AsyncKvWrite.
struct AsyncKvWriteCall {
  std::string op;  // "put", ...: names the write in errors
  // Starts one attempt on `stub` within `ctx` with `session` set on the
  // request; `done` runs when it ends. The request and the response are the
  // call's own and must stay put until `done`.
  std::function<void(v1::KV::Stub& stub, grpc::ClientContext* ctx, const v1::WriteSession& session, RpcDone done)>
      start;
  // Receives the outcome once: OK (the last attempt's response is the
  // result) or the error, and how the attempts went.
  std::function<void(const common::Status& status, const WriteInfo& info)> finish;
  // For attempts on a write stream (both set, or neither: calls only): the
  // stream request of one attempt with `session` set, and the answer of the
  // attempt that succeeded, taken before `finish`.
  std::function<v1::KvWriteRequest(const v1::WriteSession& session)> stream_request;
  std::function<void(v1::KvWriteResponse answer)> stream_answer;
};

// What an asynchronous read is to AsyncKvRead.
struct AsyncKvReadCall {
  std::string op;  // "get", ...
  // Starts one attempt on `stub` within `ctx` (request and response as above).
  std::function<void(v1::KV::Stub& stub, grpc::ClientContext* ctx, RpcDone done)> start;
  // Receives the outcome once: OK (the last attempt's response, from
  // `served_by`, is the result) or the error.
  std::function<void(const common::Status& status, const std::string& served_by)> finish;
  // For attempts on a read stream (both set, or neither), as for a write.
  std::function<v1::KvReadRequest()> stream_request;
  std::function<void(v1::KvReadResponse answer)> stream_answer;
};

// What AsyncKvWrite and AsyncKvRead share: the rules they follow (a
// KvWriteRetry or KvReadRetry), the caller's call, and the steps that are
// alike for both (start, finish, wait).
template <typename Retry, typename Call>
class AsyncKvOp : public AsyncOp {
 protected:
  using Step = typename Retry::Step;

  AsyncKvOp(const AsyncEnv& env, Retry retry, Call call)
      : AsyncOp(env), retry_(std::move(retry)), call_(std::move(call)) {}

  void Start() override { Run(retry_.Start(NowNs())); }
  // Carries out `s`: finishes, waits, or has the subclass do the rest
  // (RunOther: send, discover).
  void Run(Step s) {
    switch (s.kind) {
      case Step::Kind::kDone:
        return Finish(std::move(s.status));
      case Step::Kind::kWait:
        return Wait(s.delay_ns, [this](bool waited) {
          if (!waited) return Finish(retry_.Cancelled(false));
          Run(retry_.Waited(NowNs()));
        });
      default:
        return RunOther(s);
    }
  }
  virtual void RunOther(const Step& s) = 0;
  void Finish(common::Status status) {
    outcome_.emplace(std::move(status));
    Complete();
  }

  Retry retry_;
  Call call_;
  std::unique_ptr<v1::KV::Stub> stub_;     // of the attempt in flight
  std::optional<common::Status> outcome_;  // once finished
};

class AsyncKvWrite final : public AsyncKvOp<KvWriteRetry, AsyncKvWriteCall> {
 public:
  // A cancelled write finishes with KvWriteRetry::Cancelled() unless an
  // answer it already had says more. Its attempts go on `streams` when it
  // is not nullptr and `call` has the stream functions, else they are
  // calls; `streams` outlives the operation.
  AsyncKvWrite(const AsyncEnv& env, KvWriteStreams* streams, KvWriteRetry retry, AsyncKvWriteCall call);

 private:
  void RunOther(const Step& send) override;  // kSend
  void OnAttemptDone(const grpc::Status& status);
  void OnStreamAttemptDone(KvStreamAttempt<v1::KvWriteResponse> a);
  // How an attempt ended, either way.
  void Attempted(const KvWriteAttempt& a);
  void Deliver() override;

  KvWriteStreams* const streams_;
  grpc::ClientContext* ctx_ = nullptr;  // of the attempt in flight (AsyncOp owns it)
  std::string target_;                  // of the attempt in flight
};

class AsyncKvRead final : public AsyncKvOp<KvReadRetry, AsyncKvReadCall> {
 public:
  // A cancelled read finishes with KvReadRetry::Cancelled() unless an
  // answer it already had says more. Its attempts go on `streams` as a
  // write's do on its streams.
  AsyncKvRead(const AsyncEnv& env, KvReadStreams* streams, KvReadRetry retry, AsyncKvReadCall call);

 private:
  void RunOther(const Step& s) override;  // kSend, kDiscover
  void OnAttemptDone(const grpc::Status& status);
  void Deliver() override;

  KvReadStreams* const streams_;
};

}  // namespace replog
