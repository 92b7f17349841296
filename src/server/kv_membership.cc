#include "server/kv_membership.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/log.h"

namespace server {

namespace {

std::map<raft::NodeId, bool> VotersOf(const raft::NodeStatus& st) {
  std::map<raft::NodeId, bool> out;
  for (const raft::Member& m : raft::MembersOf(st)) out[m.id] = m.voter;
  return out;
}

}  // namespace

bool ReadyForLogPromotion(const raft::Node& kv_node, raft::NodeId id) {
  const raft::ConfState cs = kv_node.GetStatus().conf_state;
  if (cs.voters.empty()) return true;
  return std::find(cs.voters.begin(), cs.voters.end(), id) != cs.voters.end();
}

KvMembership::KvMembership(raft::Node& log_node, raft::Node& kv_node, KvMembershipOptions options)
    : log_node_(log_node), kv_node_(kv_node), options_(options) {}

void KvMembership::Start() {
  thread_.Start("kv-members", options_.check_ms, [this] {
    std::string done = ReconcileOnce();
    if (!done.empty()) common::log::Info({"kv", kv_node_.GetStatus().term}, "kv membership: {}", done);
  });
}

void KvMembership::Stop() {
  stopping_.store(true);
  thread_.Stop();
}

std::string KvMembership::ReconcileOnce() {
  const raft::NodeStatus kv = kv_node_.GetStatus();
  if (kv.role != raft::Role::kLeader || !kv.conf_state.voters_outgoing.empty()) return "";
  const raft::NodeStatus log = log_node_.GetStatus();
  const std::map<raft::NodeId, bool> want = VotersOf(log);
  const std::map<raft::NodeId, bool> have = VotersOf(kv);

  raft::ConfChange cc;
  std::map<raft::NodeId, std::string> addresses;
  std::string what;
  for (const auto& [id, voter] : want) {
    if (have.contains(id) || !log.peers.contains(id)) continue;
    cc.changes.push_back({raft::ConfChangeType::kAddLearner, id});
    addresses[id] = log.peers.at(id);
    what = "add member " + std::to_string(id) + " at " + log.peers.at(id) + " as a learner";
    break;
  }
  for (const auto& [id, voter] : have) {
    if (!cc.changes.empty()) break;
    const auto it = want.find(id);  // a learner of the log group too: it waits for this
    const auto progress = kv.progress.find(id);
    if (!voter && it != want.end() && progress != kv.progress.end() &&
        progress->second.match + options_.max_lag >= kv.commit) {
      cc.changes.push_back({raft::ConfChangeType::kAddVoter, id});
      what = "promote member " + std::to_string(id) + " to voter";
    }
  }
  const bool log_caught_up = log.leader != raft::kNoNode && log.applied >= log.commit;
  for (const auto& [id, voter] : have) {
    if (!cc.changes.empty() || !log_caught_up) break;
    if (want.contains(id) || id == kv.id) continue;  // a removed leader is stopped by its server
    cc.changes.push_back({raft::ConfChangeType::kRemove, id});
    what = "remove member " + std::to_string(id);
  }
  if (cc.changes.empty()) return "";
  std::future<common::Status> change =
      kv_node_.ChangeMembership(std::move(cc), std::move(addresses), options_.change_timeout_ms * 1'000'000);
  // A member that shuts down does not wait for the outcome (Stop): the
  // change commits or not without this thread, and the KV leader that
  // follows reconciles again.
  while (change.wait_for(std::chrono::milliseconds(kStopPollMs)) != std::future_status::ready) {
    if (stopping_.load()) return what + ": outcome not awaited (stopping)";
  }
  const common::Status s = change.get();
  return what + (s.ok() ? ": done" : ": " + s.ToString());
}

}  // namespace server
