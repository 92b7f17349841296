// raft::Node's apply thread: calls the state machine in index order,
// completes proposals, publishes applied() and releases reads.

#include <spdlog/spdlog.h>

#include <chrono>

#include "raft/node/node_impl.h"
#include "common/thread_name.h"

namespace raft {

using node_internal::ApplyTask;
using node_internal::InFlight;
using node_internal::Read;

void Node::Impl::ApplyLoop() {
  common::SetThreadName("apply-g" + std::to_string(opts_.group));
  std::deque<ApplyTask> tasks;
  while (true) {
    {
      std::unique_lock<std::mutex> l(apply_mu_);
      while (!apply_stop_ && apply_q_.empty()) {
        apply_waiting_ = true;
        if (reads_waiting_.empty()) {
          apply_cv_.wait(l);
        } else {
          // Wake for the earliest read deadline.
          int64_t next = reads_waiting_.begin()->second.deadline_ns;
          for (const auto& [index, r] : reads_waiting_) next = std::min(next, r.deadline_ns);
          int64_t now = clock_.NowNanos();
          if (next > now) apply_cv_.wait_for(l, node_internal::WaitSlice(next - now));
        }
        apply_waiting_ = false;
        if (!reads_waiting_.empty() && apply_q_.empty()) {
          l.unlock();
          SweepReads(clock_.NowNanos());
          l.lock();
        }
      }
      if (apply_stop_) break;
      std::swap(tasks, apply_q_);
    }
    while (!tasks.empty()) {
      bool ok = RunTask(tasks.front());
      tasks.pop_front();
      if (!ok) break;
    }
    ServeReads();
    if (!tasks.empty()) break;  // RunTask failed: Fatal() was called
  }
  {
    std::lock_guard<std::mutex> l(apply_mu_);
    for (ApplyTask& t : apply_q_) tasks.push_back(std::move(t));
    apply_q_.clear();
  }
  FailApplyThreadWork(tasks);
}

bool Node::Impl::RunTask(ApplyTask& task) {
  if (task.snapshot) {
    const uint64_t snap_index = task.snapshot->meta.index;
    // A proposal the snapshot passes over has an unknown outcome.
    while (!applying_.empty() && applying_.front().first_index <= snap_index) {
      Finish(applying_.front(), common::Status(common::Code::kDeadlineExceeded,
                                               "raft node: outcome unknown: a snapshot replaced the log"));
      applying_.pop_front();
    }
    const int64_t restore_start_ns = metrics_.snapshot_install_seconds != nullptr ? clock_.NowNanos() : 0;
    Status s = sm_.Restore(*task.snapshot);
    if (s.ok() && metrics_.snapshot_install_seconds != nullptr) {
      metrics_.snapshot_install_seconds->ObserveNanos(clock_.NowNanos() - restore_start_ns);
    }
    if (!s.ok()) {
      Fatal(s.WithContext("raft node " + std::to_string(opts_.raft.id) + ": restoring the snapshot at " +
                          std::to_string(snap_index)));
      return false;
    }
    applied_conf_ = task.snapshot->meta.conf_state;
    SetApplied(snap_index);
    common::log::Info(LogContext(), "installed the leader's snapshot at {} (of term {})", snap_index,
                      task.snapshot->meta.term);
    std::map<NodeId, std::string> peers = sm_.PeerAddresses();
    if (!peers.empty()) {
      PushInput([&peers](node_internal::Inputs& in) {
        for (auto& [peer, address] : peers) in.restored_peers[peer] = std::move(address);
      });
    }
  }
  for (InFlight& p : task.proposals) applying_.push_back(std::move(p));
  for (auto& [index, r] : task.reads) reads_waiting_.emplace(index, std::move(r));
  if (!task.entries.empty()) {
    std::vector<InFlight> done;
    {
      metrics::ScopedTimer timer(metrics_.apply_seconds, clock_);
      auto conf = task.confs.begin();
      for (const Entry& e : task.entries) {
        std::string result;
        if (e.type == EntryType::kNormal) {
          result = sm_.Apply(e);
        } else {
          sm_.ApplyControl(e);
        }
        if (conf != task.confs.end() && conf->first == e.index) applied_conf_ = std::move((conf++)->second);
        MatchApplied(e, std::move(result), done);
      }
    }
    // applied() first, so that a proposer that learns its index finds it applied.
    SetApplied(task.entries.back().index);
    for (InFlight& p : done) {
      Release(p.count, p.bytes);
      p.done.Succeed(std::move(p.results));
    }
  }
  if (task.take_snapshot) TakeSnapshot(*task.take_snapshot);
  return true;
}

void Node::Impl::TakeSnapshot(ApplyTask::TakeSnapshot& req) {
  const uint64_t index = applied_.load();
  std::optional<SnapshotMeta> newest = storage_.snapshot_meta();
  if (newest && index <= newest->index) {
    req.done(common::FailedPreconditionError("raft node " + std::to_string(opts_.raft.id) +
                                             ": nothing applied since the snapshot at " +
                                             std::to_string(newest->index)));
    return;
  }
  const int64_t start_ns = metrics_.snapshot_save_seconds != nullptr ? clock_.NowNanos() : 0;
  Status s = storage_.SaveSnapshot(index, applied_conf_, sm_.SnapshotData());
  if (s.ok() && req.compact_to > 0) s = storage_.Compact(std::min(req.compact_to, index));
  if (s.ok() && metrics_.snapshot_save_seconds != nullptr) {
    metrics_.snapshot_save_seconds->ObserveNanos(clock_.NowNanos() - start_ns);
  }
  if (!s.ok()) {
    req.done(s.WithContext("raft node " + std::to_string(opts_.raft.id) + ": snapshot at " + std::to_string(index)));
    return;
  }
  common::log::Info(LogContext(), "snapshot at {}; log kept from {}", index, storage_.FirstIndex());
  req.done(index);
}

// Entry `e` was applied with `result`: the proposal at its index (if this
// node made one) took effect if its term matches, else it was overwritten.
void Node::Impl::MatchApplied(const Entry& e, std::string result, std::vector<InFlight>& done) {
  while (!applying_.empty() && applying_.front().last_index() < e.index) {
    // Cannot happen in order; kept as a safe outcome rather than a leak.
    Finish(applying_.front(), common::Status(common::Code::kDeadlineExceeded, "raft node: outcome unknown"));
    applying_.pop_front();
  }
  if (applying_.empty() || applying_.front().first_index > e.index) return;
  InFlight& p = applying_.front();
  if (e.term != p.term) {
    if (p.results.empty()) {
      Finish(p, common::AbortedError("raft node: entry " + std::to_string(e.index) + " of term " +
                                     std::to_string(p.term) + " was overwritten by a new leader; not committed"));
    } else {
      Finish(p, common::Status(common::Code::kDeadlineExceeded,
                               "raft node: batch cut by a leader change: the first " +
                                   std::to_string(p.results.size()) + " of " + std::to_string(p.count) +
                                   " commands were committed, the rest overwritten"));
    }
    applying_.pop_front();
    return;
  }
  p.results.push_back(ApplyResult{e.index, e.term, std::move(result)});
  if (e.index == p.last_index()) {
    done.push_back(std::move(p));
    applying_.pop_front();
  }
}

void Node::Impl::ServeReads() {
  const uint64_t applied = applied_.load();
  while (!reads_waiting_.empty() && reads_waiting_.begin()->first <= applied) {
    auto it = reads_waiting_.begin();
    uint64_t index = it->first;
    Read r = std::move(it->second);
    reads_waiting_.erase(it);
    r.done(index);
  }
}

void Node::Impl::SweepReads(int64_t now) {
  ServeReads();
  for (auto it = reads_waiting_.begin(); it != reads_waiting_.end();) {
    if (it->second.deadline_ns > now) {
      ++it;
      continue;
    }
    Read r = std::move(it->second);
    it = reads_waiting_.erase(it);
    r.done(common::Status(common::Code::kDeadlineExceeded,
                          "raft node: read timed out waiting for this node to apply its index"));
  }
}

void Node::Impl::FailApplyThreadWork(std::deque<ApplyTask>& tasks) {
  Status unknown(common::Code::kDeadlineExceeded,
                 "raft node " + std::to_string(opts_.raft.id) + ": stopped before applying; outcome unknown");
  Status stopped = StoppedError();
  for (ApplyTask& t : tasks) {
    for (InFlight& p : t.proposals) applying_.push_back(std::move(p));
    for (auto& [index, r] : t.reads) reads_waiting_.emplace(index, std::move(r));
    if (t.take_snapshot) t.take_snapshot->done(stopped);
  }
  tasks.clear();
  for (InFlight& p : applying_) Finish(p, unknown);
  applying_.clear();
  for (auto& [index, r] : reads_waiting_) r.done(stopped);
  reads_waiting_.clear();
}

}  // namespace raft
