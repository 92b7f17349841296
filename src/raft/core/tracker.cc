#include "raft/core/tracker.h"

namespace raft {
namespace {

std::vector<NodeId> ToVector(const std::set<NodeId>& s) { return {s.begin(), s.end()}; }

}  // namespace

ConfState TrackerConfig::ToConfState() const {
  ConfState cs;
  cs.voters = ToVector(voters.incoming.ids());
  cs.voters_outgoing = ToVector(voters.outgoing.ids());
  cs.learners = ToVector(learners);
  cs.learners_next = ToVector(learners_next);
  cs.auto_leave = auto_leave;
  return cs;
}

TrackerConfig TrackerConfig::FromConfState(const ConfState& cs) {
  TrackerConfig c;
  c.voters.incoming = MajorityConfig({cs.voters.begin(), cs.voters.end()});
  c.voters.outgoing = MajorityConfig({cs.voters_outgoing.begin(), cs.voters_outgoing.end()});
  c.learners = {cs.learners.begin(), cs.learners.end()};
  c.learners_next = {cs.learners_next.begin(), cs.learners_next.end()};
  c.auto_leave = cs.auto_leave;
  return c;
}

uint64_t ProgressTracker::Committed() const {
  return config.voters.CommittedIndex([this](NodeId id) -> std::optional<uint64_t> {
    auto it = progress.find(id);
    if (it == progress.end()) return std::nullopt;
    return it->second.match;
  });
}

size_t ProgressTracker::granted_count() const {
  size_t n = 0;
  for (const auto& [id, granted] : votes_) n += granted ? 1 : 0;
  return n;
}

size_t ProgressTracker::rejected_count() const { return votes_.size() - granted_count(); }

bool ProgressTracker::QuorumActive(NodeId self) const {
  std::map<NodeId, bool> active;
  for (const auto& [id, pr] : progress) {
    if (pr.learner) continue;
    active[id] = id == self || pr.recent_active;
  }
  return config.voters.Vote(active) == VoteResult::kWon;
}

void ProgressTracker::SyncProgress(uint64_t next_index) {
  std::set<NodeId> members = config.voters.ids();
  members.insert(config.learners.begin(), config.learners.end());
  members.insert(config.learners_next.begin(), config.learners_next.end());
  for (auto it = progress.begin(); it != progress.end();) {
    it = members.contains(it->first) ? std::next(it) : progress.erase(it);
  }
  for (NodeId id : members) {
    auto [it, added] = progress.try_emplace(id, next_index, limits_.max_inflight,
                                            limits_.max_inflight_bytes, false);
    // A new member counts as active so that adding it cannot make the leader
    // step down at the next quorum check.
    if (added) it->second.recent_active = true;
    it->second.learner = !IsVoter(id);
  }
}

}  // namespace raft
