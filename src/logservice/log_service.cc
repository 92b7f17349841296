#include "logservice/log_service.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "rpc/leader_hint.h"

namespace logservice {

using common::Result;
using common::Status;

namespace {

const char* RoleOf(const raft::NodeStatus& st, raft::NodeId id, bool learner) {
  if (id == st.leader) return "leader";
  if (learner) return "learner";
  if (id == st.id && st.role != raft::Role::kFollower && st.role != raft::Role::kLeader) return "candidate";
  return "follower";
}

// The gRPC answer for `outcome`: offsets into `resp` when OK, else the
// error with the expected sequence in the trailing metadata.
grpc::Status ToGrpcAnswer(const ProduceOutcome& outcome, grpc::ServerContextBase* ctx, replog::v1::ProduceResponse* resp) {
  if (outcome.status.ok()) {
    resp->mutable_offsets()->Add(outcome.offsets.begin(), outcome.offsets.end());
    return grpc::Status::OK;
  }
  if (outcome.expected_sequence.has_value()) {
    ctx->AddTrailingMetadata(kExpectedSequenceKey, std::to_string(*outcome.expected_sequence));
  }
  return rpc::ToGrpc(outcome.status);
}

}  // namespace

LogService::LogService(raft::Node& node, const raft::DurableStorage& storage, const LogStateMachine& state_machine,
                       common::Clock& clock, LogServiceOptions options)
    : node_(node),
      storage_(storage),
      state_machine_(state_machine),
      clock_(clock),
      options_(options),
      metrics_(LogServiceMetrics::Create(options.metrics)),
      produce_streams_(
          options.max_stream_inflight,
          [this](grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest& req,
                 ProduceStreams::Reply reply) { HandleStreamed(ctx, req, std::move(reply)); },
          [this](grpc::CallbackServerContext* ctx) { return rpc::ShuttingDown(ctx, StoppingHint()); }) {}

Status LogService::Validate(const replog::v1::ProduceRequest& req) const {
  return ValidateProduce(req, options_.limits);
}

std::optional<ProduceOutcome> LogService::AnswerWithoutProposing(const replog::v1::ProduceRequest& req) const {
  return AnswerFromTable(req, state_machine_);
}

std::vector<std::string> LogService::Encode(const replog::v1::ProduceRequest& req) {
  const int64_t now_ms = clock_.WallMillis();
  std::vector<std::string> commands;
  commands.reserve(req.records_size());
  for (int i = 0; i < req.records_size(); ++i) commands.push_back(EncodeRecord(req.records(i), now_ms, StampOf(req, i)));
  return commands;
}

ProduceOutcome LogService::Outcome(const ProduceKey& key, const std::vector<raft::ApplyResult>& applied) const {
  return OutcomeOf(key, applied, state_machine_.limits());
}

std::vector<uint64_t> LogService::Skipped(uint64_t from, uint64_t end) const {
  return state_machine_.SkippedIn(from, end);
}

raft::LeaderHint LogService::StoppingHint() const { return rpc::StoppingHint(node_.leader_hint(), node_.id()); }

int64_t LogService::ProduceTimeout(const grpc::ServerContextBase* ctx) const {
  const auto left = ctx->deadline() - std::chrono::system_clock::now();
  const int64_t left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  return std::clamp<int64_t>(left_ns, 1'000'000, options_.produce_timeout_ns);
}

grpc::ServerUnaryReactor* LogService::Produce(grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest* req,
                                              replog::v1::ProduceResponse* resp) {
  const int64_t start_ns = ProduceStart();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (shutting_down_.load()) {
    reactor->Finish(rpc::ShuttingDown(ctx, StoppingHint()));
    return reactor;
  }
  if (Status s = Validate(*req); !s.ok()) {
    reactor->Finish(rpc::ToGrpc(s));
    return reactor;
  }
  if (std::optional<ProduceOutcome> answer = AnswerWithoutProposing(*req)) {
    reactor->Finish(ToGrpcAnswer(*answer, ctx, resp));
    return reactor;
  }
  // ctx and resp live until Finish.
  node_.ProposeAsync(Encode(*req), ProduceTimeout(ctx),
                     [this, ctx, resp, reactor, key = KeyOf(*req), size = metrics_.SizeOf(*req),
                      start_ns](Result<std::vector<raft::ApplyResult>> applied) {
                       if (!applied.has_value()) {
                         reactor->Finish(rpc::ToGrpcWithHint(applied.error(), node_.leader_hint(), ctx));
                         return;
                       }
                       const ProduceOutcome outcome = Outcome(key, *applied);
                       if (outcome.status.ok()) metrics_.Produced(size, clock_.NowNanos() - start_ns);
                       reactor->Finish(ToGrpcAnswer(outcome, ctx, resp));
                     });
  return reactor;
}

ReadRange LogService::CurrentRange() const {
  // applied first: the log's first index can only grow past it by a purge,
  // which ReadRecords reports as kOutOfRange.
  const uint64_t end = node_.applied() + 1;
  return ReadRange{.first = std::min(storage_.log().first_index(), end), .end = end};
}

grpc::Status LogService::ReadFailed(const Status& s, uint64_t from) const {
  if (s.code() == common::Code::kOutOfRange) {
    Result<uint64_t> again = ResolveFrom(from, CurrentRange());
    if (!again.has_value()) return rpc::ToGrpc(again.error());
  }
  return rpc::ToGrpc(s);
}

ReadLimits LogService::LimitsOf(const replog::v1::ConsumeRequest& req) const {
  ReadLimits l = options_.default_read;
  if (req.max_records() != 0) l.max_records = std::min(req.max_records(), options_.max_read.max_records);
  if (req.max_bytes() != 0) l.max_bytes = std::min<uint64_t>(req.max_bytes(), options_.max_read.max_bytes);
  return l;
}

Status LogService::Barrier(const grpc::ServerContextBase* ctx) {
  Result<uint64_t> index = node_.ReadIndex(ProduceTimeout(ctx)).get();
  return index.status();
}

grpc::Status LogService::Consume(grpc::ServerContext* ctx, const replog::v1::ConsumeRequest* req,
                                 replog::v1::ConsumeResponse* resp) {
  if (shutting_down_.load()) return rpc::ShuttingDown(ctx);
  if (req->linearizable()) {
    Status s = Barrier(ctx);
    if (!s.ok()) return rpc::ToGrpcWithHint(s, node_.leader_hint(), ctx);
  }
  const ReadRange range = CurrentRange();
  Result<uint64_t> from = ResolveFrom(req->from_offset(), range);
  if (!from.has_value()) return rpc::ToGrpc(from.error());
  const std::vector<uint64_t> skipped = Skipped(*from, range.end);
  Result<uint32_t> n = ReadRecords(storage_.log(), *from, range, LimitsOf(*req), skipped, resp);
  if (!n.has_value()) return ReadFailed(n.error(), *from);
  metrics_.Consumed(*resp);
  resp->set_first_offset(range.first);
  resp->set_committed_offset(range.end - 1);
  return grpc::Status::OK;
}

grpc::Status LogService::ConsumeStream(grpc::ServerContext* ctx, const replog::v1::ConsumeRequest* req,
                                       grpc::ServerWriter<replog::v1::ConsumeResponse>* writer) {
  if (shutting_down_.load()) return rpc::ShuttingDown(ctx);
  if (req->linearizable()) {
    Status s = Barrier(ctx);
    if (!s.ok()) return rpc::ToGrpcWithHint(s, node_.leader_hint(), ctx);
  }
  // A start past this member's end may be a lagging follower: wait a little.
  if (req->from_offset() > CurrentRange().end) {
    const int64_t until = clock_.NowNanos() + options_.stream_catch_up_ns;
    while (!shutting_down_.load() && !ctx->IsCancelled() && clock_.NowNanos() < until &&
           req->from_offset() > CurrentRange().end) {
      node_.WaitApplied(req->from_offset() - 1, std::min(until, clock_.NowNanos() + options_.stream_poll_ns));
    }
  }
  Result<uint64_t> from = ResolveFrom(req->from_offset(), CurrentRange());
  if (!from.has_value()) return rpc::ToGrpc(from.error());
  const ReadLimits limits = LimitsOf(*req);
  uint64_t next = *from;
  replog::v1::ConsumeResponse resp;
  while (!shutting_down_.load() && !ctx->IsCancelled()) {
    const ReadRange range = CurrentRange();
    if (next >= range.end) {
      node_.WaitApplied(next, clock_.NowNanos() + options_.stream_poll_ns);
      continue;
    }
    resp.Clear();
    const std::vector<uint64_t> skipped = Skipped(next, range.end);
    Result<uint32_t> n = ReadRecords(storage_.log(), next, range, limits, skipped, &resp);
    if (!n.has_value()) return ReadFailed(n.error(), next);
    next = resp.next_offset();
    if (*n == 0) continue;
    metrics_.Consumed(resp);
    resp.set_first_offset(range.first);
    resp.set_committed_offset(range.end - 1);
    if (!writer->Write(resp)) return grpc::Status(grpc::StatusCode::CANCELLED, "the consumer went away");
  }
  return grpc::Status::OK;
}

grpc::Status LogService::GetServers(grpc::ServerContext*, const replog::v1::GetServersRequest*,
                                    replog::v1::GetServersResponse* resp) {
  const raft::NodeStatus st = node_.GetStatus();
  auto add = [&](raft::NodeId id, bool learner) {
    replog::v1::Server* s = resp->add_servers();
    s->set_id(id);
    auto it = st.peers.find(id);
    if (it != st.peers.end()) s->set_address(it->second);
    s->set_role(RoleOf(st, id, learner));
    s->set_is_leader(id == st.leader);
  };
  for (const raft::Member& m : raft::MembersOf(st)) add(m.id, !m.voter);
  resp->set_leader_id(st.leader);
  resp->set_term(st.term);
  return grpc::Status::OK;
}

}  // namespace logservice
