#include "client/members.h"

#include <algorithm>

namespace replog {

namespace {

// `v` rotated left by `by` positions.
std::vector<std::string> Rotated(std::vector<std::string> v, uint64_t by) {
  if (!v.empty()) std::rotate(v.begin(), v.begin() + static_cast<ptrdiff_t>(by % v.size()), v.end());
  return v;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

std::string ClusterView::LeaderAddress() const {
  for (const ServerInfo& s : servers) {
    if (leader_id != 0 && s.id == leader_id) return s.address;
  }
  for (const ServerInfo& s : servers) {
    if (s.is_leader) return s.address;
  }
  return "";
}

Members::Members(std::vector<std::string> bootstrap, int max_receive_bytes, int64_t keepalive_ms,
                 std::shared_ptr<grpc::ChannelCredentials> credentials)
    : bootstrap_(std::move(bootstrap)),
      max_receive_bytes_(max_receive_bytes),
      keepalive_ms_(keepalive_ms),
      credentials_(credentials ? std::move(credentials) : grpc::InsecureChannelCredentials()) {}

std::shared_ptr<grpc::Channel> Members::Channel(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = channels_.find(address);
  if (it != channels_.end()) return it->second;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_receive_bytes_);
  // Each Client its own connections (a benchmark's clients are independent).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // gRPC waits 1 s and more before reconnecting by default; a restarted
  // member should be usable sooner.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  // Also the time a connection attempt may take: at 100 ms a loaded machine
  // cut attempts short ("tcp handshaker shutdown") over and over.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (keepalive_ms_ > 0) {
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(keepalive_ms_));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(keepalive_ms_));
    args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  }
  auto channel = grpc::CreateCustomChannel(address, credentials_, args);
  channels_.emplace(address, channel);
  return channel;
}

std::shared_ptr<grpc::Channel> Members::Connected(const std::string& address, int64_t timeout_ns) {
  std::shared_ptr<grpc::Channel> channel = Channel(address);
  const gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
  const gpr_timespec deadline =
      gpr_time_add(now, gpr_time_from_nanos(std::max<int64_t>(timeout_ns, 0), GPR_TIMESPAN));
  // In TRANSIENT_FAILURE the next connection attempt is due after gRPC's
  // backoff, but its timer fires only while something polls: wait a moment
  // once, so that a member that came back is tried now. A member still down
  // costs that moment, then the call fails at once.
  const gpr_timespec failure_wait = gpr_time_min(deadline, gpr_time_add(now, gpr_time_from_millis(50, GPR_TIMESPAN)));
  bool waited_in_failure = false;
  grpc_connectivity_state state = channel->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      if (waited_in_failure) break;
      waited_in_failure = true;
      if (!channel->WaitForStateChange(state, failure_wait)) break;
    } else if (!channel->WaitForStateChange(state, deadline)) {
      break;
    }
    state = channel->GetState(/*try_to_connect=*/true);
  }
  return channel;
}

void Members::Update(const ClusterView& view) {
  std::lock_guard lock(mu_);
  view_ = view;
  leader_address_ = view.LeaderAddress();
}

ClusterView Members::view() const {
  std::lock_guard lock(mu_);
  return view_;
}

std::string Members::leader_address() const {
  std::lock_guard lock(mu_);
  return leader_address_;
}

void Members::SetLeader(uint64_t id, const std::string& address) {
  std::lock_guard lock(mu_);
  leader_address_ = address;
  if (id == 0) return;
  view_.leader_id = id;
  for (ServerInfo& s : view_.servers) {
    s.is_leader = s.id == id;
    if (s.is_leader) s.role = "leader";
    else if (s.role == "leader") s.role = "follower";
  }
}

void Members::ForgetLeader(const std::string& address) {
  std::lock_guard lock(mu_);
  if (leader_address_ == address) leader_address_.clear();
}

std::vector<std::string> Members::MemberAddresses() const {
  std::vector<std::string> out;
  for (const ServerInfo& s : view_.servers) {
    if (!s.address.empty() && !Contains(out, s.address)) out.push_back(s.address);
  }
  return out;
}

void Members::AppendBootstrap(std::vector<std::string>* out) const {
  for (const std::string& a : bootstrap_) {
    if (!Contains(*out, a)) out->push_back(a);
  }
}

std::vector<std::string> Members::DiscoveryOrder() {
  std::lock_guard lock(mu_);
  std::vector<std::string> out = MemberAddresses();
  AppendBootstrap(&out);
  return Rotated(std::move(out), discovery_rr_++);
}

std::vector<std::string> Members::ReadOrder(ReadFrom from) {
  std::lock_guard lock(mu_);
  std::vector<std::string> preferred;
  std::vector<std::string> others;
  for (const std::string& a : MemberAddresses()) {
    bool leader = a == leader_address_;
    bool prefer = from == ReadFrom::kAny || (from == ReadFrom::kFollower) != leader;
    (prefer ? preferred : others).push_back(a);
  }
  std::vector<std::string> out = Rotated(std::move(preferred), read_rr_++);
  out.insert(out.end(), others.begin(), others.end());
  AppendBootstrap(&out);
  return out;
}

}  // namespace replog
