#include "sim/invariant_checker.h"

#include <set>

#include "raft/core/tracker.h"

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

InvariantChecker::InvariantChecker(const raft::ConfState& bootstrap, Options options)
    : options_(std::move(options)) {
  configs_[0] = bootstrap;
}

void InvariantChecker::Fail(const std::string& why) {
  if (violation_.empty()) violation_ = why;
}

void InvariantChecker::NodeStarted(const NodeView& v) {
  if (!ok()) return;
  life_[v.id] = Life{raft::Role::kFollower, v.term, v.commit, v.vote, v.leader};
}

void InvariantChecker::ObserveNode(const NodeView& v) {
  if (!ok()) return;
  CheckNode(v);
  if (ok() && v.role == raft::Role::kLeader) CheckLeader(v);
  if (!ok()) return;
  Life& l = life_[v.id];
  if (v.term != l.term) {
    l.vote = raft::kNoNode;
    l.leader = raft::kNoNode;
  }
  l.term = v.term;
  l.commit = v.commit;
  l.role = v.role;
  if (v.vote != raft::kNoNode) l.vote = v.vote;
  if (v.leader != raft::kNoNode) l.leader = v.leader;
}

void InvariantChecker::CheckNode(const NodeView& v) {
  const Life& l = life_[v.id];
  // Per node: applied ≤ commit ≤ last; term and commit never go back within
  // one process life (a crash may lose an unpersisted term bump, and the
  // commit index is not always synced).
  if (!(v.applied <= v.commit && v.commit <= v.last_index)) {
    return Fail("node " + N(v.id) + ": applied " + N(v.applied) + " commit " + N(v.commit) + " last " +
                N(v.last_index));
  }
  if (v.term < l.term) return Fail("node " + N(v.id) + ": term went back to " + N(v.term));
  // LogInv: the entry at a node's commit index is the one committed there
  // (checked against entries some node already applied).
  if (v.commit > 0 && v.term_at) {
    auto c = committed_.find(v.commit);
    std::optional<uint64_t> t = c == committed_.end() ? std::nullopt : v.term_at(v.commit);
    if (t.has_value() && *t != c->second.term) {
      return Fail("node " + N(v.id) + " has commit index " + N(v.commit) + " on an entry of term " + N(*t) +
                  ", but the entry committed there has term " + N(c->second.term));
    }
  }
  if (v.commit < l.commit) return Fail("node " + N(v.id) + ": commit went back to " + N(v.commit));
  // Log terms never exceed the current term (entries come from leaders of
  // terms this node has seen).
  if (v.last_term > v.term) {
    return Fail("node " + N(v.id) + ": last entry of term " + N(v.last_term) + " in term " + N(v.term));
  }
  // Within a term a node votes once and learns of one leader (it may forget it).
  if (v.term == l.term && l.vote != raft::kNoNode && v.vote != l.vote) {
    return Fail("node " + N(v.id) + ": vote changed from " + N(l.vote) + " to " + N(v.vote) + " in term " +
                N(v.term));
  }
  if (v.term == l.term && l.leader != raft::kNoNode && v.leader != raft::kNoNode && v.leader != l.leader) {
    return Fail("node " + N(v.id) + ": leader changed from " + N(l.leader) + " to " + N(v.leader) + " in term " +
                N(v.term));
  }
}

void InvariantChecker::CheckLeader(const NodeView& v) {
  // ElectionSafety: at most one leader per term, over the whole run.
  auto [it, added] = leaders_.try_emplace(v.term, v.id);
  if (it->second != v.id) {
    return Fail("two leaders in term " + N(v.term) + ": " + N(it->second) + " and " + N(v.id));
  }
  if (v.leader != v.id || v.vote != v.id) {
    return Fail("leader " + N(v.id) + " of term " + N(v.term) + " knows " + N(v.leader) + " as leader and voted for " +
                N(v.vote));
  }
  const Life& l = life_[v.id];
  if (l.role != raft::Role::kLeader || l.term != v.term) CheckNewLeader(v);
  if (!ok()) return;
  // §5.4.2: a leader moves its commit index only onto an entry of its own
  // term (earlier entries commit with it, never by counting replicas).
  if (l.role == raft::Role::kLeader && l.term == v.term && v.commit > l.commit && v.term_at) {
    std::optional<uint64_t> t = v.term_at(v.commit);
    if (t.has_value() && *t != v.term) {
      return Fail("leader " + N(v.id) + " of term " + N(v.term) + " moved its commit index to " + N(v.commit) +
                  ", an entry of term " + N(*t));
    }
  }
  // A leader's view of its followers stays within its log and window.
  for (const NodeView::Follower& f : v.followers) {
    if (f.match > v.last_index) return Fail("leader " + N(v.id) + ": match of " + N(f.id) + " past its log");
    if (f.match >= f.next) {
      return Fail("leader " + N(v.id) + ": match " + N(f.match) + " of " + N(f.id) + " not below next " + N(f.next));
    }
    if (f.inflight > options_.max_inflight) return Fail("leader " + N(v.id) + ": inflight window exceeded");
  }
}

void InvariantChecker::CheckNewLeader(const NodeView& v) {
  // LeaderCompleteness: a new leader of term T holds every entry committed
  // in a term before T. (A leader of an old term may still win late, with
  // votes that were delayed in the network: it need not hold entries
  // committed since.)
  if (options_.note) options_.note("leader " + N(v.id) + " term " + N(v.term));
  for (auto it = committed_.lower_bound(v.first_index); it != committed_.end(); ++it) {
    if (it->second.known_by_term >= v.term) continue;
    std::optional<uint64_t> t = v.term_at ? v.term_at(it->first) : std::nullopt;
    if (!t.has_value() || *t != it->second.term) {
      return Fail("leader " + N(v.id) + " of term " + N(v.term) + " lacks committed entry " + N(it->first) +
                  " (term " + N(it->second.term) + ")");
    }
  }
}

void InvariantChecker::Persisted(raft::NodeId id, const std::optional<raft::HardState>& hard_state,
                                 const std::vector<std::pair<uint64_t, uint64_t>>& entries, uint64_t snapshot_index) {
  if (!ok()) return;
  // At most one vote per term, even across crashes (hashicorp/raft#661).
  if (hard_state && hard_state->vote != raft::kNoNode) {
    auto [it, added] = votes_.try_emplace({id, hard_state->term}, hard_state->vote);
    if (it->second != hard_state->vote) {
      return Fail("node " + N(id) + " voted for " + N(it->second) + " and then " + N(hard_state->vote) + " in term " +
                  N(hard_state->term));
    }
  }
  DurableLog& d = durable_[id];
  if (snapshot_index != 0) {
    d.terms.clear();
    d.floor = snapshot_index;
  }
  if (!entries.empty()) {
    // Entries from the first one on replace what the disk held there.
    d.terms.erase(d.terms.lower_bound(entries.front().first), d.terms.end());
    for (const auto& [index, term] : entries) d.terms[index] = term;
  }
}

void InvariantChecker::Applied(raft::NodeId id, uint64_t node_term, const std::vector<AppliedEntry>& entries) {
  for (const AppliedEntry& e : entries) {
    if (!ok()) return;
    CheckApplied(id, node_term, e);
  }
}

void InvariantChecker::CheckApplied(raft::NodeId id, uint64_t node_term, const AppliedEntry& e) {
  auto [it, first] = committed_.try_emplace(e.index, CommittedEntry{e.term, e.data_hash, node_term});
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
  }
  if (first) CheckQuorumDurable(id, e);
}

void InvariantChecker::CheckQuorumDurable(raft::NodeId id, const AppliedEntry& e) {
  // QuorumLogInv / CommittedIsDurable: when an entry is first applied, a
  // quorum holds it on disk (compacted counts: it was applied there). The
  // leader that committed it decided with a configuration made by an
  // earlier entry, perhaps not the latest one: accept any of the last few.
  std::set<raft::NodeId> have;
  for (const auto& [nid, d] : durable_) {
    auto t = d.terms.find(e.index);
    if ((t != d.terms.end() && t->second == e.term) || e.index <= d.floor) have.insert(nid);
  }
  bool quorum = false;
  std::string cfgs;
  auto c = configs_.lower_bound(e.index);
  for (int k = 0; k < 3 && c != configs_.begin() && !quorum; ++k) {
    --c;
    quorum = IsQuorum(c->second, have);
    cfgs += " [" + DescribeConf(c->second) + "]";
  }
  if (!quorum) {
    std::string who;
    for (raft::NodeId h : have) who += " " + N(h);
    Fail("entry " + N(e.index) + " applied by " + N(id) + " is on the disk of only" + who +
         ": not a quorum of the recent configurations" + cfgs);
  }
}

}  // namespace sim
