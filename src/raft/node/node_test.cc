// raft::Node: a 3-node cluster in one process (LocalNetwork, DurableStorage
// on MemFs, real clock with 5 ms ticks): election, replication in one order,
// concurrent proposals, refusals with a leader hint, leader isolation,
// ReadIndex, WaitApplied, restarts, shutdown, transfer.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "raft/node/node_test_util.h"

namespace raft {
namespace {

using node_testing::kMs;
using node_testing::kSec;
using node_testing::TestCluster;

bool Ready(auto& future) { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }

TEST(NodeTest, ElectsALeaderEveryoneFollows) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.node(id).leader_hint().id, leader);
    EXPECT_EQ(c.node(id).leader_hint().address, TestCluster::Address(leader));
    EXPECT_TRUE(c.node(id).WaitForLeader(kSec).ok());
  }
  NodeStatus st = c.node(leader).GetStatus();
  EXPECT_EQ(st.role, Role::kLeader);
  EXPECT_EQ(st.conf_state.voters, (std::vector<NodeId>{1, 2, 3}));
  EXPECT_EQ(st.match_index.size(), 3u);
  EXPECT_TRUE(st.error.ok());
}

TEST(NodeTest, ApplyReturnsIncreasingIndicesAndEveryNodeAppliesInOrder) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  uint64_t prev = 0;
  std::vector<std::string> want;
  for (int i = 0; i < 50; ++i) {
    std::string cmd = "cmd-" + std::to_string(i);
    Result<ApplyResult> r = c.ApplyOnLeader(cmd);
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_GT(r->index, prev);
    EXPECT_EQ(r->result, "applied:" + cmd);
    prev = r->index;
    want.push_back(cmd);
    // Apply completes only after the proposer's state machine applied it.
    EXPECT_GE(c.node(leader).applied(), r->index);
  }
  ASSERT_TRUE(c.WaitConverged(leader));
  for (NodeId id : c.ids()) {
    EXPECT_EQ(c.sm(id).data(), want) << "node " << id;
    EXPECT_EQ(c.sm(id).order_violations(), 0);
  }
}

// 8 threads propose at once: every command is applied exactly once, in one
// order on all nodes, and each caller's index is where its command sits.
void RunConcurrentApply() {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  constexpr int kThreads = 8, kPerThread = 100;
  std::mutex mu;
  std::map<uint64_t, std::string> by_index;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string cmd = "t" + std::to_string(t) + "-" + std::to_string(i);
        Result<ApplyResult> r = c.ApplyOnLeader(cmd);
        if (!r.has_value()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        EXPECT_TRUE(by_index.emplace(r->index, cmd).second) << "index " << r->index << " given twice";
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  NodeId now_leader = c.WaitForLeader();
  ASSERT_NE(now_leader, kNoNode);
  ASSERT_TRUE(c.WaitConverged(now_leader));
  auto records = c.sm(now_leader).records();
  std::set<std::string> seen;
  for (const auto& [index, data] : records) {
    EXPECT_TRUE(seen.insert(data).second) << data << " applied twice";
    auto it = by_index.find(index);
    if (it != by_index.end()) {
      EXPECT_EQ(it->second, data);
    }
  }
  EXPECT_EQ(seen.size(), size_t{kThreads * kPerThread});
  EXPECT_EQ(by_index.size(), size_t{kThreads * kPerThread});
  for (NodeId id : c.ids()) EXPECT_EQ(c.sm(id).order_violations(), 0);
}

TEST(NodeTest, ConcurrentApplyFromEightThreads) { RunConcurrentApply(); }

TEST(NodeTest, ConcurrentApplyRepeated) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    RunConcurrentApply();
  }
}

TEST(NodeTest, ApplyBatchCommitsConsecutiveEntries) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  auto r = c.node(leader).ApplyBatch({"a", "b", "c"}).get();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*r)[i].index, (*r)[0].index + i);
    EXPECT_EQ((*r)[i].result, std::string("applied:") + char('a' + i));
  }
}

TEST(NodeTest, BadProposalsAreRefused) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  auto empty = c.node(leader).ApplyBatch({}).get();
  EXPECT_EQ(empty.error().code(), common::Code::kInvalidArgument);
  auto big = c.node(leader).Apply(std::string(17 << 20, 'x')).get();
  EXPECT_EQ(big.error().code(), common::Code::kInvalidArgument);
}

TEST(NodeTest, FollowerRefusesNamingTheLeader) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId follower = leader % 3 + 1;
  auto r = c.node(follower).Apply("x").get();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), common::Code::kUnavailable);
  EXPECT_EQ(r.error().message(),
            "not the leader; leader is " + std::to_string(leader) + " at " + TestCluster::Address(leader));
  auto m = c.node(follower).ChangeMembership(ConfChange{.changes = {{ConfChangeType::kAddLearner, 9}}}, {}).get();
  EXPECT_EQ(m.code(), common::Code::kUnavailable);
  EXPECT_EQ(c.sm(follower).data(), std::vector<std::string>{});
}

TEST(NodeTest, TooManyPendingProposalsAreRefused) {
  node_testing::ClusterOptions o;
  o.max_pending_proposals = 4;
  TestCluster c(3, o);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  // The followers are cut off: nothing commits, everything stays pending.
  for (NodeId id : c.ids()) {
    if (id != leader) c.net().DropBetween(leader, id);
  }
  std::vector<std::future<Result<ApplyResult>>> fs;
  for (int i = 0; i < 4; ++i) fs.push_back(c.node(leader).Apply("p" + std::to_string(i), 60 * kSec));
  auto refused = c.node(leader).Apply("over").get();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), common::Code::kUnavailable);
  EXPECT_NE(refused.error().message().find("too many pending"), std::string::npos);
  c.net().Heal();
}

// The leader is cut off: the others elect a new one, which serves; the old
// leader's proposals end kAborted or kDeadlineExceeded, never OK unless the
// command really is in the log.
TEST(NodeTest, IsolatedLeaderIsReplacedAndItsProposalsFail) {
  TestCluster c(3);
  NodeId old_leader = c.WaitForLeader();
  ASSERT_NE(old_leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("before").has_value());
  c.net().Isolate(old_leader);
  std::vector<std::future<Result<ApplyResult>>> stale;
  for (int i = 0; i < 5; ++i) stale.push_back(c.node(old_leader).Apply("stale-" + std::to_string(i), 3 * kSec));
  NodeId new_leader = c.WaitForLeader({old_leader});
  ASSERT_NE(new_leader, kNoNode);
  ASSERT_NE(new_leader, old_leader);
  auto fresh = c.node(new_leader).Apply("fresh").get();
  ASSERT_TRUE(fresh.has_value()) << fresh.error().ToString();
  c.net().Heal();
  ASSERT_TRUE(c.WaitUntil([&] { return c.node(old_leader).leader_hint().id != old_leader; }));
  for (auto& f : stale) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    Result<ApplyResult> r = f.get();
    if (r.has_value()) {
      ADD_FAILURE() << "a stale proposal succeeded at " << r->index;
      continue;
    }
    EXPECT_TRUE(r.error().code() == common::Code::kAborted || r.error().code() == common::Code::kDeadlineExceeded)
        << r.error().ToString();
  }
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("after").has_value());
  ASSERT_TRUE(c.WaitConverged(leader));
  for (const std::string& d : c.sm(leader).data()) EXPECT_EQ(d.rfind("stale-", 0), std::string::npos) << d;
}

TEST(NodeTest, ReadIndexOnFollowerSeesPrecedingWrite) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId follower = leader % 3 + 1;
  for (int i = 0; i < 5; ++i) {
    auto w = c.ApplyOnLeader("w" + std::to_string(i));
    ASSERT_TRUE(w.has_value());
    auto r = c.node(follower).ReadIndex().get();
    ASSERT_TRUE(r.has_value()) << r.error().ToString();
    EXPECT_GE(*r, w->index);
    EXPECT_GE(c.node(follower).applied(), *r);
    EXPECT_EQ(c.sm(follower).data().back(), "w" + std::to_string(i));
  }
  auto on_leader = c.node(leader).ReadIndex().get();
  ASSERT_TRUE(on_leader.has_value()) << on_leader.error().ToString();
}

// A follower's ReadIndex request that the network lost (a peer stream still
// connecting, in replogd) is sent again after an election timeout, instead
// of holding the read until its deadline.
TEST(NodeTest, ALostReadIndexRequestIsSentAgain) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
  NodeId follower = leader % 3 + 1;
  common::RealClock clock;
  c.net().DropBetween(follower, leader);
  const int64_t start = clock.NowNanos();
  auto read = c.node(follower).ReadIndex(5 * kSec);
  std::this_thread::sleep_for(std::chrono::milliseconds(15));  // shorter than an election timeout (50 ms)
  c.net().Heal();
  auto r = read.get();
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_LT(clock.NowNanos() - start, 1 * kSec) << "the read waited for its deadline";
}

TEST(NodeTest, ReadIndexWithoutQuorumFails) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
  c.net().Isolate(leader);
  auto r = c.node(leader).ReadIndex(200 * kMs).get();
  ASSERT_FALSE(r.has_value());
  EXPECT_TRUE(r.error().code() == common::Code::kDeadlineExceeded || r.error().code() == common::Code::kUnavailable)
      << r.error().ToString();
  c.net().Heal();
}

TEST(NodeTest, WaitAppliedWakesOnApply) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId follower = leader % 3 + 1;
  common::RealClock clock;
  uint64_t target = c.node(follower).applied() + 2;  // the next write (maybe after a no-op)
  // Past its deadline it returns at once, short of the target (the leader's
  // no-op may still be applied meanwhile, so not a fixed index).
  EXPECT_LT(c.node(follower).WaitApplied(target, clock.NowNanos()), target);
  std::atomic<uint64_t> woke{0};
  std::thread waiter([&] { woke = c.node(follower).WaitApplied(target, clock.NowNanos() + 20 * kSec); });
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.ApplyOnLeader("w").has_value());
  waiter.join();
  EXPECT_GE(woke.load(), target);
}

TEST(NodeTest, RestartedFollowerKeepsItsDataAndCatchesUp) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  NodeId follower = leader % 3 + 1;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.ApplyOnLeader("a" + std::to_string(i)).has_value());
  ASSERT_TRUE(c.WaitConverged(leader));
  c.Stop(follower);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.ApplyOnLeader("b" + std::to_string(i)).has_value());
  ASSERT_TRUE(c.Start(follower).ok());
  leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.WaitConverged(leader));
  EXPECT_EQ(c.sm(follower).data().size(), 40u);
  EXPECT_EQ(c.sm(follower).order_violations(), 0);
}

TEST(NodeTest, RestartedLeaderRejoins) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.ApplyOnLeader("a" + std::to_string(i)).has_value());
  c.Stop(leader);
  NodeId next = c.WaitForLeader();
  ASSERT_NE(next, kNoNode);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.ApplyOnLeader("b" + std::to_string(i)).has_value());
  ASSERT_TRUE(c.Start(leader).ok());
  ASSERT_TRUE(c.WaitConverged(next));
  EXPECT_EQ(c.sm(leader).data().size(), 20u);
}

TEST(NodeTest, ShutdownFailsPendingProposalsPromptly) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  for (NodeId id : c.ids()) {
    if (id != leader) c.net().DropBetween(leader, id);
  }
  std::vector<std::future<Result<ApplyResult>>> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(c.node(leader).Apply("p", 60 * kSec));
  auto read = c.node(leader).ReadIndex(60 * kSec);
  auto start = std::chrono::steady_clock::now();
  c.node(leader).Shutdown();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  for (auto& f : pending) {
    ASSERT_TRUE(Ready(f));
    auto r = f.get();
    ASSERT_FALSE(r.has_value());
    EXPECT_TRUE(r.error().code() == common::Code::kDeadlineExceeded ||
                r.error().code() == common::Code::kUnavailable)
        << r.error().ToString();
  }
  ASSERT_TRUE(Ready(read));
  EXPECT_FALSE(read.get().has_value());
  auto after = c.node(leader).Apply("late").get();
  EXPECT_EQ(after.error().code(), common::Code::kUnavailable);
  c.node(leader).Shutdown();  // idempotent
  c.net().Heal();
}

TEST(NodeTest, StartRefusesABadConfigAndATakenGroup) {
  TestCluster c(3);
  replog_testing::MemFs fs;
  auto storage = DurableStorage::Open(fs, "/other");
  ASSERT_TRUE(storage.has_value());
  node_testing::Notifier notifier;
  node_testing::RecordingSm sm(notifier);
  common::RealClock clock;
  NodeOptions o;
  auto bad = Node::Start(o, **storage, *c.member(1).transport, sm, clock);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), common::Code::kInvalidArgument);
  o.raft.id = 1;
  auto taken = Node::Start(o, **storage, *c.member(1).transport, sm, clock);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code(), common::Code::kFailedPrecondition);
  // The running node was not disturbed.
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
}

TEST(NodeTest, WaitAppliedWithoutDeadlineReturnsOnceApplied) {
  TestCluster c(3);
  ASSERT_NE(c.WaitForLeader(), kNoNode);
  auto w = c.ApplyOnLeader("x");
  ASSERT_TRUE(w.has_value());
  for (NodeId id : c.ids()) EXPECT_GE(c.node(id).WaitApplied(w->index, INT64_MAX), w->index);
}

TEST(NodeTest, TransferLeadershipHandsOver) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
  NodeId to = leader % 3 + 1;
  EXPECT_EQ(c.node(leader).TransferLeadership(42).code(), common::Code::kInvalidArgument);
  ASSERT_TRUE(c.node(leader).TransferLeadership(to).ok());
  EXPECT_TRUE(c.WaitUntil([&] { return c.node(to).GetStatus().role == Role::kLeader; }));
}

TEST(NodeTest, WaitForNewLeaderReturnsOnceTheSuccessorIsKnown) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  ASSERT_TRUE(c.ApplyOnLeader("x").has_value());
  // No hand-over asked: the wait times out.
  Status none = c.node(leader).WaitForNewLeader(leader, 20'000'000);
  EXPECT_EQ(none.code(), common::Code::kUnavailable) << none.ToString();
  NodeId to = leader % 3 + 1;
  ASSERT_TRUE(c.node(leader).TransferLeadership(to).ok());
  Status s = c.node(leader).WaitForNewLeader(leader, 5 * kSec);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.node(leader).leader_hint().id, to);
  EXPECT_NE(c.node(leader).GetStatus().role, Role::kLeader);
}

TEST(NodeTest, LeaderStatusShowsEachFollowersProgress) {
  TestCluster c(3);
  NodeId leader = c.WaitForLeader();
  ASSERT_NE(leader, kNoNode);
  auto first = c.ApplyOnLeader("x");
  ASSERT_TRUE(first.has_value());
  auto caught_up = [&](NodeId id, uint64_t index) {
    NodeStatus st = c.node(leader).GetStatus();
    return st.progress.contains(id) && st.progress.at(id).replicating && st.progress.at(id).match >= index;
  };
  for (NodeId id : c.ids()) EXPECT_TRUE(c.WaitUntil([&] { return caught_up(id, first->index); })) << id;

  // A follower cut off falls behind and, after a check-quorum round, is no
  // longer recently active.
  const NodeId cut = leader % 3 + 1;
  const NodeId other = 6 - leader - cut;
  c.net().Isolate(cut);
  auto second = c.ApplyOnLeader("y");
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(c.WaitUntil([&] { return caught_up(other, second->index); }));
  EXPECT_TRUE(c.WaitUntil([&] { return !c.node(leader).GetStatus().progress.at(cut).recent_active; }));
  NodeStatus st = c.node(leader).GetStatus();
  EXPECT_LT(st.progress.at(cut).match, second->index);
  EXPECT_EQ(st.progress.at(cut).match, st.match_index.at(cut));
  c.net().Heal();
  EXPECT_TRUE(c.WaitUntil([&] { return caught_up(cut, second->index); }));
  EXPECT_TRUE(c.WaitUntil([&] { return c.node(leader).GetStatus().progress.at(cut).recent_active; }));
  // Followers publish no progress.
  EXPECT_TRUE(c.node(other).GetStatus().progress.empty());
}

}  // namespace
}  // namespace raft
