#pragma once

// What every asynchronous client operation shares (Client::ProduceAsync,
// KvClient::PutAsync and GetAsync): AsyncOp carries out the steps a retry
// object decides (produce_retry.h, kv_retry.h) without blocking a thread,
// with the means it offers its subclasses: a fresh grpc::ClientContext per
// RPC (cancelled by Cancel()), a wait on a grpc::Alarm, a discovery round
// (discovery_round.h) on gRPC's callback API, and the delivery of the
// outcome to the caller's callback, never from inside the call that started
// the operation. AsyncOps is the set of a client's operations still running:
// it owns them, and the client's destructor cancels them through it and
// waits until each one's callback has returned. Internal to the client
// library.
//
// Threads: an operation runs on whichever thread delivers its last event (a
// gRPC callback thread, the alarm's executor thread, or, for its first
// steps, the caller of Begin). Its steps never overlap: each event starts at
// most one next one. Cancel() may come from any thread at any time.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "client/discovery_round.h"
#include "common/clock.h"
#include "common/status.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

class AsyncOps;
class Members;

// What an operation uses of its client; all of it outlives the operation.
struct AsyncEnv {
  Members& members;
  common::Clock& clock;
  AsyncOps& ops;
  int64_t discovery_timeout_ns = 0;
  // Waits are clock.SleepNanos() on the operation's thread instead of an
  // alarm: for a clock the caller supplied (a ManualClock, whose sleeps cost
  // no time and which gRPC's timers do not know).
  bool wait_on_clock = false;
};

class AsyncOp {
 public:
  explicit AsyncOp(const AsyncEnv& env);
  virtual ~AsyncOp() = default;
  AsyncOp(const AsyncOp&) = delete;
  AsyncOp& operator=(const AsyncOp&) = delete;

  // Runs the first steps (Start()) on the calling thread. The callback is
  // never called from inside Begin (an outcome reached before Begin returns
  // is passed on to another thread through an alarm); it may run on another
  // thread before Begin has returned.
  void Begin();
  // Stops the operation as soon as possible: the RPC in flight is cancelled,
  // a wait cut short, no new RPC or wait started (NewContext() fails, Wait()
  // calls back with false). The subclass then finishes with its cancelled
  // outcome unless an answer it already had says more.
  void Cancel();

 protected:
  // The first steps of the operation.
  virtual void Start() = 0;
  // Hands the outcome the subclass kept to the caller's callback, and drops
  // that callback (its captures go while no lock is held).
  virtual void Deliver() = 0;

  // A fresh context for the next RPC, with a deadline timeout_ns from now;
  // nullptr once cancelled. Valid until the next NewContext().
  grpc::ClientContext* NewContext(int64_t timeout_ns);
  // Waits delay_ns, then calls `then(true)`, or `then(false)` when the
  // operation was cancelled before or during the wait. `then` runs on the
  // alarm's executor thread, or (env.wait_on_clock) on this one after a
  // clock.SleepNanos().
  void Wait(int64_t delay_ns, std::function<void(bool waited)> then);
  // Runs one discovery round that starts no call at or after deadline_ns,
  // then calls `then` with its status (DiscoveryRound::Finish()). A
  // cancellation ends the round early; `then` should check IsCancelled().
  void Discover(int64_t deadline_ns, std::function<void(const common::Status&)> then);
  bool IsCancelled();
  // The operation is over and the subclass has kept its outcome: Deliver()s
  // it, then has AsyncOps destroy this. The last thing an operation does.
  void Complete();
  int64_t NowNs() { return env_.clock.NowNanos(); }

  const AsyncEnv env_;

 private:
  void NextServersCall();
  void DeliverAndRelease();

  // The discovery round in progress and its continuation.
  std::optional<DiscoveryRound> round_;
  std::function<void(const common::Status&)> discovered_;
  std::unique_ptr<v1::Log::Stub> log_stub_;
  const v1::GetServersRequest servers_request_;
  v1::GetServersResponse servers_;

  std::mutex mu_;  // guards the three below against Cancel()
  bool cancelled_ = false;
  std::unique_ptr<grpc::ClientContext> ctx_;  // of the RPC in flight or last finished
  std::unique_ptr<grpc::Alarm> alarm_;        // of the wait in progress or last finished
};

class AsyncOps {
 public:
  // Takes `op` and Begins it. Once CancelAllAndWait() has begun, `op` is
  // cancelled before it starts (it still finishes through its callback).
  void Start(std::unique_ptr<AsyncOp> op);
  // Called by `op` once its callback has returned: destroys it.
  void Finished(AsyncOp* op);
  // Cancels every operation, present and future, and returns once none is
  // left. Must not be called from an operation's callback (it would wait for
  // itself).
  void CancelAllAndWait();

 private:
  std::mutex mu_;
  std::condition_variable none_left_;
  bool closed_ = false;
  std::unordered_map<AsyncOp*, std::unique_ptr<AsyncOp>> ops_;
};

}  // namespace replog
