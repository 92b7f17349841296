#include "client/produce_streams.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <utility>

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "client/members.h"
#include "client/rpc_outcome.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ProduceAttempt Answered(const std::string& address, v1::ProduceResponse resp) {
  const grpc::Status status = resp.error_code() == 0 ? grpc::Status::OK
                                                     : grpc::Status(static_cast<grpc::StatusCode>(resp.error_code()),
                                                                    resp.error_message());
  ProduceAttempt a;
  a.address = address;
  a.hint = LeaderHint{.from_member = true, .id = resp.leader_id(), .address = resp.leader_address()};
  a.cls = ClassifyProduce(status, a.hint);
  a.status = FromGrpc(status, "produce to " + address);
  a.response = std::move(resp);
  return a;
}

ProduceAttempt Ended(const std::string& address, AttemptClass cls, const grpc::Status& status) {
  ProduceAttempt a;
  a.address = address;
  a.cls = cls;
  a.status = FromGrpc(status, "produce to " + address);
  return a;
}

// The class of an attempt whose stream ended with `status` (and `hint`)
// before its answer. The member ends a stream with an error only before
// reading any request (refused: UNAVAILABLE with its hint; or the call was
// not allowed), so any other error, gRPC's (a broken connection, a message
// over a limit, a cancel), may have come after the member got a written
// request: unknown. One that never left is not applied.
AttemptClass ClassifyStreamEnd(const grpc::Status& status, const LeaderHint& hint, bool written) {
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

}  // namespace

// One ProduceStream. Its reactions and the sweep alarm's callback are the
// only threads that call `done`. It lives in ProduceStreams::all_ until it
// is over (OnDone has run, no sweep is armed, and no callback of ours is
// running: the last of them to return tells the owner, as its last step)
// and is reaped or the owner is destroyed.
class ProduceStreams::Conn final : public grpc::ClientBidiReactor<v1::ProduceRequest, v1::ProduceResponse> {
 public:
  using Ends = std::vector<std::pair<Done, ProduceAttempt>>;

  // Binds the reactor to a new call, with its first read and a hold, and
  // starts nothing yet (gRPC keeps operations until StartCall). The hold
  // lets Send start writes from outside the reactions; it goes once the
  // stream has ended and no write is left.
  Conn(ProduceStreams& owner, std::string address)
      : owner_(owner), address_(std::move(address)), stub_(v1::Log::NewStub(owner.members_.Channel(address_))) {
    stub_->async()->ProduceStream(&ctx_, this);
    AddHold();
    StartRead(&resp_);
  }

  void Start() { StartCall(); }

  // False when the stream has ended (nothing taken): the caller opens
  // another. Never false before Start().
  bool Send(const v1::ProduceRequest& request, int64_t timeout_ns, Done& done) {
    const v1::ProduceRequest* write = nullptr;
    {
      std::lock_guard lock(mu_);
      if (ended_) return false;
      const uint64_t id = ++last_id_;
      pending_.emplace(id, Pending{.done = std::move(done), .deadline_ns = SteadyNs() + timeout_ns});
      queue_.push_back(request);
      queue_.back().set_request_id(id);
      write = NextWriteLocked();
      ArmSweepLocked();
    }
    if (write != nullptr) StartWrite(write);
    return true;
  }

  void Cancel() { ctx_.TryCancel(); }

  // Set by ProduceStreams::Finished, under its lock: OnDone has run, no
  // sweep is armed, and the last callback of ours has returned but for the
  // call that set this.
  bool over = false;

  void OnWriteDone(bool ok) override {
    const v1::ProduceRequest* write = nullptr;
    bool release = false;
    {
      std::lock_guard lock(mu_);
      writing_ = false;
      queue_.pop_front();
      if (!ok) write_failed_ = true;  // the read fails too, and OnDone ends the rest
      write = NextWriteLocked();
      release = ReleaseHoldLocked();
    }
    if (write != nullptr) StartWrite(write);
    if (release) RemoveHold();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool release = false;
      {
        std::lock_guard lock(mu_);
        ended_ = true;
        release = ReleaseHoldLocked();
      }
      if (release) RemoveHold();
      return;
    }
    v1::ProduceResponse resp = std::move(resp_);
    resp_.Clear();
    Ends ends;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(resp.request_id());
      if (it != pending_.end()) {  // else it timed out
        ends.emplace_back(std::move(it->second.done), ProduceAttempt{});
        pending_.erase(it);
      }
      running_++;
    }
    StartRead(&resp_);
    if (!ends.empty()) ends[0].second = Answered(address_, std::move(resp));
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
        const AttemptClass cls = ClassifyStreamEnd(status, hint, p.written);
        // A stream that ended OK without answering: the member finished it.
        const grpc::Status why = status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                                            "the stream ended without an answer")
                                             : status;
        ends.emplace_back(std::move(p.done), Ended(address_, cls, why));
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
  const v1::ProduceRequest* NextWriteLocked() {
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
      const int64_t now = SteadyNs();
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (now < it->second.deadline_ns) {
          ++it;
          continue;
        }
        const AttemptClass cls = it->second.written ? AttemptClass::kUnknown : AttemptClass::kNotApplied;
        ends.emplace_back(std::move(it->second.done),
                          Ended(address_, cls,
                                grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer in time on the stream")));
        it = pending_.erase(it);
      }
      ArmSweepLocked();
      running_++;
    }
    Run(ends);
  }

  ProduceStreams& owner_;
  const std::string address_;
  std::unique_ptr<v1::Log::Stub> stub_;
  grpc::ClientContext ctx_;
  v1::ProduceResponse resp_;  // of the read outstanding

  std::mutex mu_;
  std::unordered_map<uint64_t, Pending> pending_;
  std::deque<v1::ProduceRequest> queue_;  // front: being written when writing_
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

ProduceStreams::ProduceStreams(Members& members) : members_(members) {}

ProduceStreams::~ProduceStreams() {
  Close();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] {
    return std::all_of(all_.begin(), all_.end(), [](const std::shared_ptr<Conn>& c) { return c->over; });
  });
  all_.clear();
}

void ProduceStreams::Close() {
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

bool ProduceStreams::Send(const std::string& address, const v1::ProduceRequest& request, int64_t timeout_ns,
                          Done done) {
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

uint64_t ProduceStreams::opened() const {
  std::lock_guard lock(mu_);
  return opened_;
}

void ProduceStreams::Finished(Conn* conn) {
  std::lock_guard lock(mu_);
  conn->over = true;
  cv_.notify_all();
}

}  // namespace replog
