#pragma once

// The operations behind Client::ProduceAsync (client.h). An AsyncProduce
// carries out the steps of one ProduceRetry (produce_retry.h) without
// blocking a thread: RPCs on gRPC's callback API, discovery rounds
// (discovery_round.h) likewise, backoff on a grpc::Alarm. AsyncOps is the set
// of a Client's operations still running: it owns them, and the Client's
// destructor cancels them through it and waits until each one's callback has
// returned. Internal to the client library.
//
// Threads: an operation runs on whichever thread delivers its last event (a
// gRPC callback thread, the alarm's executor thread, or, for its first
// steps, the caller of Begin). Its steps never overlap: each event starts at
// most one next one. Cancel() may come from any thread at any time.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "client/client.h"
#include "client/discovery_round.h"
#include "client/produce_retry.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

class AsyncOps;
class Members;

// What an operation uses of its Client; all of it outlives the operation.
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

class AsyncProduce {
 public:
  AsyncProduce(const AsyncEnv& env, v1::ProduceRequest request, ProduceRetry retry, ProduceCallback done);
  AsyncProduce(const AsyncProduce&) = delete;
  AsyncProduce& operator=(const AsyncProduce&) = delete;

  // Runs the first steps on the calling thread: finishes with `precheck`
  // when it is an error, else starts the produce. `done` is never called
  // from inside Begin (a completion gRPC delivers on this thread before
  // Begin returns is passed on to another thread through an alarm); it may
  // run on another thread before Begin has returned.
  void Begin(const common::Status& precheck);
  // Stops the operation as soon as possible: the RPC in flight is cancelled,
  // a wait cut short, no new step started; it then finishes with
  // ProduceRetry::Cancelled() unless an answer it already had says more.
  void Cancel();

 private:
  using Step = ProduceRetry::Step;

  // Carries out `s` and the steps that follow it at once, until one waits
  // for an event or the operation finishes.
  void Run(Step s);
  // Asks the next member of the discovery round, or ends the round.
  void Discover();
  void StartAttempt(const Step& send);
  void OnAttemptDone(const grpc::Status& status);
  void StartServersCall(const DiscoveryRound::Call& call);
  void OnServersDone(const grpc::Status& status);
  void StartWait(int64_t delay_ns);
  bool IsCancelled();
  // Makes a fresh context for the next RPC; false when cancelled.
  bool NewContext(int64_t timeout_ns);
  void Finish(common::Result<ProduceResult> result);
  // Calls done, then has AsyncOps destroy this: the last thing it does.
  void Complete();
  int64_t NowNs() { return env_.clock.NowNanos(); }

  const AsyncEnv env_;
  v1::ProduceRequest request_;  // its producer fields set per attempt
  ProduceRetry retry_;
  ProduceCallback done_;
  std::optional<DiscoveryRound> round_;
  std::unique_ptr<v1::Log::Stub> stub_;
  std::string target_;  // of the Produce in flight
  v1::ProduceResponse response_;
  const v1::GetServersRequest servers_request_;
  v1::GetServersResponse servers_;
  std::optional<common::Result<ProduceResult>> outcome_;

  std::mutex mu_;  // guards the three below against Cancel()
  bool cancelled_ = false;
  std::unique_ptr<grpc::ClientContext> ctx_;  // of the RPC in flight or last finished
  std::unique_ptr<grpc::Alarm> alarm_;         // of the wait in progress or last finished
};

class AsyncOps {
 public:
  // Takes `op` and Begins it with `precheck`. After Close(), the operation is
  // cancelled before it starts (it still finishes through its callback).
  void Start(std::unique_ptr<AsyncProduce> op, const common::Status& precheck);
  // Called by `op` once its callback has returned: destroys it.
  void Finished(AsyncProduce* op);
  // Cancels every operation, present and future, and returns once none is
  // left. Must not be called from an operation's callback (it would wait for
  // itself).
  void CancelAllAndWait();

 private:
  std::mutex mu_;
  std::condition_variable none_left_;
  bool closed_ = false;
  std::unordered_map<AsyncProduce*, std::unique_ptr<AsyncProduce>> ops_;
};

}  // namespace replog
