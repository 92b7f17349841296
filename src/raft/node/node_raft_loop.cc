// raft::Node's raft thread: takes the queued inputs, drives the core and
// handles each Ready in the order of ready.h.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>

#include "common/coding.h"
#include "common/thread_name.h"
#include "raft/node/node_impl.h"
#include "raft/node/peer_addresses.h"

namespace raft {
namespace {

// "voters 1,2,3 learners 4" (and the outgoing voters of a joint one).
std::string FormatConfState(const ConfState& cs) {
  auto ids = [](const char* what, const std::vector<NodeId>& v) {
    if (v.empty()) return std::string();
    std::string out = std::string(" ") + what + " ";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out;
  };
  std::string out = ids("voters", cs.voters) + ids("learners", cs.learners) +
                    ids("outgoing voters", cs.voters_outgoing) + ids("next learners", cs.learners_next);
  return out.empty() ? "no members" : out.substr(1);
}

}  // namespace


using node_internal::ApplyTask;
using node_internal::InFlight;
using node_internal::Inputs;
using node_internal::Proposal;
using node_internal::Read;

void Node::Impl::RaftLoop() {
  common::SetThreadName("raft-g" + std::to_string(opts_.group));
  Inputs in;
  while (WaitInputs(in)) {
    HandleInputs(in);
    if (raft_->HasReady() && !HandleReady()) break;  // a failed persist: stop
    Publish();
  }
  FailRaftThreadWork();
}

// Sleeps until there is input, a Ready, a tick due, or stop. Returns false
// on stop; else `in` holds the inputs taken from the queue.
bool Node::Impl::WaitInputs(Inputs& in) {
  std::unique_lock<std::mutex> l(in_mu_);
  while (!stop_ && in_.empty() && !raft_->HasReady()) {
    int64_t now = clock_.NowNanos();
    if (now >= next_tick_ns_) break;
    raft_waiting_ = true;
    in_cv_.wait_for(l, node_internal::WaitSlice(next_tick_ns_ - now));
    raft_waiting_ = false;
  }
  if (stop_) return false;
  std::swap(in, in_);
  return true;
}

void Node::Impl::HandleInputs(Inputs& in) {
  // Messages first: a heartbeat that waited during a long persist must reset
  // the election timer before the ticks of that time are counted.
  for (const Message& m : in.msgs) {
    Status s = raft_->Step(m);
    if (!s.ok()) common::log::Debug(LogContext(), "step {}: {}", MessageTypeName(m.type), s.ToString());
  }
  in.msgs.clear();
  for (NodeId id : in.unreachable) raft_->ReportUnreachable(id);
  in.unreachable.clear();
  for (auto [id, failed] : in.snapshot_reports) raft_->ReportSnapshot(id, failed);
  in.snapshot_reports.clear();
  int64_t now = clock_.NowNanos();
  Tick(now);
  if (!in.proposals.empty()) Propose(in.proposals);
  in.proposals.clear();
  if (!in.reads.empty()) StartReads(std::move(in.reads), now);
  in.reads.clear();
  for (NodeId to : in.transfers) raft_->TransferLeadership(to);
  in.transfers.clear();
  for (auto& [id, address] : in.restored_peers) {
    if (id == opts_.raft.id || !peers_.emplace(id, address).second) continue;
    peers_changed_ = true;
    transport_.SetPeer(id, address);
  }
  in.restored_peers.clear();
  for (auto& req : in.status_requests) req.set_value(BuildStatus());
  in.status_requests.clear();
  if (now >= next_sweep_ns_) {
    SweepTimeouts(now);
    next_sweep_ns_ = now + opts_.tick_ns;
  }
}

// At most one tick per iteration, as etcd's ticker drops the ticks its loop
// was too busy to take: a node stalled by its own disk must not count the
// stall as silence from the leader (whose heartbeats wait in the queue) and
// campaign, nor a leader send a burst of heartbeats.
void Node::Impl::Tick(int64_t now) {
  if (now < next_tick_ns_) return;
  raft_->Tick();
  next_tick_ns_ += opts_.tick_ns;
  if (next_tick_ns_ <= now) next_tick_ns_ = now + opts_.tick_ns;
}

// Group commit: everything queued since the last iteration goes into as few
// ProposeBatch calls as max_batch_bytes allows, hence into one Ready.
void Node::Impl::Propose(std::vector<Proposal>& props) {
  if (raft_->role() != Role::kLeader) {
    Status s = common::UnavailableError(node_internal::NotLeaderMessage(opts_.raft.id, raft_->leader(), peers_));
    for (Proposal& p : props) {
      Release(p.conf_change ? 1 : p.commands.size(), p.bytes);
      p.done.Fail(s);
    }
    return;
  }
  size_t i = 0;
  while (i < props.size()) {
    if (props[i].conf_change) {
      ProposeMembership(props[i]);
      ++i;
      continue;
    }
    size_t j = i;
    uint64_t bytes = 0;
    while (j < props.size() && !props[j].conf_change &&
           (j == i || bytes + props[j].bytes <= opts_.max_batch_bytes)) {
      bytes += props[j].bytes;
      ++j;
    }
    ProposeBatch(props, i, j);
    i = j;
  }
}

void Node::Impl::ProposeBatch(std::vector<Proposal>& props, size_t begin, size_t end) {
  size_t n = 0;
  for (size_t k = begin; k < end; ++k) n += props[k].commands.size();
  std::vector<std::string> batch;
  batch.reserve(n);
  for (size_t k = begin; k < end; ++k) {
    for (std::string& c : props[k].commands) batch.push_back(std::move(c));
  }
  const uint64_t before = raft_->log().last_index();
  Status s = raft_->ProposeBatch(std::move(batch));
  if (!s.ok()) {
    // The leader's own refusals (too many uncommitted bytes, a transfer in
    // progress) are not about who leads: no hint then.
    Status err = common::UnavailableError(
        raft_->role() == Role::kLeader
            ? "raft node " + std::to_string(opts_.raft.id) + ": proposal refused: " + s.message()
            : s.message() + "; " + node_internal::NotLeaderMessage(opts_.raft.id, raft_->leader(), peers_));
    for (size_t k = begin; k < end; ++k) {
      Release(props[k].commands.size(), props[k].bytes);
      props[k].done.Fail(err);
    }
    return;
  }
  CHECK(raft_->log().last_index() == before + n);
  uint64_t index = before + 1;
  for (size_t k = begin; k < end; ++k) {
    Proposal& p = props[k];
    InFlight f{.first_index = index, .count = p.commands.size(), .term = raft_->term(), .bytes = p.bytes,
               .deadline_ns = p.deadline_ns, .membership = false, .done = std::move(p.done)};
    index += f.count;
    Register(std::move(f));
  }
}

void Node::Impl::ProposeMembership(Proposal& p) {
  const uint64_t before = raft_->log().last_index();
  Status s = raft_->ProposeConfChange(*p.conf_change);
  if (!s.ok()) {
    Release(1, p.bytes);
    p.done.Fail(s.code() == common::Code::kUnavailable
                    ? common::UnavailableError(s.message() + "; " +
                                               node_internal::NotLeaderMessage(opts_.raft.id, raft_->leader(), peers_))
                    : s);
    return;
  }
  CHECK(raft_->log().last_index() == before + 1);
  Register(InFlight{.first_index = before + 1, .count = 1, .term = raft_->term(), .bytes = p.bytes,
                    .deadline_ns = p.deadline_ns, .membership = true, .done = std::move(p.done)});
}

void Node::Impl::Register(InFlight p) {
  // Older proposals at or after this index were cut from this node's log
  // while it was not leader. Another leader may still commit them, so their
  // outcome is unknown (not kAborted).
  auto it = inflight_.lower_bound(p.first_index);
  if (it != inflight_.begin() && std::prev(it)->second.last_index() >= p.first_index) --it;
  while (it != inflight_.end()) {
    Finish(it->second, common::Status(common::Code::kDeadlineExceeded,
                                      "raft node: outcome unknown: the entry was cut from this node's log"));
    it = inflight_.erase(it);
  }
  inflight_.emplace(p.first_index, std::move(p));
}

void Node::Impl::StartReads(std::vector<Read> reads, int64_t now) {
  // One ReadIndex for every read that arrived in this iteration: each was
  // requested before it, so one leadership confirmation serves them all.
  Status s = raft_->leader() == kNoNode ? common::UnavailableError("no leader known") : Status::Ok();
  std::string ctx;
  if (s.ok()) {
    ctx.resize(8);
    common::EncodeFixed64(ctx.data(), next_read_ctx_++);
    s = raft_->ReadIndex(ctx);
  }
  if (!s.ok()) {
    Status err = common::UnavailableError("raft node " + std::to_string(opts_.raft.id) + ": read refused: " +
                                          s.message());
    for (Read& r : reads) r.done(err);
    return;
  }
  reads_by_ctx_.emplace(std::move(ctx), node_internal::ReadRound{.sent_ns = now, .reads = std::move(reads)});
}

// One Ready, in the order of ready.h, with one liberty: committed entries
// are handed to the apply thread before the persist, not after. They are
// durable here already (the core hands out only entries below its unstable
// ones, RaftLog::ApplyLimit) and committed, so applying them cannot depend
// on this Ready's write; the state machine then works, and proposers learn
// their outcome, while the fsync of the next entries runs (as etcd's server
// does). A snapshot (never in the same Ready as committed entries) is
// restored only after the persist that installs it.
bool Node::Impl::HandleReady() {
  Ready rd = raft_->GetReady();
  // 1. A leader's appends and heartbeats leave before its own write (§10.2.1).
  if (!rd.messages.empty()) transport_.Send(opts_.group, std::move(rd.messages));
  // 4 (early). Conf changes, committed entries and reads for the apply thread.
  ApplyTask task;
  CHECK(!rd.snapshot || rd.committed_entries.empty());
  if (!rd.committed_entries.empty() && !HandleCommitted(rd.committed_entries, task)) return false;
  HandleReadStates(rd.read_states, task);
  if (!task.empty()) PushApply(std::move(task));
  // 2. Persist: a failure is fatal (what was acknowledged can no longer be
  //    trusted to be on disk, and the log is read-only now).
  if (rd.snapshot || !rd.entries.empty() || rd.hard_state) {
    metrics::ScopedTimer timer(rd.entries.empty() ? nullptr : metrics_.append_seconds, clock_);
    Status s = storage_.Persist(rd);
    if (!s.ok()) {
      Fatal(s.WithContext("raft node " + std::to_string(opts_.raft.id) + ": persist"));
      return false;
    }
  }
  // 3. Votes and acknowledgements promise what is now durable.
  if (!rd.messages_after_persist.empty()) transport_.Send(opts_.group, std::move(rd.messages_after_persist));
  // 4. A snapshot from the leader, now installed: the state machine loads it
  //    before any later entry.
  if (rd.snapshot && !rd.snapshot->empty()) {
    const uint64_t snap_index = rd.snapshot->meta.index;
    while (!inflight_.empty() && inflight_.begin()->first <= snap_index) {
      Finish(inflight_.begin()->second,
             common::Status(common::Code::kDeadlineExceeded, "raft node: outcome unknown: a snapshot replaced the log"));
      inflight_.erase(inflight_.begin());
    }
    ApplyTask snap_task;
    snap_task.snapshot = std::move(rd.snapshot);
    PushApply(std::move(snap_task));
  }
  if (rd.hard_state) term_for_logs_.store(rd.hard_state->term, std::memory_order_relaxed);
  if (rd.soft_state != soft_) OnSoftState(rd.soft_state);
  // 5.
  raft_->Advance();
  return true;
}

// Conf changes are applied here, on the raft thread, before Advance (the
// core's configuration must follow its log); the entries themselves, conf
// changes included, go to the apply thread with the proposals they complete.
bool Node::Impl::HandleCommitted(std::vector<Entry>& entries, ApplyTask& task) {
  for (const Entry& e : entries) {
    if (e.type != EntryType::kConfChange) continue;
    Status s = ApplyConfChangeEntry(e);
    if (s.code() == common::Code::kDataLoss) {
      Fatal(s);
      return false;
    }
    if (s.ok()) task.confs.emplace_back(e.index, raft_->config().ToConfState());
    auto it = inflight_.find(e.index);
    if (it != inflight_.end() && it->second.membership && it->second.term == e.term) {
      InFlight p = std::move(it->second);
      inflight_.erase(it);
      Release(p.count, p.bytes);
      if (s.ok()) {
        p.done.Succeed({});
      } else {
        p.done.Fail(s);
      }
    }
  }
  const uint64_t last = entries.back().index;
  while (!inflight_.empty() && inflight_.begin()->first <= last) {
    InFlight p = std::move(inflight_.begin()->second);
    inflight_.erase(inflight_.begin());
    if (p.membership) {
      // Its index was committed with another entry: a new leader overwrote it.
      Finish(p, common::AbortedError("raft node: membership change overwritten by a new leader"));
      continue;
    }
    task.proposals.push_back(std::move(p));
  }
  // Terms only grow along a log: once an entry of term T is committed, no
  // entry of an older term after it ever will be. Proposals of older terms
  // still waiting here are dead (checked once per new committed term).
  const uint64_t last_term = entries.back().term;
  if (last_term > aborted_below_term_) {
    aborted_below_term_ = last_term;
    for (auto it = inflight_.begin(); it != inflight_.end();) {
      if (it->second.term >= last_term) {
        ++it;
        continue;
      }
      Finish(it->second, common::AbortedError("raft node: entry " + std::to_string(it->first) + " of term " +
                                              std::to_string(it->second.term) + " lost to a leader of term " +
                                              std::to_string(last_term) + "; not committed"));
      it = inflight_.erase(it);
    }
  }
  task.entries = std::move(entries);
  return true;
}

// Applies one committed conf-change entry to the core and the transport.
// kDataLoss for an entry that does not decode (fatal); the core's error for a
// change it skips (the entry stays applied, as a no-op).
Status Node::Impl::ApplyConfChangeEntry(const Entry& e) {
  Result<ConfChange> cc = DecodeConfChange(e.data);
  if (!cc.has_value()) {
    return cc.error().WithContext("raft node " + std::to_string(opts_.raft.id) + ": committed conf change at " +
                                  std::to_string(e.index));
  }
  Result<ConfState> cs = raft_->ApplyConfChange(*cc);
  if (!cs.has_value()) {
    common::log::Warn(LogContext(), "conf change at {} skipped: {}", e.index, cs.error().ToString());
    return cs.error();
  }
  common::log::Info(LogContext(), "configuration at {}: {}", e.index, FormatConfState(*cs));
  UpdatePeers(*cc);
  std::lock_guard<std::mutex> l(status_mu_);
  pub_conf_ = *cs;
  return Status::Ok();
}

void Node::Impl::UpdatePeers(const ConfChange& cc) {
  Result<std::map<NodeId, std::string>> addrs = DecodePeerAddresses(cc.context);
  if (!addrs.has_value()) {
    common::log::Warn(LogContext(), "conf change context: {}", addrs.error().ToString());
  } else {
    for (const auto& [id, address] : *addrs) {
      if (peers_[id] == address) continue;
      peers_[id] = address;
      peers_changed_ = true;
      if (id != opts_.raft.id) transport_.SetPeer(id, address);
    }
  }
  for (const ConfChangeItem& item : cc.changes) {
    if (item.type != ConfChangeType::kRemove || item.node == opts_.raft.id) continue;
    if (peers_.erase(item.node) > 0) peers_changed_ = true;
    transport_.RemovePeer(item.node);
  }
}

void Node::Impl::HandleReadStates(std::vector<ReadState>& states, ApplyTask& task) {
  const uint64_t applied = applied_.load();
  for (ReadState& rs : states) {
    auto it = reads_by_ctx_.find(rs.request_ctx);
    if (it == reads_by_ctx_.end()) continue;  // timed out meanwhile
    for (Read& r : it->second.reads) {
      if (applied >= rs.index) {
        r.done(rs.index);
      } else {
        task.reads.emplace_back(rs.index, std::move(r));
      }
    }
    reads_by_ctx_.erase(it);
  }
}

void Node::Impl::OnSoftState(const SoftState& ss) {
  if (ss.leader != soft_.leader && !reads_by_ctx_.empty()) {
    // The requests went to (or were held by) the old leader and may never be
    // answered: fail them now rather than at their deadline.
    Status err = common::UnavailableError("raft node " + std::to_string(opts_.raft.id) +
                                          ": leader changed; read not confirmed");
    for (auto& [ctx, round] : reads_by_ctx_) {
      for (Read& r : round.reads) r.done(err);
    }
    reads_by_ctx_.clear();
  }
  // Elections at info, one line per change (docs/raft-node.md): the nemesis
  // test reads "became leader in term T" to check one leader per term.
  if (ss.leader != soft_.leader && ss.leader != kNoNode && metrics_.leader_changes != nullptr) {
    metrics_.leader_changes->Inc();
  }
  if (ss.role != soft_.role || ss.leader != soft_.leader) {
    term_for_logs_.store(raft_->term(), std::memory_order_relaxed);
    if (ss.role == Role::kLeader) {
      common::log::Info(LogContext(), "became leader");
    } else if (ss.leader != kNoNode) {
      common::log::Info(LogContext(), "following leader {}", ss.leader);
    } else {
      common::log::Info(LogContext(), "{}, no leader known", RoleName(ss.role));
    }
  }
  soft_ = ss;
}

void Node::Impl::PushApply(ApplyTask task) {
  bool queued = false;
  bool wake = false;
  {
    std::lock_guard<std::mutex> l(apply_mu_);
    if (!apply_stop_) {
      apply_q_.push_back(std::move(task));
      queued = true;
      wake = apply_waiting_;
    }
  }
  if (wake) apply_cv_.notify_one();  // after unlocking: the thread need not wait for the lock
  if (queued) return;
  // The apply thread stopped (fatal error): nothing more will be applied.
  // These proposals are committed, so "not proposed" (StoppedError) would
  // invite a duplicating retry: their outcome is unknown to the caller.
  Status unapplied(common::Code::kDeadlineExceeded, "raft node " + std::to_string(opts_.raft.id) +
                                                        ": stopped before applying a committed proposal; outcome unknown");
  for (InFlight& p : task.proposals) Finish(p, unapplied);
  for (auto& [index, r] : task.reads) r.done(StoppedError());
  if (task.take_snapshot) task.take_snapshot->done(StoppedError());
}

void Node::Impl::SweepTimeouts(int64_t now) {
  for (auto it = inflight_.begin(); it != inflight_.end();) {
    if (it->second.deadline_ns > now) {
      ++it;
      continue;
    }
    Finish(it->second, common::Status(common::Code::kDeadlineExceeded,
                                      "raft node: timed out before commit; outcome unknown"));
    it = inflight_.erase(it);
  }
  const int64_t resend_after_ns = opts_.tick_ns * opts_.raft.election_tick;
  std::vector<Read> resend;
  for (auto it = reads_by_ctx_.begin(); it != reads_by_ctx_.end();) {
    std::vector<Read>& reads = it->second.reads;
    auto expired = std::partition(reads.begin(), reads.end(), [now](const Read& r) { return r.deadline_ns > now; });
    for (auto r = expired; r != reads.end(); ++r) {
      r->done(common::Status(common::Code::kDeadlineExceeded, "raft node: read timed out"));
    }
    reads.erase(expired, reads.end());
    if (!reads.empty() && now - it->second.sent_ns >= resend_after_ns) {
      // A later ReadIndex serves them as well: each read began before it.
      std::move(reads.begin(), reads.end(), std::back_inserter(resend));
      reads.clear();
    }
    it = reads.empty() ? reads_by_ctx_.erase(it) : std::next(it);
  }
  if (!resend.empty()) StartReads(std::move(resend), now);
}

// Makes the core's role, leader, term and peers visible to other threads.
void Node::Impl::Publish() {
  const Role role = raft_->role();
  const NodeId leader = raft_->leader();
  const uint64_t term = raft_->term();
  bool leader_changed = pub_leader_.load(std::memory_order_relaxed) != leader;
  if (pub_role_.load(std::memory_order_relaxed) != role) pub_role_.store(role);
  if (pub_term_.load(std::memory_order_relaxed) != term) pub_term_.store(term);
  if (!leader_changed && !peers_changed_) return;
  {
    std::lock_guard<std::mutex> l(status_mu_);
    pub_leader_.store(leader);
    if (peers_changed_) pub_peers_ = peers_;
  }
  peers_changed_ = false;
  if (leader_changed) status_cv_.notify_all();
}

// On the way out (Shutdown or a fatal error): nothing queued or in flight
// here will complete any more.
void Node::Impl::FailRaftThreadWork() {
  Inputs rest;
  {
    std::lock_guard<std::mutex> l(in_mu_);
    std::swap(rest, in_);
  }
  Status stopped = StoppedError();
  Status unknown(common::Code::kDeadlineExceeded,
                 "raft node " + std::to_string(opts_.raft.id) + ": stopped with the proposal in flight; outcome unknown");
  for (auto& [index, p] : inflight_) Finish(p, unknown);
  inflight_.clear();
  for (Proposal& p : rest.proposals) {
    Release(p.conf_change ? 1 : p.commands.size(), p.bytes);
    p.done.Fail(stopped);
  }
  for (auto& [ctx, round] : reads_by_ctx_) {
    for (Read& r : round.reads) r.done(stopped);
  }
  reads_by_ctx_.clear();
  for (Read& r : rest.reads) r.done(stopped);
  for (auto& req : rest.status_requests) req.set_value(BuildStatus());
}

}  // namespace raft
