#pragma once

// ClusterService: replog.v1.Cluster (proto/replog/v1/cluster.proto,
// docs/cluster.md) over one raft::Node: a member's own status, leadership
// transfer, and membership changes through Raft (add as learner, remove).
//
// Promotion: while this member leads, a thread of the service looks at the
// learners every options.promote_interval_ms and proposes each one as a
// voter once its match index is within options.promote_max_lag entries of
// the leader's commit index (and options.may_promote agrees). Learners exist
// here only as joining members.
//
// Removal watch: the same thread notices when this member was removed while
// the leader could not tell it (NotifyRemoved failed: it was down or not yet
// listening). After options.orphan_after_ms without a leader, it asks the
// members it knows, once a second, for their status; when one that leads
// answers with a configuration without this member, `on_removed` is called.
//
// Errors follow the log service: UNAVAILABLE from a member that is not the
// leader carries the leader hint in trailing metadata (rpc/leader_hint.h).
//
// Threads: handlers run on gRPC's server threads; TransferLeadership and
// RemoveMember block theirs while they wait (bounded by the call's deadline,
// at most options.max_wait_ms). `on_removed` runs on a server thread and must
// not block.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "common/clock.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "replog/v1/cluster.grpc.pb.h"

namespace cluster {

struct ClusterServiceOptions {
  // Bound of a handler's wait for a transfer or a membership change when the
  // call has no (or a longer) deadline.
  int64_t max_wait_ms = 10'000;
  // How often a waiting handler looks at the node's status again.
  int64_t poll_ms = 2;
  // Learner promotion (see above).
  int64_t promote_interval_ms = 100;
  uint64_t promote_max_lag = 100;
  // Removal watch (see above).
  int64_t orphan_after_ms = 2'000;
  // When set, a caught-up learner is promoted only once this says yes for
  // its id: replogd makes the log group wait until the member is a voter of
  // the KV group (server/kv_membership.h), so that a member the log group
  // counts as a voter is one in both groups. Called on the promotion thread.
  std::function<bool(raft::NodeId)> may_promote;
  // Credentials of the service's own calls to other members (the removal
  // watch, telling a removed member); nullptr: insecure.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

class ClusterService final : public replog::v1::Cluster::Service {
 public:
  // `node`, `storage` (the node's) and `clock` must outlive the service.
  // `on_removed` is called when the leader says this member was removed
  // (NotifyRemoved). Starts the promotion thread.
  ClusterService(raft::Node& node, const raft::DurableStorage& storage, std::string advertise_address,
                 common::Clock& clock, std::function<void()> on_removed, ClusterServiceOptions options = {});
  // Stop(), then frees.
  ~ClusterService() override;
  // Stops the promotion thread (waits for a promotion in flight). Call before
  // the node shuts down. Idempotent.
  void Stop();

  grpc::Status MemberStatus(grpc::ServerContext* ctx, const replog::v1::MemberStatusRequest* req,
                            replog::v1::MemberStatusResponse* resp) override;
  grpc::Status TransferLeadership(grpc::ServerContext* ctx, const replog::v1::TransferLeadershipRequest* req,
                                  replog::v1::TransferLeadershipResponse* resp) override;
  grpc::Status RemoveMember(grpc::ServerContext* ctx, const replog::v1::RemoveMemberRequest* req,
                            replog::v1::RemoveMemberResponse* resp) override;
  grpc::Status AddMember(grpc::ServerContext* ctx, const replog::v1::AddMemberRequest* req,
                         replog::v1::AddMemberResponse* resp) override;
  grpc::Status NotifyRemoved(grpc::ServerContext* ctx, const replog::v1::NotifyRemovedRequest* req,
                             replog::v1::NotifyRemovedResponse* resp) override;

 private:
  // The leader's status, or UNAVAILABLE with the hint (set on ctx).
  grpc::Status LeaderStatus(grpc::ServerContext* ctx, raft::NodeStatus* st) const;
  // When the wait of a call started now must end (Clock::NowNanos()).
  int64_t WaitDeadline(const grpc::ServerContext* ctx) const;
  // options_.credentials, or insecure ones.
  std::shared_ptr<grpc::ChannelCredentials> Credentials() const;
  // Hands leadership to `to` and waits until another member leads.
  grpc::Status Transfer(grpc::ServerContext* ctx, raft::NodeId to, raft::NodeStatus* after);
  // Tells the removed member at `address` to stop (best effort, logged).
  void TellRemoved(raft::NodeId id, const std::string& address, uint64_t term) const;
  // Removes `id` through Raft and waits for the change (the caller checked
  // that `id` is a member other than this leader).
  grpc::Status Remove(grpc::ServerContext* ctx, raft::NodeId id, raft::NodeStatus* after);
  // Fills AddMember's answer from `st` and the storage's base configuration.
  grpc::Status AnswerAdded(const raft::NodeStatus& st, replog::v1::AddMemberResponse* resp) const;
  void PromoteLoop();
  // One look at the learners; proposes the first caught-up one.
  void PromoteOnce();
  // The removal watch's step; true when this member was found removed.
  bool FoundRemoved(const raft::NodeStatus& st);

  raft::Node& node_;
  const raft::DurableStorage& storage_;
  const std::string advertise_address_;
  common::Clock& clock_;
  std::function<void()> on_removed_;
  const ClusterServiceOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread promoter_;
  // Removal watch state (promoter thread only).
  int64_t leaderless_since_ns_ = -1;
  int64_t next_ask_ns_ = 0;
  bool removed_ = false;
};

}  // namespace cluster
