// raft::Node: the public methods, start, shutdown and status. The raft
// thread is in node_raft_loop.cc, the apply thread in node_apply_loop.cc.

#include "raft/node/node.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "raft/node/node_impl.h"
#include "raft/node/peer_addresses.h"

namespace raft {

using node_internal::Completion;
using node_internal::InFlight;
using node_internal::Proposal;
using node_internal::Read;

namespace node_internal {

void Completion::Succeed(std::vector<ApplyResult> results) {
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Node::ApplyCallback>) {
          v(std::move(results));
        } else if constexpr (std::is_same_v<T, std::promise<Result<ApplyResult>>>) {
          CHECK(results.size() == 1);
          v.set_value(std::move(results[0]));
        } else if constexpr (std::is_same_v<T, std::promise<Result<std::vector<ApplyResult>>>>) {
          v.set_value(std::move(results));
        } else if constexpr (std::is_same_v<T, std::promise<Status>>) {
          v.set_value(Status::Ok());
        }
      },
      v_);
  v_ = std::monostate{};
}

void Completion::Fail(const Status& s) {
  CHECK(!s.ok());
  std::visit(
      [&](auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Node::ApplyCallback>) {
          v(s);
        } else if constexpr (std::is_same_v<T, std::promise<Status>>) {
          v.set_value(s);
        } else if constexpr (!std::is_same_v<T, std::monostate>) {
          v.set_value(s);
        }
      },
      v_);
  v_ = std::monostate{};
}

std::string NotLeaderMessage(NodeId self, NodeId leader, const std::map<NodeId, std::string>& peers) {
  if (leader == kNoNode) return "not the leader; no leader known";
  if (leader == self) return "not the leader; a leadership change is in progress";
  auto it = peers.find(leader);
  std::string out = "not the leader; leader is " + std::to_string(leader);
  if (it != peers.end() && !it->second.empty()) out += " at " + it->second;
  return out;
}

}  // namespace node_internal

// ---- Impl: start, stop, shared helpers ----

Node::Impl::Impl(const NodeOptions& options, DurableStorage& storage, transport::Transport& transport,
                 StateMachine& sm, common::Clock& clock)
    : opts_(options),
      storage_(storage),
      transport_(transport),
      sm_(sm),
      clock_(clock),
      metrics_(NodeMetrics::Create(options.metrics, options.group_name)),
      group_name_(options.group_name.empty() ? std::to_string(options.group) : options.group_name),
      peers_(options.peers) {}

Status Node::Impl::Open() {
  const NodeId id = opts_.raft.id;
  if (id == kNoNode) return common::InvalidArgumentError("raft node: raft.id must be set");
  if (opts_.tick_ns <= 0) return common::InvalidArgumentError("raft node: tick_ns must be > 0");
  if (opts_.max_batch_bytes == 0) return common::InvalidArgumentError("raft node: max_batch_bytes must be > 0");
  uint64_t applied = 0;
  Result<Snapshot> snap = storage_.GetSnapshot();
  if (snap.has_value()) {
    // DurableStorage: rebuild the state machine from the snapshot and let
    // the core hand out (and us re-apply) every committed entry after it.
    Status s = sm_.Restore(*snap);
    if (!s.ok()) return s.WithContext("raft node " + std::to_string(id) + ": restoring the snapshot at " +
                                      std::to_string(snap->meta.index));
    applied = snap->meta.index;
    for (auto& [peer, address] : sm_.PeerAddresses()) peers_.emplace(peer, std::move(address));
  } else if (snap.error().code() != common::Code::kUnavailable) {
    return snap.error();
  }
  Config c = opts_.raft;
  c.applied = applied;
  c.disable_proposal_forwarding = true;
  if (c.seed == 0) c.seed = static_cast<uint64_t>(clock_.NowNanos()) ^ (id << 32);
  ASSIGN_OR_RETURN(raft_, Raft::Create(c, storage_));
  applied_.store(applied);
  next_read_ctx_ = static_cast<uint64_t>(clock_.NowNanos());  // unique across restarts
  pub_term_.store(raft_->term());
  applied_conf_ = raft_->config().ToConfState();  // as of the snapshot: later changes are re-applied
  std::lock_guard<std::mutex> l(status_mu_);
  pub_conf_ = applied_conf_;
  pub_peers_ = peers_;
  return Status::Ok();
}

void Node::Impl::StartThreads() {
  int64_t now = clock_.NowNanos();
  next_tick_ns_ = now + opts_.tick_ns;
  next_sweep_ns_ = now + opts_.tick_ns;
  raft_thread_ = std::thread([this] { RaftLoop(); });
  raft_thread_id_ = raft_thread_.get_id();
  apply_thread_ = std::thread([this] { ApplyLoop(); });
}

void Node::Impl::Shutdown() {
  std::lock_guard<std::mutex> sl(shutdown_mu_);
  if (shut_down_) return;
  shut_down_ = true;
  if (registered_) transport_.Unregister(opts_.group);  // no Deliver after this
  stopped_.store(true);
  {
    std::lock_guard<std::mutex> l(in_mu_);
    stop_ = true;
  }
  in_cv_.notify_all();
  if (raft_thread_.joinable()) raft_thread_.join();
  {
    std::lock_guard<std::mutex> l(apply_mu_);
    apply_stop_ = true;
  }
  apply_cv_.notify_all();
  if (apply_thread_.joinable()) apply_thread_.join();
  // No input can have come after the raft thread left: callers check stop_
  // under in_mu_, and FailRaftThreadWork emptied the queue after stop_ was set.
  {
    std::lock_guard<std::mutex> l(applied_mu_);
  }
  applied_cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(status_mu_);
  }
  status_cv_.notify_all();
}

void Node::Impl::Fatal(const Status& s) {
  common::log::Error(LogContext(), "raft node stopping: {}", s.ToString());
  {
    // stopped_ under the lock the waiters of status_cv_ hold: a waiter that
    // checked it before cannot miss the notify.
    std::lock_guard<std::mutex> l(status_mu_);
    if (error_.ok()) error_ = s;
    stopped_.store(true);
  }
  status_cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(in_mu_);
    stop_ = true;
  }
  in_cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(apply_mu_);
    apply_stop_ = true;
  }
  apply_cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(applied_mu_);
  }
  applied_cv_.notify_all();
  if (opts_.on_fatal) opts_.on_fatal(s);
}

Status Node::Impl::StoppedError() {
  std::lock_guard<std::mutex> l(status_mu_);
  std::string who = "raft node " + std::to_string(opts_.raft.id);
  if (!error_.ok()) return common::UnavailableError(who + " stopped after an error: " + error_.ToString());
  return common::UnavailableError(who + " is shut down");
}

void Node::Impl::Release(uint64_t count, uint64_t bytes) {
  pending_commands_.fetch_sub(count, std::memory_order_relaxed);
  pending_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
}

void Node::Impl::Finish(InFlight& p, const Status& s) {
  Release(p.count, p.bytes);
  p.done.Fail(s);
}

void Node::Impl::SetApplied(uint64_t index) {
  applied_.store(index);  // seq_cst: pairs with applied_waiters_ in WaitApplied
  if (applied_waiters_.load() > 0) {
    { std::lock_guard<std::mutex> l(applied_mu_); }
    applied_cv_.notify_all();
  }
}

int64_t Node::Impl::Deadline(int64_t timeout_ns) {
  return node_internal::DeadlineAfter(clock_.NowNanos(), timeout_ns > 0 ? timeout_ns : opts_.default_timeout_ns);
}

void Node::Impl::Enqueue(Proposal p) {
  const uint64_t n = p.conf_change ? 1 : p.commands.size();
  uint64_t cmds = pending_commands_.fetch_add(n, std::memory_order_relaxed) + n;
  uint64_t bytes = pending_bytes_.fetch_add(p.bytes, std::memory_order_relaxed) + p.bytes;
  if (cmds > opts_.max_pending_proposals || bytes > opts_.max_pending_bytes) {
    Release(n, p.bytes);
    p.done.Fail(common::UnavailableError("raft node " + std::to_string(opts_.raft.id) +
                                         ": too many pending proposals; retry later"));
    return;
  }
  if (PushInput([&p](node_internal::Inputs& in) { in.proposals.push_back(std::move(p)); })) return;
  Release(n, p.bytes);
  p.done.Fail(StoppedError());
}

NodeStatus Node::Impl::BuildStatus() {
  RaftStatus rs = raft_->GetStatus();
  NodeStatus st = PublishedStatus();
  st.role = rs.soft_state.role;
  st.leader = rs.soft_state.leader;
  st.term = rs.hard_state.term;
  st.commit = rs.hard_state.commit;
  st.last_index = rs.last_index;
  st.conf_state = rs.conf_state;
  st.is_learner = std::find(rs.conf_state.learners.begin(), rs.conf_state.learners.end(), st.id) !=
                  rs.conf_state.learners.end();
  st.peers = peers_;
  for (const auto& [id, pr] : rs.progress) {
    st.match_index[id] = pr.match;
    st.progress[id] = PeerProgress{.match = pr.match,
                                   .replicating = pr.state == ProgressState::kReplicate,
                                   .recent_active = pr.recent_active};
  }
  return st;
}

NodeStatus Node::Impl::PublishedStatus() {
  NodeStatus st;
  st.id = opts_.raft.id;
  st.group = opts_.group;
  st.role = pub_role_.load();
  st.leader = pub_leader_.load();
  st.term = pub_term_.load();
  st.applied = applied_.load();
  st.first_index = storage_.FirstIndex();
  st.last_index = storage_.LastIndex();
  std::lock_guard<std::mutex> l(status_mu_);
  st.conf_state = pub_conf_;
  st.peers = pub_peers_;
  st.error = error_;
  st.is_learner = std::find(st.conf_state.learners.begin(), st.conf_state.learners.end(), st.id) !=
                  st.conf_state.learners.end();
  return st;
}

// ---- Node: the public API ----

Node::Node(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) { impl_->node_ = this; }

Node::~Node() { Shutdown(); }

Result<std::unique_ptr<Node>> Node::Start(const NodeOptions& options, DurableStorage& storage,
                                          transport::Transport& transport, StateMachine& sm,
                                          common::Clock& clock) {
  auto impl = std::make_unique<Impl>(options, storage, transport, sm, clock);
  RETURN_IF_ERROR(impl->Open());
  std::unique_ptr<Node> node(new Node(std::move(impl)));
  Impl& im = *node->impl_;
  for (const auto& [id, address] : im.peers_) {  // options.peers and those the snapshot knows
    if (id != options.raft.id) transport.SetPeer(id, address);
  }
  RETURN_IF_ERROR(transport.Register(options.group, node.get()));
  im.registered_ = true;
  im.StartThreads();
  return node;
}

void Node::ProposeAsync(std::vector<std::string> commands, int64_t timeout_ns, ApplyCallback done) {
  Proposal p;
  p.done = Completion(std::move(done));
  if (commands.empty()) {
    p.done.Fail(common::InvalidArgumentError("raft node: empty batch"));
    return;
  }
  for (const std::string& c : commands) {
    if (c.size() > impl_->opts_.max_command_bytes) {
      p.done.Fail(common::InvalidArgumentError("raft node: command of " + std::to_string(c.size()) +
                                               " bytes over the limit of " +
                                               std::to_string(impl_->opts_.max_command_bytes)));
      return;
    }
    p.bytes += c.size();
  }
  if (impl_->pub_role_.load(std::memory_order_relaxed) != Role::kLeader && !impl_->stopped_.load()) {
    // Known at once: refuse on the caller's thread (the raft thread checks again).
    std::map<NodeId, std::string> peers;
    {
      std::lock_guard<std::mutex> l(impl_->status_mu_);
      peers = impl_->pub_peers_;
    }
    p.done.Fail(common::UnavailableError(
        node_internal::NotLeaderMessage(id(), impl_->pub_leader_.load(), peers)));
    return;
  }
  p.commands = std::move(commands);
  p.deadline_ns = impl_->Deadline(timeout_ns);
  impl_->Enqueue(std::move(p));
}

std::future<Result<ApplyResult>> Node::Apply(std::string command, int64_t timeout_ns) {
  std::promise<Result<ApplyResult>> promise;
  std::future<Result<ApplyResult>> f = promise.get_future();
  Proposal p;
  p.done = Completion(std::move(promise));
  if (command.size() > impl_->opts_.max_command_bytes) {
    p.done.Fail(common::InvalidArgumentError("raft node: command of " + std::to_string(command.size()) +
                                             " bytes over the limit"));
    return f;
  }
  if (impl_->pub_role_.load(std::memory_order_relaxed) != Role::kLeader && !impl_->stopped_.load()) {
    std::lock_guard<std::mutex> l(impl_->status_mu_);
    p.done.Fail(common::UnavailableError(
        node_internal::NotLeaderMessage(id(), impl_->pub_leader_.load(), impl_->pub_peers_)));
    return f;
  }
  p.bytes = command.size();
  p.commands.push_back(std::move(command));
  p.deadline_ns = impl_->Deadline(timeout_ns);
  impl_->Enqueue(std::move(p));
  return f;
}

std::future<Result<std::vector<ApplyResult>>> Node::ApplyBatch(std::vector<std::string> commands,
                                                               int64_t timeout_ns) {
  auto promise = std::make_shared<std::promise<Result<std::vector<ApplyResult>>>>();
  auto f = promise->get_future();
  ProposeAsync(std::move(commands), timeout_ns,
               [promise](Result<std::vector<ApplyResult>> r) { promise->set_value(std::move(r)); });
  return f;
}

void Node::ReadIndexAsync(int64_t timeout_ns, ReadCallback done) {
  if (impl_->pub_leader_.load() == kNoNode && !impl_->stopped_.load()) {
    done(common::UnavailableError("raft node " + std::to_string(id()) + ": no leader known; read refused"));
    return;
  }
  Read r{impl_->Deadline(timeout_ns),
         std::move(done)};
  if (impl_->PushInput([&r](node_internal::Inputs& in) { in.reads.push_back(std::move(r)); })) return;
  r.done(impl_->StoppedError());
}

std::future<Result<uint64_t>> Node::ReadIndex(int64_t timeout_ns) {
  auto promise = std::make_shared<std::promise<Result<uint64_t>>>();
  auto f = promise->get_future();
  ReadIndexAsync(timeout_ns, [promise](Result<uint64_t> r) { promise->set_value(std::move(r)); });
  return f;
}

uint64_t Node::WaitApplied(uint64_t index, int64_t deadline_ns) {
  Impl& im = *impl_;
  uint64_t applied = im.applied_.load();
  if (applied >= index) return applied;
  std::unique_lock<std::mutex> l(im.applied_mu_);
  im.applied_waiters_.fetch_add(1);
  while ((applied = im.applied_.load()) < index && !im.stopped_.load()) {
    int64_t now = im.clock_.NowNanos();
    if (now >= deadline_ns) break;
    im.applied_cv_.wait_for(l, node_internal::WaitSlice(deadline_ns - now));
  }
  im.applied_waiters_.fetch_sub(1);
  return applied;
}

uint64_t Node::applied() const { return impl_->applied_.load(); }

std::future<Status> Node::ChangeMembership(ConfChange cc, std::map<NodeId, std::string> addresses,
                                           int64_t timeout_ns) {
  std::promise<Status> promise;
  std::future<Status> f = promise.get_future();
  Proposal p;
  p.done = Completion(std::move(promise));
  if (!addresses.empty()) cc.context = EncodePeerAddresses(addresses);
  p.bytes = cc.context.size();
  p.conf_change = std::move(cc);
  p.deadline_ns = impl_->Deadline(timeout_ns);
  impl_->Enqueue(std::move(p));
  return f;
}

std::vector<Member> MembersOf(const NodeStatus& st) {
  const ConfState& cs = st.conf_state;
  std::vector<Member> out;
  for (NodeId id : cs.voters) out.push_back({id, true});
  for (NodeId id : cs.voters_outgoing) {
    if (std::find(cs.voters.begin(), cs.voters.end(), id) == cs.voters.end()) out.push_back({id, true});
  }
  for (NodeId id : cs.learners) out.push_back({id, false});
  return out;
}

void Node::SnapshotAsync(uint64_t compact_to, SnapshotCallback done) {
  node_internal::ApplyTask task;
  task.take_snapshot = node_internal::ApplyTask::TakeSnapshot{compact_to, std::move(done)};
  impl_->PushApply(std::move(task));
}

Status Node::TransferLeadership(NodeId to) {
  Impl& im = *impl_;
  if (im.pub_leader_.load() == kNoNode) return common::UnavailableError("raft node: no leader to transfer from");
  {
    std::lock_guard<std::mutex> l(im.status_mu_);
    const auto& voters = im.pub_conf_.voters;
    if (std::find(voters.begin(), voters.end(), to) == voters.end()) {
      return common::InvalidArgumentError("raft node: " + std::to_string(to) + " is not a voter");
    }
  }
  if (!im.PushInput([to](node_internal::Inputs& in) { in.transfers.push_back(to); })) {
    return common::UnavailableError("raft node: stopped");
  }
  return Status::Ok();
}

Status Node::WaitForLeader(int64_t timeout_ns) { return WaitForNewLeader(kNoNode, timeout_ns); }

Status Node::WaitForNewLeader(NodeId previous, int64_t timeout_ns) {
  Impl& im = *impl_;
  const int64_t deadline = node_internal::DeadlineAfter(im.clock_.NowNanos(), timeout_ns);
  auto found = [&] {
    const NodeId leader = im.pub_leader_.load();
    return leader != kNoNode && leader != previous;
  };
  std::unique_lock<std::mutex> l(im.status_mu_);
  while (!found() && !im.stopped_.load()) {
    int64_t now = im.clock_.NowNanos();
    if (now >= deadline) break;
    im.status_cv_.wait_for(l, node_internal::WaitSlice(deadline - now));
  }
  if (found() && !im.stopped_.load()) return Status::Ok();
  if (previous == kNoNode) return common::UnavailableError("raft node " + std::to_string(id()) + ": no leader known");
  return common::UnavailableError("raft node " + std::to_string(id()) + ": no leader other than " +
                                  std::to_string(previous) + " known");
}

NodeStatus Node::GetStatus() const {
  Impl& im = *impl_;
  if (std::this_thread::get_id() == im.raft_thread_id_) return im.BuildStatus();
  std::promise<NodeStatus> promise;
  std::future<NodeStatus> f = promise.get_future();
  if (!im.PushInput([&promise](node_internal::Inputs& in) { in.status_requests.push_back(std::move(promise)); })) {
    return im.PublishedStatus();
  }
  return f.get();
}

LeaderHint Node::leader_hint() const {
  LeaderHint h;
  h.id = impl_->pub_leader_.load();
  if (h.id == kNoNode) return h;
  std::lock_guard<std::mutex> l(impl_->status_mu_);
  auto it = impl_->pub_peers_.find(h.id);
  if (it != impl_->pub_peers_.end()) h.address = it->second;
  return h;
}

NodeId Node::id() const { return impl_->opts_.raft.id; }

void Node::Shutdown() { impl_->Shutdown(); }

void Node::Deliver(std::vector<Message> msgs) {
  impl_->PushInput([&msgs](node_internal::Inputs& in) {
    if (in.msgs.empty()) {
      in.msgs = std::move(msgs);
    } else {
      for (Message& m : msgs) in.msgs.push_back(std::move(m));
    }
  });
}

void Node::ReportUnreachable(NodeId peer) {
  impl_->PushInput([peer](node_internal::Inputs& in) { in.unreachable.push_back(peer); });
}

void Node::ReportSnapshot(NodeId peer, bool failed) {
  impl_->PushInput([peer, failed](node_internal::Inputs& in) { in.snapshot_reports.emplace_back(peer, failed); });
}

}  // namespace raft
