// Raft core: construction, terms and roles, elections, the logical clock and
// message dispatch. Leader and follower handlers are in raft_leader.cc and
// raft_follower.cc; Ready/Advance in raft_ready.cc.

#include "raft/core/raft.h"

#include <algorithm>
#include <string>

namespace raft {
namespace {

constexpr const char* kTransferContext = "transfer";

bool IsLocal(MessageType t) {
  switch (t) {
    case MessageType::kHup:
    case MessageType::kBeat:
    case MessageType::kCheckQuorum:
    case MessageType::kUnreachable:
    case MessageType::kSnapStatus:
    case MessageType::kForgetLeader:
      return true;
    default:
      return false;
  }
}

MessageType ResponseType(MessageType t) {
  return t == MessageType::kVote ? MessageType::kVoteResp : MessageType::kPreVoteResp;
}

}  // namespace

const char* MessageTypeName(MessageType t) {
  switch (t) {
    case MessageType::kHup: return "Hup";
    case MessageType::kBeat: return "Beat";
    case MessageType::kCheckQuorum: return "CheckQuorum";
    case MessageType::kUnreachable: return "Unreachable";
    case MessageType::kSnapStatus: return "SnapStatus";
    case MessageType::kForgetLeader: return "ForgetLeader";
    case MessageType::kProp: return "Prop";
    case MessageType::kApp: return "App";
    case MessageType::kAppResp: return "AppResp";
    case MessageType::kVote: return "Vote";
    case MessageType::kVoteResp: return "VoteResp";
    case MessageType::kPreVote: return "PreVote";
    case MessageType::kPreVoteResp: return "PreVoteResp";
    case MessageType::kSnap: return "Snap";
    case MessageType::kHeartbeat: return "Heartbeat";
    case MessageType::kHeartbeatResp: return "HeartbeatResp";
    case MessageType::kTransferLeader: return "TransferLeader";
    case MessageType::kTimeoutNow: return "TimeoutNow";
    case MessageType::kReadIndex: return "ReadIndex";
    case MessageType::kReadIndexResp: return "ReadIndexResp";
  }
  return "?";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

Status Config::Validate() const {
  auto bad = [](const char* m) { return common::InvalidArgumentError(std::string("raft config: ") + m); };
  if (id == kNoNode) return bad("id must not be 0");
  if (heartbeat_tick <= 0) return bad("heartbeat_tick must be > 0");
  if (election_tick <= heartbeat_tick) return bad("election_tick must be > heartbeat_tick");
  if (max_inflight_msgs == 0) return bad("max_inflight_msgs must be > 0");
  if (max_size_per_msg == 0) return bad("max_size_per_msg must be > 0");
  if (read_only == ReadOnlyOption::kLeaseBased && !check_quorum) {
    return bad("lease-based reads need check_quorum");
  }
  return Status::Ok();
}

Raft::Raft(const Config& config, const Storage& storage)
    : cfg_(config),
      id_(config.id),
      log_(storage),
      trk_(FlowLimits{config.max_inflight_msgs, config.max_inflight_bytes}),
      rng_(config.seed ^ (config.id * 0x9E3779B97F4A7C15ull)) {}

Result<std::unique_ptr<Raft>> Raft::Create(const Config& config, const Storage& storage) {
  RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Raft> r(new Raft(config, storage));
  ASSIGN_OR_RETURN(InitialState st, storage.GetInitialState());
  RETURN_IF_ERROR(r->Restore(st));
  return r;
}

Status Raft::Restore(const InitialState& st) {
  const HardState& hs = st.hard_state;
  if (hs.commit > log_.last_index()) {
    return common::DataLossError("raft: stored commit index " + std::to_string(hs.commit) +
                                 " is past the last stored entry " + std::to_string(log_.last_index()));
  }
  term_ = hs.term;
  vote_ = hs.vote;
  log_.CommitTo(hs.commit);
  prev_hard_state_ = HardState{term_, vote_, log_.committed()};
  trk_.config = TrackerConfig::FromConfState(st.conf_state);
  trk_.SyncProgress(log_.last_index() + 1);
  if (cfg_.applied > 0) {
    if (cfg_.applied > log_.last_index()) {
      return common::InvalidArgumentError("raft: applied " + std::to_string(cfg_.applied) +
                                          " past the last stored entry " + std::to_string(log_.last_index()));
    }
    // Whatever was applied was committed, even if the stored commit index
    // (written without a sync when it was all that changed) lags behind.
    log_.CommitTo(cfg_.applied);
    if (cfg_.applied > log_.applied()) log_.AppliedTo(cfg_.applied);
  }
  BecomeFollower(term_, kNoNode);
  prev_soft_state_ = SoftState{lead_, role_};
  return Status::Ok();
}

uint64_t Raft::NextRandom() {
  // splitmix64: small, fast and the same everywhere.
  uint64_t z = (rng_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void Raft::ResetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      cfg_.election_tick + static_cast<int>(NextRandom() % static_cast<uint64_t>(cfg_.election_tick));
}

void Raft::Reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
  }
  lead_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  ResetRandomizedElectionTimeout();
  AbortLeaderTransfer();
  trk_.ResetVotes();
  for (auto& [id, pr] : trk_.progress) {
    bool learner = pr.learner;
    pr = Progress(log_.last_index() + 1, cfg_.max_inflight_msgs, cfg_.max_inflight_bytes, learner);
  }
  pending_conf_index_ = 0;
  uncommitted_size_ = 0;
  read_only_.Reset();
  reads_before_first_commit_.clear();
}

void Raft::BecomeFollower(uint64_t term, NodeId lead) {
  Reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::BecomePreCandidate() {
  CHECK(role_ != Role::kLeader);
  // Thesis §9.6: neither the term nor the vote changes.
  trk_.ResetVotes();
  lead_ = kNoNode;
  role_ = Role::kPreCandidate;
}

void Raft::BecomeCandidate() {
  CHECK(role_ != Role::kLeader);
  Reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::BecomeLeader() {
  CHECK(role_ == Role::kCandidate);
  Reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  UpdateSelfProgress();
  auto it = trk_.progress.find(id_);
  if (it != trk_.progress.end()) it->second.BecomeReplicate();
  // §5.4.2 / §8: an entry of the new term, so that earlier entries commit and
  // ReadIndex has a current-term commit to wait for.
  CHECK(AppendEntries({Entry{0, 0, EntryType::kNoop, {}}}));
  // No conf change until that entry is applied: a leader must commit an
  // entry of its term before a config entry (raft-dev, July 2015).
  pending_conf_index_ = log_.last_index();
}

bool Raft::Promotable() const { return trk_.IsVoter(id_) && !log_.unstable_snapshot(); }

bool Raft::HasUnappliedConfChange() const {
  if (log_.committed() <= log_.applied()) return false;
  uint64_t lo = log_.applied() + 1;
  while (lo <= log_.committed()) {
    auto ents = log_.Slice(lo, log_.committed() + 1, 1 << 20);
    if (!ents.has_value() || ents->empty()) return false;
    for (const Entry& e : *ents) {
      if (e.type == EntryType::kConfChange) return true;
    }
    lo = ents->back().index + 1;
  }
  return false;
}

void Raft::Hup(bool transfer) {
  if (role_ == Role::kLeader || !Promotable()) return;
  // A committed but unapplied conf change may change who votes: wait for it.
  if (HasUnappliedConfChange()) return;
  StartElection(cfg_.pre_vote && !transfer, transfer);
}

void Raft::StartElection(bool pre, bool transfer) {
  uint64_t term;
  MessageType type;
  if (pre) {
    BecomePreCandidate();
    type = MessageType::kPreVote;
    term = term_ + 1;  // the term we would campaign in
  } else {
    BecomeCandidate();
    type = MessageType::kVote;
    term = term_;
  }
  trk_.RecordVote(id_, true);
  if (trk_.TallyVotes() == VoteResult::kWon) {
    // A single voter wins alone.
    if (pre) {
      StartElection(false, transfer);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId id : trk_.config.voters.ids()) {
    if (id == id_) continue;
    Message m;
    m.type = type;
    m.to = id;
    m.term = term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (transfer) m.context = kTransferContext;
    Send(std::move(m));
  }
}

void Raft::Campaign() { Hup(false); }

void Raft::Tick() {
  if (role_ == Role::kLeader) {
    ++heartbeat_elapsed_;
    ++election_elapsed_;
    if (election_elapsed_ >= cfg_.election_tick) {
      election_elapsed_ = 0;
      if (cfg_.check_quorum) CHECK_OK(StepInternal(Message{.type = MessageType::kCheckQuorum, .from = id_}));
      // A transfer that did not finish within an election timeout is abandoned.
      if (role_ == Role::kLeader) AbortLeaderTransfer();
    }
    if (role_ == Role::kLeader && heartbeat_elapsed_ >= cfg_.heartbeat_tick) {
      heartbeat_elapsed_ = 0;
      BroadcastHeartbeat(read_only_.empty() ? std::string() : ReadOnly::EncodeSeq(read_only_.last_seq()));
    }
    return;
  }
  ++election_elapsed_;
  if (Promotable() && PastElectionTimeout()) {
    election_elapsed_ = 0;
    Hup(false);
  }
}

void Raft::Send(Message m) {
  // kTransferLeader names the transferee in `from` (thesis §3.10: any node
  // may ask the leader to hand over to another); everything else is ours.
  if (m.type != MessageType::kTransferLeader || m.from == kNoNode) m.from = id_;
  if (m.term == 0 && m.type != MessageType::kProp && m.type != MessageType::kReadIndex &&
      m.type != MessageType::kTransferLeader) {
    m.term = term_;
  }
  // A leader's appends and heartbeats may go out before its own write
  // (§10.2.1); everything else promises durable state and waits for it.
  bool early = m.type == MessageType::kProp || m.type == MessageType::kReadIndex ||
               m.type == MessageType::kTransferLeader ||
               (role_ == Role::kLeader &&
                (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat ||
                 m.type == MessageType::kSnap || m.type == MessageType::kTimeoutNow ||
                 m.type == MessageType::kReadIndexResp));
  (early ? msgs_ : msgs_after_persist_).push_back(std::move(m));
}

Status Raft::Step(const Message& m) {
  if (IsLocal(m.type)) {
    return common::InvalidArgumentError(std::string("raft: local message type ") +
                                        MessageTypeName(m.type) + " from the network");
  }
  if (m.from == kNoNode || m.to != id_) {
    return common::InvalidArgumentError("raft: message from " + std::to_string(m.from) + " to " +
                                        std::to_string(m.to) + " stepped into node " + std::to_string(id_));
  }
  return StepInternal(m);
}

// Term rules shared by every role (Figure 2 "All servers"; thesis §9.6 for
// prevotes; §4.2.3 for the leader lease that ignores disruptive votes).
Status Raft::StepTerm(const Message& m, bool* handled) {
  *handled = false;
  bool vote_req = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    if (vote_req) {
      bool force = m.context == kTransferContext;
      bool in_lease = cfg_.check_quorum && lead_ != kNoNode && election_elapsed_ < cfg_.election_tick;
      if (!force && in_lease) {
        *handled = true;  // a leader is alive: ignore a disruptive candidate
        return Status::Ok();
      }
    }
    if (m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResp && !m.reject)) {
      // A prevote never changes our term; a granted prevote answer carries
      // the future term, which we adopt only on becoming candidate.
    } else if (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnap) {
      BecomeFollower(m.term, m.from);
    } else {
      BecomeFollower(m.term, kNoNode);
    }
    return Status::Ok();
  }
  if (m.term < term_) {
    *handled = true;
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat)) {
      // A leader with a stale term (for example one partitioned away while
      // we moved on, whose own prevotes fail) learns the new term and steps down.
      Send(Message{.type = MessageType::kAppResp, .to = m.from});
    } else if (m.type == MessageType::kPreVote) {
      Send(Message{.type = MessageType::kPreVoteResp, .to = m.from, .term = term_, .reject = true});
    }
  }
  return Status::Ok();
}

void Raft::HandleVoteRequest(const Message& m) {
  // We may vote for m.from if we already did in this term, or have voted for
  // nobody and know no leader; a prevote for a future term is always allowed.
  bool can_vote = vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) ||
                  (m.type == MessageType::kPreVote && m.term > term_);
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {  // §5.4.1
    // A prevote answer carries the candidate's future term so that it counts.
    Send(Message{.type = ResponseType(m.type), .to = m.from, .term = m.term});
    if (m.type == MessageType::kVote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    Send(Message{.type = ResponseType(m.type), .to = m.from, .term = term_, .reject = true});
  }
}

void Raft::StepCandidate(const Message& m) {
  MessageType want = role_ == Role::kPreCandidate ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  if (m.type != want) return;
  trk_.RecordVote(m.from, !m.reject);
  switch (trk_.TallyVotes()) {
    case VoteResult::kWon:
      if (role_ == Role::kPreCandidate) {
        StartElection(false, false);
      } else {
        BecomeLeader();
        BroadcastAppend();
      }
      break;
    case VoteResult::kLost:
      // A prevote answer may carry a higher term: stay in our own.
      BecomeFollower(term_, kNoNode);
      break;
    case VoteResult::kPending:
      break;
  }
}

Status Raft::StepInternal(const Message& m) {
  if (m.term != 0) {
    bool handled = false;
    RETURN_IF_ERROR(StepTerm(m, &handled));
    if (handled) return Status::Ok();
  }
  switch (m.type) {
    case MessageType::kHup:
      Hup(m.context == kTransferContext);
      return Status::Ok();
    case MessageType::kVote:
    case MessageType::kPreVote:
      HandleVoteRequest(m);
      return Status::Ok();
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      return StepLeader(m);
    case Role::kFollower:
      return StepFollower(m);
    case Role::kPreCandidate:
    case Role::kCandidate:
      if (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat || m.type == MessageType::kSnap) {
        // Someone won this term (§5.2).
        BecomeFollower(term_, m.from);
        return StepFollower(m);
      }
      if (m.type == MessageType::kProp) return common::UnavailableError("raft: no leader (election in progress)");
      if (m.type == MessageType::kReadIndex) return common::UnavailableError("raft: no leader (election in progress)");
      StepCandidate(m);
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace raft
