#include "client/discovery_round.h"

#include <algorithm>

#include "client/client_internal.h"
#include "client/convert.h"
#include "client/members.h"
#include "replog/v1/log.grpc.pb.h"

namespace replog {

DiscoveryRound::DiscoveryRound(Members& members, int64_t deadline_ns, int64_t call_timeout_ns)
    : members_(members),
      deadline_ns_(deadline_ns),
      call_timeout_ns_(call_timeout_ns),
      order_(members.DiscoveryOrder()) {}

std::optional<DiscoveryRound::Call> DiscoveryRound::Next(int64_t now_ns) {
  const int64_t remaining = deadline_ns_ - now_ns;
  if (found_leader_ || next_ >= order_.size() || remaining <= 0) return std::nullopt;
  return Call{order_[next_], std::min(remaining, call_timeout_ns_)};
}

void DiscoveryRound::OnAnswer(const grpc::Status& status, const v1::GetServersResponse& response) {
  const std::string& address = order_[next_++];
  if (!status.ok()) {
    errors_ += (errors_.empty() ? "" : "; ") + address + ": " + status.error_message();
    return;
  }
  ClusterView view = FromProto(response, address);
  members_.Update(view);
  answered_ = true;
  found_leader_ = !view.LeaderAddress().empty();
}

common::Status DiscoveryRound::Finish() const {
  if (answered_) return common::Status::Ok();
  std::string errors = errors_.empty() ? "deadline passed before any member was asked" : errors_;
  return common::UnavailableError("no member answered GetServers (" + errors + ")");
}

common::Status DiscoverBlocking(Members& members, common::Clock& clock, int64_t deadline_ns,
                                int64_t call_timeout_ns) {
  DiscoveryRound round(members, deadline_ns, call_timeout_ns);
  while (std::optional<DiscoveryRound::Call> call = round.Next(clock.NowNanos())) {
    auto stub = v1::Log::NewStub(members.Connected(call->address, call->timeout_ns));
    grpc::ClientContext ctx;
    SetTimeout(&ctx, call->timeout_ns);
    v1::GetServersResponse response;
    grpc::Status gs = stub->GetServers(&ctx, v1::GetServersRequest(), &response);
    round.OnAnswer(gs, response);
  }
  return round.Finish();
}

}  // namespace replog
