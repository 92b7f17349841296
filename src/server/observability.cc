#include "server/observability.h"

#include <algorithm>
#include <utility>

namespace server {

using common::Status;

namespace {

struct RoleLabel {
  raft::Role role;
  const char* name;
};
constexpr RoleLabel kRoles[] = {{raft::Role::kFollower, "follower"},
                                {raft::Role::kPreCandidate, "precandidate"},
                                {raft::Role::kCandidate, "candidate"},
                                {raft::Role::kLeader, "leader"}};

bool Contains(const std::vector<raft::NodeId>& ids, raft::NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool InConfiguration(const raft::ConfState& cs, raft::NodeId id) {
  return Contains(cs.voters, id) || Contains(cs.learners, id) || Contains(cs.voters_outgoing, id) ||
         Contains(cs.learners_next, id);
}

}  // namespace

Observability::Observability(metrics::Registry& registry, raft::Node& log_node, std::string log_group,
                             raft::Node& kv_node, std::string kv_group, ObservabilityOptions options)
    : registry_(registry),
      log_{log_node, std::move(log_group)},
      kv_{kv_node, std::move(kv_group)},
      options_(std::move(options)) {
  collector_ = registry_.AddCollector([this](metrics::SampleWriter& w) {
    Collect(log_, w);
    Collect(kv_, w);
  });
}

Observability::~Observability() { Stop(); }

Status Observability::Start() {
  if (options_.listen_address.empty()) return Status::Ok();
  http_ = std::make_unique<metrics::MetricsHttpServer>(registry_, [this] { return Ready(); });
  return http_->Start(options_.listen_address);
}

void Observability::Stop() {
  if (http_) http_->Stop();
  if (collector_ != 0) registry_.RemoveCollector(collector_);
  collector_ = 0;
}

void Observability::Collect(const Group& g, metrics::SampleWriter& w) {
  const raft::NodeStatus st = g.node.GetStatus();
  const metrics::Labels group = {{"group", g.name}};
  for (const RoleLabel& r : kRoles) {
    w.Gauge("replog_raft_role", "1 for this member's Raft role in the group, 0 for the others.",
            {{"group", g.name}, {"role", r.name}}, st.role == r.role ? 1 : 0);
  }
  w.Gauge("replog_raft_node_id", "This member's id.", group, static_cast<double>(st.id));
  w.Gauge("replog_raft_leader_id", "The leader this member knows (0: none).", group, static_cast<double>(st.leader));
  w.Gauge("replog_raft_term", "Current Raft term.", group, static_cast<double>(st.term));
  w.Gauge("replog_raft_commit_index", "Highest log index this member knows committed.", group,
          static_cast<double>(st.commit));
  w.Gauge("replog_raft_applied_index", "Highest log index applied to the state machine.", group,
          static_cast<double>(st.applied));
  w.Gauge("replog_raft_last_index", "Last index of this member's log.", group, static_cast<double>(st.last_index));
  w.Gauge("replog_raft_first_index", "First index still in this member's log.", group,
          static_cast<double>(st.first_index));
  w.Gauge("replog_raft_stopped", "1 when the group's node stopped after an error it cannot go on from.", group,
          st.error.ok() ? 0 : 1);
  if (st.role != raft::Role::kLeader) return;
  for (const auto& [peer, pr] : st.progress) {
    if (peer == st.id) continue;
    const metrics::Labels labels = {{"group", g.name}, {"peer", std::to_string(peer)}};
    w.Gauge("replog_raft_follower_match_index",
            "On the leader: the highest index known durable on each follower.", labels,
            static_cast<double>(pr.match));
    w.Gauge("replog_raft_follower_lag_entries", "On the leader: its last index minus each follower's match index.",
            labels, static_cast<double>(st.last_index - std::min(st.last_index, pr.match)));
  }
}

Status Observability::GroupReady(const Group& g, const raft::NodeStatus& st) const {
  if (!st.error.ok()) return common::UnavailableError("group " + g.name + " stopped: " + st.error.ToString());
  if (st.leader == raft::kNoNode) return common::UnavailableError("group " + g.name + ": no leader known");
  if (st.applied + options_.ready_max_lag_entries < st.commit) {
    return common::UnavailableError("group " + g.name + ": applied index " + std::to_string(st.applied) +
                                    " trails commit index " + std::to_string(st.commit) + " by more than " +
                                    std::to_string(options_.ready_max_lag_entries));
  }
  return Status::Ok();
}

Status Observability::Ready() const {
  const raft::NodeStatus log = log_.node.GetStatus();
  RETURN_IF_ERROR(GroupReady(log_, log));
  if (!InConfiguration(log.conf_state, log.id)) {
    return common::UnavailableError("not a member of group " + log_.name + "'s configuration");
  }
  return GroupReady(kv_, kv_.node.GetStatus());
}

}  // namespace server
