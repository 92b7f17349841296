#pragma once

// PipelinedStreams<Req, Resp>: the server side of a bidirectional stream on
// which each request (with a request_id) gets exactly one response carrying
// that id, in any order: Log.ProduceStream and KV.WriteStream. Each request
// read goes to the handler, which answers at once or later (a node
// callback); the next read starts without waiting for the answer, up to
// `max_inflight` requests read and not yet written. Responses are written
// one at a time (gRPC allows one read and one write outstanding on a
// stream). No thread waits for a commit or a read.
//
// How a stream ends:
//   - the client half-closes: once every request read has its response
//     written, with OK;
//   - the client is gone (a write failed): once the outstanding read and
//     write have failed; responses still due are dropped;
//   - BeginShutdown(): the stream reads no more and ends, with the status
//     `refuse` gives (UNAVAILABLE and the leader hint), once every request
//     it read has its response written. A request whose read completes after
//     that end was decided is dropped unhandled, so the client may count
//     every request the end found unanswered as not applied.
//
// Threads: the handler runs on gRPC's threads, one request at a time per
// stream; a Reply may be called from any thread, exactly once. Open and
// BeginShutdown may be called from any thread.
// Lifetime: `this` must outlive every stream it opened: call
// BeginShutdown() and let the gRPC server shut down (which ends the
// streams) before destroying it. A Reply may outlive its stream (a node
// callback after the client left); it then does nothing.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace rpc {

template <typename Req, typename Resp>
class PipelinedStreams {
  struct Shared;

 public:
  // The one answer to one request. Copyable (node callbacks are
  // std::functions); call it exactly once, on any copy.
  class Reply {
   public:
    void operator()(Resp resp) const { shared_->Push(std::move(resp)); }

   private:
    friend class PipelinedStreams;
    explicit Reply(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    std::shared_ptr<Shared> shared_;
  };
  // Handles a request; `ctx` is its stream's (valid during the call).
  using Handler = std::function<void(grpc::CallbackServerContext* ctx, const Req& req, Reply reply)>;
  // The status of a stream ended by BeginShutdown (it may add trailing
  // metadata to `ctx`).
  using Refuse = std::function<grpc::Status(grpc::CallbackServerContext* ctx)>;

  PipelinedStreams(size_t max_inflight, Handler handle, Refuse refuse)
      : max_inflight_(std::max<size_t>(1, max_inflight)), handle_(std::move(handle)), refuse_(std::move(refuse)) {}
  PipelinedStreams(const PipelinedStreams&) = delete;
  PipelinedStreams& operator=(const PipelinedStreams&) = delete;

  // The reactor of a new stream (for the service's method). One opened
  // after BeginShutdown ends at once, refused.
  grpc::ServerBidiReactor<Req, Resp>* Open(grpc::CallbackServerContext* ctx) { return new Reactor(*this, ctx); }

  // Every stream reads no more and ends once answered; new ones are refused.
  void BeginShutdown() {
    std::vector<std::shared_ptr<Shared>> streams;
    {
      std::lock_guard lock(mu_);
      shutting_down_.store(true);
      for (Reactor* r : live_) streams.push_back(r->shared());
    }
    // Outside mu_: gRPC may run a reaction (OnDone takes it) inline.
    for (const auto& shared : streams) shared->Drain();
  }

 private:
  // What to start once Shared's lock is released.
  struct Next {
    bool read = false;
    const Resp* write = nullptr;
    bool finish = false;
    bool refuse = false;  // finish with refuse_'s status: shutting down

    bool any() const { return read || write != nullptr || finish; }
  };

  class Reactor;

  // A stream's state; Replies keep it alive after the stream is done.
  // DecideLocked picks the gRPC operations to start, and they are started
  // after the lock is released (gRPC may run a reaction inline, on the
  // thread that starts an operation).
  struct Shared {
    Shared(Reactor* r, size_t max) : reactor(r), max_inflight(max) {}

    // A response for the client (from a Reply).
    void Push(Resp resp) {
      Reactor* r;
      Next next;
      {
        std::lock_guard lock(mu);
        --inflight;
        if (reactor == nullptr || broken || finished) return;
        ready.push_back(std::move(resp));
        next = DecideLocked();
        r = reactor;
      }
      // An empty Next may come after Finish, when `r` may be gone; one with
      // an operation cannot (OnDone comes only after Finish).
      if (next.any()) r->Act(next);
    }
    // The service is shutting down (from any thread).
    void Drain() {
      Reactor* r;
      Next next;
      {
        std::lock_guard lock(mu);
        draining = true;
        if (reactor == nullptr) return;
        next = DecideLocked();
        r = reactor;
      }
      if (next.any()) r->Act(next);  // as in Push
    }
    // The first read, or the end of a stream that began draining.
    Next Start() {
      std::lock_guard lock(mu);
      return DecideLocked();
    }
    // A request was read: false when the stream's end is decided (drop it),
    // else it counts as in flight until its response is pushed.
    bool Accept() {
      std::lock_guard lock(mu);
      if (finished) return false;
      ++inflight;
      return true;
    }
    Next ReadDone() {
      std::lock_guard lock(mu);
      reading = false;
      return DecideLocked();
    }
    Next ReadFailed() {
      std::lock_guard lock(mu);
      reading = false;
      reading_done = true;
      return DecideLocked();
    }
    Next WriteDone(bool ok) {
      std::lock_guard lock(mu);
      writing = false;
      ready.pop_front();
      if (!ok) {
        broken = true;  // the client is gone: drop what is queued
        ready.clear();
      }
      return DecideLocked();
    }
    void Detach() {
      std::lock_guard lock(mu);
      reactor = nullptr;
    }

    // The operations due now: the next write when none is outstanding, the
    // next read when none is, the queue has room and the service is not
    // shutting down, the end when nothing is left to do (when draining, a
    // read outstanding does not hold it up).
    Next DecideLocked() {
      Next next;
      if (finished) return next;
      if (!writing && !ready.empty()) {
        writing = true;
        next.write = &ready.front();  // deque: stays put while others are pushed
      }
      if (!reading && !reading_done && !broken && !draining && inflight + ready.size() < max_inflight) {
        reading = true;
        next.read = true;
      }
      const bool settled = !writing && (broken || (inflight == 0 && ready.empty()));
      if (settled && (draining || (!reading && (reading_done || broken)))) {
        finished = true;
        next.finish = true;
        next.refuse = !reading_done && !broken;
      }
      return next;
    }

    std::mutex mu;
    Reactor* reactor;  // nullptr once done
    const size_t max_inflight;
    std::deque<Resp> ready;  // front: being written when `writing`
    size_t inflight = 0;     // accepted, response not yet pushed
    bool reading = false;
    bool reading_done = false;  // the client half-closed, or the call failed
    bool writing = false;
    bool broken = false;    // a write failed
    bool draining = false;  // the service is shutting down
    bool finished = false;
  };

  // One stream. It deletes itself in OnDone.
  class Reactor final : public grpc::ServerBidiReactor<Req, Resp> {
   public:
    Reactor(PipelinedStreams& owner, grpc::CallbackServerContext* ctx)
        : owner_(owner), ctx_(ctx), shared_(std::make_shared<Shared>(this, owner.max_inflight_)) {
      bool draining = false;
      {
        std::lock_guard lock(owner_.mu_);
        owner_.live_.insert(this);
        // BeginShutdown drains the streams it finds in live_; one that
        // comes after drains itself.
        draining = owner_.shutting_down_.load();
      }
      if (draining) shared_->Drain();
      Act(shared_->Start());
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        Act(shared_->ReadFailed());
        return;
      }
      // Before the next read starts, so req_ is not overwritten meanwhile.
      if (shared_->Accept()) owner_.handle_(ctx_, req_, Reply(shared_));
      Act(shared_->ReadDone());
    }

    void OnWriteDone(bool ok) override { Act(shared_->WriteDone(ok)); }

    void OnDone() override {
      {
        std::lock_guard lock(owner_.mu_);
        owner_.live_.erase(this);
      }
      shared_->Detach();
      delete this;
    }

    const std::shared_ptr<Shared>& shared() const { return shared_; }

    void Act(const Next& next) {
      if (next.write != nullptr) this->StartWrite(next.write);
      if (next.read) this->StartRead(&req_);
      if (next.finish) this->Finish(next.refuse ? owner_.refuse_(ctx_) : grpc::Status::OK);
    }

   private:
    PipelinedStreams& owner_;
    grpc::CallbackServerContext* const ctx_;
    const std::shared_ptr<Shared> shared_;
    Req req_;
  };

  const size_t max_inflight_;
  const Handler handle_;
  const Refuse refuse_;
  std::atomic<bool> shutting_down_{false};
  std::mutex mu_;
  std::unordered_set<Reactor*> live_;  // for BeginShutdown
};

}  // namespace rpc
