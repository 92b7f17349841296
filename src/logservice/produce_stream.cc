// LogService::ProduceStream: pipelined produces on one stream. The handler's
// thread reads requests and proposes each at once; node callbacks queue the
// responses, and a writer thread sends them (gRPC allows one reader and one
// writer at a time on a stream). The stream ends when the client half-closes
// and every request in flight has its response.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "logservice/log_service.h"
#include "rpc/leader_hint.h"

namespace logservice {

using common::Result;

namespace {

using Stream = grpc::ServerReaderWriter<replog::v1::ProduceResponse, replog::v1::ProduceRequest>;

// Shared by the reader, the writer and the callbacks of one stream.
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<replog::v1::ProduceResponse> ready;
  size_t inflight = 0;  // proposed, response not yet queued
  bool reading_done = false;
  bool broken = false;  // a write failed: the client is gone

  void Push(replog::v1::ProduceResponse resp) {
    std::lock_guard lock(mu);
    ready.push_back(std::move(resp));
    --inflight;
    cv.notify_all();
  }
};

void FillError(const common::Status& s, const raft::LeaderHint& hint, replog::v1::ProduceResponse* resp) {
  resp->set_error_code(static_cast<int>(s.code()));
  resp->set_error_message(s.message());
  if (s.code() == common::Code::kUnavailable) {
    resp->set_leader_id(hint.id);
    resp->set_leader_address(hint.address);
  }
}

void FillOutcome(const ProduceOutcome& outcome, replog::v1::ProduceResponse* resp) {
  if (outcome.status.ok()) {
    resp->mutable_offsets()->Add(outcome.offsets.begin(), outcome.offsets.end());
    return;
  }
  FillError(outcome.status, raft::LeaderHint{}, resp);
  if (outcome.expected_sequence.has_value()) resp->set_expected_sequence(*outcome.expected_sequence);
}

void WriteLoop(StreamState& st, Stream* stream) {
  std::unique_lock lock(st.mu);
  for (;;) {
    st.cv.wait(lock, [&] { return !st.ready.empty() || (st.reading_done && st.inflight == 0); });
    if (st.ready.empty()) return;
    replog::v1::ProduceResponse resp = std::move(st.ready.front());
    st.ready.pop_front();
    if (st.broken) continue;  // drain: callbacks still complete
    lock.unlock();
    const bool ok = stream->Write(resp);
    lock.lock();
    if (!ok) st.broken = true;
    st.cv.notify_all();
  }
}

}  // namespace

grpc::Status LogService::ProduceStream(grpc::ServerContext* ctx, Stream* stream) {
  if (shutting_down_.load()) return rpc::ShuttingDown(ctx);
  auto st = std::make_shared<StreamState>();
  std::thread writer([&] { WriteLoop(*st, stream); });
  replog::v1::ProduceRequest req;
  while (stream->Read(&req)) {
    const int64_t start_ns = ProduceStart();
    {
      std::unique_lock lock(st->mu);
      // Responses not yet written count too: a client that stops reading
      // must not make the queue grow without bound.
      st->cv.wait(lock, [&] {
        return st->inflight + st->ready.size() < options_.max_stream_inflight || st->broken;
      });
      if (st->broken) break;
      ++st->inflight;
    }
    const uint64_t id = req.request_id();
    const common::Status valid =
        shutting_down_.load() ? common::UnavailableError("this member is shutting down") : Validate(req);
    std::optional<ProduceOutcome> answer;
    if (!valid.ok()) {
      answer = ProduceOutcome{.status = valid};
    } else {
      answer = AnswerWithoutProposing(req);
    }
    if (answer.has_value()) {
      replog::v1::ProduceResponse resp;
      resp.set_request_id(id);
      if (answer->status.code() == common::Code::kUnavailable) {
        FillError(answer->status, node_.leader_hint(), &resp);
      } else {
        FillOutcome(*answer, &resp);
      }
      st->Push(std::move(resp));
      continue;
    }
    node_.ProposeAsync(Encode(req), ProduceTimeout(ctx),
                       [this, st, id, key = KeyOf(req), size = metrics_.SizeOf(req),
                        start_ns](Result<std::vector<raft::ApplyResult>> r) {
                         replog::v1::ProduceResponse resp;
                         resp.set_request_id(id);
                         if (r.has_value()) {
                           const ProduceOutcome outcome = Outcome(key, *r);
                           if (outcome.status.ok()) metrics_.Produced(size, clock_.NowNanos() - start_ns);
                           FillOutcome(outcome, &resp);
                         } else {
                           FillError(r.error(), node_.leader_hint(), &resp);
                         }
                         st->Push(std::move(resp));
                       });
  }
  {
    std::lock_guard lock(st->mu);
    st->reading_done = true;
    st->cv.notify_all();
  }
  writer.join();
  return grpc::Status::OK;
}

}  // namespace logservice
