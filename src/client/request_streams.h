#pragma once

// RequestStreams<Traits>: the streams of requests answered by id
// (rpc/pipelined_stream.h on the member: Log.ProduceStream, KV.WriteStream,
// KV.ReadStream) that carry a client's asynchronous attempts, one stream per
// member address, opened on first use and again after one ends. Many
// attempts in flight share the stream, each one request on it: a message
// each for the client and the member instead of a call each (BENCHMARKS.md,
// "Pipelined produce"). ProduceStreams (produce_streams.h), KvWriteStreams
// and KvReadStreams (kv_streams.h) are its kinds.
//
// Traits gives the types Stub, Request and Response (both with a
// request_id) and Attempt (how an attempt ended), and the functions
// NewStub(channel); Open(stub, ctx, reactor), which binds the reactor to a
// new call; Answered(address, response), the attempt a response ends; and
// Ended(address, cls, status), the attempt a stream ended without an answer.
//
// Each attempt's `done` is called exactly once with how it ended
// (Traits::Attempt):
//   - the member's answer: OK with its result, or its error with its leader
//     hint (the answer is the member's, so UNAVAILABLE is kNotApplied);
//   - the stream ended before the answer: kNotApplied when the request never
//     left (still queued, or no connection could be made) or the member
//     ended the stream refusing (UNAVAILABLE with its hint: at its start, or
//     at shutdown once every request it read was answered, so one still
//     unanswered was never read); kFinal when the call was not
//     allowed (UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED); else
//     kUnknown, whatever gRPC's code (a broken connection, a cancel, a
//     message over a limit), and for a stream that ended OK unanswered;
//   - no answer within its timeout: DEADLINE_EXCEEDED, kUnknown (kNotApplied
//     when it was never written); a late answer is dropped. A sweep every
//     kSweepNs, while attempts are pending, notices timeouts, so they end up
//     to kSweepNs late.
//
// Threads: thread-safe. `done` runs on a gRPC thread (a stream's reactions
// or an alarm's executor), never inside Send and never with a lock of ours
// held; it may call Send.
// Lifetime: `members` outlives this. Close() (the Client's destructor calls
// it first) cancels every stream, which ends the attempts pending on it;
// ~RequestStreams closes and returns once no callback of ours is running
// or due.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_callback.h>

#include "client/members.h"
#include "client/rpc_outcome.h"

namespace replog {

namespace request_streams {

inline int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The class of an attempt whose stream ended with `status` (and `hint`)
// before its answer. The member ends a stream with an error of its own only
// to refuse it (UNAVAILABLE with its hint: at its start, or at shutdown
// after answering every request it read) or when the call was not allowed,
// so any other error, gRPC's (a broken connection, a message over a limit,
// a cancel), may have come after the member got a written request: unknown.
// One that never left is not applied.
inline AttemptClass ClassifyStreamEnd(const grpc::Status& status, const LeaderHint& hint, bool written) {
  if (!written || NeverSent(status)) return AttemptClass::kNotApplied;
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return hint.from_member ? AttemptClass::kNotApplied : AttemptClass::kUnknown;
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNIMPLEMENTED:
      return AttemptClass::kFinal;
    default:
      return AttemptClass::kUnknown;
  }
}

}  // namespace request_streams

template <typename Traits>
class RequestStreams {
 public:
  using Request = typename Traits::Request;
  using Response = typename Traits::Response;
  using Attempt = typename Traits::Attempt;
  using Done = std::function<void(Attempt)>;
  static constexpr int64_t kSweepNs = 20'000'000;

  explicit RequestStreams(Members& members) : members_(members) {}
  ~RequestStreams();
  RequestStreams(const RequestStreams&) = delete;
  RequestStreams& operator=(const RequestStreams&) = delete;

  // Sends `request` (its request_id is set here) on the stream to `address`,
  // opening one when there is none or it has ended; `done` gets the
  // outcome. False, with nothing sent and `done` dropped, once closed.
  // `request` is queued as given: pass it by std::move when the caller
  // keeps no copy.
  bool Send(const std::string& address, Request request, int64_t timeout_ns, Done done);
  // Cancels every stream; Send refuses from now on.
  void Close();

  // Streams opened so far (for tests).
  uint64_t opened() const;

 private:
  class Conn;

  // `conn` is over: OnDone has run and every callback of it has returned
  // but for this call, its last step. Marks it, for reaping and the
  // destructor.
  void Finished(Conn* conn);

  Members& members_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // By address: the stream new attempts take.
  std::unordered_map<std::string, std::shared_ptr<Conn>> open_;
  // Every stream not yet reaped; one is reaped (dropped from here) only once
  // over, so the last owner of a Conn never holds one still running.
  std::vector<std::shared_ptr<Conn>> all_;
  uint64_t opened_ = 0;
  bool closed_ = false;
};


// One ProduceStream. Its reactions and the sweep alarm's callback are the
// only threads that call `done`. It lives in RequestStreams::all_ until it
// is over (OnDone has run, no sweep is armed, and no callback of ours is
// running: the last of them to return tells the owner, as its last step)
// and is reaped or the owner is destroyed.
template <typename Traits>
class RequestStreams<Traits>::Conn final : public grpc::ClientBidiReactor<Request, Response> {
 public:
  using Ends = std::vector<std::pair<Done, Attempt>>;

  // Binds the reactor to a new call, with its first read and a hold, and
  // starts nothing yet (gRPC keeps operations until StartCall). The hold
  // lets Send start writes from outside the reactions; it goes once the
  // stream has ended and no write is left.
  Conn(RequestStreams& owner, std::string address)
      : owner_(owner), address_(std::move(address)), stub_(Traits::NewStub(owner.members_.Channel(address_))) {
    Traits::Open(*stub_, &ctx_, this);
    this->AddHold();
    this->StartRead(&resp_);
  }

  void Start() { this->StartCall(); }

  // False when the stream has ended (nothing taken, `request` and `done`
  // left as they were): the caller opens another. Never false before Start().
  bool Send(Request& request, int64_t timeout_ns, Done& done) {
    const Request* write = nullptr;
    {
      std::lock_guard lock(mu_);
      if (ended_) return false;
      const uint64_t id = ++last_id_;
      pending_.emplace(id, Pending{.done = std::move(done), .deadline_ns = request_streams::SteadyNs() + timeout_ns});
      queue_.push_back(std::move(request));
      queue_.back().set_request_id(id);
      write = NextWriteLocked();
      ArmSweepLocked();
    }
    if (write != nullptr) this->StartWrite(write);
    return true;
  }

  void Cancel() { ctx_.TryCancel(); }

  // Set by RequestStreams::Finished, under its lock: OnDone has run, no
  // sweep is armed, and the last callback of ours has returned but for the
  // call that set this.
  bool over = false;

  void OnWriteDone(bool ok) override {
    const Request* write = nullptr;
    bool release = false;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      queue_.pop_front();
      if (!ok) write_failed_ = true;  // the read fails too, and OnDone ends the rest
      write = NextWriteLocked();
      release = ReleaseHoldLocked();
    }
    if (write != nullptr) this->StartWrite(write);
    if (release) this->RemoveHold();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool release = false;
      {
        std::lock_guard lock(mu_);
        ended_ = true;
        release = ReleaseHoldLocked();
      }
      if (release) this->RemoveHold();
      return;
    }
    Response resp = std::move(resp_);
    resp_.Clear();
    Ends ends;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(resp.request_id());
      if (it != pending_.end()) {  // else it timed out
        ends.emplace_back(std::move(it->second.done), Attempt{});
        pending_.erase(it);
      }
      running_++;
    }
    this->StartRead(&resp_);
    if (!ends.empty()) ends[0].second = Traits::Answered(address_, std::move(resp));
    Run(ends);
  }

  void OnDone(const grpc::Status& status) override {
    const LeaderHint hint = ReadLeaderHint(ctx_);
    Ends ends;
    bool cancel_sweep = false;
    {
      std::lock_guard lock(mu_);
      ended_ = true;
      done_ = true;
      for (auto& [id, p] : pending_) {
        const AttemptClass cls = request_streams::ClassifyStreamEnd(status, hint, p.written);
        // A stream that ended OK without answering: the member finished it.
        const grpc::Status why = status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                            "the stream ended without an answer")
                                             : status;
        ends.emplace_back(std::move(p.done), Traits::Ended(address_, cls, why));
      }
      pending_.clear();
      running_++;
      // No new alarm is set once done_: alarm_ stays this one.
      cancel_sweep = sweep_armed_;
    }
    // Outside the lock: the sweep may run at once, and it takes the lock.
    if (cancel_sweep) alarm_->Cancel();
    Run(ends);
  }

 private:
  struct Pending {
    Done done;
    int64_t deadline_ns = 0;
    bool written = false;  // handed to gRPC: it may have reached the member
  };

  // Calls the callbacks of `ends`, then (the last touch of `this`) tells
  // the owner when the stream is over. The caller counted itself in
  // running_ when it took them.
  void Run(Ends& ends) {
    for (auto& [done, attempt] : ends) done(std::move(attempt));
    bool over_now = false;
    {
      std::lock_guard lock(mu_);
      running_--;
      over_now = done_ && !sweep_armed_ && running_ == 0 && !told_owner_;
      told_owner_ = told_owner_ || over_now;
    }
    // `this` may be reaped as soon as the owner knows.
    if (over_now) owner_.Finished(this);
  }

  // The next request to write, when none is being written; marks it written.
  // Requests whose attempt already ended are dropped unwritten.
  const Request* NextWriteLocked() {
    if (writing_ || ended_ || write_failed_) return nullptr;
    while (!queue_.empty()) {
      auto it = pending_.find(queue_.front().request_id());
      if (it != pending_.end()) {
        it->second.written = true;
        writing_ = true;
        return &queue_.front();  // a deque: stays put while others are pushed
      }
      queue_.pop_front();
    }
    return nullptr;
  }

  // True once, when the stream has ended and no write is outstanding.
  bool ReleaseHoldLocked() {
    if (hold_released_ || !ended_ || writing_) return false;
    hold_released_ = true;
    return true;
  }

  void ArmSweepLocked() {
    if (sweep_armed_ || done_ || pending_.empty()) return;
    sweep_armed_ = true;
    // Replacing the alarm inside its own callback is fine: gRPC keeps it
    // alive until the callback returns.
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(kSweepNs, GPR_TIMESPAN)),
                [this](bool) { Sweep(); });
  }

  // Ends the attempts past their deadline: unknown once written, else not
  // applied (the request never left).
  void Sweep() {
    Ends ends;
    {
      std::lock_guard lock(mu_);
      sweep_armed_ = false;
      const int64_t now = request_streams::SteadyNs();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (now < it->second.deadline_ns) {
          ++it;
          continue;
        }
        const AttemptClass cls = it->second.written ? AttemptClass::kUnknown : AttemptClass::kNotApplied;
        ends.emplace_back(std::move(it->second.done),
                          Traits::Ended(address_, cls,
                                grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer in time on the stream")));
        it = pending_.erase(it);
      }
      ArmSweepLocked();
      running_++;
    }
    Run(ends);
  }

  RequestStreams& owner_;
  const std::string address_;
  std::unique_ptr<typename Traits::Stub> stub_;
  grpc::ClientContext ctx_;
  Response resp_;  // of the read outstanding

  std::mutex mu_;
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<Request> queue_;  // front: being written when writing_
  uint64_t last_id_ = 0;
  bool writing_ = false;
  bool write_failed_ = false;
  bool ended_ = false;  // the read failed: no new attempt, no new write
  bool hold_released_ = false;
  bool done_ = false;  // OnDone has run
  bool sweep_armed_ = false;
  int running_ = 0;  // OnReadDone, OnDone and Sweep calls between taking callbacks and Run's end
  bool told_owner_ = false;
  std::unique_ptr<grpc::Alarm> alarm_;
};



template <typename Traits>
RequestStreams<Traits>::~RequestStreams() {
  Close();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] {
    return std::all_of(all_.begin(), all_.end(), [](const std::shared_ptr<Conn>& c) { return c->over; });
  });
  all_.clear();
}

template <typename Traits>
void RequestStreams<Traits>::Close() {
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    open_.clear();
    conns = all_;
  }
  // Outside the lock: gRPC may run reactions inline, and OnDone takes it.
  for (auto& c : conns) c->Cancel();
}

template <typename Traits>
bool RequestStreams<Traits>::Send(const std::string& address, Request request, int64_t timeout_ns, Done done) {
  for (;;) {
    std::shared_ptr<Conn> conn;
    bool fresh = false;
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      auto it = open_.find(address);
      if (it != open_.end()) {
        conn = it->second;
      } else {
        // Reap the streams that are over before opening another.
        std::erase_if(all_, [](const std::shared_ptr<Conn>& c) { return c->over; });
        // Bound to its call, with its first read, here; started below.
        conn = std::make_shared<Conn>(*this, address);
        all_.push_back(conn);
        open_[address] = conn;
        opened_++;
        fresh = true;
      }
    }
    // A fresh stream takes the attempt before its call starts, so one that
    // fails at once ends the attempt (not applied) instead of sending us
    // round again.
    const bool taken = conn->Send(request, timeout_ns, done);
    if (fresh) conn->Start();
    if (taken) return true;
    // It has ended: forget it (unless another caller already replaced it),
    // and open another.
    std::lock_guard lock(mu_);
    auto it = open_.find(address);
    if (it != open_.end() && it->second == conn) open_.erase(it);
  }
}

template <typename Traits>
uint64_t RequestStreams<Traits>::opened() const {
  std::lock_guard lock(mu_);
  return opened_;
}

template <typename Traits>
void RequestStreams<Traits>::Finished(Conn* conn) {
  std::lock_guard lock(mu_);
  conn->over = true;
  cv_.notify_all();
}

}  // namespace replog
