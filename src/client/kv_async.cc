#include "client/kv_async.h"

#include <utility>

#include "client/members.h"

namespace replog {

AsyncKvWrite::AsyncKvWrite(const AsyncEnv& env, KvWriteStreams* streams, KvWriteRetry retry, AsyncKvWriteCall call)
    : AsyncKvOp(env, std::move(retry), std::move(call)), streams_(call_.stream_request ? streams : nullptr) {}

void AsyncKvWrite::RunOther(const Step& send) {
  if (streams_ != nullptr) {
    if (IsCancelled()) return Finish(retry_.Cancelled(false));
    // `done` may run before Send returns, on another thread: nothing of
    // `this` is touched after it. A client that is shutting down has closed
    // its streams (~KvClient) and is cancelling this operation.
    if (!streams_->Send(send.target, call_.stream_request(send.session), send.timeout_ns,
                        [this](KvStreamAttempt<v1::KvWriteResponse> a) { OnStreamAttemptDone(std::move(a)); })) {
      Finish(retry_.Cancelled(false));
    }
    return;
  }
  ctx_ = NewContext(send.timeout_ns);
  if (ctx_ == nullptr) return Finish(retry_.Cancelled(false));
  target_ = send.target;
  // Channel(), not Connected(): the callback API's own threads drive a
  // connection that is being made, and the call waits for it.
  stub_ = v1::KV::NewStub(env_.members.Channel(target_));
  // The callback may run before this returns, on this thread or another:
  // nothing of `this` is touched after it.
  call_.start(*stub_, ctx_, send.session, [this](grpc::Status status) { OnAttemptDone(status); });
}

void AsyncKvWrite::OnAttemptDone(const grpc::Status& status) {
  Attempted(ReadKvWriteAttempt(status, *ctx_, target_, call_.op));
}

void AsyncKvWrite::OnStreamAttemptDone(KvStreamAttempt<v1::KvWriteResponse> a) {
  if (a.cls == AttemptClass::kOk) call_.stream_answer(std::move(a.response));
  Attempted(KvWriteAttempt{.address = a.address,
                           .cls = a.cls,
                           .status = FromGrpc(a.status, call_.op + " to " + a.address),
                           .hint = a.hint});
}

void AsyncKvWrite::Attempted(const KvWriteAttempt& a) {
  // An answer that settles the write stands; any other is cut short.
  if (IsCancelled() && a.cls != AttemptClass::kOk && a.cls != AttemptClass::kFinal) {
    return Finish(retry_.Cancelled(a.cls == AttemptClass::kUnknown));
  }
  Run(retry_.Attempted(a, NowNs()));
}

void AsyncKvWrite::Deliver() {
  // The caller's captures go with `finish`, while no lock is held.
  auto finish = std::move(call_.finish);
  finish(*outcome_, retry_.info());
}

AsyncKvRead::AsyncKvRead(const AsyncEnv& env, KvReadStreams* streams, KvReadRetry retry, AsyncKvReadCall call)
    : AsyncKvOp(env, std::move(retry), std::move(call)), streams_(call_.stream_request ? streams : nullptr) {}

void AsyncKvRead::RunOther(const Step& s) {
  if (s.kind == Step::Kind::kDiscover) {
    // The round's errors do not matter: the old view is tried again.
    return Discover(retry_.deadline_ns(), [this](const common::Status&) {
      if (IsCancelled()) return Finish(retry_.Cancelled(false));
      Run(retry_.Discovered(NowNs()));
    });
  }
  if (streams_ != nullptr) {
    if (IsCancelled()) return Finish(retry_.Cancelled(false));
    // As for a write: nothing of `this` is touched after Send.
    if (!streams_->Send(s.target, call_.stream_request(), s.timeout_ns, [this](KvStreamAttempt<v1::KvReadResponse> a) {
          if (a.status.ok()) call_.stream_answer(std::move(a.response));
          OnAttemptDone(a.status);
        })) {
      Finish(retry_.Cancelled(false));
    }
    return;
  }
  grpc::ClientContext* ctx = NewContext(s.timeout_ns);
  if (ctx == nullptr) return Finish(retry_.Cancelled(false));
  stub_ = v1::KV::NewStub(env_.members.Channel(s.target));
  call_.start(*stub_, ctx, [this](grpc::Status status) { OnAttemptDone(status); });
}

void AsyncKvRead::OnAttemptDone(const grpc::Status& status) {
  Step next = retry_.Attempted(status, NowNs());
  // An answer that ends the read stands; a failure another member might
  // cure is not tried there.
  if (next.kind != Step::Kind::kDone && IsCancelled()) return Finish(retry_.Cancelled(false));
  Run(std::move(next));
}

void AsyncKvRead::Deliver() {
  auto finish = std::move(call_.finish);
  finish(*outcome_, retry_.served_by());
}

}  // namespace replog
