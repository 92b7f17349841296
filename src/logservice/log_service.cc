#include "logservice/log_service.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "logservice/rpc_status.h"

namespace logservice {

using common::Result;
using common::Status;

namespace {

grpc::Status ShuttingDown(grpc::ServerContextBase* ctx) {
  return ToGrpcWithHint(common::UnavailableError("this member is shutting down"), raft::LeaderHint{}, ctx);
}

const char* RoleOf(const raft::NodeStatus& st, raft::NodeId id, bool learner) {
  if (id == st.leader) return "leader";
  if (learner) return "learner";
  if (id == st.id && st.role != raft::Role::kFollower && st.role != raft::Role::kLeader) return "candidate";
  return "follower";
}

}  // namespace

LogService::LogService(raft::Node& node, const raft::DurableStorage& storage, common::Clock& clock,
                       LogServiceOptions options)
    : node_(node), storage_(storage), clock_(clock), options_(options) {}

Result<std::vector<std::string>> LogService::Encode(const replog::v1::ProduceRequest& req) {
  RETURN_IF_ERROR(ValidateProduce(req, options_.limits));
  const int64_t now_ms = clock_.WallMillis();
  std::vector<std::string> commands;
  commands.reserve(req.records_size());
  for (const auto& r : req.records()) commands.push_back(EncodeRecord(r, now_ms));
  return commands;
}

int64_t LogService::ProduceTimeout(const grpc::ServerContextBase* ctx) const {
  const auto left = ctx->deadline() - std::chrono::system_clock::now();
  const int64_t left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  return std::clamp<int64_t>(left_ns, 1'000'000, options_.produce_timeout_ns);
}

grpc::ServerUnaryReactor* LogService::Produce(grpc::CallbackServerContext* ctx, const replog::v1::ProduceRequest* req,
                                              replog::v1::ProduceResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  if (shutting_down_.load()) {
    reactor->Finish(ShuttingDown(ctx));
    return reactor;
  }
  Result<std::vector<std::string>> commands = Encode(*req);
  if (!commands.has_value()) {
    reactor->Finish(ToGrpc(commands.error()));
    return reactor;
  }
  // ctx and resp live until Finish.
  node_.ProposeAsync(std::move(*commands), ProduceTimeout(ctx),
                     [this, ctx, resp, reactor](Result<std::vector<raft::ApplyResult>> applied) {
                       if (!applied.has_value()) {
                         reactor->Finish(ToGrpcWithHint(applied.error(), node_.leader_hint(), ctx));
                         return;
                       }
                       for (const raft::ApplyResult& a : *applied) resp->add_offsets(a.index);
                       reactor->Finish(grpc::Status::OK);
                     });
  return reactor;
}

ReadRange LogService::CurrentRange() const {
  // applied first: the log's first index can only grow past it by a purge,
  // which ReadRecords reports as kOutOfRange.
  const uint64_t end = node_.applied() + 1;
  return ReadRange{.first = std::min(storage_.log().first_index(), end), .end = end};
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
  if (shutting_down_.load()) return ShuttingDown(ctx);
  if (req->linearizable()) {
    Status s = Barrier(ctx);
    if (!s.ok()) return ToGrpcWithHint(s, node_.leader_hint(), ctx);
  }
  const ReadRange range = CurrentRange();
  Result<uint64_t> from = ResolveFrom(req->from_offset(), range);
  if (!from.has_value()) return ToGrpc(from.error());
  Result<uint32_t> n = ReadRecords(storage_.log(), *from, range, LimitsOf(*req), resp);
  if (!n.has_value()) return ToGrpc(n.error());
  resp->set_first_offset(range.first);
  resp->set_committed_offset(range.end - 1);
  return grpc::Status::OK;
}

grpc::Status LogService::ConsumeStream(grpc::ServerContext* ctx, const replog::v1::ConsumeRequest* req,
                                       grpc::ServerWriter<replog::v1::ConsumeResponse>* writer) {
  if (shutting_down_.load()) return ShuttingDown(ctx);
  if (req->linearizable()) {
    Status s = Barrier(ctx);
    if (!s.ok()) return ToGrpcWithHint(s, node_.leader_hint(), ctx);
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
  if (!from.has_value()) return ToGrpc(from.error());
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
    Result<uint32_t> n = ReadRecords(storage_.log(), next, range, limits, &resp);
    if (!n.has_value()) return ToGrpc(n.error());
    next = resp.next_offset();
    if (*n == 0) continue;
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
  for (raft::NodeId id : st.conf_state.voters) add(id, false);
  for (raft::NodeId id : st.conf_state.voters_outgoing) {
    if (std::find(st.conf_state.voters.begin(), st.conf_state.voters.end(), id) == st.conf_state.voters.end()) {
      add(id, false);
    }
  }
  for (raft::NodeId id : st.conf_state.learners) add(id, true);
  resp->set_leader_id(st.leader);
  resp->set_term(st.term);
  return grpc::Status::OK;
}

}  // namespace logservice
