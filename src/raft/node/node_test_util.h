#pragma once

// Test harness for raft::Node: a cluster of Nodes in one process on a
// LocalNetwork, each with DurableStorage on its own MemFs (behind a FaultyFs,
// so that a test can fail its disk) and a state machine that records what it
// applies. Real clock, short ticks; every wait is on a condition with a
// generous deadline.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "testing/faulty_fs.h"
#include "testing/mem_fs.h"
#include "transport/local_transport.h"

namespace raft::node_testing {

inline constexpr int64_t kMs = 1'000'000;
inline constexpr int64_t kSec = 1'000'000'000;

// Records every entry applied, checks that indices only go up, and tells
// waiters (the whole cluster shares one Notifier) after each apply.
class Notifier {
 public:
  void Notify() {
    { std::lock_guard<std::mutex> l(mu_); ++events_; }
    cv_.notify_all();
  }
  // Waits until pred() holds (checked at each notification and at least
  // every 10 ms) or timeout_ns passes. Returns pred()'s last value.
  bool WaitUntil(const std::function<bool()>& pred, int64_t timeout_ns);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t events_ = 0;
};

class RecordingSm final : public StateMachine {
 public:
  explicit RecordingSm(Notifier& notifier) : notifier_(notifier) {}

  std::string Apply(const Entry& e) override;
  void ApplyControl(const Entry& e) override;
  // Snapshot data: the records, as written by Serialize.
  Status Restore(const Snapshot& s) override;
  std::string SnapshotData() override { return Serialize().second; }

  // (index, data) of every normal entry applied, in order.
  std::vector<std::pair<uint64_t, std::string>> records() const;
  std::vector<std::string> data() const;
  uint64_t last_index() const;
  uint64_t restores() const;
  int order_violations() const;
  // The state as of last_index(), and that index.
  std::pair<uint64_t, std::string> Serialize() const;

 private:
  Notifier& notifier_;
  mutable std::mutex mu_;
  std::vector<std::pair<uint64_t, std::string>> records_;
  uint64_t last_ = 0;
  uint64_t restores_ = 0;
  int order_violations_ = 0;
};

struct Member {
  NodeId id = kNoNode;
  std::unique_ptr<replog_testing::MemFs> mem_fs = std::make_unique<replog_testing::MemFs>();
  std::unique_ptr<replog_testing::FaultyFs> fs = std::make_unique<replog_testing::FaultyFs>(*mem_fs);
  std::unique_ptr<transport::LocalTransport> transport;
  std::unique_ptr<DurableStorage> storage;
  std::unique_ptr<RecordingSm> sm;
  std::unique_ptr<Node> node;
  // How many times its nodes called NodeOptions::on_fatal.
  std::shared_ptr<std::atomic<int>> fatal_calls = std::make_shared<std::atomic<int>>(0);
};

struct ClusterOptions {
  int64_t tick_ns = 5 * kMs;
  int election_tick = 10;
  uint64_t max_pending_proposals = 65536;
  int64_t default_timeout_ns = 10 * kSec;
};

class TestCluster {
 public:
  // Bootstraps and starts members 1..n (all voters).
  explicit TestCluster(int n, ClusterOptions options = {});
  // Stops every node, then the transports.
  ~TestCluster();

  Member& member(NodeId id) { return *members_.at(id); }
  Node& node(NodeId id) { return *members_.at(id)->node; }
  RecordingSm& sm(NodeId id) { return *members_.at(id)->sm; }
  transport::LocalNetwork& net() { return net_; }
  Notifier& notifier() { return notifier_; }
  std::vector<NodeId> ids() const;
  std::vector<NodeId> running() const;

  // Adds member `id` (not started): bootstrapped with the group's initial
  // voters when `bootstrap` (a node joining an uncompacted group), else empty.
  void AddMember(NodeId id, bool bootstrap);
  // Opens the member's storage and starts its node with a new state machine.
  Status Start(NodeId id);
  // Destroys the node and closes its storage (its MemFs keeps the files).
  void Stop(NodeId id);

  // A node that says it is leader, among the running ones not in `exclude`,
  // once the others in that set follow it; kNoNode after timeout_ns.
  NodeId WaitForLeader(const std::set<NodeId>& exclude = {}, int64_t timeout_ns = 20 * kSec);
  bool WaitUntil(const std::function<bool()>& pred, int64_t timeout_ns = 20 * kSec) {
    return notifier_.WaitUntil(pred, timeout_ns);
  }
  // Waits until every running member not in `exclude` applied the same
  // records as `id`.
  bool WaitConverged(NodeId id, const std::set<NodeId>& exclude = {}, int64_t timeout_ns = 20 * kSec);

  // Applies `cmd` through whichever node leads, retrying refusals and
  // aborts (not unknown outcomes: those fail the call). The result's index.
  Result<ApplyResult> ApplyOnLeader(const std::string& cmd, int64_t timeout_ns = 20 * kSec);

  static std::string Address(NodeId id) { return "node-" + std::to_string(id); }

 private:
  ClusterOptions options_;
  common::RealClock clock_;
  transport::LocalNetwork net_{clock_};
  Notifier notifier_;
  ConfState initial_;
  std::map<NodeId, std::unique_ptr<Member>> members_;
};

}  // namespace raft::node_testing
