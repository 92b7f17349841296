// Real Raft cores on DurableStorage over MemFs: each Ready is handled by the
// contract of ready.h, messages are passed by hand (as raft_test_util.h does
// for MemoryStorage), and nodes restart from what their disk holds.

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/core/conf_change.h"
#include "raft/core/raft.h"
#include "raft/durable/durable_storage.h"
#include "testing/mem_fs.h"

namespace raft {
namespace {

using replog_testing::CrashMode;
using replog_testing::MemFs;

const char* const kDir = "/raft";

storage::Options TestOptions() {
  storage::Options o;
  o.preallocate = false;
  o.max_segment_entries = 1024;  // small index files: quick to map
  return o;
}

class DurableCluster {
 public:
  struct Node {
    std::unique_ptr<MemFs> fs = std::make_unique<MemFs>();
    std::unique_ptr<DurableStorage> storage;
    std::unique_ptr<Raft> raft;
    // The state machine: the data of every normal entry applied, in order.
    std::vector<std::string> state;
    uint64_t applied = 0;
  };

  explicit DurableCluster(NodeId n) {
    ConfState cs;
    for (NodeId id = 1; id <= n; ++id) cs.voters.push_back(id);
    for (NodeId id = 1; id <= n; ++id) {
      Node& node = nodes_[id];
      OpenStorage(node);
      EXPECT_TRUE(node.storage->Bootstrap(cs).ok());
      Start(id);
    }
  }

  Node& node(NodeId id) { return nodes_.at(id); }
  Raft& raft(NodeId id) { return *nodes_.at(id).raft; }

  // Stops `id` (its storage closed as after a kill: unsynced writes are still
  // in the file system), optionally loses power, and restarts it from disk:
  // the state machine from the snapshot, the core with applied = its index.
  void Restart(NodeId id, std::optional<CrashMode> crash = std::nullopt) {
    Node& n = node(id);
    n.raft.reset();
    n.storage.reset();
    if (crash) n.fs->Crash(*crash, id);
    OpenStorage(n);
    Start(id);
  }

  void Isolate(NodeId id) { isolated_.insert(id); }
  void Heal() { isolated_.clear(); }

  // Handles every Ready and delivers messages until quiet.
  void Stabilize() {
    for (int round = 0; round < 1000; ++round) {
      bool any = false;
      for (auto& [id, n] : nodes_) any |= HandleReady(id);
      while (!queue_.empty()) {
        Message m = std::move(queue_.front());
        queue_.pop_front();
        any = true;
        if (isolated_.contains(m.from) || isolated_.contains(m.to) || !nodes_.contains(m.to)) continue;
        (void)node(m.to).raft->Step(m);
      }
      if (!any) return;
    }
    ADD_FAILURE() << "no quiet state after 1000 rounds";
  }

  NodeId Leader() const {
    for (const auto& [id, n] : nodes_) {
      if (n.raft->role() == Role::kLeader) return id;
    }
    return kNoNode;
  }

 private:
  void OpenStorage(Node& n) {
    auto s = DurableStorage::Open(*n.fs, kDir, TestOptions());
    ASSERT_TRUE(s.has_value()) << s.error().ToString();
    n.storage = std::move(*s);
  }

  void Start(NodeId id) {
    Node& n = node(id);
    n.state.clear();
    n.applied = 0;
    auto snap = n.storage->GetSnapshot();
    if (snap.has_value()) LoadSnapshot(n, *snap);
    Config c;
    c.id = id;
    c.seed = 1;
    c.applied = n.applied;  // conf changes after it are re-applied from the log
    auto r = Raft::Create(c, *n.storage);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    n.raft = std::move(*r);
  }

  static void LoadSnapshot(Node& n, const Snapshot& snap) {
    n.state.clear();
    size_t start = 0;
    while (start < snap.data.size()) {
      size_t end = snap.data.find('\n', start);
      n.state.push_back(snap.data.substr(start, end - start));
      start = end + 1;
    }
    n.applied = snap.meta.index;
  }

  bool HandleReady(NodeId id) {
    Node& n = node(id);
    if (!n.raft->HasReady()) return false;
    Ready rd = n.raft->GetReady();
    for (Message& m : rd.messages) queue_.push_back(std::move(m));
    Status st = n.storage->Persist(rd);
    EXPECT_TRUE(st.ok()) << "node " << id << ": " << st.ToString();
    if (!st.ok()) return false;
    for (Message& m : rd.messages_after_persist) queue_.push_back(std::move(m));
    if (rd.snapshot && !rd.snapshot->empty()) LoadSnapshot(n, *rd.snapshot);
    for (const Entry& e : rd.committed_entries) {
      if (e.type == EntryType::kConfChange) {
        auto cc = DecodeConfChange(e.data);
        EXPECT_TRUE(cc.has_value());
        if (cc.has_value()) (void)n.raft->ApplyConfChange(*cc);
      } else if (e.type == EntryType::kNormal) {
        n.state.push_back(e.data);
      }
      n.applied = e.index;
    }
    n.raft->Advance();
    return true;
  }

  std::map<NodeId, Node> nodes_;
  std::deque<Message> queue_;
  std::set<NodeId> isolated_;
};

std::vector<Entry> StoredLog(const DurableStorage& s) {
  auto e = s.Entries(s.FirstIndex(), s.LastIndex() + 1, UINT64_MAX);
  EXPECT_TRUE(e.has_value()) << e.error().ToString();
  return e.has_value() ? *e : std::vector<Entry>{};
}

// The snapshot a state machine takes: its entries, one per line.
std::string SnapshotData(const std::vector<std::string>& state) {
  std::string out;
  for (const std::string& s : state) out += s + "\n";
  return out;
}

TEST(DurableRaftTest, ThreeCoresElectCommitAndRestartFromDisk) {
  DurableCluster c(3);
  c.raft(1).Campaign();
  c.Stabilize();
  ASSERT_EQ(c.Leader(), 1u);
  for (std::string cmd : {"a", "b", "c"}) ASSERT_TRUE(c.raft(1).Propose(cmd).ok());
  c.Stabilize();
  ASSERT_EQ(c.node(2).state, (std::vector<std::string>{"a", "b", "c"}));

  const RaftStatus before = c.raft(2).GetStatus();
  const std::vector<Entry> log_before = StoredLog(*c.node(2).storage);
  c.Restart(2);
  const RaftStatus after = c.raft(2).GetStatus();
  EXPECT_EQ(after.hard_state, before.hard_state);
  EXPECT_EQ(after.hard_state.vote, 1u);
  EXPECT_EQ(after.last_index, before.last_index);
  EXPECT_EQ(after.conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(StoredLog(*c.node(2).storage), log_before);

  // The restarted node applies the committed log again and keeps following.
  ASSERT_TRUE(c.raft(1).Propose("d").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(2).state, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(c.raft(2).GetStatus().hard_state.commit, c.raft(1).GetStatus().hard_state.commit);
}

TEST(DurableRaftTest, PowerLossKeepsTermVoteAndAcknowledgedLog) {
  DurableCluster c(3);
  c.raft(1).Campaign();
  c.Stabilize();
  for (std::string cmd : {"a", "b"}) ASSERT_TRUE(c.raft(1).Propose(cmd).ok());
  c.Stabilize();
  for (NodeId id : {NodeId{1}, NodeId{3}}) {
    const RaftStatus before = c.raft(id).GetStatus();
    const std::vector<Entry> log_before = StoredLog(*c.node(id).storage);
    c.Restart(id, CrashMode::kDropUnsynced);
    const RaftStatus after = c.raft(id).GetStatus();
    EXPECT_EQ(after.hard_state.term, before.hard_state.term) << id;
    EXPECT_EQ(after.hard_state.vote, before.hard_state.vote) << id;
    // A commit index that only moved is written without a sync; it is learned again.
    EXPECT_LE(after.hard_state.commit, before.hard_state.commit) << id;
    EXPECT_EQ(StoredLog(*c.node(id).storage), log_before) << id;
  }
  // The old leader restarted as a follower: a new election, and the log goes on.
  c.raft(2).Campaign();
  c.Stabilize();
  ASSERT_EQ(c.Leader(), 2u);
  ASSERT_TRUE(c.raft(2).Propose("c").ok());
  c.Stabilize();
  for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) {
    EXPECT_EQ(c.node(id).state, (std::vector<std::string>{"a", "b", "c"})) << id;
  }
}

TEST(DurableRaftTest, LaggingFollowerInstallsASnapshotAndRestartsFromIt) {
  DurableCluster c(3);
  c.raft(1).Campaign();
  c.Stabilize();
  ASSERT_TRUE(c.raft(1).Propose("a").ok());
  c.Stabilize();
  c.Isolate(3);
  for (std::string cmd : {"b", "c", "d"}) ASSERT_TRUE(c.raft(1).Propose(cmd).ok());
  c.Stabilize();

  // The leader's state machine takes a snapshot and compacts its log.
  DurableCluster::Node& leader = c.node(1);
  ASSERT_TRUE(leader.storage->SaveSnapshot(leader.applied, c.raft(1).GetStatus().conf_state,
                                           SnapshotData(leader.state)).ok());
  ASSERT_TRUE(leader.storage->Compact(leader.applied).ok());
  const uint64_t snap_index = leader.applied;

  c.Heal();
  ASSERT_TRUE(c.raft(1).Propose("e").ok());
  c.Stabilize();
  const std::vector<std::string> want{"a", "b", "c", "d", "e"};
  EXPECT_EQ(c.node(3).state, want);
  ASSERT_TRUE(c.node(3).storage->snapshot_meta().has_value());
  EXPECT_EQ(c.node(3).storage->snapshot_meta()->index, snap_index);
  EXPECT_EQ(c.node(3).storage->FirstIndex(), snap_index + 1);

  c.Restart(3, CrashMode::kDropUnsynced);
  EXPECT_EQ(c.node(3).applied, snap_index);  // rebuilt from the snapshot file
  EXPECT_EQ(c.raft(3).GetStatus().conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
  ASSERT_TRUE(c.raft(1).Propose("f").ok());
  c.Stabilize();
  EXPECT_EQ(c.node(3).state, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
}

}  // namespace
}  // namespace raft
