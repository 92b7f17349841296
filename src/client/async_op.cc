#include "client/async_op.h"

#include <algorithm>
#include <utility>

#include "client/client_internal.h"
#include "client/members.h"

namespace replog {

namespace {

// How many AsyncOp::Begin calls are running on this thread: a completion
// that arrives inside one (gRPC may run a callback before the call that
// started the RPC returns) must not reach the caller's callback there.
thread_local int t_beginning = 0;

gpr_timespec FromNow(int64_t ns) { return gpr_time_from_nanos(std::max<int64_t>(ns, 0), GPR_TIMESPAN); }

}  // namespace

AsyncOp::AsyncOp(const AsyncEnv& env) : env_(env) {}

void AsyncOp::Begin() {
  t_beginning++;
  Start();
  // `this` may be gone by now: only the thread-local is touched.
  t_beginning--;
}

void AsyncOp::Cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  if (ctx_ != nullptr) ctx_->TryCancel();
  if (alarm_ != nullptr) alarm_->Cancel();
}

bool AsyncOp::IsCancelled() {
  std::lock_guard lock(mu_);
  return cancelled_;
}

grpc::ClientContext* AsyncOp::NewContext(int64_t timeout_ns) {
  std::lock_guard lock(mu_);
  if (cancelled_) return nullptr;
  ctx_ = std::make_unique<grpc::ClientContext>();
  SetTimeout(ctx_.get(), timeout_ns);
  return ctx_.get();
}

void AsyncOp::Wait(int64_t delay_ns, std::function<void(bool waited)> then) {
  if (env_.wait_on_clock) {
    env_.clock.SleepNanos(delay_ns);
    return then(!IsCancelled());
  }
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      alarm_ = std::make_unique<grpc::Alarm>();
      // The callback runs on gRPC's executor thread, never inside Set().
      alarm_->Set(FromNow(delay_ns), [this, then = std::move(then)](bool fired) { then(fired && !IsCancelled()); });
      return;
    }
  }
  then(false);
}

void AsyncOp::Discover(int64_t deadline_ns, std::function<void(const common::Status&)> then) {
  round_.emplace(env_.members, deadline_ns, env_.discovery_timeout_ns);
  discovered_ = std::move(then);
  NextServersCall();
}

void AsyncOp::NextServersCall() {
  std::optional<DiscoveryRound::Call> call = round_->Next(NowNs());
  grpc::ClientContext* ctx = call.has_value() ? NewContext(call->timeout_ns) : nullptr;
  if (ctx == nullptr) {  // the round is over, or cancelled
    const common::Status s = round_->Finish();
    round_.reset();
    return std::exchange(discovered_, nullptr)(s);
  }
  servers_.Clear();
  // Channel(), not Connected(): the callback API's own threads drive a
  // connection that is being made, and the call waits for it.
  log_stub_ = v1::Log::NewStub(env_.members.Channel(call->address));
  log_stub_->async()->GetServers(ctx, &servers_request_, &servers_, [this](grpc::Status status) {
    round_->OnAnswer(status, servers_);
    NextServersCall();
  });
}

void AsyncOp::Complete() {
  if (t_beginning == 0) return DeliverAndRelease();
  // Inside Begin: hand the callback to the alarm's executor thread.
  std::lock_guard lock(mu_);
  alarm_ = std::make_unique<grpc::Alarm>();
  alarm_->Set(FromNow(0), [this](bool) { DeliverAndRelease(); });
}

void AsyncOp::DeliverAndRelease() {
  Deliver();
  env_.ops.Finished(this);
}

void AsyncOps::Start(std::unique_ptr<AsyncOp> op) {
  AsyncOp* p = op.get();
  {
    std::lock_guard lock(mu_);
    ops_.emplace(p, std::move(op));
    if (closed_) p->Cancel();
  }
  p->Begin();
}

void AsyncOps::Finished(AsyncOp* op) {
  std::lock_guard lock(mu_);
  // Destroyed under the lock: CancelAllAndWait() (and the client with it)
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
