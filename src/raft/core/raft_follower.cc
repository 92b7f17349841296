// Raft core: the follower — appends (§5.3), heartbeats, snapshots (§7),
// forwarding of proposals and reads, and TimeoutNow.

#include <algorithm>
#include <string>

#include "raft/core/raft.h"

namespace raft {

Status Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kProp:
      if (lead_ == kNoNode) return common::UnavailableError("raft: no leader; proposal dropped");
      if (cfg_.disable_proposal_forwarding) {
        return common::UnavailableError("raft: not the leader (leader is " + std::to_string(lead_) +
                                        "); forwarding disabled");
      }
      {
        Message fwd = m;
        fwd.to = lead_;
        Send(std::move(fwd));
      }
      return Status::Ok();
    case MessageType::kApp:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppendEntries(m);
      return Status::Ok();
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      return Status::Ok();
    case MessageType::kSnap:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      return Status::Ok();
    case MessageType::kTransferLeader:
      if (lead_ == kNoNode) return common::UnavailableError("raft: no leader to transfer from");
      // Forward to the leader, naming the transferee (`from`), which need not be us.
      Send(Message{.type = MessageType::kTransferLeader, .from = m.from, .to = lead_});
      return Status::Ok();
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign at once, past any lease (thesis §3.10).
      Hup(true);
      return Status::Ok();
    case MessageType::kReadIndex:
      if (lead_ == kNoNode) return common::UnavailableError("raft: no leader; read dropped");
      {
        Message fwd = m;
        fwd.to = lead_;
        Send(std::move(fwd));
      }
      return Status::Ok();
    case MessageType::kReadIndexResp:
      read_states_.push_back({m.index, m.context});
      return Status::Ok();
    case MessageType::kForgetLeader:
      lead_ = kNoNode;
      return Status::Ok();
    default:
      return Status::Ok();
  }
}

void Raft::HandleAppendEntries(const Message& m) {
  if (m.index < log_.committed()) {
    // Everything up to our commit index matches the leader's log already.
    Send(Message{.type = MessageType::kAppResp, .to = m.from, .index = log_.committed()});
    return;
  }
  if (auto last_new = log_.MaybeAppend(m.index, m.log_term, m.commit, m.entries)) {
    Send(Message{.type = MessageType::kAppResp, .to = m.from, .index = *last_new});
    return;
  }
  // §5.3: reject, with a hint: our last index at or below the rejected one
  // whose term is ≤ the leader's term there, so the leader can skip a whole
  // term of entries at once.
  uint64_t hint = std::min(m.index, log_.last_index());
  auto [hint_index, hint_term] = log_.FindConflictByTerm(hint, m.log_term);
  Send(Message{.type = MessageType::kAppResp,
               .to = m.from,
               .log_term = hint_term,
               .index = m.index,
               .reject = true,
               .reject_hint = hint_index});
}

void Raft::HandleHeartbeat(const Message& m) {
  // The leader sends min(our match, its commit), which we hold.
  log_.CommitTo(std::min(m.commit, log_.last_index()));
  Send(Message{.type = MessageType::kHeartbeatResp, .to = m.from, .context = m.context});
}

void Raft::HandleSnapshot(const Message& m) {
  if (m.snapshot && RestoreSnapshot(*m.snapshot)) {
    Send(Message{.type = MessageType::kAppResp, .to = m.from, .index = log_.last_index()});
  } else {
    Send(Message{.type = MessageType::kAppResp, .to = m.from, .index = log_.committed()});
  }
}

bool Raft::RestoreSnapshot(const Snapshot& s) {
  if (s.meta.index <= log_.committed()) return false;  // stale (etcd TestRestoreIgnoreSnapshot)
  // StepInternal turns a candidate into a follower before handing it a
  // snapshot, and a leader never gets one of its own term (one leader per term).
  CHECK(role_ == Role::kFollower);
  // The snapshot may predate this node's (re-)addition, so its
  // configuration need not hold us: later entries add us. Installing it is
  // safe either way, since a leader only sends committed state.
  TrackerConfig cfg = TrackerConfig::FromConfState(s.meta.conf_state);
  if (log_.MatchTerm(s.meta.index, s.meta.term)) {
    // We hold the entries already: just learn that they are committed.
    log_.CommitTo(s.meta.index);
    return false;
  }
  log_.Restore(s);
  trk_.config = cfg;
  trk_.SyncProgress(log_.last_index() + 1);
  return true;
}

}  // namespace raft
