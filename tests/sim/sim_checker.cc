// The simulator's checks: the invariants of RAFT-TESTING.md §8 after every
// event (fed to the InvariantChecker, invariant_checker.h), and the
// end-of-run checks (liveness, convergence, acknowledged
// writes, linearizability).

#include <algorithm>
#include <optional>

#include "sim/linearizability.h"
#include "sim/simulator.h"

namespace sim {
namespace {

std::string N(uint64_t v) { return std::to_string(v); }

}  // namespace

NodeView Simulator::ViewOf(const SimNode& n) const {
  const raft::Raft& r = n.raft();
  const raft::RaftLog& log = r.log();
  NodeView v;
  v.id = n.id();
  v.role = r.role();
  v.term = r.term();
  v.vote = r.vote();
  v.leader = r.leader();
  v.commit = log.committed();
  v.applied = log.applied();
  v.first_index = log.first_index();
  v.last_index = log.last_index();
  v.last_term = log.last_term();
  v.term_at = [&log](uint64_t index) -> std::optional<uint64_t> {
    auto t = log.Term(index);
    if (!t.has_value()) return std::nullopt;
    return *t;
  };
  if (v.role == raft::Role::kLeader) {
    for (const auto& [fid, pr] : r.GetStatus().progress) {
      v.followers.push_back({fid, pr.match, pr.next, pr.inflights.count()});
    }
  }
  return v;
}

void Simulator::CheckInvariants() {
  for (auto& [id, n] : nodes_) {
    if (!n->up()) continue;
    checker_->ObserveNode(ViewOf(*n));
    if (!checker_->ok()) return Fail(checker_->violation());
  }
}

void Simulator::CheckApplied(raft::NodeId id, const std::vector<AppliedEntry>& applied) {
  size_t configs = checker_->configs().size();
  checker_->Applied(id, nodes_.at(id)->raft().term(), applied);
  if (!checker_->ok()) return Fail(checker_->violation());
  for (const AppliedEntry& e : applied) {
    if (e.client != 0) committed_commands_[e.index] = {e.client, e.seq};
  }
  // Last: it may stop this very node.
  if (checker_->configs().size() != configs) UpdateMembership();
}

void Simulator::CheckPersisted(raft::NodeId id, const SimNode::Finished& f) {
  checker_->Persisted(id, f.hard_state, f.persisted, f.persisted_snapshot);
  if (!checker_->ok()) Fail(checker_->violation());
}

bool Simulator::ProbeWrite(int64_t deadline_ns) {
  // Liveness: a leader appears and a fresh write commits within the bound.
  uint64_t seq = 0;
  while (!failed_ && now_ < deadline_ns) {
    raft::NodeId leader = CurrentLeader();
    if (leader != raft::kNoNode) {
      ClientRequest req{kProbeClient, ++seq, lincheck::KvPut("probe", "p" + N(seq)), false};
      auto reply = nodes_.at(leader)->HandleRequest(req);
      Trace("probe write " + N(seq) + " to " + N(leader) + (reply ? ": rejected" : ": proposed"));
      if (reply) OnReply(*reply);
    }
    RunFor(std::min<int64_t>(300'000'000, deadline_ns - now_));
    if (probe_acked_ != 0 && probe_acked_ == seq) return true;
  }
  return false;
}

void Simulator::CheckEndOfRun() {
  const int64_t bound_ns = static_cast<int64_t>(knobs_.election_tick) * knobs_.tick_ns * 20;
  if (!ProbeWrite(now_ + bound_ns)) {
    return Fail("liveness: no write committed within " + N(static_cast<uint64_t>(bound_ns / 1'000'000)) +
                " ms after healing (leader " + N(CurrentLeader()) + ")");
  }
  if (failed_) return;
  // Convergence: run a little longer, then every member that is up and in
  // the leader's configuration has applied the same state.
  RunFor(3'000'000'000);
  if (failed_) return;
  raft::NodeId leader = CurrentLeader();
  if (leader == raft::kNoNode) return Fail("no leader at the end of the run");
  const SimNode& l = *nodes_.at(leader);
  for (raft::NodeId id : l.raft().config().voters.ids()) {
    const SimNode& n = *nodes_.at(id);
    if (broken_.contains(id) || !n.up()) continue;
    if (n.applied() != l.applied()) {
      return Fail("node " + N(id) + " applied " + N(n.applied()) + " but leader " + N(leader) + " applied " +
                  N(l.applied()) + " after settling");
    }
    if (n.kv().Hash() != l.kv().Hash()) return Fail("node " + N(id) + " state differs from the leader's at " + N(n.applied()));
  }
  // Every acknowledged write is in the committed log.
  std::set<std::pair<uint64_t, uint64_t>> present;
  for (const auto& [idx, cs] : committed_commands_) present.insert(cs);
  for (const auto& w : acked_writes_) {
    if (!present.contains(w)) return Fail("acknowledged write of client " + N(w.first) + " seq " + N(w.second) + " is lost");
  }
}

void Simulator::CheckLinearizable() {
  lincheck::CheckOptions o;
  o.max_steps = opt_.lincheck_max_steps;
  lincheck::CheckResult r = lincheck::Check(lincheck::KvModel(), history_, o);
  if (r.verdict == lincheck::Verdict::kIllegal) {
    Fail("history not linearizable:\n" + r.explanation);
  } else if (r.verdict == lincheck::Verdict::kUnknown) {
    Trace("linearizability: unknown (budget ran out on " + r.partition + ")");
  }
}

}  // namespace sim
