#include "server/join.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "replog/v1/cluster.grpc.pb.h"
#include "replog/v1/kv.grpc.pb.h"
#include "rpc/leader_hint.h"

namespace server {
namespace {

namespace v1 = ::replog::v1;
using Clock = std::chrono::steady_clock;

constexpr int64_t kAttemptMs = 5'000;
constexpr int64_t kBackoffMs = 100;

std::vector<raft::NodeId> Ids(const google::protobuf::RepeatedField<uint64_t>& ids) {
  return std::vector<raft::NodeId>(ids.begin(), ids.end());
}

common::Status FromGrpc(const grpc::Status& s, const std::string& where) {
  return common::Status(static_cast<common::Code>(s.error_code()), "join via " + where + ": " + s.error_message());
}

// Calls `call` on `addresses` in turn, following leader hints, until it
// succeeds or is refused (OK, or that refusal), retrying what a member
// could not do yet (no leader) with backoff until `timeout_ms` passes.
// `what` names the request in logs and errors.
using LeaderCall = std::function<grpc::Status(const std::string& target, grpc::ClientContext& ctx)>;

common::Status AskTheLeader(const std::vector<std::string>& addresses, int64_t timeout_ms, const std::string& what,
                            const LeaderCall& call) {
  const auto end = Clock::now() + std::chrono::milliseconds(timeout_ms);
  common::Status last = common::UnavailableError(what + ": no address to ask");
  size_t next = 0;
  std::string target;
  while (Clock::now() < end) {
    if (target.empty()) target = addresses[next++ % addresses.size()];
    grpc::ClientContext ctx;
    ctx.set_deadline(std::min(std::chrono::system_clock::now() + std::chrono::milliseconds(kAttemptMs),
                              std::chrono::system_clock::now() +
                                  std::chrono::duration_cast<std::chrono::system_clock::duration>(end - Clock::now())));
    grpc::Status s = call(target, ctx);
    if (s.ok()) return common::Status::Ok();
    last = FromGrpc(s, what + " via " + target);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return last;  // refused: retrying will not change the answer
    }
    if (s.error_message().find("andshake") != std::string::npos) {
      // Nor will it for a certificate the cluster does not trust (or one
      // of the cluster's that this member does not).
      return common::Status(common::Code::kPermissionDenied,
                            what + " via " + target + ": the TLS handshake failed (are this member's certificate "
                            "and CA the cluster's?): " + s.error_message());
    }
    const std::string hint = rpc::ReadLeaderHint(ctx).address;
    spdlog::info("{}{}", last.message(), hint.empty() ? "" : "; trying the leader at " + hint);
    if (!hint.empty() && hint != target) {
      target = hint;
      continue;
    }
    target.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(kBackoffMs));
  }
  return common::UnavailableError(what + ": no leader answered within " + std::to_string(timeout_ms) +
                                  " ms; last: " + last.message());
}

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& target,
                                        const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  return grpc::CreateChannel(target, credentials ? credentials : grpc::InsecureChannelCredentials());
}

}  // namespace

common::Result<JoinAnswer> JoinCluster(const std::vector<std::string>& addresses, uint64_t id,
                                       const std::string& address, bool replace, int64_t timeout_ms,
                                       const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  v1::AddMemberRequest req;
  req.set_id(id);
  req.set_address(address);
  req.set_replace(replace);
  v1::AddMemberResponse resp;
  RETURN_IF_ERROR(AskTheLeader(addresses, timeout_ms, "join", [&](const std::string& target, grpc::ClientContext& ctx) {
    resp.Clear();
    return v1::Cluster::NewStub(ChannelTo(target, credentials))->AddMember(&ctx, req, &resp);
  }));
  JoinAnswer a;
  for (const v1::MemberInfo& m : resp.members()) {
    if (!m.address().empty()) a.members[m.id()] = m.address();
  }
  a.members[id] = address;
  const v1::BaseConfig& b = resp.base();
  a.base.voters = Ids(b.voters());
  a.base.learners = Ids(b.learners());
  a.base.voters_outgoing = Ids(b.voters_outgoing());
  a.base.learners_next = Ids(b.learners_next());
  a.base.auto_leave = b.auto_leave();
  a.leader = resp.leader_id();
  return a;
}

common::Result<bool> LeaveKvGroup(const std::vector<std::string>& addresses, uint64_t id, int64_t timeout_ms,
                                  const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  v1::KvRemoveMemberRequest req;
  req.set_id(id);
  v1::KvRemoveMemberResponse resp;
  RETURN_IF_ERROR(AskTheLeader(addresses, timeout_ms, "leaving the KV group",
                               [&](const std::string& target, grpc::ClientContext& ctx) {
                                 resp.Clear();
                                 return v1::KV::NewStub(ChannelTo(target, credentials))->RemoveMember(&ctx, req, &resp);
                               }));
  return resp.removed();
}

}  // namespace server
