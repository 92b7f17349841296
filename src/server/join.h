#pragma once

// Joining a running cluster (replogd --join, docs/cluster.md): asks its
// members to add this member as a learner (replog.v1.Cluster/AddMember).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/security/credentials.h>

#include "common/status.h"
#include "raft/core/types.h"

namespace server {

struct JoinAnswer {
  std::map<uint64_t, std::string> members;  // id -> address, this member included
  raft::ConfState base;                     // the configuration at the base of the leader's log
  uint64_t leader = 0;
};

// Asks `addresses` in turn for AddMember(id, address, replace), following
// leader hints, and retries what a member could not do yet (no leader) with
// backoff until `timeout_ms` passes. `credentials`: the member's TLS
// (nullptr: insecure). Errors: the cluster's refusal as it came
// (kAlreadyExists, kInvalidArgument, kPermissionDenied, ...),
// kPermissionDenied too when a TLS handshake failed (certificates the other side does not trust:
// retrying would not help), or kUnavailable naming the last failure when no
// leader took the request in time.
common::Result<JoinAnswer> JoinCluster(const std::vector<std::string>& addresses, uint64_t id,
                                       const std::string& address, bool replace, int64_t timeout_ms,
                                       const std::shared_ptr<grpc::ChannelCredentials>& credentials);

// Asks `addresses` (following hints to the KV group's leader, retrying as
// JoinCluster does) to remove member `id` from the KV group
// (replog.v1.KV/RemoveMember). A member joining with an empty data
// directory calls it for itself first: the KV group must not keep counting
// a wiped member as the voter it was. Returns whether it was a member.
// Errors as JoinCluster's.
common::Result<bool> LeaveKvGroup(const std::vector<std::string>& addresses, uint64_t id, int64_t timeout_ms,
                                  const std::shared_ptr<grpc::ChannelCredentials>& credentials);

}  // namespace server
