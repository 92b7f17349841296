#include "rpc/leader_hint.h"

#include <charconv>
#include <map>

namespace rpc {

namespace {

// The value of `key` in `md`, or nullptr.
const grpc::string_ref* Find(const std::multimap<grpc::string_ref, grpc::string_ref>& md, const char* key) {
  auto it = md.find(grpc::string_ref(key));
  return it == md.end() ? nullptr : &it->second;
}

}  // namespace

grpc::Status ToGrpc(const common::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(static_cast<int>(s.code())), s.message());
}

grpc::Status ToGrpcWithHint(const common::Status& s, uint64_t leader_id, std::string_view leader_address,
                            grpc::ServerContextBase* ctx) {
  if (s.code() == common::Code::kUnavailable) {
    ctx->AddTrailingMetadata(kLeaderIdKey, std::to_string(leader_id));
    if (!leader_address.empty()) ctx->AddTrailingMetadata(kLeaderAddressKey, std::string(leader_address));
  }
  return ToGrpc(s);
}

grpc::Status ShuttingDown(grpc::ServerContextBase* ctx) {
  return ToGrpcWithHint(common::UnavailableError("this member is shutting down"), 0, "", ctx);
}

LeaderHint ReadLeaderHint(const grpc::ClientContext& ctx) {
  LeaderHint hint;
  const auto& md = ctx.GetServerTrailingMetadata();
  if (const grpc::string_ref* id = Find(md, kLeaderIdKey)) {
    hint.from_member = true;
    uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(id->data(), id->data() + id->size(), v);
    if (ec == std::errc() && ptr == id->data() + id->size()) hint.id = v;
  }
  if (const grpc::string_ref* addr = Find(md, kLeaderAddressKey)) {
    hint.from_member = true;
    hint.address.assign(addr->data(), addr->size());
  }
  return hint;
}

}  // namespace rpc
