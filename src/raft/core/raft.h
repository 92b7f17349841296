#pragma once

// Raft: one member of a Raft group as a pure, deterministic state machine
// (DESIGN §3, in the style of etcd's raft). It does no I/O, reads no clock
// and starts no thread. Inputs: Tick(), Step(message), Propose(...) and the
// other requests below. Outputs: a Ready (ready.h), acknowledged by Advance().
// The same configuration (including its seed), storage contents and inputs
// give the same outputs.
//
// Threads: not thread-safe; one caller drives it.
// Errors: requests that cannot be served now return kUnavailable (no leader,
// not the leader and forwarding disabled, transfer in progress, too many
// uncommitted bytes) or kFailedPrecondition (a conf change while another is
// pending); they change nothing. A broken invariant or a storage error other
// than kOutOfRange is a bug or a broken disk and aborts (CHECK).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/core/conf_change.h"
#include "raft/core/config.h"
#include "raft/core/log.h"
#include "raft/core/read_only.h"
#include "raft/core/ready.h"
#include "raft/core/storage.h"
#include "raft/core/tracker.h"
#include "raft/core/types.h"

namespace raft {

// A snapshot of a core's state, for callers, tests and invariant checkers.
struct RaftStatus {
  NodeId id = kNoNode;
  HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  uint64_t last_index = 0;
  uint64_t durable_index = 0;  // the last index this node has durably (as far as it was told)
  NodeId lead_transferee = kNoNode;
  ConfState conf_state;
  std::map<NodeId, Progress> progress;  // the leader's view; empty on others
};

class Raft {
 public:
  // `storage` must outlive the core. kInvalidArgument for a bad config;
  // kDataLoss when the stored state is inconsistent (commit past the log).
  static Result<std::unique_ptr<Raft>> Create(const Config& config, const Storage& storage);

  // Advances the logical clock by one tick.
  void Tick();

  // Handles a message from another node. Local message types are refused
  // (kInvalidArgument); messages of older terms are dropped (OK).
  Status Step(const Message& m);

  // Proposes a command. On a follower it is forwarded to the leader (OK
  // means sent, not committed). The caller learns the outcome by seeing the
  // entry committed (or not) at an index of the leader's term.
  Status Propose(std::string data);
  // Proposes several commands at once: appended together and sent in one
  // append per follower (what a runtime does with the proposals that
  // arrived since its last Ready). All are accepted or none is.
  Status ProposeBatch(std::vector<std::string> batch);
  // Proposes a membership change (conf_change.h).
  Status ProposeConfChange(const ConfChange& cc);

  // Applies a committed conf-change entry's change and returns the new
  // configuration. The caller calls it while applying that entry. An entry
  // that does not apply to the current configuration is skipped (error).
  Result<ConfState> ApplyConfChange(const ConfChange& cc);

  // Starts an election now (if this node may be elected).
  void Campaign();
  // Asks the leader to hand leadership to `to` (thesis §3.10).
  void TransferLeadership(NodeId to);
  // Requests a linearizable read: a ReadState with `request_ctx` comes out
  // in a later Ready. kUnavailable without a known leader.
  Status ReadIndex(std::string request_ctx);
  void ReportUnreachable(NodeId id);
  void ReportSnapshot(NodeId id, bool failed);
  // Forgets the current leader, so that this follower grants prevotes again.
  void ForgetLeader();

  bool HasReady() const;
  Ready GetReady();
  // The outstanding Ready was handled (ready.h).
  void Advance();

  RaftStatus GetStatus() const;
  NodeId id() const { return id_; }
  uint64_t term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return lead_; }
  Role role() const { return role_; }
  const RaftLog& log() const { return log_; }
  const TrackerConfig& config() const { return trk_.config; }

 private:
  Raft(const Config& config, const Storage& storage);
  Status Restore(const InitialState& st);

  // raft.cc: terms, roles, elections, the clock.
  void Reset(uint64_t term);
  void BecomeFollower(uint64_t term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Hup(bool transfer);
  void StartElection(bool pre, bool transfer);
  bool Promotable() const;
  bool HasUnappliedConfChange() const;
  void ResetRandomizedElectionTimeout();
  bool PastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  Status StepTerm(const Message& m, bool* handled);
  void HandleVoteRequest(const Message& m);
  void StepCandidate(const Message& m);
  Status StepInternal(const Message& m);
  void Send(Message m);
  uint64_t NextRandom();

  Status ProposeEntries(std::vector<Entry> entries);

  // raft_leader.cc: replication and the leader's handlers.
  Status StepLeader(const Message& m);
  Status LeaderPropose(std::vector<Entry> entries);
  bool AppendEntries(std::vector<Entry> entries);
  bool SendAppend(NodeId to, bool send_if_empty);
  bool SendSnapshot(NodeId to, Progress& pr);
  void SendHeartbeat(NodeId to, const std::string& ctx);
  void BroadcastAppend();
  void BroadcastHeartbeat(const std::string& ctx);
  bool MaybeCommit();
  // A commit advanced by an acknowledgement or the leader's own write is
  // told to followers at the next GetReady, in an empty append only to those
  // that no append of this step (one carrying new entries) told already.
  void BroadcastCommit();
  // One heartbeat round for every ReadIndex request queued since the last.
  void SendReadRound();
  void OnCommitAdvanced();
  void HandleAppendResponse(const Message& m);
  void HandleHeartbeatResponse(const Message& m);
  void HandleSnapStatus(const Message& m);
  void HandleTransferLeader(const Message& m);
  void HandleLeaderReadIndex(const Message& m);
  void ReleaseReads(std::vector<PendingRead> reads);
  void AbortLeaderTransfer() { lead_transferee_ = kNoNode; }
  bool CommittedInCurrentTerm() const;
  void UpdateSelfProgress();

  // raft_follower.cc: the follower's handlers.
  Status StepFollower(const Message& m);
  void HandleAppendEntries(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  bool RestoreSnapshot(const Snapshot& s);

  // raft_ready.cc: Ready and Advance, configuration changes.
  void ApplyConfig(const TrackerConfig& cfg);

  const Config cfg_;
  const NodeId id_;
  RaftLog log_;
  ProgressTracker trk_;
  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId lead_ = kNoNode;
  Role role_ = Role::kFollower;
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  uint64_t rng_;
  NodeId lead_transferee_ = kNoNode;
  uint64_t pending_conf_index_ = 0;  // no conf change may be proposed until applied reaches it
  uint64_t uncommitted_size_ = 0;
  ReadOnly read_only_;
  std::vector<Message> reads_before_first_commit_;  // queued until the leader commits in its term
  std::vector<ReadState> read_states_;
  std::vector<Message> msgs_;
  std::vector<Message> msgs_after_persist_;
  bool commit_to_broadcast_ = false;  // BroadcastCommit at the next GetReady
  // ReadIndex requests wait for a heartbeat round: one at the next GetReady
  // carries the newest request's number and so confirms every request of
  // the step (HandleLeaderReadIndex).
  bool read_round_to_send_ = false;

  // Ready bookkeeping.
  HardState prev_hard_state_;
  SoftState prev_soft_state_;
  struct Pending {
    bool active = false;
    uint64_t last_index = 0, last_term = 0;  // last unstable entry handed out (0: none)
    uint64_t snapshot_index = 0;
    uint64_t applied_to = 0;
    uint64_t applied_bytes = 0;  // payload bytes of the committed entries handed out
    std::optional<HardState> hard_state;
  } pending_;
};

}  // namespace raft
