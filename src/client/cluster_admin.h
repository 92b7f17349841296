#pragma once

// ClusterAdmin: the client side of replog.v1.Cluster (cluster.proto,
// docs/cluster.md), for `replog cluster`. It takes the members from a
// Client's view (Client::Servers()) and calls them directly.
//
// Errors are common::Status with the gRPC code kept and a message naming the
// member. Calls that must reach the leader follow the leader hint of an
// UNAVAILABLE answer, up to a few hops, within `deadline_ms`.
//
// Threads: one call at a time per ClusterAdmin; the Client must outlive it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/status.h"

namespace replog {

struct MemberInfo {
  uint64_t id = 0;
  std::string address;
  bool voter = true;
  bool has_match = false;  // the leader's view only
  uint64_t match_index = 0;
  uint64_t lag = 0;
};

// One member's own view (MemberStatus).
struct MemberStatus {
  uint64_t id = 0;
  std::string address;
  std::string role;  // "leader", "follower", "candidate", "learner"
  uint64_t term = 0;
  uint64_t leader_id = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  std::vector<MemberInfo> members;
  std::string error;  // the member's own error, "" while healthy
};

// What `replog cluster status` shows: every member of the view, answered or
// not, and the leader's view of the others' progress.
struct ClusterStatus {
  struct Row {
    uint64_t id = 0;
    std::string address;
    std::optional<MemberStatus> status;  // nullopt: no answer
    std::string unreachable;             // why, when no answer
  };
  std::vector<Row> rows;
  uint64_t leader_id = 0;
  std::optional<MemberStatus> leader;  // the leader's own answer, when it gave one
};

class ClusterAdmin {
 public:
  ClusterAdmin(Client& client, int64_t deadline_ms);

  // Asks every member of the view (refreshed first) for its status.
  // kUnavailable when no member could be asked for the view.
  common::Result<ClusterStatus> Status();
  // Moves leadership to `to` (0: the most up-to-date voter); returns the new
  // leader's id. Codes of cluster.proto's TransferLeadership.
  common::Result<uint64_t> Transfer(uint64_t to);
  // Removes member `id`; returns the configuration after it.
  common::Result<std::vector<MemberInfo>> Remove(uint64_t id);

 private:
  int64_t NowMs() const;

  Client& client_;
  const int64_t deadline_ms_;
};

}  // namespace replog
