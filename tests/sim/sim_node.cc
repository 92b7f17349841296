#include "sim/sim_node.h"

#include "common/checksum.h"
#include "common/coding.h"

namespace sim {
namespace {

std::string ReadContext(uint64_t client, uint64_t seq) {
  std::string s;
  common::PutFixed64(&s, client);
  common::PutFixed64(&s, seq);
  return s;
}

}  // namespace

SimNode::SimNode(raft::NodeId id, std::unique_ptr<SimDisk> disk, raft::Config config)
    : id_(id), disk_(std::move(disk)), config_(config) {
  config_.id = id;
}

common::Status SimNode::Start() {
  CHECK(!up());
  RETURN_IF_ERROR(disk_->Open());
  kv_ = KvStateMachine();
  applied_ = 0;
  raft::Snapshot snap = disk_->LatestSnapshot();
  ASSIGN_OR_RETURN(raft::InitialState st, disk_->storage().GetInitialState());
  applied_conf_ = st.conf_state;
  if (!snap.empty()) {
    if (!kv_.Restore(snap.data)) return common::DataLossError("sim: snapshot data of node " + std::to_string(id_));
    applied_ = snap.meta.index;
    applied_conf_ = snap.meta.conf_state;
  }
  raft::Config c = config_;
  c.applied = applied_;
  c.seed = config_.seed + incarnation_;
  ASSIGN_OR_RETURN(raft_, raft::Raft::Create(c, disk_->storage()));
  ++incarnation_;
  return common::Status::Ok();
}

void SimNode::Crash(uint64_t seed) {
  raft_.reset();
  ready_.reset();
  proposals_.clear();
  reads_waiting_index_.clear();
  reads_waiting_apply_.clear();
  disk_->Crash(seed);
}

std::optional<ClientReply> SimNode::HandleRequest(const ClientRequest& r) {
  ClientReply reject{r.client, r.seq, true, {}};
  if (r.read_index) {
    std::string ctx = ReadContext(r.client, r.seq);
    if (!raft_->ReadIndex(ctx).ok()) return reject;
    reads_waiting_index_[ctx] = r;
    return std::nullopt;
  }
  if (raft_->role() != raft::Role::kLeader) return reject;
  if (!raft_->Propose(EncodeCommand(Command{r.client, r.seq, r.input})).ok()) return reject;
  proposals_.insert({r.client, r.seq});
  return std::nullopt;
}

std::vector<raft::Message> SimNode::BeginReady() {
  CHECK(!busy() && raft_->HasReady());
  ready_ = raft_->GetReady();
  std::vector<raft::Message> out;
  out.swap(ready_->messages);
  return out;
}

common::Result<SimNode::Finished> SimNode::FinishReady() {
  CHECK(busy());
  raft::Ready rd = std::move(*ready_);
  ready_.reset();
  RETURN_IF_ERROR(disk_->Persist(rd));
  Finished out;
  out.hard_state = rd.hard_state;
  for (const raft::Entry& e : rd.entries) out.persisted.emplace_back(e.index, e.term);
  if (rd.snapshot) out.persisted_snapshot = rd.snapshot->meta.index;
  out.messages = std::move(rd.messages_after_persist);
  if (rd.snapshot) {
    if (!kv_.Restore(rd.snapshot->data)) return common::DataLossError("sim: snapshot from the leader");
    applied_ = rd.snapshot->meta.index;
    applied_conf_ = rd.snapshot->meta.conf_state;
  }
  for (const raft::Entry& e : rd.committed_entries) ApplyEntry(e, out);
  for (raft::ReadState& rs : rd.read_states) {
    auto it = reads_waiting_index_.find(rs.request_ctx);
    if (it == reads_waiting_index_.end()) continue;
    reads_waiting_apply_.emplace(rs.index, it->second);
    reads_waiting_index_.erase(it);
  }
  ServeReads(out);
  raft_->Advance();
  return out;
}

void SimNode::ApplyEntry(const raft::Entry& e, Finished& out) {
  CHECK_MSG(e.index == applied_ + 1, "node " + std::to_string(id_) + " applies " + std::to_string(e.index) +
                                         " after " + std::to_string(applied_));
  applied_ = e.index;
  out.applied.push_back({e.index, e.term, common::Checksum64(e.data), 0, 0, std::nullopt});
  if (e.type == raft::EntryType::kConfChange) {
    auto cc = raft::DecodeConfChange(e.data);
    CHECK_OK(cc.status());
    auto cs = raft_->ApplyConfChange(*cc);
    if (cs.has_value()) applied_conf_ = *cs;
    out.applied.back().conf = applied_conf_;
    return;
  }
  if (e.type != raft::EntryType::kNormal) return;
  auto cmd = DecodeCommand(e.data);
  CHECK_MSG(cmd.has_value(), "undecodable command at " + std::to_string(e.index));
  out.applied.back().client = cmd->client;
  out.applied.back().seq = cmd->seq;
  lincheck::KvOutput result = kv_.Apply(cmd->input);
  auto it = proposals_.find({cmd->client, cmd->seq});
  if (it != proposals_.end()) {
    out.replies.push_back({cmd->client, cmd->seq, false, result});
    proposals_.erase(it);
  }
}

void SimNode::ServeReads(Finished& out) {
  while (!reads_waiting_apply_.empty() && reads_waiting_apply_.begin()->first <= applied_) {
    const ClientRequest& r = reads_waiting_apply_.begin()->second;
    out.replies.push_back({r.client, r.seq, false, lincheck::KvRead(kv_.Get(r.input.key))});
    reads_waiting_apply_.erase(reads_waiting_apply_.begin());
  }
}

common::Status SimNode::TakeSnapshot(uint64_t keep) {
  if (applied_ == 0 || applied_ <= disk_->LatestSnapshot().meta.index) return common::Status::Ok();
  uint64_t compact_to = applied_ > keep ? applied_ - keep : 0;
  return disk_->SaveSnapshot(applied_, applied_conf_, kv_.Serialize(), compact_to);
}

}  // namespace sim
