#pragma once

// The RPC edge: common::Status -> grpc::Status (same code numbers), with the
// leader hint a client needs to retry elsewhere, as DESIGN §4 asks: an
// UNAVAILABLE answer from a member carries trailing metadata
// "replog-leader-id" (0 when no leader is known: the member answered, so
// nothing was proposed) and "replog-leader-address" when a leader is known.

#include <string>

#include <grpcpp/grpcpp.h>

#include "common/status.h"
#include "raft/node/node.h"

namespace logservice {

inline constexpr char kLeaderIdKey[] = "replog-leader-id";
inline constexpr char kLeaderAddressKey[] = "replog-leader-address";

grpc::Status ToGrpc(const common::Status& s);

// ToGrpc, plus the leader hint on `ctx` when `s` is kUnavailable.
grpc::Status ToGrpcWithHint(const common::Status& s, const raft::LeaderHint& hint, grpc::ServerContextBase* ctx);

}  // namespace logservice
