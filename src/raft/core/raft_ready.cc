// Raft core: requests from the caller, Ready/Advance, and applying
// configuration changes.

#include <algorithm>
#include <string>

#include "raft/core/raft.h"

namespace raft {

Status Raft::ProposeEntries(std::vector<Entry> entries) {
  // The leader takes the entries as they are; others forward or refuse.
  if (role_ == Role::kLeader) return LeaderPropose(std::move(entries));
  Message m{.type = MessageType::kProp, .from = id_};
  m.entries = std::move(entries);
  return StepInternal(m);
}

Status Raft::Propose(std::string data) {
  std::vector<Entry> entries;
  entries.push_back(Entry{0, 0, EntryType::kNormal, std::move(data)});
  return ProposeEntries(std::move(entries));
}

Status Raft::ProposeBatch(std::vector<std::string> batch) {
  std::vector<Entry> entries;
  entries.reserve(batch.size());
  for (std::string& d : batch) entries.push_back(Entry{0, 0, EntryType::kNormal, std::move(d)});
  return ProposeEntries(std::move(entries));
}

Status Raft::ProposeConfChange(const ConfChange& cc) {
  std::vector<Entry> entries;
  entries.push_back(Entry{0, 0, EntryType::kConfChange, EncodeConfChange(cc)});
  return ProposeEntries(std::move(entries));
}

void Raft::TransferLeadership(NodeId to) {
  CHECK_OK(StepInternal(Message{.type = MessageType::kTransferLeader, .from = to}));
}

Status Raft::ReadIndex(std::string request_ctx) {
  return StepInternal(Message{.type = MessageType::kReadIndex, .from = kNoNode, .context = std::move(request_ctx)});
}

void Raft::ReportUnreachable(NodeId id) {
  CHECK_OK(StepInternal(Message{.type = MessageType::kUnreachable, .from = id}));
}

void Raft::ReportSnapshot(NodeId id, bool failed) {
  CHECK_OK(StepInternal(Message{.type = MessageType::kSnapStatus, .from = id, .reject = failed}));
}

void Raft::ForgetLeader() {
  if (role_ == Role::kFollower) CHECK_OK(StepInternal(Message{.type = MessageType::kForgetLeader}));
}

void Raft::ApplyConfig(const TrackerConfig& cfg) {
  trk_.config = cfg;
  trk_.SyncProgress(log_.last_index() + 1);
  if (role_ != Role::kLeader) return;
  if (!trk_.progress.contains(lead_transferee_)) AbortLeaderTransfer();
  if (!trk_.IsVoter(id_)) {
    // Removed (or demoted): stop leading once the change is applied
    // (thesis §4.2.2). Another member campaigns after its timeout, or at
    // once if the caller transferred leadership first.
    BecomeFollower(term_, kNoNode);
    return;
  }
  // The quorum changed: more may be committed now.
  if (MaybeCommit()) BroadcastAppend();
  if (trk_.config.joint() && trk_.config.auto_leave) {
    // Leave the joint configuration with an empty conf change.
    CHECK(AppendEntries({Entry{0, 0, EntryType::kConfChange, EncodeConfChange(ConfChange{})}}));
    pending_conf_index_ = log_.last_index();
    BroadcastAppend();
  }
}

Result<ConfState> Raft::ApplyConfChange(const ConfChange& cc) {
  ASSIGN_OR_RETURN(TrackerConfig next, ApplyConfChangeToConfig(trk_.config, cc));
  ApplyConfig(next);
  return trk_.config.ToConfState();
}

bool Raft::HasReady() const {
  if (SoftState{lead_, role_} != prev_soft_state_) return true;
  if (HardState{term_, vote_, log_.committed()} != prev_hard_state_) return true;
  return !log_.unstable_entries().empty() || log_.unstable_snapshot().has_value() ||
         log_.HasNextCommitted() || !msgs_.empty() || !msgs_after_persist_.empty() || !read_states_.empty() ||
         commit_to_broadcast_ || read_round_to_send_;
}

Ready Raft::GetReady() {
  CHECK_MSG(!pending_.active, "GetReady called again before Advance");
  if (commit_to_broadcast_) BroadcastCommit();
  if (read_round_to_send_) SendReadRound();
  Ready rd;
  rd.soft_state = SoftState{lead_, role_};
  HardState hs{term_, vote_, log_.committed()};
  if (hs != prev_hard_state_) rd.hard_state = hs;
  rd.entries = log_.unstable_entries();
  rd.snapshot = log_.unstable_snapshot();
  if (!rd.snapshot) rd.committed_entries = log_.NextCommitted(cfg_.max_committed_size_per_ready);
  rd.messages.swap(msgs_);
  rd.messages_after_persist.swap(msgs_after_persist_);
  rd.read_states.swap(read_states_);
  rd.must_sync = !rd.entries.empty() || rd.snapshot.has_value() ||
                 (rd.hard_state && (hs.term != prev_hard_state_.term || hs.vote != prev_hard_state_.vote));

  pending_ = Pending{};
  pending_.active = true;
  if (!rd.entries.empty()) {
    pending_.last_index = rd.entries.back().index;
    pending_.last_term = rd.entries.back().term;
  }
  if (rd.snapshot) pending_.snapshot_index = rd.snapshot->meta.index;
  if (!rd.committed_entries.empty()) pending_.applied_to = rd.committed_entries.back().index;
  for (const Entry& e : rd.committed_entries) pending_.applied_bytes += e.data.size();
  pending_.hard_state = rd.hard_state;
  prev_soft_state_ = rd.soft_state;
  return rd;
}

void Raft::Advance() {
  CHECK_MSG(pending_.active, "Advance without GetReady");
  pending_.active = false;
  if (pending_.hard_state) prev_hard_state_ = *pending_.hard_state;
  if (pending_.snapshot_index != 0) log_.StableSnapTo(pending_.snapshot_index);
  if (pending_.last_index != 0) log_.StableTo(pending_.last_index, pending_.last_term);
  // (A snapshot installed since GetReady may have moved applied past them.)
  if (pending_.applied_to > log_.applied()) {
    // Committed entries no longer count against the uncommitted limit.
    uncommitted_size_ -= std::min(uncommitted_size_, pending_.applied_bytes);
    log_.AppliedTo(pending_.applied_to);
  }
  if (role_ == Role::kLeader && pending_.last_index != 0) {
    // §10.2.1: the leader's own write finished; it may now count itself.
    UpdateSelfProgress();
    if (MaybeCommit()) commit_to_broadcast_ = true;
  }
}

RaftStatus Raft::GetStatus() const {
  RaftStatus st;
  st.id = id_;
  st.hard_state = HardState{term_, vote_, log_.committed()};
  st.soft_state = SoftState{lead_, role_};
  st.applied = log_.applied();
  st.last_index = log_.last_index();
  st.durable_index = log_.durable_index();
  st.lead_transferee = lead_transferee_;
  st.conf_state = trk_.config.ToConfState();
  if (role_ == Role::kLeader) st.progress = trk_.progress;
  return st;
}

}  // namespace raft
