#pragma once

// Test harness: a few cores on MemoryStorage joined by an in-memory network
// that the test controls. Each Ready is handled by the contract in ready.h:
// `messages` are queued at once, the snapshot, entries and hard state are
// written to the member's MemoryStorage, then `messages_after_persist` are
// queued, committed entries applied (conf changes through
// Raft::ApplyConfChange) and Advance() called.
//
// The network delivers queued messages in order, except across cut links,
// messages the `drop` filter rejects, and (with `duplicate`) twice. Tests
// that need exact interleavings (Figure 7/8 shapes, reordering) take the
// queued messages with Collect() and Deliver() them one by one.
//
// A member may be restarted from its MemoryStorage (Restart): the core is
// rebuilt from what was persisted, with Config::applied = what it applied.
// Everything is single-threaded and deterministic.

#include <cstdint>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft/core/memory_storage.h"
#include "raft/core/raft.h"

namespace raft::testing {

using Tweak = std::function<void(Config&)>;

// Config tweak for TestCluster: PreVote and CheckQuorum on.
inline void PreVoteCheckQuorum(Config& c) {
  c.pre_vote = true;
  c.check_quorum = true;
}

inline ConfState Voters(std::initializer_list<NodeId> ids) {
  ConfState cs;
  cs.voters.assign(ids.begin(), ids.end());
  return cs;
}

// Entries at indexes first, first+1, ... with the given terms.
inline std::vector<Entry> EntriesWithTerms(const std::vector<uint64_t>& terms, uint64_t first = 1) {
  std::vector<Entry> out;
  for (size_t i = 0; i < terms.size(); ++i) {
    out.push_back(Entry{first + i, terms[i], EntryType::kNormal, "e" + std::to_string(first + i)});
  }
  return out;
}

inline Message Msg(MessageType type, NodeId from, NodeId to, uint64_t term) {
  return Message{.type = type, .from = from, .to = to, .term = term};
}

class TestCluster {
 public:
  struct Member {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<Raft> raft;
    Config config;
    std::vector<Entry> applied;    // every committed entry applied, in order
    uint64_t applied_index = 0;    // last index applied (entry or snapshot)
    std::vector<ReadState> reads;  // read states received
  };

  TestCluster() = default;

  // Nodes 1..n, all voters, with `tweak` applied to each config.
  explicit TestCluster(size_t n, const Tweak& tweak = {}, uint64_t seed = 1) {
    ConfState cs;
    for (NodeId id = 1; id <= n; ++id) cs.voters.push_back(id);
    for (NodeId id = 1; id <= n; ++id) Add(id, cs, tweak, seed);
  }

  // Adds a fresh member with an empty log and `cs` as its configuration.
  void Add(NodeId id, const ConfState& cs, const Tweak& tweak = {}, uint64_t seed = 1) {
    AddWithLog(id, cs, {}, HardState{}, tweak, seed);
  }

  // Adds a member whose storage already holds `log` and `hs` (as if it had
  // persisted them before a restart).
  void AddWithLog(NodeId id, const ConfState& cs, const std::vector<Entry>& log, const HardState& hs,
                  const Tweak& tweak = {}, uint64_t seed = 1) {
    Member m;
    m.storage = std::make_unique<MemoryStorage>();
    m.storage->SetConfState(cs);
    CHECK_OK(m.storage->Append(log));
    m.storage->SetHardState(hs);
    m.config.id = id;
    m.config.seed = seed;
    if (tweak) tweak(m.config);
    m.applied_index = m.config.applied;
    members_[id] = std::move(m);
    Boot(id);
  }

  // Crash and restart: drops the core (and anything it had not handed out)
  // and builds a new one from the member's storage. `tweak`, if set, changes
  // the config first (a rolling upgrade).
  void Restart(NodeId id, const Tweak& tweak = {}) {
    Member& m = members_.at(id);
    if (tweak) tweak(m.config);
    m.config.applied = m.applied_index;
    Boot(id);
  }

  Raft& node(NodeId id) { return *members_.at(id).raft; }
  Member& member(NodeId id) { return members_.at(id); }
  MemoryStorage& storage(NodeId id) { return *members_.at(id).storage; }
  std::vector<NodeId> ids() const {
    std::vector<NodeId> out;
    for (const auto& [id, m] : members_) out.push_back(id);
    return out;
  }

  // The member's persisted log, from its first stored index.
  std::vector<Entry> Log(NodeId id) const {
    const MemoryStorage& s = *members_.at(id).storage;
    if (s.LastIndex() < s.FirstIndex()) return {};
    auto ents = s.Entries(s.FirstIndex(), s.LastIndex() + 1, UINT64_MAX);
    CHECK_OK(ents.status());
    return *ents;
  }
  std::vector<uint64_t> LogTerms(NodeId id) const {
    std::vector<uint64_t> out;
    for (const Entry& e : Log(id)) out.push_back(e.term);
    return out;
  }

  // Network control.
  void Cut(NodeId a, NodeId b) { cut_.insert({a, b}); cut_.insert({b, a}); }
  void CutOneWay(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void Isolate(NodeId a) {
    for (const auto& [id, m] : members_) if (id != a) Cut(a, id);
  }
  void Heal() { cut_.clear(); }
  // Messages for which `drop` returns true are lost.
  std::function<bool(const Message&)> drop;
  // Every message is delivered twice.
  bool duplicate = false;
  // Sees every message a node sends (before cuts and filters).
  std::function<void(const Message&)> observe;

  // Handles `id`'s Ready, if any, and queues its messages. True if it had one.
  bool HandleReady(NodeId id) {
    Member& m = members_.at(id);
    if (!m.raft->HasReady()) return false;
    Ready rd = m.raft->GetReady();
    for (Message& msg : rd.messages) Queue(std::move(msg));
    if (rd.snapshot) {
      CHECK_OK(m.storage->ApplySnapshot(*rd.snapshot));
      m.applied_index = rd.snapshot->meta.index;
    }
    CHECK_OK(m.storage->Append(rd.entries));
    if (rd.hard_state) m.storage->SetHardState(*rd.hard_state);
    for (Message& msg : rd.messages_after_persist) Queue(std::move(msg));
    for (const Entry& e : rd.committed_entries) {
      if (e.type == EntryType::kConfChange) {
        auto cc = DecodeConfChange(e.data);
        CHECK_OK(cc.status());
        auto cs = m.raft->ApplyConfChange(*cc);
        if (cs.has_value()) m.storage->SetConfState(*cs);
      }
      m.applied.push_back(e);
      m.applied_index = e.index;
    }
    for (ReadState& r : rd.read_states) m.reads.push_back(std::move(r));
    m.raft->Advance();
    return true;
  }

  // Handles every Ready and delivers messages until quiet.
  void Stabilize(int max_rounds = 1000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool any = false;
      for (auto& [id, m] : members_) any |= HandleReady(id);
      std::deque<Message> batch;
      batch.swap(queue_);
      any |= !batch.empty();
      for (const Message& msg : batch) {
        if (drop && drop(msg)) continue;
        Deliver(msg);
        if (duplicate) Deliver(msg);
      }
      if (!any) return;
    }
  }

  // Handles every Ready and returns the queued messages without delivering them.
  std::vector<Message> Collect() {
    for (auto& [id, m] : members_) HandleReady(id);
    std::vector<Message> out(queue_.begin(), queue_.end());
    queue_.clear();
    return out;
  }

  // Returns the queued messages without handling any Ready (for tests that
  // hold a Ready of their own open).
  std::vector<Message> TakeQueued() {
    std::vector<Message> out(queue_.begin(), queue_.end());
    queue_.clear();
    return out;
  }

  // Steps `msg` into its target unless the link is cut or the target is gone.
  void Deliver(const Message& msg) {
    auto it = members_.find(msg.to);
    if (it == members_.end() || cut_.contains({msg.from, msg.to})) return;
    (void)it->second.raft->Step(msg);
  }

  // Ticks every node `n` times, stabilizing after each tick.
  void TickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, m] : members_) m.raft->Tick();
      Stabilize();
    }
  }
  // Ticks only `id`.
  void Tick(NodeId id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      node(id).Tick();
      Stabilize();
    }
  }

  // Elects `id` by making it campaign.
  void Elect(NodeId id) {
    node(id).Campaign();
    Stabilize();
  }

  // Proposes `data` at `id` and stabilizes; false if the proposal was refused.
  [[nodiscard]] bool Propose(NodeId id, const std::string& data) {
    if (!node(id).Propose(data).ok()) return false;
    Stabilize();
    return true;
  }

  NodeId Leader() const {
    for (const auto& [id, m] : members_) if (m.raft->role() == Role::kLeader) return id;
    return kNoNode;
  }

 private:
  void Boot(NodeId id) {
    Member& m = members_.at(id);
    auto r = Raft::Create(m.config, *m.storage);
    CHECK_OK(r.status());
    m.raft = std::move(*r);
  }

  void Queue(Message msg) {
    if (observe) observe(msg);
    queue_.push_back(std::move(msg));
  }

  std::map<NodeId, Member> members_;
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
};

}  // namespace raft::testing
