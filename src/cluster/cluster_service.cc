#include "cluster/cluster_service.h"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/log.h"
#include "rpc/leader_hint.h"
#include "raft/node/successor.h"

namespace cluster {
namespace {

using grpc::StatusCode;

constexpr int64_t kMilli = 1'000'000;

std::string Str(uint64_t v) { return std::to_string(v); }

const char* RoleName(const raft::NodeStatus& st) {
  if (st.is_learner) return "learner";
  switch (st.role) {
    case raft::Role::kLeader: return "leader";
    case raft::Role::kFollower: return "follower";
    default: return "candidate";
  }
}

// HOST:PORT with a port in 1..65535.
bool ValidAddress(const std::string& a) {
  const size_t colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size() || a.size() - colon > 6) return false;
  int port = 0;
  for (size_t i = colon + 1; i < a.size(); ++i) {
    if (a[i] < '0' || a[i] > '9') return false;
    port = port * 10 + (a[i] - '0');
  }
  return port > 0 && port <= 65535;
}

bool IsMember(const raft::NodeStatus& st, raft::NodeId id, bool* voter) {
  for (const raft::Member& m : raft::MembersOf(st)) {
    if (m.id == id) {
      *voter = m.voter;
      return true;
    }
  }
  return false;
}

void FillMembers(const raft::NodeStatus& st, google::protobuf::RepeatedPtrField<replog::v1::MemberInfo>* out) {
  for (const raft::Member& m : raft::MembersOf(st)) {
    replog::v1::MemberInfo* info = out->Add();
    info->set_id(m.id);
    auto addr = st.peers.find(m.id);
    if (addr != st.peers.end()) info->set_address(addr->second);
    info->set_voter(m.voter);
    auto match = st.match_index.find(m.id);
    if (match != st.match_index.end()) {
      info->set_has_match(true);
      info->set_match_index(match->second);
      info->set_lag(st.last_index > match->second ? st.last_index - match->second : 0);
    }
  }
}

}  // namespace

ClusterService::ClusterService(raft::Node& node, const raft::DurableStorage& storage, std::string advertise_address,
                               common::Clock& clock, std::function<void()> on_removed, ClusterServiceOptions options)
    : node_(node),
      storage_(storage),
      advertise_address_(std::move(advertise_address)),
      clock_(clock),
      on_removed_(std::move(on_removed)),
      options_(options) {
  promoter_ = std::thread([this] { PromoteLoop(); });
}

ClusterService::~ClusterService() { Stop(); }

void ClusterService::Stop() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (promoter_.joinable()) promoter_.join();
}

void ClusterService::PromoteLoop() {
  std::unique_lock l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, std::chrono::milliseconds(options_.promote_interval_ms));
    if (stopping_) break;
    l.unlock();
    PromoteOnce();
    if (!removed_ && FoundRemoved(node_.GetStatus())) {
      removed_ = true;
      on_removed_();
    }
    l.lock();
  }
}

void ClusterService::PromoteOnce() {
  const raft::NodeStatus st = node_.GetStatus();
  if (st.role != raft::Role::kLeader || st.conf_state.learners.empty() || st.conf_state.joint()) return;
  for (raft::NodeId id : st.conf_state.learners) {
    auto it = st.match_index.find(id);
    if (it == st.match_index.end() || it->second + options_.promote_max_lag < st.commit) continue;
    if (options_.may_promote && !options_.may_promote(id)) continue;
    raft::ConfChange cc;
    cc.changes.push_back(raft::ConfChangeItem{raft::ConfChangeType::kAddVoter, id});
    common::Status s = node_.ChangeMembership(std::move(cc), {}, 2'000 * kMilli).get();
    if (s.ok()) {
      common::log::Info({"log", st.term}, "cluster: member {} caught up (match {}, commit {}): promoted to voter", id,
                        it->second, st.commit);
    } else {
      spdlog::warn("cluster: promoting member {} failed: {}", id, s.ToString());
    }
    return;  // one change at a time
  }
}

bool ClusterService::FoundRemoved(const raft::NodeStatus& st) {
  const int64_t now = clock_.NowNanos();
  if (st.leader != raft::kNoNode) {
    leaderless_since_ns_ = -1;
    return false;
  }
  if (leaderless_since_ns_ < 0) leaderless_since_ns_ = now;
  if (now - leaderless_since_ns_ < options_.orphan_after_ms * kMilli || now < next_ask_ns_) return false;
  next_ask_ns_ = now + 1'000 * kMilli;
  for (const auto& [id, address] : st.peers) {
    if (id == st.id || address.empty()) continue;
    auto stub = replog::v1::Cluster::NewStub(grpc::CreateChannel(address, Credentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
    replog::v1::MemberStatusResponse resp;
    if (!stub->MemberStatus(&ctx, replog::v1::MemberStatusRequest(), &resp).ok() || resp.role() != "leader") continue;
    for (const replog::v1::MemberInfo& m : resp.members()) {
      if (m.id() == st.id) return false;  // still a member: the leader will reach it
    }
    common::log::Info({"log", st.term}, "cluster: leader {} (term {}) does not list member {}: it was removed while it could not be "
                 "told; stopping",
                 resp.id(), resp.term(), st.id);
    return true;
  }
  return false;
}

grpc::Status ClusterService::MemberStatus(grpc::ServerContext*, const replog::v1::MemberStatusRequest*,
                                          replog::v1::MemberStatusResponse* resp) {
  const raft::NodeStatus st = node_.GetStatus();
  resp->set_id(st.id);
  resp->set_address(advertise_address_);
  resp->set_role(RoleName(st));
  resp->set_term(st.term);
  resp->set_leader_id(st.leader);
  resp->set_commit_index(st.commit);
  resp->set_applied_index(st.applied);
  resp->set_first_index(st.first_index);
  resp->set_last_index(st.last_index);
  FillMembers(st, resp->mutable_members());
  if (!st.error.ok()) resp->set_error(st.error.ToString());
  return grpc::Status::OK;
}

grpc::Status ClusterService::LeaderStatus(grpc::ServerContext* ctx, raft::NodeStatus* st) const {
  *st = node_.GetStatus();
  if (st->role == raft::Role::kLeader && st->error.ok()) return grpc::Status::OK;
  return rpc::ToGrpcWithHint(
      common::UnavailableError("member " + Str(st->id) + " is not the leader"), node_.leader_hint(), ctx);
}

int64_t ClusterService::WaitDeadline(const grpc::ServerContext* ctx) const {
  const int64_t now = clock_.NowNanos();
  int64_t wait_ns = options_.max_wait_ms * kMilli;
  const auto left = ctx->deadline() - std::chrono::system_clock::now();
  // Leave a little of the caller's time for the answer to reach it.
  const int64_t left_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count() - 20 * kMilli;
  if (left_ns < wait_ns) wait_ns = std::max<int64_t>(left_ns, 0);
  return now + wait_ns;
}

grpc::Status ClusterService::Transfer(grpc::ServerContext* ctx, raft::NodeId to, raft::NodeStatus* after) {
  const int64_t deadline = WaitDeadline(ctx);
  common::Status s = node_.TransferLeadership(to);
  if (!s.ok()) return rpc::ToGrpcWithHint(s, node_.leader_hint(), ctx);
  for (;;) {
    *after = node_.GetStatus();
    if (after->leader != raft::kNoNode && after->leader != after->id) return grpc::Status::OK;
    if (clock_.NowNanos() >= deadline) {
      return grpc::Status(StatusCode::DEADLINE_EXCEEDED,
                          "leadership transfer to " + Str(to) + " did not complete in time; member " +
                              Str(after->id) + " may still lead");
    }
    clock_.SleepNanos(options_.poll_ms * kMilli);
  }
}

grpc::Status ClusterService::TransferLeadership(grpc::ServerContext* ctx,
                                                const replog::v1::TransferLeadershipRequest* req,
                                                replog::v1::TransferLeadershipResponse* resp) {
  raft::NodeStatus st;
  if (grpc::Status s = LeaderStatus(ctx, &st); !s.ok()) return s;
  raft::NodeId to = req->to();
  if (to == raft::kNoNode) {
    std::string why;
    to = raft::PickSuccessor(st, &why);
    if (to == raft::kNoNode) return grpc::Status(StatusCode::FAILED_PRECONDITION, "no successor: " + why);
  }
  bool voter = false;
  if (!IsMember(st, to, &voter)) return grpc::Status(StatusCode::NOT_FOUND, "member " + Str(to) + " is not in the cluster");
  if (!voter) {
    return grpc::Status(StatusCode::FAILED_PRECONDITION, "member " + Str(to) + " is a learner and cannot lead");
  }
  if (to == st.id) {
    resp->set_leader_id(st.id);
    resp->set_term(st.term);
    return grpc::Status::OK;
  }
  raft::NodeStatus after;
  if (grpc::Status s = Transfer(ctx, to, &after); !s.ok()) return s;
  resp->set_leader_id(after.leader);
  resp->set_term(after.term);
  common::log::Info({"log", after.term}, "cluster: leadership handed from {} to {}", st.id, after.leader);
  return grpc::Status::OK;
}

grpc::Status ClusterService::RemoveMember(grpc::ServerContext* ctx, const replog::v1::RemoveMemberRequest* req,
                                          replog::v1::RemoveMemberResponse* resp) {
  raft::NodeStatus st;
  if (grpc::Status s = LeaderStatus(ctx, &st); !s.ok()) return s;
  const raft::NodeId id = req->id();
  bool voter = false;
  if (id == raft::kNoNode || !IsMember(st, id, &voter)) {
    return grpc::Status(StatusCode::NOT_FOUND, "member " + Str(id) + " is not in the cluster");
  }
  if (id == st.id) {
    // A leader does not remove itself: it hands over, and the caller asks
    // the new leader, whose hint comes with the answer.
    std::string why;
    const raft::NodeId to = raft::PickSuccessor(st, &why);
    if (to == raft::kNoNode) {
      return grpc::Status(StatusCode::FAILED_PRECONDITION,
                          "member " + Str(id) + " leads and cannot hand over before its removal: " + why);
    }
    raft::NodeStatus after;
    if (grpc::Status s = Transfer(ctx, to, &after); !s.ok()) return s;
    return rpc::ToGrpcWithHint(
        common::UnavailableError("member " + Str(id) + " handed leadership to " + Str(after.leader) +
                                 " before its removal; ask the new leader"),
        node_.leader_hint(), ctx);
  }
  raft::NodeStatus after;
  if (grpc::Status s = Remove(ctx, id, &after); !s.ok()) return s;
  FillMembers(after, resp->mutable_members());
  return grpc::Status::OK;
}

grpc::Status ClusterService::Remove(grpc::ServerContext* ctx, raft::NodeId id, raft::NodeStatus* after) {
  const raft::NodeStatus before = node_.GetStatus();
  std::string address;
  if (auto it = before.peers.find(id); it != before.peers.end()) address = it->second;
  raft::ConfChange cc;
  cc.changes.push_back(raft::ConfChangeItem{raft::ConfChangeType::kRemove, id});
  const int64_t wait_ns = WaitDeadline(ctx) - clock_.NowNanos();
  common::Status s = node_.ChangeMembership(std::move(cc), {}, std::max<int64_t>(wait_ns, 1)).get();
  if (!s.ok()) return rpc::ToGrpcWithHint(s, node_.leader_hint(), ctx);
  *after = node_.GetStatus();
  common::log::Info({"log", after->term}, "cluster: member {} removed", id);
  if (!address.empty()) TellRemoved(id, address, after->term);
  return grpc::Status::OK;
}

grpc::Status ClusterService::AddMember(grpc::ServerContext* ctx, const replog::v1::AddMemberRequest* req,
                                       replog::v1::AddMemberResponse* resp) {
  const raft::NodeId id = req->id();
  const std::string& address = req->address();
  if (id == raft::kNoNode) return grpc::Status(StatusCode::INVALID_ARGUMENT, "member id must not be 0");
  if (!ValidAddress(address)) {
    return grpc::Status(StatusCode::INVALID_ARGUMENT, "member address '" + address + "' is not HOST:PORT");
  }
  raft::NodeStatus st;
  if (grpc::Status s = LeaderStatus(ctx, &st); !s.ok()) return s;
  auto address_of = [&](raft::NodeId m) {
    auto it = st.peers.find(m);
    return it == st.peers.end() ? std::string() : it->second;
  };
  std::vector<raft::NodeId> conflicts;
  bool voter = false;
  if (IsMember(st, id, &voter)) {
    if (address_of(id) == address && !voter && !req->replace()) {
      // A joiner asking again (its first answer was lost): nothing to do.
      return AnswerAdded(st, resp);
    }
    conflicts.push_back(id);
  }
  for (const raft::Member& m : raft::MembersOf(st)) {
    if (m.id != id && address_of(m.id) == address) conflicts.push_back(m.id);
  }
  if (!conflicts.empty() && !req->replace()) {
    const raft::NodeId c = conflicts.front();
    return grpc::Status(StatusCode::ALREADY_EXISTS,
                        c == id ? "member " + Str(id) + " is already in the cluster at " + address_of(id) +
                                      " (a member that lost its data joins again with replace)"
                                : "address " + address + " is already member " + Str(c) +
                                      "'s (to replace it, join with replace)");
  }
  for (raft::NodeId c : conflicts) {
    if (c == st.id) {
      return grpc::Status(StatusCode::FAILED_PRECONDITION,
                          "joining would replace the leader " + Str(c) + "; transfer leadership first");
    }
    raft::NodeStatus after;
    if (grpc::Status s = Remove(ctx, c, &after); !s.ok()) return s;
  }
  raft::ConfChange cc;
  cc.changes.push_back(raft::ConfChangeItem{raft::ConfChangeType::kAddLearner, id});
  const int64_t wait_ns = WaitDeadline(ctx) - clock_.NowNanos();
  common::Status s = node_.ChangeMembership(std::move(cc), {{id, address}}, std::max<int64_t>(wait_ns, 1)).get();
  if (!s.ok()) return rpc::ToGrpcWithHint(s, node_.leader_hint(), ctx);
  const raft::NodeStatus now = node_.GetStatus();
  common::log::Info({"log", now.term}, "cluster: member {} at {} added as a learner; promoted once caught up", id,
                    address);
  return AnswerAdded(now, resp);
}

grpc::Status ClusterService::AnswerAdded(const raft::NodeStatus& st, replog::v1::AddMemberResponse* resp) const {
  FillMembers(st, resp->mutable_members());
  resp->set_leader_id(st.id);
  std::optional<raft::SnapshotMeta> base = storage_.snapshot_meta();
  if (!base) return grpc::Status(StatusCode::INTERNAL, "the leader's log has no base configuration");
  replog::v1::BaseConfig* b = resp->mutable_base();
  b->set_index(base->index);
  b->set_term(base->term);
  const raft::ConfState& cs = base->conf_state;
  for (raft::NodeId v : cs.voters) b->add_voters(v);
  for (raft::NodeId v : cs.learners) b->add_learners(v);
  for (raft::NodeId v : cs.voters_outgoing) b->add_voters_outgoing(v);
  for (raft::NodeId v : cs.learners_next) b->add_learners_next(v);
  b->set_auto_leave(cs.auto_leave);
  return grpc::Status::OK;
}

std::shared_ptr<grpc::ChannelCredentials> ClusterService::Credentials() const {
  return options_.credentials ? options_.credentials : grpc::InsecureChannelCredentials();
}

void ClusterService::TellRemoved(raft::NodeId id, const std::string& address, uint64_t term) const {
  auto channel = grpc::CreateChannel(address, Credentials());
  auto stub = replog::v1::Cluster::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  replog::v1::NotifyRemovedRequest req;
  req.set_id(id);
  req.set_by_leader(node_.id());
  req.set_term(term);
  replog::v1::NotifyRemovedResponse resp;
  grpc::Status s = stub->NotifyRemoved(&ctx, req, &resp);
  if (!s.ok()) {
    spdlog::warn("cluster: could not tell removed member {} at {} to stop: {}", id, address, s.error_message());
  }
}

grpc::Status ClusterService::NotifyRemoved(grpc::ServerContext*, const replog::v1::NotifyRemovedRequest* req,
                                           replog::v1::NotifyRemovedResponse*) {
  if (req->id() != node_.id()) {
    return grpc::Status(StatusCode::FAILED_PRECONDITION,
                        "this is member " + Str(node_.id()) + ", not " + Str(req->id()));
  }
  common::log::Info({"log", req->term()}, "cluster: removed from the cluster by leader {}; stopping", req->by_leader());
  on_removed_();
  return grpc::Status::OK;
}

}  // namespace cluster
