#pragma once

// Node: the runtime around one Raft core (DESIGN §3, "raft/node"). It owns
// the loop that turns Ready into work and gives services a thread-safe,
// callback- and future-based API: propose commands and learn their index and
// result, wait for linearizable reads, change membership, watch status.
//
// Threads. A Node runs two threads of its own:
//   - the raft thread drives the core: it takes queued inputs (proposals,
//     messages from the transport, ticks every `tick_ns`), calls Step/Tick/
//     ProposeBatch, and handles each Ready in the order of ready.h: sends
//     `messages` first (so the leader writes its disk in parallel with its
//     followers, thesis §10.2.1), applies conf changes (Raft::ApplyConfChange)
//     and hands committed entries to the apply thread (they are durable here
//     already, so this need not wait for the persist), persists with
//     DurableStorage::Persist (group commit: every proposal queued while the
//     previous persist ran goes into the next one), then sends
//     `messages_after_persist` (a follower acknowledges only what is durable)
//     and hands a snapshot received from the leader to the apply thread.
//   - the apply thread calls the StateMachine in index order, completes the
//     proposals whose entries it applied, advances applied() and releases
//     linearizable reads whose index it reached.
// Every public method is thread-safe. Callbacks run on a Node thread (apply
// or raft) or, for errors known at once, on the caller's thread: they must
// not block and must not call Shutdown().
//
// Outcomes of a proposal, as the callback or future sees them:
//   - OK: committed and applied at index/term, with the state machine's result.
//   - kUnavailable: not proposed (this node is not the leader, no leader is
//     known, the node is shutting down, or too many proposals are pending).
//     The message names the leader when one is known ("not the leader;
//     leader is 2 at 127.0.0.1:7002"); leader_hint() gives it structured.
//     Retrying elsewhere cannot duplicate the command.
//   - kAborted: proposed, but another leader overwrote the entry: it is not
//     committed and never will be. Safe to retry.
//   - kDeadlineExceeded: the outcome is unknown (timed out, or the node shut
//     down while it was in flight). A retry may duplicate the command.
//   - kInvalidArgument: empty batch or a command over the size limit.
//
// Lifetime: storage, transport, state machine and clock must outlive the
// Node. The Node registers itself with the transport for its group on Start
// and unregisters in Shutdown().

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "metrics/registry.h"
#include "raft/core/conf_change.h"
#include "raft/core/config.h"
#include "raft/core/types.h"
#include "raft/durable/durable_storage.h"
#include "transport/transport.h"

namespace raft {

// What a Node applies committed entries to. Called on the apply thread only,
// one call at a time, in index order.
class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies a committed kNormal entry and returns the result its proposer
  // receives. The entry (and its data) lives only during the call.
  virtual std::string Apply(const Entry& entry) = 0;
  // A committed no-op or conf-change entry (its index is now applied; most
  // state machines ignore it).
  virtual void ApplyControl(const Entry& entry) { (void)entry; }
  // Replaces the state with a snapshot received from the leader (its data is
  // what the leader's state machine stored with DurableStorage::SaveSnapshot).
  // An error stops the node (a broken snapshot cannot be skipped).
  virtual Status Restore(const Snapshot& snapshot) = 0;
  // The state after the last applied entry, as bytes Restore() takes back
  // (Node::SnapshotAsync stores them). Default: no state beside the log.
  virtual std::string SnapshotData() { return {}; }
  // Addresses of members that the state knows, for example from membership
  // changes that a restored snapshot covers (their entries, which carried
  // the addresses, may be purged). After each Restore the Node gives the
  // transport those of members whose address it does not know yet.
  // Called on the thread that called Restore. Default: none.
  virtual std::map<NodeId, std::string> PeerAddresses() const { return {}; }
};

// The core's configuration a Node starts from: Config's defaults plus
// check_quorum and pre_vote, which a long-running cluster wants (a deposed or
// partitioned member neither keeps leading nor disrupts the others).
inline Config DefaultNodeRaftConfig() {
  Config c;
  c.check_quorum = true;
  c.pre_vote = true;
  return c;
}

struct NodeOptions {
  transport::GroupId group = 1;
  // The core's configuration. id is required; Start fills `applied` from the
  // storage's snapshot and sets disable_proposal_forwarding (a follower
  // refuses proposals with a leader hint rather than forwarding them). A
  // seed of 0 is replaced by one drawn from the clock. Timeouts are in ticks
  // of tick_ns.
  Config raft = DefaultNodeRaftConfig();
  int64_t tick_ns = 50'000'000;
  // Addresses of the members known at start (this node included), given to
  // the transport and used in leader hints.
  std::map<NodeId, std::string> peers;
  // At most this many command bytes go into one ProposeBatch.
  uint64_t max_batch_bytes = 4 << 20;
  // Proposals queued or in flight beyond these limits are refused
  // (kUnavailable) rather than queued without bound.
  size_t max_pending_proposals = 65536;
  uint64_t max_pending_bytes = 256 << 20;
  // A single command larger than this is refused (kInvalidArgument).
  uint64_t max_command_bytes = 16 << 20;
  // Timeout of Apply()/ApplyBatch()/ReadIndex() when the caller gives none.
  int64_t default_timeout_ns = 5'000'000'000;
  // Called once, on a Node thread and with no lock held, when the node stops
  // by itself after an error it cannot go on from (a failed persist or
  // snapshot restore; NodeStatus::error has it). It must not block or call
  // Shutdown(); a process usually arranges to exit.
  std::function<void(const Status&)> on_fatal;
  // The group's name ("log", "kv") in log lines and metric labels; empty:
  // its number.
  std::string group_name;
  // Metrics (raft/node/node_metrics.h, docs/metrics.md), created in this
  // registry at Start with the label group=`group_name`; nullptr: none. The
  // registry must outlive the Node.
  metrics::Registry* metrics = nullptr;
};

struct ApplyResult {
  uint64_t index = 0;
  uint64_t term = 0;
  std::string result;  // what StateMachine::Apply returned
};

struct LeaderHint {
  NodeId id = kNoNode;   // kNoNode: none known
  std::string address;   // empty when unknown
};

// The leader's view of one member's replication (NodeStatus::progress).
struct PeerProgress {
  uint64_t match = 0;      // highest index known durable on the member
  // The leader streams appends to it: it answered the last ones. False while
  // it is probed (unreachable, or its log diverged) or sent a snapshot.
  bool replicating = false;
  // Heard from since the leader's last check-quorum round (every election
  // timeout; the flag restarts false at each round until the next answer).
  bool recent_active = false;
};

struct NodeStatus {
  NodeId id = kNoNode;
  transport::GroupId group = 0;
  Role role = Role::kFollower;
  bool is_learner = false;
  uint64_t term = 0;
  NodeId leader = kNoNode;
  uint64_t commit = 0;
  uint64_t applied = 0;       // the state machine's
  uint64_t last_index = 0;
  uint64_t first_index = 0;   // first entry still in the log
  ConfState conf_state;
  std::map<NodeId, std::string> peers;       // known addresses
  std::map<NodeId, uint64_t> match_index;    // the leader's view; empty on others
  std::map<NodeId, PeerProgress> progress;   // the leader's view (itself included); empty on others
  // OK while the node runs; else the error that stopped it (a failed persist,
  // a snapshot the state machine could not restore). A stopped node refuses
  // everything with kUnavailable until it is destroyed and started again.
  Status error;
};

// One member of a configuration, as NodeStatus describes it.
struct Member {
  NodeId id = kNoNode;
  bool voter = true;  // false: learner
};

// The members of `st`'s configuration: voters (incoming, then outgoing ones
// of a joint configuration not among them), then learners.
std::vector<Member> MembersOf(const NodeStatus& st);

class Node final : public transport::Inbox {
 public:
  using ApplyCallback = std::function<void(Result<std::vector<ApplyResult>>)>;
  using ReadCallback = std::function<void(Result<uint64_t>)>;
  using SnapshotCallback = std::function<void(Result<uint64_t>)>;

  // Opens the core over `storage` (restoring the state machine from the
  // storage's snapshot first, if any), registers with the transport and
  // starts the threads. Errors: a bad config (kInvalidArgument), storage
  // errors, the group already registered.
  static Result<std::unique_ptr<Node>> Start(const NodeOptions& options, DurableStorage& storage,
                                             transport::Transport& transport, StateMachine& sm,
                                             common::Clock& clock);
  // Shutdown(), then frees everything.
  ~Node() override;

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Proposes `commands` as consecutive entries of one append. `done`
  // receives one ApplyResult per command, in order. They are committed
  // together or not at all, except in one rare case: a batch larger than
  // one append message (Config::max_size_per_msg) can be cut by a leader
  // change, its first entries committed and the rest overwritten; `done`
  // then gets kDeadlineExceeded (outcome unknown: part of it is in the log).
  // timeout_ns <= 0 means the default. The timeout only covers the wait
  // for commit: once committed, the entries are applied whatever the time.
  void ProposeAsync(std::vector<std::string> commands, int64_t timeout_ns, ApplyCallback done);
  std::future<Result<ApplyResult>> Apply(std::string command, int64_t timeout_ns = 0);
  std::future<Result<std::vector<ApplyResult>>> ApplyBatch(std::vector<std::string> commands,
                                                           int64_t timeout_ns = 0);

  // A linearizable read barrier (ReadIndex, thesis §6.4): completes with an
  // index once the leader confirmed it was still leader after the call and
  // this node has applied up to that index; the caller then reads its state
  // machine. Works on followers (the request goes to the leader). Errors:
  // kUnavailable (no leader, shutting down), kDeadlineExceeded.
  void ReadIndexAsync(int64_t timeout_ns, ReadCallback done);
  std::future<Result<uint64_t>> ReadIndex(int64_t timeout_ns = 0);

  // Blocks until applied() >= index, the deadline (Clock::NowNanos()) passes
  // or the node shuts down; returns applied(). For tailing readers: no spin.
  uint64_t WaitApplied(uint64_t index, int64_t deadline_ns);
  uint64_t applied() const;

  // Membership changes through the log (conf_change.h). Completes when the
  // change is applied here (OK) or failed (the proposal outcomes above, or
  // kFailedPrecondition while another change is pending). `addresses` of
  // added members go to the transport when the change applies.
  std::future<Status> ChangeMembership(ConfChange cc, std::map<NodeId, std::string> addresses,
                                       int64_t timeout_ns = 0);
  // Asks the leader to hand over to `to`; returns at once. kUnavailable
  // without a leader, kInvalidArgument for a non-member.
  Status TransferLeadership(NodeId to);
  // Blocks until a leader is known (OK) or the timeout passes (kUnavailable).
  Status WaitForLeader(int64_t timeout_ns);
  // Blocks until this node knows a leader other than `previous` (OK), or the
  // timeout passes or the node stops (kUnavailable). A leader that handed
  // over (TransferLeadership) waits here to learn its successor.
  Status WaitForNewLeader(NodeId previous, int64_t timeout_ns);

  // Takes a snapshot on the apply thread between two entries, after every
  // entry handed to it so far: the state machine's SnapshotData() at
  // applied(), with the configuration as of that index, stored with
  // DurableStorage::SaveSnapshot; then drops the log up to
  // min(compact_to, that index) (DurableStorage::Compact; 0: keep the log).
  // `done` (on the apply thread, or the caller's when the node stopped) gets
  // the snapshot's index, or an error: kFailedPrecondition when nothing was
  // applied since the newest snapshot, kUnavailable when stopped, storage
  // errors. Followers that need the dropped entries are sent the snapshot.
  void SnapshotAsync(uint64_t compact_to, SnapshotCallback done);

  NodeStatus GetStatus() const;
  LeaderHint leader_hint() const;
  NodeId id() const;

  // Stops the threads and unregisters from the transport; pending
  // proposals and reads complete with kDeadlineExceeded (outcome unknown)
  // or kUnavailable (never proposed). Idempotent; must not be called from a
  // callback.
  void Shutdown();

  // transport::Inbox: queue and return.
  void Deliver(std::vector<Message> msgs) override;
  void ReportUnreachable(NodeId peer) override;
  void ReportSnapshot(NodeId peer, bool failed) override;

 private:
  struct Impl;
  explicit Node(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace raft
