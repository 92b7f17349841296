#pragma once

// `replog cluster status` output (docs/cluster.md): a table for people and
// one JSON object for machines.

#include <string>

#include "client/cluster_admin.h"

namespace replog::cli {

// One line per member, the leader marked with '*'; MATCH and LAG are the
// leader's view ("-" when it gave none, e.g. no leader answered):
//   ID  ADDRESS         ROLE      TERM  COMMIT  APPLIED  MATCH  LAG  LEADER
//   1   127.0.0.1:7001  leader    2     120     120      120    0    *
//   2   127.0.0.1:7002  follower  2     120     119      120    0
//   3   127.0.0.1:7003  -         unreachable: connection refused
std::string FormatClusterStatusTable(const ClusterStatus& status);
// {"leader_id":1,"members":[{"id":1,"address":"..","reachable":true,"role":"leader","term":2,
//   "commit_index":120,"applied_index":120,"first_index":1,"last_index":120,"match_index":120,"lag":0},
//   {"id":3,"address":"..","reachable":false,"error":"..."}]}
std::string FormatClusterStatusJson(const ClusterStatus& status);

}  // namespace replog::cli
