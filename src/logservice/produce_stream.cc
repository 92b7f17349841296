// LogService::ProduceStream: pipelined produces on one stream, on gRPC's
// callback API. Each request read is answered at once or proposed, and the
// next read starts without waiting for the commit; node callbacks queue the
// responses, and one write at a time sends them (gRPC allows one read and
// one write outstanding on a stream). No thread waits for a commit or a
// read. The stream ends when the client half-closes and every request in
// flight has its response; a stream whose client is gone ends once its
// outstanding read and write have failed; once the service begins shutting
// down, a stream reads no more and ends, with UNAVAILABLE and the leader
// hint, when every request it read has its response written. A request
// read after that end was decided is dropped unproposed: the client counts
// every request the end found unanswered as not applied.

#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "logservice/log_service.h"
#include "rpc/leader_hint.h"

namespace logservice {

using common::Result;
using Response = replog::v1::ProduceResponse;

namespace {

void FillError(const common::Status& s, const raft::LeaderHint& hint, Response* resp) {
  resp->set_error_code(static_cast<int>(s.code()));
  resp->set_error_message(s.message());
  if (s.code() == common::Code::kUnavailable) {
    resp->set_leader_id(hint.id);
    resp->set_leader_address(hint.address);
  }
}

void FillOutcome(const ProduceOutcome& outcome, Response* resp) {
  if (outcome.status.ok()) {
    resp->mutable_offsets()->Add(outcome.offsets.begin(), outcome.offsets.end());
    return;
  }
  FillError(outcome.status, raft::LeaderHint{}, resp);
  if (outcome.expected_sequence.has_value()) resp->set_expected_sequence(*outcome.expected_sequence);
}

}  // namespace

// One ProduceStream call. It deletes itself in OnDone. The node's callbacks
// reach it through `Shared`, which they keep alive; Shared decides under its
// lock which gRPC operation to start next, and the operation is started
// after the lock is released (gRPC may run a reaction inline, on the thread
// that starts an operation).
class LogService::ProduceStreamReactor final : public grpc::ServerBidiReactor<replog::v1::ProduceRequest, Response> {
 public:
  ProduceStreamReactor(LogService& service, grpc::CallbackServerContext* ctx)
      : service_(service),
        ctx_(ctx),
        shared_(std::make_shared<Shared>(this, std::max<size_t>(1, service.options_.max_stream_inflight))) {
    bool draining = false;
    {
      std::lock_guard lock(service_.streams_mu_);
      service_.streams_.insert(this);
      // BeginShutdown drains the streams it finds here; one that comes
      // after drains itself.
      draining = service_.shutting_down_.load();
    }
    if (draining) shared_->Drain();
    Act(shared_->Start());
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Act(shared_->ReadFailed());
      return;
    }
    Handle(req_);
    Act(shared_->ReadDone());
  }

  void OnWriteDone(bool ok) override { Act(shared_->WriteDone(ok)); }

  void OnDone() override {
    {
      std::lock_guard lock(service_.streams_mu_);
      service_.streams_.erase(this);
    }
    shared_->Detach();
    delete this;
  }

  // What to start once the lock is released.
  struct Next {
    bool read = false;
    const Response* write = nullptr;
    bool finish = false;
    bool refuse = false;  // finish with UNAVAILABLE and the hint: shutting down

    bool any() const { return read || write != nullptr || finish; }
  };

  struct Shared {
    Shared(ProduceStreamReactor* r, size_t max) : reactor(r), max_inflight(max) {}

    // A response for the client (from a node callback or the reader).
    void Push(Response resp) {
      ProduceStreamReactor* r;
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
      ProduceStreamReactor* r;
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
    ProduceStreamReactor* reactor;  // nullptr once done
    const size_t max_inflight;
    std::deque<Response> ready;  // front: being written when `writing`
    size_t inflight = 0;         // proposed, response not yet queued
    bool reading = false;
    bool reading_done = false;   // the client half-closed, or the call failed
    bool writing = false;
    bool broken = false;    // a write failed
    bool draining = false;  // the service is shutting down
    bool finished = false;
  };

  const std::shared_ptr<Shared>& shared() const { return shared_; }

 private:
  void Act(const Next& next) {
    if (next.write != nullptr) StartWrite(next.write);
    if (next.read) StartRead(&req_);
    if (next.finish) Finish(next.refuse ? rpc::ShuttingDown(ctx_, service_.StoppingHint()) : grpc::Status::OK);
  }

  // Answers `req` at once or proposes it. Runs before the next read, so
  // `req` is not overwritten meanwhile.
  void Handle(const replog::v1::ProduceRequest& req) {
    const int64_t start_ns = service_.ProduceStart();
    const uint64_t id = req.request_id();
    if (!shared_->Accept()) return;
    const common::Status valid = service_.shutting_down_.load()
                                     ? common::UnavailableError("this member is shutting down")
                                     : service_.Validate(req);
    std::optional<ProduceOutcome> answer;
    if (!valid.ok()) {
      answer = ProduceOutcome{.status = valid};
    } else {
      answer = service_.AnswerWithoutProposing(req);
    }
    if (answer.has_value()) {
      Response resp;
      resp.set_request_id(id);
      if (answer->status.code() == common::Code::kUnavailable) {
        FillError(answer->status, service_.StoppingHint(), &resp);
      } else {
        FillOutcome(*answer, &resp);
      }
      shared_->Push(std::move(resp));
      return;
    }
    LogService& service = service_;
    service_.node_.ProposeAsync(
        service_.Encode(req), service_.ProduceTimeout(ctx_),
        [&service, shared = shared_, id, key = KeyOf(req), size = service_.metrics_.SizeOf(req),
         start_ns](Result<std::vector<raft::ApplyResult>> r) {
          Response resp;
          resp.set_request_id(id);
          if (r.has_value()) {
            const ProduceOutcome outcome = service.Outcome(key, *r);
            if (outcome.status.ok()) service.metrics_.Produced(size, service.clock_.NowNanos() - start_ns);
            FillOutcome(outcome, &resp);
          } else {
            FillError(r.error(), service.node_.leader_hint(), &resp);
          }
          shared->Push(std::move(resp));
        });
  }

  LogService& service_;
  grpc::CallbackServerContext* const ctx_;
  const std::shared_ptr<Shared> shared_;
  replog::v1::ProduceRequest req_;
};

void LogService::BeginShutdown() {
  std::vector<std::shared_ptr<ProduceStreamReactor::Shared>> streams;
  {
    std::lock_guard lock(streams_mu_);
    shutting_down_.store(true);
    for (ProduceStreamReactor* r : streams_) streams.push_back(r->shared());
  }
  // Outside streams_mu_: gRPC may run a reaction (OnDone takes it) inline.
  for (const auto& shared : streams) shared->Drain();
}

grpc::ServerBidiReactor<replog::v1::ProduceRequest, Response>* LogService::ProduceStream(
    grpc::CallbackServerContext* ctx) {
  // One that starts after BeginShutdown ends at once, refused.
  return new ProduceStreamReactor(*this, ctx);
}

}  // namespace logservice
