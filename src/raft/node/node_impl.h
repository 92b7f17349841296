#pragma once

// Node::Impl: the state behind raft::Node, grouped by the thread that owns
// it. Private to src/raft/node (node.cc: the public methods, start and
// shutdown; node_raft_loop.cc: the raft thread; node_apply_loop.cc: the
// apply thread). docs/raft-node.md tells the whole story.
//
// Locks (never two at once, except status_mu_ inside nothing else):
//   in_mu_      the raft thread's inputs and `stop_`
//   apply_mu_   the apply thread's queue and `apply_stop_`
//   applied_mu_ only to sleep in WaitApplied (applied_ itself is atomic)
//   status_mu_  what the raft thread publishes for other threads
// Callbacks run with no lock held.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "common/log.h"
#include "raft/core/raft.h"
#include "raft/node/node.h"
#include "raft/node/node_metrics.h"

namespace raft {
namespace node_internal {

// Where a proposal's outcome goes: the caller's callback or the promise
// behind a future-returning call. Completes at most once.
class Completion {
 public:
  Completion() = default;
  explicit Completion(Node::ApplyCallback cb) : v_(std::move(cb)) {}
  explicit Completion(std::promise<Result<ApplyResult>> p) : v_(std::move(p)) {}
  explicit Completion(std::promise<Result<std::vector<ApplyResult>>> p) : v_(std::move(p)) {}
  explicit Completion(std::promise<Status> p) : v_(std::move(p)) {}

  void Succeed(std::vector<ApplyResult> results);
  void Fail(const Status& s);

 private:
  std::variant<std::monostate, Node::ApplyCallback, std::promise<Result<ApplyResult>>,
               std::promise<Result<std::vector<ApplyResult>>>, std::promise<Status>>
      v_;
};

// A proposal queued for the raft thread.
struct Proposal {
  std::vector<std::string> commands;       // empty for a membership change
  std::optional<ConfChange> conf_change;   // set for ChangeMembership
  uint64_t bytes = 0;
  int64_t deadline_ns = 0;
  Completion done;
};

// A proposal in the log, waiting for its entries to be applied.
struct InFlight {
  uint64_t first_index = 0;
  uint64_t count = 0;  // entries
  uint64_t term = 0;
  uint64_t bytes = 0;
  int64_t deadline_ns = 0;
  bool membership = false;
  Completion done;
  std::vector<ApplyResult> results;  // of the entries applied so far

  uint64_t last_index() const { return first_index + count - 1; }
};

// A ReadIndex request.
struct Read {
  int64_t deadline_ns = 0;
  Node::ReadCallback done;
};

// The reads one ReadIndex request serves, and when it was sent.
struct ReadRound {
  int64_t sent_ns = 0;
  std::vector<Read> reads;
};

// Work for the apply thread, in log order: restore `snapshot` (if any), then
// apply `entries`, completing `proposals`; `reads` wait for their index.
struct ApplyTask {
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;
  // The configuration after each conf-change entry of `entries` that the
  // core applied, by index.
  std::vector<std::pair<uint64_t, ConfState>> confs;
  std::vector<InFlight> proposals;
  std::vector<std::pair<uint64_t, Read>> reads;
  // Node::SnapshotAsync, after everything above.
  struct TakeSnapshot {
    uint64_t compact_to = 0;
    Node::SnapshotCallback done;
  };
  std::optional<TakeSnapshot> take_snapshot;

  bool empty() const {
    return !snapshot && entries.empty() && proposals.empty() && reads.empty() && !take_snapshot;
  }
};

// The raft thread's inputs, swapped out under in_mu_ at each iteration.
struct Inputs {
  std::vector<Message> msgs;
  std::vector<Proposal> proposals;
  std::vector<Read> reads;
  std::vector<NodeId> unreachable;
  std::vector<std::pair<NodeId, bool>> snapshot_reports;
  std::vector<NodeId> transfers;
  std::vector<std::promise<NodeStatus>> status_requests;
  std::map<NodeId, std::string> restored_peers;  // StateMachine::PeerAddresses after a Restore

  bool empty() const {
    return msgs.empty() && proposals.empty() && reads.empty() && unreachable.empty() &&
           snapshot_reports.empty() && transfers.empty() && status_requests.empty() && restored_peers.empty();
  }
};

// now + timeout, saturating (a caller may pass a huge timeout for "never").
inline int64_t DeadlineAfter(int64_t now, int64_t timeout_ns) {
  return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}
// How long one condition-variable wait may last: the standard library adds
// the duration to its own clock, which must not overflow.
inline std::chrono::nanoseconds WaitSlice(int64_t ns) {
  constexpr int64_t kMaxWaitNs = 10'000'000'000;
  return std::chrono::nanoseconds(std::clamp<int64_t>(ns, 0, kMaxWaitNs));
}

// "not the leader; leader is 2 at 127.0.0.1:7002" (or "; no leader known").
std::string NotLeaderMessage(NodeId self, NodeId leader, const std::map<NodeId, std::string>& peers);

}  // namespace node_internal

struct Node::Impl {
  Impl(const NodeOptions& options, DurableStorage& storage, transport::Transport& transport, StateMachine& sm,
       common::Clock& clock);

  // node.cc
  Status Open();  // restores the state machine, creates the core
  void StartThreads();
  void Shutdown();
  void Enqueue(node_internal::Proposal p);
  // Adds to the raft thread's inputs with `add(in_)` under in_mu_ and wakes
  // the thread if it sleeps, after unlocking (so that it does not wake only
  // to wait for the lock). False, without calling `add`, once stopped.
  template <typename Add>
  bool PushInput(Add&& add) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> l(in_mu_);
      if (stop_) return false;
      add(in_);
      wake = raft_waiting_;
    }
    if (wake) in_cv_.notify_one();
    return true;
  }
  int64_t Deadline(int64_t timeout_ns);  // now + timeout (<= 0: the default)
  void Fatal(const Status& s);  // any thread: stop for good
  Status StoppedError();        // kUnavailable naming why
  NodeStatus BuildStatus();     // raft thread (or after it stopped)
  NodeStatus PublishedStatus();
  void Release(uint64_t count, uint64_t bytes);
  void Finish(node_internal::InFlight& p, const Status& s);  // fails p and releases its budget
  void SetApplied(uint64_t index);

  // node_raft_loop.cc (raft thread)
  void RaftLoop();
  bool WaitInputs(node_internal::Inputs& in);
  void HandleInputs(node_internal::Inputs& in);
  void Tick(int64_t now);
  void Propose(std::vector<node_internal::Proposal>& props);
  void ProposeBatch(std::vector<node_internal::Proposal>& props, size_t begin, size_t end);
  void ProposeMembership(node_internal::Proposal& p);
  void Register(node_internal::InFlight p);
  void StartReads(std::vector<node_internal::Read> reads, int64_t now);
  bool HandleReady();
  bool HandleCommitted(std::vector<Entry>& entries, node_internal::ApplyTask& task);
  Status ApplyConfChangeEntry(const Entry& e);
  void UpdatePeers(const ConfChange& cc);
  void HandleReadStates(std::vector<ReadState>& states, node_internal::ApplyTask& task);
  void OnSoftState(const SoftState& ss);
  void PushApply(node_internal::ApplyTask task);
  void SweepTimeouts(int64_t now);
  void Publish();
  void FailRaftThreadWork();

  // node_apply_loop.cc (apply thread)
  void ApplyLoop();
  bool RunTask(node_internal::ApplyTask& task);
  void MatchApplied(const Entry& e, std::string result, std::vector<node_internal::InFlight>& done);
  void ServeReads();
  void SweepReads(int64_t now);
  void TakeSnapshot(node_internal::ApplyTask::TakeSnapshot& req);
  void FailApplyThreadWork(std::deque<node_internal::ApplyTask>& tasks);

  const NodeOptions opts_;
  DurableStorage& storage_;
  transport::Transport& transport_;
  StateMachine& sm_;
  common::Clock& clock_;
  const NodeMetrics metrics_;
  // What log lines about this group carry (common/log.h): its name, and the
  // term as the raft thread last saw it (read from any thread).
  const std::string group_name_;
  std::atomic<uint64_t> term_for_logs_{0};
  common::log::Context LogContext() const { return {group_name_, term_for_logs_.load(std::memory_order_relaxed)}; }
  Node* node_ = nullptr;
  bool registered_ = false;
  std::thread raft_thread_;
  std::thread::id raft_thread_id_;  // set before Start returns, never changed
  std::thread apply_thread_;
  std::mutex shutdown_mu_;  // serializes Shutdown()
  bool shut_down_ = false;

  // Inputs of the raft thread (in_mu_).
  std::mutex in_mu_;
  std::condition_variable in_cv_;
  bool stop_ = false;          // Shutdown() or Fatal(): the raft thread exits
  bool raft_waiting_ = false;  // the raft thread sleeps on in_cv_
  node_internal::Inputs in_;

  // Budget of proposals queued or in flight (commands, bytes).
  std::atomic<uint64_t> pending_commands_{0};
  std::atomic<uint64_t> pending_bytes_{0};

  // Raft thread only.
  std::unique_ptr<Raft> raft_;
  std::map<uint64_t, node_internal::InFlight> inflight_;  // by first index
  uint64_t aborted_below_term_ = 0;  // in-flight proposals of older terms were aborted
  // ReadIndex requests in flight, by context. One unanswered for an election
  // timeout (its message was lost: a peer stream still connecting, a leader
  // that changed and back) is sent again (SweepTimeouts).
  std::map<std::string, node_internal::ReadRound> reads_by_ctx_;
  uint64_t next_read_ctx_ = 0;
  int64_t next_tick_ns_ = 0;
  int64_t next_sweep_ns_ = 0;
  SoftState soft_;
  std::map<NodeId, std::string> peers_;
  bool peers_changed_ = false;

  // Published by the raft thread (atomics, or status_mu_).
  std::atomic<Role> pub_role_{Role::kFollower};
  std::atomic<NodeId> pub_leader_{kNoNode};
  std::atomic<uint64_t> pub_term_{0};
  mutable std::mutex status_mu_;
  std::condition_variable status_cv_;  // leader known, or stopped
  ConfState pub_conf_;
  std::map<NodeId, std::string> pub_peers_;
  Status error_;
  std::atomic<bool> stopped_{false};  // Fatal() or Shutdown() began

  // The apply thread's queue (apply_mu_).
  std::mutex apply_mu_;
  std::condition_variable apply_cv_;
  std::deque<node_internal::ApplyTask> apply_q_;
  bool apply_stop_ = false;
  bool apply_waiting_ = false;

  // Apply thread only.
  std::deque<node_internal::InFlight> applying_;
  ConfState applied_conf_;  // the configuration as of applied() (set in Open)
  std::multimap<uint64_t, node_internal::Read> reads_waiting_;  // by index

  // The state machine's applied index.
  std::atomic<uint64_t> applied_{0};
  std::mutex applied_mu_;
  std::condition_variable applied_cv_;
  std::atomic<int> applied_waiters_{0};
};

}  // namespace raft
