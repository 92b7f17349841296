#pragma once

// Helpers shared by the client's .cc files. Internal to the client library.

#include <cstdint>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/status.h"

namespace replog {

// Leader hints a write (produce or KV) follows in a row without waiting;
// more means members point at each other (a view in flux), and backoff is
// due.
inline constexpr int kMaxHintHops = 3;
// New lanes one write may take after FAILED_PRECONDITION (the server forgot
// the producer or KV client); a refusal of a new lane's sequence 0 would be
// a bug.
inline constexpr int kMaxLaneRenewals = 1;

// Sets a deadline `timeout_ns` from now on `ctx` (at least 1 ms).
void SetTimeout(grpc::ClientContext* ctx, int64_t timeout_ns);

// The connection settings Client and KvClient share (ClientOptions).
struct ConnectionLimits {
  const std::vector<std::string>& bootstrap_addresses;
  int64_t deadline_ms = 0;
  int64_t attempt_timeout_ms = 0;
  int64_t discovery_timeout_ms = 0;
  int64_t initial_backoff_ms = 0;
  int64_t max_backoff_ms = 0;
};

// kInvalidArgument naming what is wrong: no or an empty bootstrap address,
// a deadline or timeout not in (0, 1 day], backoff not positive or max <
// initial.
common::Status ValidateConnection(const ConnectionLimits& limits);

}  // namespace replog
