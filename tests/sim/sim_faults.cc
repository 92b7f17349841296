// The simulator's faults: crashes, partitions, pauses, leadership
// transfers, membership changes and snapshots, drawn at random; and the
// liveness setup that leaves some members broken for good.

#include <algorithm>

#include "sim/simulator.h"

namespace sim {

raft::NodeId Simulator::CurrentLeader() const {
  raft::NodeId best = raft::kNoNode;
  uint64_t best_term = 0;
  for (const auto& [id, n] : nodes_) {
    if (n->up() && n->raft().role() == raft::Role::kLeader && n->raft().term() >= best_term) {
      best = id;
      best_term = n->raft().term();
    }
  }
  return best;
}

void Simulator::OnFault() {
  switch (rng_.Below(opt_.liveness ? 3 : 11)) {
    case 0: case 1: FaultPartition(); break;
    case 2: FaultPause(); break;
    case 3: case 4: FaultCrash(); break;
    case 5: FaultTransfer(); break;
    case 6: case 7: FaultConfChange(); break;
    case 8: FaultSnapshot(); break;
    case 10: FaultSlowDisk(); break;
    case 9:
      // Restart the whole cluster at once.
      Trace("fault: restart all");
      for (raft::NodeId id : ids_) CrashNode(id);
      for (raft::NodeId id : ids_) Schedule(now_ + rng_.Range(1, 500) * 1'000'000, Restart{id});
      break;
  }
  Schedule(now_ + rng_.Exponential(knobs_.fault_mean_ns) + 1, FaultEvent{});
}

void Simulator::FaultCrash() {
  raft::NodeId id = rng_.Chance(0.5) && CurrentLeader() != raft::kNoNode ? CurrentLeader() : rng_.Pick(ids_);
  if (opt_.liveness && !broken_.contains(id)) return;
  Trace("fault: crash " + std::to_string(id));
  CrashNode(id);
  Schedule(now_ + rng_.Range(1, 2000) * 1'000'000, Restart{id});
}

void Simulator::FaultPartition() {
  if (opt_.liveness) return;  // links of the healthy core stay up
  blocked_.clear();
  ++link_generation_;
  std::string what;
  switch (rng_.Below(4)) {
    case 0: {  // isolate one node (often the leader)
      raft::NodeId a = rng_.Chance(0.5) && CurrentLeader() != raft::kNoNode ? CurrentLeader() : rng_.Pick(ids_);
      for (raft::NodeId b : ids_) {
        if (b != a) blocked_.insert({a, b}), blocked_.insert({b, a});
      }
      what = "isolate " + std::to_string(a);
      break;
    }
    case 1: {  // random split into two sides
      std::set<raft::NodeId> side;
      for (raft::NodeId id : ids_) {
        if (rng_.Chance(0.5)) side.insert(id);
      }
      for (raft::NodeId a : ids_) {
        for (raft::NodeId b : ids_) {
          if (side.contains(a) != side.contains(b)) blocked_.insert({a, b});
        }
      }
      what = "split";
      break;
    }
    case 2: {  // one-way: a cannot hear from the others (but they hear it)
      raft::NodeId a = rng_.Pick(ids_);
      for (raft::NodeId b : ids_) {
        if (b != a) blocked_.insert({b, a});
      }
      what = "deafen " + std::to_string(a);
      break;
    }
    case 3: {  // bridge: two halves that only one node connects
      raft::NodeId bridge = rng_.Pick(ids_);
      for (raft::NodeId a : ids_) {
        for (raft::NodeId b : ids_) {
          if (a != bridge && b != bridge && (a % 2) != (b % 2)) blocked_.insert({a, b});
        }
      }
      what = "bridge " + std::to_string(bridge);
      break;
    }
  }
  Trace("fault: partition " + what);
  Schedule(now_ + rng_.Range(10, 3000) * 1'000'000, HealLinks{link_generation_});
}

void Simulator::FaultPause() {
  raft::NodeId id = rng_.Pick(ids_);
  if (opt_.liveness && !broken_.contains(id)) return;
  int64_t until = now_ + rng_.Range(10, 2000) * 1'000'000;
  paused_until_[id] = std::max(paused_until_[id], until);
  Trace("fault: pause " + std::to_string(id));
  Schedule(until, Resume{id});
}

void Simulator::FaultTransfer() {
  raft::NodeId leader = CurrentLeader();
  if (leader == raft::kNoNode) return;
  raft::NodeId to = rng_.Pick(ids_);
  Trace("fault: transfer " + std::to_string(leader) + "->" + std::to_string(to));
  nodes_.at(leader)->raft().TransferLeadership(to);
}

void Simulator::FaultConfChange() {
  raft::NodeId leader = CurrentLeader();
  if (leader == raft::kNoNode) return;
  raft::Raft& r = nodes_.at(leader)->raft();
  const raft::TrackerConfig& cfg = r.config();
  if (cfg.joint()) return;
  std::vector<raft::NodeId> voters(cfg.voters.incoming.ids().begin(), cfg.voters.incoming.ids().end());
  std::vector<raft::NodeId> outside;
  for (raft::NodeId id : ids_) {
    if (!cfg.voters.incoming.contains(id)) outside.push_back(id);
  }
  raft::ConfChange cc;
  size_t min_voters = opt_.nodes == 3 ? 2 : 3;
  if (!outside.empty() && (voters.size() <= min_voters || rng_.Chance(0.6))) {
    raft::NodeId id = rng_.Pick(outside);
    // A non-voter becomes a learner first, then a voter once it is a learner.
    bool learner = cfg.learners.contains(id);
    cc.changes.push_back({learner ? raft::ConfChangeType::kAddVoter : raft::ConfChangeType::kAddLearner, id});
  } else if (voters.size() > min_voters) {
    raft::NodeId id = rng_.Pick(voters);
    cc.changes.push_back({rng_.Chance(0.5) ? raft::ConfChangeType::kRemove : raft::ConfChangeType::kAddLearner, id});
  } else {
    return;
  }
  if (rng_.Chance(0.3)) {
    // The same change through a joint configuration.
    cc.transition = raft::ConfChangeTransition::kJointImplicit;
  }
  common::Status st = r.ProposeConfChange(cc);
  Trace("fault: conf change " + std::to_string(static_cast<int>(cc.changes[0].type)) + " " +
        std::to_string(cc.changes[0].node) + (cc.transition != raft::ConfChangeTransition::kAuto ? " joint" : "") +
        " -> " + (st.ok() ? "proposed" : st.ToString()));
}

void Simulator::FaultSlowDisk() {
  raft::NodeId id = rng_.Chance(0.6) && CurrentLeader() != raft::kNoNode ? CurrentLeader() : rng_.Pick(ids_);
  int64_t until = now_ + rng_.Range(50, 2000) * 1'000'000;
  slow_disk_until_[id] = std::max(slow_disk_until_[id], until);
  Trace("fault: slow disk " + std::to_string(id));
}

void Simulator::FaultSnapshot() {
  raft::NodeId id = rng_.Pick(ids_);
  SimNode& n = *nodes_.at(id);
  if (!n.up() || n.busy()) return;
  Trace("fault: snapshot " + std::to_string(id) + " at " + std::to_string(n.applied()));
  common::Status st = n.TakeSnapshot(rng_.Range(0, 3));
  if (!st.ok()) Fail("snapshot on node " + std::to_string(id) + ": " + st.ToString());
}

void Simulator::UpdateMembership() {
  const raft::ConfState& cs = checker_->configs().rbegin()->second;
  std::set<raft::NodeId> members(cs.voters.begin(), cs.voters.end());
  members.insert(cs.voters_outgoing.begin(), cs.voters_outgoing.end());
  members.insert(cs.learners.begin(), cs.learners.end());
  members.insert(cs.learners_next.begin(), cs.learners_next.end());
  for (raft::NodeId id : ids_) {
    if (!members.contains(id) && !removed_.contains(id)) {
      removed_.insert(id);
      Trace("stop removed member " + std::to_string(id));
      CrashNode(id);
    } else if (members.contains(id) && removed_.erase(id) > 0) {
      Trace("start re-added member " + std::to_string(id));
      Schedule(now_ + 1, Restart{id});
    }
  }
}

void Simulator::HealAll() {
  Trace("heal all");
  if (opt_.liveness) return;  // the broken members stay broken
  blocked_.clear();
  ++link_generation_;
  paused_until_.clear();
  slow_disk_until_.clear();
  for (raft::NodeId id : ids_) {
    if (!nodes_.at(id)->up()) Schedule(now_ + 1, Restart{id});
  }
}

void Simulator::SetupLiveness() {
  // A majority core stays healthy and connected; the others are broken for
  // good, each in its own way: crashed, deaf (hears nothing) or mute (sends
  // nothing).
  size_t broken = static_cast<size_t>((opt_.nodes - 1) / 2);
  std::vector<raft::NodeId> order = ids_;
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng_.Below(i)]);
  for (size_t i = 0; i < broken; ++i) {
    raft::NodeId id = order[i];
    broken_.insert(id);
    switch (rng_.Below(3)) {
      case 0:
        Trace("liveness: " + std::to_string(id) + " crashed for good");
        CrashNode(id);
        break;
      case 1:
        Trace("liveness: " + std::to_string(id) + " deaf for good (sends, hears nothing)");
        for (raft::NodeId b : ids_) {
          if (b != id) blocked_.insert({b, id});
        }
        break;
      default:
        Trace("liveness: " + std::to_string(id) + " mute for good (hears, sends nothing)");
        for (raft::NodeId b : ids_) {
          if (b != id) blocked_.insert({id, b});
        }
        break;
    }
  }
}

}  // namespace sim
