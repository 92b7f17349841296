#include "client/async_produce.h"

#include <utility>

#include "client/client_internal.h"
#include "client/members.h"

namespace replog {

namespace {

// How many AsyncProduce::Begin calls are running on this thread: a
// completion that arrives inside one (gRPC may run a callback before the
// call that started the RPC returns) must not reach the caller's `done`
// there.
thread_local int t_beginning = 0;

gpr_timespec FromNow(int64_t ns) { return gpr_time_from_nanos(std::max<int64_t>(ns, 0), GPR_TIMESPAN); }

}  // namespace

AsyncProduce::AsyncProduce(const AsyncEnv& env, v1::ProduceRequest request, ProduceRetry retry,
                           ProduceCallback done)
    : env_(env), request_(std::move(request)), retry_(std::move(retry)), done_(std::move(done)) {}

void AsyncProduce::Begin(const common::Status& precheck) {
  t_beginning++;
  if (!precheck.ok()) Finish(precheck);
  else Run(retry_.Start(NowNs()));
  // `this` may be gone by now: only the thread-local is touched.
  t_beginning--;
}

void AsyncProduce::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (ctx_ != nullptr) ctx_->TryCancel();
  if (alarm_ != nullptr) alarm_->Cancel();
}

void AsyncProduce::Run(Step s) {
  for (;;) {
    switch (s.kind) {
      case Step::Kind::kDone:
        Finish(std::move(*s.result));
        return;
      case Step::Kind::kSend:
        StartAttempt(s);
        return;
      case Step::Kind::kDiscover:
        round_.emplace(env_.members, retry_.deadline_ns(), env_.discovery_timeout_ns);
        Discover();
        return;
      case Step::Kind::kWait:
        if (!env_.wait_on_clock) {
          StartWait(s.delay_ns);
          return;
        }
        env_.clock.SleepNanos(s.delay_ns);
        s = retry_.Waited(NowNs());
        break;
    }
  }
}

bool AsyncProduce::NewContext(int64_t timeout_ns) {
  std::lock_guard lock(mu_);
  if (cancelled_) return false;
  ctx_ = std::make_unique<grpc::ClientContext>();
  SetTimeout(ctx_.get(), timeout_ns);
  return true;
}

void AsyncProduce::StartAttempt(const Step& send) {
  if (!NewContext(send.timeout_ns)) return Finish(retry_.Cancelled(false));
  target_ = send.target;
  SetProducer(send, &request_);
  response_.Clear();
  // Channel(), not Connected(): the callback API's own threads drive a
  // connection that is being made, and the call waits for it.
  stub_ = v1::Log::NewStub(env_.members.Channel(target_));
  // The callback may run before this returns, on this thread or another:
  // nothing of `this` is touched after it.
  stub_->async()->Produce(ctx_.get(), &request_, &response_,
                          [this](grpc::Status status) { OnAttemptDone(status); });
}

void AsyncProduce::OnAttemptDone(const grpc::Status& status) {
  ProduceAttempt a = ReadProduceAttempt(status, *ctx_, target_, std::move(response_));
  // An answer that settles the produce stands; any other is cut short.
  if (IsCancelled() && a.cls != AttemptClass::kOk && a.cls != AttemptClass::kFinal) {
    return Finish(retry_.Cancelled(a.cls == AttemptClass::kUnknown));
  }
  Run(retry_.Attempted(a, NowNs()));
}

void AsyncProduce::Discover() {
  if (std::optional<DiscoveryRound::Call> call = round_->Next(NowNs())) return StartServersCall(*call);
  common::Status s = round_->Finish();
  round_.reset();
  Run(retry_.Discovered(s, NowNs()));
}

void AsyncProduce::StartServersCall(const DiscoveryRound::Call& call) {
  if (!NewContext(call.timeout_ns)) return Finish(retry_.Cancelled(false));
  servers_.Clear();
  stub_ = v1::Log::NewStub(env_.members.Channel(call.address));
  stub_->async()->GetServers(ctx_.get(), &servers_request_, &servers_,
                             [this](grpc::Status status) { OnServersDone(status); });
}

void AsyncProduce::OnServersDone(const grpc::Status& status) {
  round_->OnAnswer(status, servers_);
  if (IsCancelled()) return Finish(retry_.Cancelled(false));
  Discover();
}

void AsyncProduce::StartWait(int64_t delay_ns) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      alarm_ = std::make_unique<grpc::Alarm>();
      // The callback runs on gRPC's executor thread, never inside Set().
      alarm_->Set(FromNow(delay_ns), [this](bool fired) {
        if (!fired || IsCancelled()) return Finish(retry_.Cancelled(false));
        Run(retry_.Waited(NowNs()));
      });
      return;
    }
  }
  Finish(retry_.Cancelled(false));
}

bool AsyncProduce::IsCancelled() {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void AsyncProduce::Finish(common::Result<ProduceResult> result) {
  outcome_.emplace(std::move(result));
  if (t_beginning == 0) return Complete();
  // Inside Begin: hand the callback to the alarm's executor thread.
  std::lock_guard lock(mu_);
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_->Set(FromNow(0), [this](bool) { Complete(); });
}

void AsyncProduce::Complete() {
  ProduceCallback done = std::move(done_);
  done(std::move(*outcome_));
  done = nullptr;  // the caller's captures go now, while no lock is held
  env_.ops.Finished(this);
}

void AsyncOps::Start(std::unique_ptr<AsyncProduce> op, const common::Status& precheck) {
  AsyncProduce* p = op.get();
  {
    std::lock_guard lock(mu_);
    ops_.emplace(p, std::move(op));
    if (closed_) p->Cancel();
  }
  p->Begin(precheck);
}

void AsyncOps::Finished(AsyncProduce* op) {
  std::lock_guard lock(mu_);
  // Destroyed under the lock: CancelAllAndWait() (and the Client with it)
  // cannot return before the operation's gRPC objects are gone.
  ops_.erase(op);
  if (ops_.empty()) none_left_.notify_all();
}

void AsyncOps::CancelAllAndWait() {
  std::unique_lock lock(mu_);
  closed_ = true;
  for (auto& [op, owned] : ops_) op->Cancel();
  none_left_.wait(lock, [this] { return ops_.empty(); });
}

}  // namespace replog
