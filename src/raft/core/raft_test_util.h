#pragma once

// Test harness: a few cores on MemoryStorage joined by an in-memory network
// that the test controls (deliver all, drop links, isolate nodes). Each
// Ready is handled by the contract in ready.h.

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "raft/core/memory_storage.h"
#include "raft/core/raft.h"

namespace raft::testing {

class TestCluster {
 public:
  struct Member {
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<Raft> raft;
    std::vector<Entry> applied;      // every committed entry applied, in order
    std::vector<ReadState> reads;    // read states received
  };

  // Nodes 1..n, all voters, with `tweak` applied to each config.
  explicit TestCluster(size_t n, void (*tweak)(Config&) = nullptr, uint64_t seed = 1) {
    ConfState cs;
    for (NodeId id = 1; id <= n; ++id) cs.voters.push_back(id);
    for (NodeId id = 1; id <= n; ++id) Add(id, cs, tweak, seed);
  }

  void Add(NodeId id, const ConfState& cs, void (*tweak)(Config&) = nullptr, uint64_t seed = 1) {
    Member m;
    m.storage = std::make_unique<MemoryStorage>();
    m.storage->SetConfState(cs);
    Config c;
    c.id = id;
    c.seed = seed;
    if (tweak) tweak(c);
    auto r = Raft::Create(c, *m.storage);
    CHECK_OK(r.status());
    m.raft = std::move(*r);
    members_[id] = std::move(m);
  }

  Raft& node(NodeId id) { return *members_.at(id).raft; }
  Member& member(NodeId id) { return members_.at(id); }
  std::vector<NodeId> ids() const {
    std::vector<NodeId> out;
    for (const auto& [id, m] : members_) out.push_back(id);
    return out;
  }

  void Cut(NodeId a, NodeId b) { cut_.insert({a, b}); cut_.insert({b, a}); }
  void CutOneWay(NodeId from, NodeId to) { cut_.insert({from, to}); }
  void Isolate(NodeId a) {
    for (const auto& [id, m] : members_) if (id != a) Cut(a, id);
  }
  void Heal() { cut_.clear(); }

  // Handles every node's Ready and delivers messages until quiet.
  void Stabilize(int max_rounds = 1000) {
    for (int round = 0; round < max_rounds; ++round) {
      bool any = false;
      for (auto& [id, m] : members_) any |= HandleReady(id);
      while (!queue_.empty()) {
        Message msg = std::move(queue_.front());
        queue_.pop_front();
        any = true;
        auto it = members_.find(msg.to);
        if (it == members_.end() || cut_.contains({msg.from, msg.to})) continue;
        (void)it->second.raft->Step(msg);
      }
      if (!any) return;
    }
  }

  void TickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, m] : members_) m.raft->Tick();
      Stabilize();
    }
  }

  // Elects `id` by making it campaign.
  void Elect(NodeId id) {
    node(id).Campaign();
    Stabilize();
  }

  NodeId Leader() const {
    for (const auto& [id, m] : members_) if (m.raft->role() == Role::kLeader) return id;
    return kNoNode;
  }

  // Messages intercepted instead of delivered (for inspection), if set.
  std::vector<Message>* capture = nullptr;

 private:
  bool HandleReady(NodeId id) {
    Member& m = members_.at(id);
    if (!m.raft->HasReady()) return false;
    Ready rd = m.raft->GetReady();
    for (Message& msg : rd.messages) Deliver(std::move(msg));
    if (rd.snapshot) CHECK_OK(m.storage->ApplySnapshot(*rd.snapshot));
    CHECK_OK(m.storage->Append(rd.entries));
    if (rd.hard_state) m.storage->SetHardState(*rd.hard_state);
    for (Message& msg : rd.messages_after_persist) Deliver(std::move(msg));
    for (const Entry& e : rd.committed_entries) {
      if (e.type == EntryType::kConfChange) {
        auto cc = DecodeConfChange(e.data);
        CHECK_OK(cc.status());
        auto cs = m.raft->ApplyConfChange(*cc);
        if (cs.has_value()) m.storage->SetConfState(*cs);
      }
      m.applied.push_back(e);
    }
    for (ReadState& r : rd.read_states) m.reads.push_back(std::move(r));
    m.raft->Advance();
    return true;
  }

  void Deliver(Message msg) {
    if (capture) {
      capture->push_back(std::move(msg));
      return;
    }
    queue_.push_back(std::move(msg));
  }

  std::map<NodeId, Member> members_;
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
};

}  // namespace raft::testing
