#pragma once

// KvMembership: keeps the KV group's configuration following the log
// group's (docs/kv.md, "Membership"). Members join and leave through the
// log group (replog.v1.Cluster: AddMember, RemoveMember, promotion); the KV
// group, a second Raft group in the same processes, follows: every
// check_ms, the member that leads the KV group compares the two
// configurations as it knows them and proposes one change to the KV group:
//   1. a member of the log group (voter or learner) missing from the KV
//      group is added to it as a learner, with its address;
//   2. a KV learner that is a member of the log group is promoted once its
//      match index is within max_lag entries of the KV commit index. The log
//      group promotes a learner only once it is a KV voter
//      (ReadyForLogPromotion, ClusterServiceOptions::may_promote), so that a
//      member the log group counts as a voter is one in both groups: a
//      cluster that loses a member right after another joined keeps a KV
//      quorum too;
//   3. a KV member that the log group no longer has is removed, but only
//      while this member's log group is caught up (it knows a leader and
//      applied its whole commit index), so that a log view that merely lags
//      behind a join does not remove the joiner.
// A joined member's KV storage starts empty (not bootstrapped): it is sent
// the KV leader's snapshot, since the KV log always begins after index 1
// (DurableStorage::BootstrapAt).
//
// Threads: one of its own ("kv-members"); a change blocks it until applied
// or timed out, or until Stop.

#include <atomic>
#include <cstdint>
#include <string>

#include "common/periodic.h"
#include "raft/node/node.h"

namespace server {

struct KvMembershipOptions {
  int64_t check_ms = 200;
  uint64_t max_lag = 100;
  int64_t change_timeout_ms = 5'000;
};

// Whether the log group may promote member `id`: it is a voter of the KV
// group as `kv_node` knows it, or this member knows no KV group (a data
// directory from before the KV store).
bool ReadyForLogPromotion(const raft::Node& kv_node, raft::NodeId id);

class KvMembership {
 public:
  // Both nodes must outlive it.
  KvMembership(raft::Node& log_node, raft::Node& kv_node, KvMembershipOptions options = {});
  ~KvMembership() { Stop(); }

  void Start();
  // Returns within 20 ms (kStopPollMs) once the thread's call has returned; a change
  // in flight is left to the KV node, its outcome not awaited (a member
  // that shuts down, removed from the cluster, must not wait
  // change_timeout_ms for a KV group that lost its leader). Call before
  // either node shuts down. Idempotent.
  void Stop();

  // One look (what the thread does every check_ms): the change it proposed
  // and its outcome ("" when none was needed or this member does not lead
  // the KV group).
  std::string ReconcileOnce();

 private:
  static constexpr int64_t kStopPollMs = 20;

  raft::Node& log_node_;
  raft::Node& kv_node_;
  const KvMembershipOptions options_;
  std::atomic<bool> stopping_{false};
  common::Periodic thread_;
};

}  // namespace server
