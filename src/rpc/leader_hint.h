#pragma once

// The leader hint on the wire (DESIGN §4): a member that cannot serve a
// request because it is not the leader answers UNAVAILABLE with trailing
// metadata "replog-leader-id" (always present; 0 when no leader is known)
// and "replog-leader-address" (when a leader is known). The id tells a client
// that a member, not the network, answered: nothing was proposed. Every
// service of replogd (replog.v1.Log, replog.v1.Cluster) writes it with
// ToGrpcWithHint; the client library and a joining member read it with
// ReadLeaderHint.
//
// Threads: plain functions; the contexts are the caller's.

#include <cstdint>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "common/status.h"

namespace rpc {

inline constexpr char kLeaderIdKey[] = "replog-leader-id";
inline constexpr char kLeaderAddressKey[] = "replog-leader-address";

// common::Status -> grpc::Status (the codes have the same numbers).
grpc::Status ToGrpc(const common::Status& s);

// ToGrpc, plus the leader hint on `ctx` when `s` is kUnavailable.
grpc::Status ToGrpcWithHint(const common::Status& s, uint64_t leader_id, std::string_view leader_address,
                            grpc::ServerContextBase* ctx);
// The same with a hint that has `id` and `address` (raft::LeaderHint).
template <typename Hint>
grpc::Status ToGrpcWithHint(const common::Status& s, const Hint& hint, grpc::ServerContextBase* ctx) {
  return ToGrpcWithHint(s, hint.id, hint.address, ctx);
}

// The same for a request on a pipelined stream (ProduceResponse,
// KvWriteResponse, KvReadResponse: error_code, error_message, leader_id,
// leader_address), whose error goes in its response's fields.
template <typename Hint, typename Response>
void SetStreamedError(const common::Status& s, const Hint& hint, Response* resp) {
  resp->set_error_code(static_cast<int>(s.code()));
  resp->set_error_message(s.message());
  if (s.code() == common::Code::kUnavailable) {
    resp->set_leader_id(hint.id);
    resp->set_leader_address(hint.address);
  }
}

// UNAVAILABLE "this member is shutting down", with a hint of no leader (a
// member answered: nothing was done), for a service refusing calls as the
// member stops.
grpc::Status ShuttingDown(grpc::ServerContextBase* ctx);
// The same naming the leader of `hint` (raft::LeaderHint), so that a client
// goes straight there. Pass StoppingHint's.
template <typename Hint>
grpc::Status ShuttingDown(grpc::ServerContextBase* ctx, const Hint& hint) {
  return ToGrpcWithHint(common::UnavailableError("this member is shutting down"), hint, ctx);
}
// The hint a stopping member gives: its node's `hint` (after a hand-over,
// the member that took over), or none when that names `self`.
template <typename Hint>
Hint StoppingHint(Hint hint, uint64_t self) {
  return hint.id == self ? Hint{} : hint;
}

// What a client reads back.
struct LeaderHint {
  // A replog key was in the trailing metadata: a member, not gRPC, answered.
  bool from_member = false;
  uint64_t id = 0;      // 0: none known
  std::string address;  // "": none known
};

// The hint in `ctx`'s trailing metadata. Call after the RPC finished.
LeaderHint ReadLeaderHint(const grpc::ClientContext& ctx);

}  // namespace rpc
