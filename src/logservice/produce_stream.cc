// LogService::ProduceStream: pipelined produces on one stream
// (rpc::PipelinedStreams). Each request read is answered at once (invalid,
// refused, or answered from the producer table) or proposed, and the node's
// callback sends its response once applied.

#include <optional>
#include <utility>
#include <vector>

#include "logservice/log_service.h"
#include "rpc/leader_hint.h"

namespace logservice {

using common::Result;
using Response = replog::v1::ProduceResponse;

namespace {

void FillOutcome(const ProduceOutcome& outcome, Response* resp) {
  if (outcome.status.ok()) {
    resp->mutable_offsets()->Add(outcome.offsets.begin(), outcome.offsets.end());
    return;
  }
  rpc::SetStreamedError(outcome.status, raft::LeaderHint{}, resp);
  if (outcome.expected_sequence.has_value()) resp->set_expected_sequence(*outcome.expected_sequence);
}

}  // namespace

void LogService::HandleStreamed(grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest& req,
                                ProduceStreams::Reply reply) {
  const int64_t start_ns = ProduceStart();
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
    Response resp;
    resp.set_request_id(id);
    if (answer->status.code() == common::Code::kUnavailable) {
      rpc::SetStreamedError(answer->status, StoppingHint(), &resp);
    } else {
      FillOutcome(*answer, &resp);
    }
    reply(std::move(resp));
    return;
  }
  node_.ProposeAsync(Encode(req), ProduceTimeout(ctx),
                     [this, reply = std::move(reply), id, key = KeyOf(req), size = metrics_.SizeOf(req),
                      start_ns](Result<std::vector<raft::ApplyResult>> r) {
                       Response resp;
                       resp.set_request_id(id);
                       if (r.has_value()) {
                         const ProduceOutcome outcome = Outcome(key, *r);
                         if (outcome.status.ok()) metrics_.Produced(size, clock_.NowNanos() - start_ns);
                         FillOutcome(outcome, &resp);
                       } else {
                         rpc::SetStreamedError(r.error(), node_.leader_hint(), &resp);
                       }
                       reply(std::move(resp));
                     });
}

void LogService::BeginShutdown() {
  shutting_down_.store(true);
  produce_streams_.BeginShutdown();
}

grpc::ServerBidiReactor<replog::v1::ProduceRequest, Response>* LogService::ProduceStream(
    grpc::CallbackServerContext* ctx) {
  return produce_streams_.Open(ctx);
}

}  // namespace logservice
