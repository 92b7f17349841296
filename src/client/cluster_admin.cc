#include "client/cluster_admin.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <thread>

#include "client/rpc_outcome.h"
#include "replog/v1/cluster.grpc.pb.h"

namespace replog {
namespace {

namespace v1 = ::replog::v1;
using common::Status;

// Leader hints followed by one call before it gives up.
constexpr int kMaxHops = 8;
// Wait before asking again when a member knew no leader.
constexpr int64_t kNoLeaderWaitMs = 50;

std::chrono::system_clock::time_point WallDeadline(int64_t ms_left) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(std::max<int64_t>(ms_left, 1));
}

MemberInfo FromProto(const v1::MemberInfo& m) {
  return MemberInfo{.id = m.id(),
                    .address = m.address(),
                    .voter = m.voter(),
                    .has_match = m.has_match(),
                    .match_index = m.match_index(),
                    .lag = m.lag()};
}

MemberStatus FromProto(const v1::MemberStatusResponse& r) {
  MemberStatus s{.id = r.id(),
                 .address = r.address(),
                 .role = r.role(),
                 .term = r.term(),
                 .leader_id = r.leader_id(),
                 .commit_index = r.commit_index(),
                 .applied_index = r.applied_index(),
                 .first_index = r.first_index(),
                 .last_index = r.last_index(),
                 .members = {},
                 .error = r.error()};
  for (const v1::MemberInfo& m : r.members()) s.members.push_back(FromProto(m));
  return s;
}

std::unique_ptr<v1::Cluster::Stub> StubFor(const Client& client, const std::string& address) {
  return v1::Cluster::NewStub(grpc::CreateChannel(address, client.credentials()));
}

}  // namespace

ClusterAdmin::ClusterAdmin(Client& client, int64_t deadline_ms) : client_(client), deadline_ms_(deadline_ms) {}

int64_t ClusterAdmin::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

common::Result<ClusterStatus> ClusterAdmin::Status() {
  common::Result<ClusterView> view = client_.Servers();
  if (!view.has_value()) return view.error();
  ClusterStatus out;
  out.leader_id = view->leader_id;
  const int64_t end = NowMs() + deadline_ms_;
  for (const ServerInfo& s : view->servers) {
    ClusterStatus::Row row{.id = s.id, .address = s.address, .status = std::nullopt, .unreachable = {}};
    if (s.address.empty()) {
      row.unreachable = "address unknown";
    } else {
      grpc::ClientContext ctx;
      ctx.set_deadline(WallDeadline(std::min<int64_t>(end - NowMs(), 2'000)));
      v1::MemberStatusResponse resp;
      grpc::Status st = StubFor(client_, s.address)->MemberStatus(&ctx, v1::MemberStatusRequest(), &resp);
      if (st.ok()) {
        row.status = FromProto(resp);
        if (resp.role() == "leader") out.leader = row.status;
      } else {
        row.unreachable = st.error_message();
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

// Calls `fn` on the leader, following hints. `fn(stub, ctx)` makes the call.
template <typename Fn>
static Status CallLeader(Client& client, int64_t deadline_ms, const std::string& what, Fn fn) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  auto ms_left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
  };
  common::Result<ClusterView> view = client.Servers();
  if (!view.has_value()) return view.error();
  std::string address = view->LeaderAddress();
  Status last = common::UnavailableError(what + ": no leader known");
  for (int hop = 0; hop < kMaxHops && ms_left() > 0; ++hop) {
    if (address.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kNoLeaderWaitMs));
      view = client.Servers();
      if (view.has_value()) address = view->LeaderAddress();
      continue;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(WallDeadline(ms_left()));
    grpc::Status s = fn(*StubFor(client, address), &ctx);
    if (s.ok()) return Status::Ok();
    const LeaderHint hint = ReadLeaderHint(ctx);
    last = FromGrpc(s, what + " at " + address);
    if (s.error_code() != grpc::StatusCode::UNAVAILABLE || !hint.from_member) return last;
    address = hint.address;  // "" when the member knew no leader: ask again
  }
  return last;
}

common::Result<uint64_t> ClusterAdmin::Transfer(uint64_t to) {
  v1::TransferLeadershipRequest req;
  req.set_to(to);
  v1::TransferLeadershipResponse resp;
  common::Status s = CallLeader(client_, deadline_ms_, "transfer leadership", [&](v1::Cluster::Stub& stub, grpc::ClientContext* ctx) {
    return stub.TransferLeadership(ctx, req, &resp);
  });
  if (!s.ok()) return s;
  return resp.leader_id();
}

common::Result<std::vector<MemberInfo>> ClusterAdmin::Remove(uint64_t id) {
  v1::RemoveMemberRequest req;
  req.set_id(id);
  v1::RemoveMemberResponse resp;
  common::Status s = CallLeader(client_, deadline_ms_, "remove member " + std::to_string(id),
                        [&](v1::Cluster::Stub& stub, grpc::ClientContext* ctx) {
                          return stub.RemoveMember(ctx, req, &resp);
                        });
  if (!s.ok()) return s;
  std::vector<MemberInfo> out;
  for (const v1::MemberInfo& m : resp.members()) out.push_back(FromProto(m));
  return out;
}

}  // namespace replog
