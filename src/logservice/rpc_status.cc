#include "logservice/rpc_status.h"

#include <string>

namespace logservice {

grpc::Status ToGrpc(const common::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(s.code())), s.message());
}

grpc::Status ToGrpcWithHint(const common::Status& s, const raft::LeaderHint& hint, grpc::ServerContextBase* ctx) {
  if (s.code() == common::Code::kUnavailable) {
    // Always present, "0" without a leader: it tells the client that this
    // member answered (nothing was proposed), not the network.
    ctx->AddTrailingMetadata(kLeaderIdKey, std::to_string(hint.id));
    if (!hint.address.empty()) ctx->AddTrailingMetadata(kLeaderAddressKey, hint.address);
  }
  return ToGrpc(s);
}

}  // namespace logservice
