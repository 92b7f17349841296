#pragma once

// KV calls for the cluster tests (replog.v1.KV on real replogd members),
// made with raw gRPC stubs so that the tests see every attempt's outcome.
//
// Threads: every function may be called from any thread (Cluster::Channel
// is thread-safe); the Cluster must outlive the calls.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster_harness.h"
#include "common/status.h"
#include "replog/v1/kv.grpc.pb.h"

namespace cluster_testing {

std::unique_ptr<replog::v1::KV::Stub> KvStub(Cluster& cluster, uint64_t id);

// Member `id`'s view of the KV group.
common::Result<replog::v1::KvStatusResponse> KvStatus(Cluster& cluster, uint64_t id, int64_t timeout_ms = 1'000);

// The KV group's leader, once every member of `ids` (every member when
// empty) names it in its status (a follower that has not heard from it yet
// would answer without a hint); 0 when they do not agree within
// `timeout_ms`.
uint64_t KvLeader(Cluster& cluster, const std::vector<uint64_t>& ids = {}, int64_t timeout_ms = 10'000);

// Puts key = value through the KV group's leader: asks the members in turn,
// follows leader hints and tries again on any failure until `timeout_ms`
// passes. Returns the write's revision. A retry after an unknown outcome may
// apply the put twice, which a test writing distinct keys does not mind.
// `leader`, when given, is where to ask first, and is set to the member that
// answered (a caller that writes again keeps it: a dead member in front of
// the list costs an attempt's timeout every time).
common::Result<uint64_t> KvPut(Cluster& cluster, const std::string& key, const std::string& value,
                               int64_t timeout_ms = 10'000, std::string* leader = nullptr);

// A LOCAL read of `key` on member `id`: its value, or nullopt when absent.
common::Result<std::optional<std::string>> KvGetLocal(Cluster& cluster, uint64_t id, const std::string& key);

// Every key and value member `id` holds (LOCAL scans of up to 10,000 keys).
common::Result<std::map<std::string, std::string>> KvDump(Cluster& cluster, uint64_t id);

// Waits until every member of `ids` reports the same applied index and the
// same map hash (and is a voter of the KV group), and returns member
// ids[0]'s status then. kDeadlineExceeded with the last statuses seen.
common::Result<replog::v1::KvStatusResponse> WaitSameKvState(Cluster& cluster, const std::vector<uint64_t>& ids,
                                                             int64_t timeout_ms);

}  // namespace cluster_testing
