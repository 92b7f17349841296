#pragma once

// Checks the cluster tests make on the members' logs: that every member
// holds the same records at the same offsets, and that every acknowledged
// produce is where its acknowledgement said.
//
// Threads: any; no shared state.

#include <cstdint>
#include <string>
#include <vector>

#include "cluster_harness.h"
#include "common/status.h"

namespace cluster_testing {

// One acknowledged record: the value a producer sent and the offset it got.
struct Ack {
  std::string value;
  uint64_t offset = 0;
  // The produce call said an earlier attempt had an unknown outcome, so the
  // value may also be in the log elsewhere.
  bool retried_after_unknown_outcome = false;
};

// Reads the log of every member in `ids` from offset `from` (0: each one's
// first retained offset) through offset `through` and compares them. Returns the (common) log; kFailedPrecondition when a member
// cannot be read that far, kDataLoss naming the first offset where two
// members differ.
common::Result<std::vector<LogRecord>> ReadIdenticalLogs(Cluster& cluster, const std::vector<uint64_t>& ids,
                                                         uint64_t through, uint64_t from = 0);

// Waits up to `timeout_ms` until every member in `ids` has committed through
// `at_least`, then reads their logs through the lowest offset all of them
// have committed (so records past the last acknowledged one are read too)
// and compares them as ReadIdenticalLogs does. kDeadlineExceeded when a
// member stays behind.
common::Result<std::vector<LogRecord>> ReadCommittedLogs(Cluster& cluster, const std::vector<uint64_t>& ids,
                                                         uint64_t at_least, int64_t timeout_ms);

// Describes each ack whose offset does not hold its value in `log` (at most
// `limit` descriptions, then a count of the rest); empty when all are there.
std::vector<std::string> MissingAcks(const std::vector<LogRecord>& log, const std::vector<Ack>& acks,
                                     size_t limit = 20);

// Describes each value that `log` holds more than once, with its offsets
// (at most `limit` descriptions, then a count of the rest); empty when every
// value is there once. The clients produce exactly-once, so even a produce
// retried after an unknown outcome must leave one copy.
std::vector<std::string> RepeatedValues(const std::vector<LogRecord>& log, size_t limit = 20);

// The largest offset among `acks` (0 when none).
uint64_t MaxOffset(const std::vector<Ack>& acks);

}  // namespace cluster_testing
