// The simulator's checks: the invariants of RAFT-TESTING.md §8 after every
// event, and the end-of-run checks (liveness, convergence, acknowledged
// writes, linearizability).

#include <algorithm>

#include "sim/linearizability.h"
#include "sim/simulator.h"

namespace sim {
namespace {

std::string N(uint64_t v) { return std::to_string(v); }

// Whether the nodes in `have` form a quorum of configuration `cs`.
bool IsQuorum(const raft::ConfState& cs, const std::set<raft::NodeId>& have) {
  raft::TrackerConfig cfg = raft::TrackerConfig::FromConfState(cs);
  std::map<raft::NodeId, bool> votes;
  for (raft::NodeId id : cfg.voters.ids()) votes[id] = have.contains(id);
  return cfg.voters.Vote(votes) == raft::VoteResult::kWon;
}

std::string Ids(const std::vector<raft::NodeId>& v) {
  std::string s;
  for (raft::NodeId id : v) s += (s.empty() ? "" : ",") + N(id);
  return s;
}

std::string DescribeConf(const raft::ConfState& cs) {
  std::string s = "voters " + Ids(cs.voters);
  if (!cs.voters_outgoing.empty()) s += " outgoing " + Ids(cs.voters_outgoing);
  if (!cs.learners.empty()) s += " learners " + Ids(cs.learners);
  if (!cs.learners_next.empty()) s += " learners_next " + Ids(cs.learners_next);
  return s;
}

}  // namespace

void Simulator::CheckInvariants() {
  for (auto& [id, n] : nodes_) {
    if (!n->up()) continue;
    const raft::Raft& r = n->raft();
    const raft::RaftLog& log = r.log();
    // Per-node: applied ≤ commit ≤ last; term and commit never go back
    // within one process life (a crash may lose an unpersisted term bump).
    if (!(log.applied() <= log.committed() && log.committed() <= log.last_index())) {
      return Fail("node " + N(id) + ": applied " + N(log.applied()) + " commit " + N(log.committed()) + " last " +
                  N(log.last_index()));
    }
    if (r.term() < last_term_[id]) return Fail("node " + N(id) + ": term went back to " + N(r.term()));
    if (log.committed() < last_commit_[id]) return Fail("node " + N(id) + ": commit went back to " + N(log.committed()));
    last_term_[id] = r.term();
    last_commit_[id] = log.committed();
    // ElectionSafety: at most one leader per term, over the whole run.
    if (r.role() == raft::Role::kLeader) {
      auto [it, added] = leaders_.try_emplace(r.term(), id);
      if (it->second != id) {
        return Fail("two leaders in term " + N(r.term()) + ": " + N(it->second) + " and " + N(id));
      }
      if (last_role_[id] != raft::Role::kLeader) CheckNewLeader(id);
      if (failed_) return;
      // A leader's view of its followers stays within its log and window.
      for (const auto& [fid, pr] : r.GetStatus().progress) {
        if (pr.match > log.last_index()) return Fail("leader " + N(id) + ": match of " + N(fid) + " past its log");
        if (pr.inflights.count() > knobs_.max_inflight) return Fail("leader " + N(id) + ": inflight window exceeded");
      }
    }
    last_role_[id] = r.role();
  }
}

void Simulator::CheckNewLeader(raft::NodeId id) {
  // LeaderCompleteness: a new leader of term T holds every entry committed
  // in a term before T. (A leader of an old term may still win late, with
  // votes that were delayed in the network: it need not hold entries
  // committed since.)
  uint64_t term = nodes_.at(id)->raft().term();
  Trace("leader " + N(id) + " term " + N(term));
  const raft::RaftLog& log = nodes_.at(id)->raft().log();
  for (auto it = committed_.lower_bound(log.first_index()); it != committed_.end(); ++it) {
    if (it->second.known_by_term >= term) continue;
    auto t = log.Term(it->first);
    if (!t.has_value() || *t != it->second.term) {
      return Fail("leader " + N(id) + " of term " + N(nodes_.at(id)->raft().term()) + " lacks committed entry " +
                  N(it->first) + " (term " + N(it->second.term) + ")");
    }
  }
}

void Simulator::CheckApplied(raft::NodeId id, const std::vector<AppliedEntry>& applied) {
  bool new_config = false;
  for (const AppliedEntry& e : applied) {
    auto [it, first] =
        committed_.try_emplace(e.index, CommittedEntry{e.term, e.data_hash, nodes_.at(id)->raft().term()});
    // StateMachineSafety: every node applies the same entry at an index.
    if (it->second.term != e.term || it->second.hash != e.data_hash) {
      return Fail("node " + N(id) + " applied a different entry at " + N(e.index) + " (term " + N(e.term) +
                  ", first seen term " + N(it->second.term) + ")");
    }
    if (e.conf) {
      auto [c, added] = configs_.try_emplace(e.index, *e.conf);
      if (!(c->second == *e.conf)) {
        return Fail("node " + N(id) + " got configuration [" + DescribeConf(*e.conf) + "] from entry " + N(e.index) +
                    " where another node got [" + DescribeConf(c->second) + "]");
      }
      new_config |= added;
    }
    if (!first) continue;
    if (e.client != 0) committed_commands_[e.index] = {e.client, e.seq};
    // QuorumLogInv / CommittedIsDurable: when an entry is first applied, a
    // quorum holds it on disk (compacted counts: it was applied there).
    // The leader that committed it decided with a configuration made by an
    // earlier entry, perhaps not the latest one: accept any of the last few.
    std::set<raft::NodeId> have;
    for (const auto& [nid, d] : durable_) {
      auto t = d.terms.find(e.index);
      if ((t != d.terms.end() && t->second == e.term) || e.index <= d.floor) have.insert(nid);
    }
    bool ok = false;
    std::string cfgs;
    auto c = configs_.lower_bound(e.index);
    for (int k = 0; k < 3 && c != configs_.begin() && !ok; ++k) {
      --c;
      ok = IsQuorum(c->second, have);
      cfgs += " [" + DescribeConf(c->second) + "]";
    }
    if (!ok) {
      std::string who;
      for (raft::NodeId h : have) who += " " + N(h);
      return Fail("entry " + N(e.index) + " applied by " + N(id) + " is on the disk of only" + who +
                  ": not a quorum of the recent configurations" + cfgs);
    }
  }
  // Last: it may stop this very node.
  if (new_config) UpdateMembership();
}

void Simulator::RecordPersisted(raft::NodeId id, const SimNode::Finished& f) {
  DurableLog& d = durable_[id];
  if (f.persisted_snapshot != 0) {
    d.terms.clear();
    d.floor = f.persisted_snapshot;
  }
  if (!f.persisted.empty()) {
    // Entries from the first one on replace what the disk held there.
    d.terms.erase(d.terms.lower_bound(f.persisted.front().first), d.terms.end());
    for (const auto& [index, term] : f.persisted) d.terms[index] = term;
  }
}

void Simulator::CheckPersistedHardState(raft::NodeId id, const raft::HardState& hs) {
  // At most one vote per term, even across crashes (hashicorp/raft#661).
  if (hs.vote == raft::kNoNode) return;
  auto [it, added] = votes_.try_emplace({id, hs.term}, hs.vote);
  if (it->second != hs.vote) {
    Fail("node " + N(id) + " voted for " + N(it->second) + " and then " + N(hs.vote) + " in term " + N(hs.term));
  }
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
