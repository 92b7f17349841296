#pragma once

// The leader's view of the cluster's configuration (ClusterAdmin::Status),
// for the tests that add, remove or replace members.
//
// Threads: the thread that owns `cluster` and `admin`.

#include <cstdint>
#include <functional>
#include <vector>

#include "client/cluster_admin.h"
#include "cluster_harness.h"

namespace cluster_testing {

using MemberList = std::vector<replog::MemberInfo>;

// Asks for the leader's member list every 50 ms until it has no learner and
// `done` holds for it; returns it (empty after `timeout_ms`).
MemberList WaitLeaderMembers(Cluster& cluster, replog::ClusterAdmin& admin,
                             const std::function<bool(const MemberList&)>& done, int64_t timeout_ms = 20'000);

// The ids of the voters among `members`, sorted.
std::vector<uint64_t> VoterIds(const MemberList& members);

}  // namespace cluster_testing
