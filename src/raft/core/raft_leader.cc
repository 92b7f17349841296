// Raft core: the leader — proposals, replication with flow control, commit,
// heartbeats, ReadIndex and leadership transfer.

#include <algorithm>
#include <string>

#include "raft/core/raft.h"

namespace raft {

bool Raft::CommittedInCurrentTerm() const { return log_.TermOrZero(log_.committed()) == term_; }

void Raft::UpdateSelfProgress() {
  auto it = trk_.progress.find(id_);
  if (it == trk_.progress.end()) return;
  // Thesis §10.2.1: the leader counts itself only for what is on its disk.
  it->second.MaybeUpdate(log_.durable_index());
}

bool Raft::AppendEntries(std::vector<Entry> entries) {
  uint64_t bytes = 0;
  for (const Entry& e : entries) bytes += e.data.size();
  // Bounded uncommitted bytes (etcd TestUncommittedEntryLimit): always admit
  // when nothing is outstanding, so one huge proposal cannot wedge the leader.
  if (cfg_.max_uncommitted_entries_size > 0 && bytes > 0 && uncommitted_size_ > 0 &&
      uncommitted_size_ + bytes > cfg_.max_uncommitted_entries_size) {
    return false;
  }
  uncommitted_size_ += bytes;
  uint64_t li = log_.last_index();
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].term = term_;
    entries[i].index = li + 1 + i;
  }
  log_.Append(std::move(entries));
  return true;
}

Status Raft::LeaderPropose(std::vector<Entry> entries) {
  if (!trk_.progress.contains(id_)) return common::UnavailableError("raft: leader was removed from the group");
  if (lead_transferee_ != kNoNode) {
    return common::UnavailableError("raft: leadership transfer to " + std::to_string(lead_transferee_) +
                                    " in progress");
  }
  for (const Entry& e : entries) {
    if (e.type != EntryType::kConfChange) continue;
    if (pending_conf_index_ > log_.applied()) {
      return common::FailedPreconditionError("raft: a conf change is pending until index " +
                                             std::to_string(pending_conf_index_) + " is applied");
    }
    auto cc = DecodeConfChange(e.data);
    if (!cc.has_value()) return common::InvalidArgumentError(cc.error().message());
    if (trk_.config.joint() && !cc->IsLeaveJoint()) {
      return common::FailedPreconditionError("raft: in a joint configuration; leave it first");
    }
    if (!trk_.config.joint() && cc->IsLeaveJoint()) {
      return common::FailedPreconditionError("raft: not in a joint configuration");
    }
    auto next = ApplyConfChangeToConfig(trk_.config, *cc);
    if (!next.has_value()) return next.error();
    pending_conf_index_ = log_.last_index() + 1;
  }
  if (!AppendEntries(std::move(entries))) {
    return common::UnavailableError("raft: too many uncommitted bytes (" + std::to_string(uncommitted_size_) +
                                    "); proposal dropped");
  }
  BroadcastAppend();
  return Status::Ok();
}

bool Raft::SendSnapshot(NodeId to, Progress& pr) {
  if (!pr.recent_active) return false;  // do not ship a snapshot to a node that may be down
  auto snap = log_.GetSnapshot();
  if (!snap.has_value() || snap->empty()) return false;  // not ready: try at the next heartbeat
  uint64_t idx = snap->meta.index;
  Send(Message{.type = MessageType::kSnap, .to = to, .snapshot = std::move(*snap)});
  pr.BecomeSnapshot(idx);
  return true;
}

bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  auto it = trk_.progress.find(to);
  if (it == trk_.progress.end() || to == id_) return false;
  Progress& pr = it->second;
  if (pr.IsPaused()) return false;
  auto prev_term = log_.Term(pr.next - 1);
  Result<std::vector<Entry>> ents = std::vector<Entry>{};
  if (prev_term.has_value() && pr.next <= log_.last_index()) {
    ents = log_.Slice(pr.next, log_.last_index() + 1, cfg_.max_size_per_msg);
  }
  if (!prev_term.has_value() || !ents.has_value()) {
    // What the follower needs is compacted away (§7): send a snapshot.
    return SendSnapshot(to, pr);
  }
  if (ents->empty() && !send_if_empty) return false;
  uint64_t bytes = 0;
  for (const Entry& e : *ents) bytes += EntrySize(e);
  uint64_t count = ents->size();
  uint64_t last = count > 0 ? ents->back().index : pr.next - 1;
  pr.sent_commit = log_.committed();
  Send(Message{.type = MessageType::kApp,
               .to = to,
               .log_term = *prev_term,
               .index = pr.next - 1,
               .entries = std::move(*ents),
               .commit = log_.committed()});
  pr.SentEntries(last, count, bytes);
  return true;
}

void Raft::BroadcastAppend() {
  for (auto& [id, pr] : trk_.progress) {
    if (id != id_) SendAppend(id, true);
  }
}

void Raft::BroadcastCommit() {
  commit_to_broadcast_ = false;
  if (role_ != Role::kLeader) return;
  for (auto& [id, pr] : trk_.progress) {
    if (id != id_ && pr.sent_commit < log_.committed()) SendAppend(id, true);
  }
}

void Raft::SendReadRound() {
  read_round_to_send_ = false;
  if (role_ != Role::kLeader || read_only_.empty()) return;
  BroadcastHeartbeat(ReadOnly::EncodeSeq(read_only_.last_seq()));
}

void Raft::SendHeartbeat(NodeId to, const std::string& ctx) {
  const Progress& pr = trk_.progress.at(to);
  // Never tell a follower to commit past what it is known to hold: it may
  // not have the entries yet (or may have different ones).
  uint64_t commit = std::min(pr.match, log_.committed());
  Send(Message{.type = MessageType::kHeartbeat, .to = to, .commit = commit, .context = ctx});
}

void Raft::BroadcastHeartbeat(const std::string& ctx) {
  for (const auto& [id, pr] : trk_.progress) {
    if (id != id_) SendHeartbeat(id, ctx);
  }
}

bool Raft::MaybeCommit() {
  uint64_t before = log_.committed();
  // §5.4.2: only an entry of the current term is committed by counting replicas.
  if (!log_.MaybeCommit(trk_.Committed(), term_)) return false;
  if (before < log_.committed()) OnCommitAdvanced();
  return true;
}

void Raft::OnCommitAdvanced() {
  // Reads that waited for the first commit of this term may proceed.
  if (CommittedInCurrentTerm() && !reads_before_first_commit_.empty()) {
    std::vector<Message> reads;
    reads.swap(reads_before_first_commit_);
    for (const Message& m : reads) HandleLeaderReadIndex(m);
  }
}

void Raft::HandleAppendResponse(const Message& m) {
  auto it = trk_.progress.find(m.from);
  if (it == trk_.progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.reject) {
    // Fast backtracking: skip every entry of a term the follower cannot have.
    uint64_t hint = m.reject_hint;
    if (m.log_term > 0) hint = log_.FindConflictByTerm(m.reject_hint, m.log_term).first;
    if (pr.MaybeDecrTo(m.index, hint)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from, true);
    }
    return;
  }
  bool was_paused = pr.IsPaused();
  // A probe answered at the match index proves the logs agree up to it
  // (§5.3), even though match does not move: start replicating, or the
  // follower would stay in probe (one append per heartbeat) for good.
  bool probe_acked = pr.state == ProgressState::kProbe && m.index == pr.match;
  if (!pr.MaybeUpdate(m.index) && !probe_acked) {
    if (was_paused && !pr.IsPaused()) SendAppend(m.from, false);
    return;
  }
  switch (pr.state) {
    case ProgressState::kProbe:
      pr.BecomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr.match + 1 >= log_.first_index()) {
        // The follower caught up through the snapshot (or appends): replicate again.
        pr.BecomeProbe();
        pr.BecomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr.inflights.FreeLE(m.index);
      break;
  }
  if (MaybeCommit()) {
    commit_to_broadcast_ = true;
  } else if (was_paused) {
    // The broadcast of the commit index skipped this follower while it was
    // paused (probing, or a full window): send it now, even with no entries,
    // so that it learns the commit index without waiting for a heartbeat
    // (§5.3: followers learn commitment from later AppendEntries).
    SendAppend(m.from, true);
  }
  // Keep the pipeline full while there is more to send.
  while (SendAppend(m.from, false)) {
  }
  if (m.from == lead_transferee_ && pr.match == log_.last_index()) {
    Send(Message{.type = MessageType::kTimeoutNow, .to = m.from});
  }
}

void Raft::HandleHeartbeatResponse(const Message& m) {
  auto it = trk_.progress.find(m.from);
  if (it == trk_.progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  // An append (or its answer) may have been lost with the window full: the
  // follower is alive, so make room for one more append, or replication
  // would stall for good.
  if (pr.state == ProgressState::kReplicate && pr.inflights.Full()) pr.inflights.FreeFirstOne();
  if (pr.match < log_.last_index() || pr.state == ProgressState::kProbe) SendAppend(m.from, true);
  uint64_t seq = ReadOnly::DecodeSeq(m.context);
  if (seq != 0) ReleaseReads(read_only_.Ack(m.from, seq, id_, trk_.config.voters));
}

void Raft::ReleaseReads(std::vector<PendingRead> reads) {
  for (PendingRead& r : reads) {
    if (r.from == id_ || r.from == kNoNode) {
      read_states_.push_back({r.index, std::move(r.request_ctx)});
    } else {
      Send(Message{.type = MessageType::kReadIndexResp, .to = r.from, .index = r.index,
                   .context = std::move(r.request_ctx)});
    }
  }
}

void Raft::HandleLeaderReadIndex(const Message& m) {
  NodeId from = m.from == kNoNode ? id_ : m.from;
  if (trk_.IsSingleton()) {
    ReleaseReads({PendingRead{0, log_.committed(), m.context, from}});
    return;
  }
  // A new leader's commit index may be stale until it commits in its term
  // (etcd #7331): hold the read until then.
  if (!CommittedInCurrentTerm()) {
    reads_before_first_commit_.push_back(m);
    return;
  }
  // A lease read is safe only while no other leader can exist (thesis
  // §6.4.1): a quorum answered us within the current CheckQuorum window, and
  // each of them refuses votes for an election timeout after hearing from us,
  // so past the window's end. (CheckQuorum alone steps down only after a
  // whole window without a quorum — up to two timeouts after the last
  // contact — while a new leader may be elected after one.) Lease reads also
  // stop once a transfer may have handed the lease on (etcd #12704).
  // Otherwise confirm leadership with a heartbeat round, as a safe read does.
  if (cfg_.read_only == ReadOnlyOption::kLeaseBased && lead_transferee_ == kNoNode &&
      trk_.QuorumActive(id_)) {
    ReleaseReads({PendingRead{0, log_.committed(), m.context, from}});
    return;
  }
  read_only_.Add(log_.committed(), m.context, from);
  read_round_to_send_ = true;
}

void Raft::HandleSnapStatus(const Message& m) {
  auto it = trk_.progress.find(m.from);
  if (it == trk_.progress.end() || it->second.state != ProgressState::kSnapshot) return;
  Progress& pr = it->second;
  if (m.reject) pr.pending_snapshot = 0;
  pr.BecomeProbe();
  // Wait for the next heartbeat answer before probing (or resending).
  pr.probe_sent = true;
}

void Raft::HandleTransferLeader(const Message& m) {
  NodeId to = m.from;
  auto it = trk_.progress.find(to);
  if (it == trk_.progress.end() || it->second.learner) return;  // only a voter can lead
  if (lead_transferee_ == to || to == id_) return;
  lead_transferee_ = to;
  // The transfer must finish within one election timeout (Tick aborts it).
  election_elapsed_ = 0;
  if (it->second.match == log_.last_index()) {
    Send(Message{.type = MessageType::kTimeoutNow, .to = to});
  } else {
    SendAppend(to, true);  // catch it up first (thesis §3.10)
  }
}

Status Raft::StepLeader(const Message& m) {
  switch (m.type) {
    case MessageType::kBeat:
      BroadcastHeartbeat({});
      return Status::Ok();
    case MessageType::kCheckQuorum:
      if (!trk_.QuorumActive(id_)) {
        BecomeFollower(term_, kNoNode);
        return Status::Ok();
      }
      for (auto& [id, pr] : trk_.progress) {
        if (id != id_) pr.recent_active = false;
      }
      return Status::Ok();
    case MessageType::kProp:
      return LeaderPropose(m.entries);
    case MessageType::kReadIndex:
      HandleLeaderReadIndex(m);
      return Status::Ok();
    case MessageType::kAppResp:
      HandleAppendResponse(m);
      return Status::Ok();
    case MessageType::kHeartbeatResp:
      HandleHeartbeatResponse(m);
      return Status::Ok();
    case MessageType::kSnapStatus:
      HandleSnapStatus(m);
      return Status::Ok();
    case MessageType::kUnreachable: {
      auto it = trk_.progress.find(m.from);
      if (it != trk_.progress.end() && it->second.state == ProgressState::kReplicate) it->second.BecomeProbe();
      return Status::Ok();
    }
    case MessageType::kTransferLeader:
      HandleTransferLeader(m);
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

}  // namespace raft
