#include "client/async_produce.h"

#include <utility>

#include "client/members.h"

namespace replog {

AsyncProduce::AsyncProduce(const AsyncEnv& env, ProduceStreams* streams, common::Status precheck,
                           v1::ProduceRequest request, ProduceRetry retry, ProduceCallback done)
    : AsyncOp(env),
      streams_(streams),
      precheck_(std::move(precheck)),
      request_(std::move(request)),
      retry_(std::move(retry)),
      done_(std::move(done)) {}

void AsyncProduce::Start() {
  if (!precheck_.ok()) return Finish(precheck_);
  Run(retry_.Start(NowNs()));
}

void AsyncProduce::Run(Step s) {
  switch (s.kind) {
    case Step::Kind::kDone:
      return Finish(std::move(*s.result));
    case Step::Kind::kSend:
      return StartAttempt(s);
    case Step::Kind::kDiscover:
      return Discover(retry_.deadline_ns(), [this](const common::Status& status) {
        if (IsCancelled()) return Finish(retry_.Cancelled(false));
        Run(retry_.Discovered(status, NowNs()));
      });
    case Step::Kind::kWait:
      return Wait(s.delay_ns, [this](bool waited) {
        if (!waited) return Finish(retry_.Cancelled(false));
        Run(retry_.Waited(NowNs()));
      });
  }
}

void AsyncProduce::StartAttempt(const Step& send) {
  if (streams_ != nullptr) {
    if (IsCancelled()) return Finish(retry_.Cancelled(false));
    SetProducer(send, &request_);
    // `done` may run before Send returns, on another thread: nothing of
    // `this` is touched after it. A client that is shutting down has closed
    // its streams (~Client) and is cancelling this operation.
    if (!streams_->Send(send.target, request_, send.timeout_ns, [this](ProduceAttempt a) { Attempted(a); })) {
      Finish(retry_.Cancelled(false));
    }
    return;
  }
  ctx_ = NewContext(send.timeout_ns);
  if (ctx_ == nullptr) return Finish(retry_.Cancelled(false));
  target_ = send.target;
  SetProducer(send, &request_);
  response_.Clear();
  // Channel(), not Connected(): the callback API's own threads drive a
  // connection that is being made, and the call waits for it.
  stub_ = v1::Log::NewStub(env_.members.Channel(target_));
  // The callback may run before this returns, on this thread or another:
  // nothing of `this` is touched after it.
  stub_->async()->Produce(ctx_, &request_, &response_, [this](grpc::Status status) { OnAttemptDone(status); });
}

void AsyncProduce::OnAttemptDone(const grpc::Status& status) {
  Attempted(ReadProduceAttempt(status, *ctx_, target_, std::move(response_)));
}

void AsyncProduce::Attempted(const ProduceAttempt& a) {
  // An answer that settles the produce stands; any other is cut short.
  if (IsCancelled() && a.cls != AttemptClass::kOk && a.cls != AttemptClass::kFinal) {
    return Finish(retry_.Cancelled(a.cls == AttemptClass::kUnknown));
  }
  Run(retry_.Attempted(a, NowNs()));
}

void AsyncProduce::Finish(common::Result<ProduceResult> result) {
  outcome_.emplace(std::move(result));
  Complete();
}

void AsyncProduce::Deliver() {
  ProduceCallback done = std::move(done_);
  done(std::move(*outcome_));
}

}  // namespace replog
