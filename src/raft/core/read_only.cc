#include "raft/core/read_only.h"

#include "common/coding.h"

namespace raft {

uint64_t ReadOnly::Add(uint64_t index, std::string request_ctx, NodeId from) {
  uint64_t seq = next_seq_++;
  pending_.push_back({seq, index, std::move(request_ctx), from});
  return seq;
}

std::vector<PendingRead> ReadOnly::Ack(NodeId id, uint64_t seq, NodeId self, const JointConfig& voters) {
  std::vector<PendingRead> done;
  if (seq == 0 || seq >= next_seq_) return done;
  uint64_t& a = acked_[id];
  if (seq <= a) return done;
  a = seq;
  while (!pending_.empty()) {
    uint64_t s = pending_.front().seq;
    std::map<NodeId, bool> votes;
    for (NodeId v : voters.ids()) {
      auto it = acked_.find(v);
      votes[v] = v == self || (it != acked_.end() && it->second >= s);
    }
    if (voters.Vote(votes) != VoteResult::kWon) break;
    done.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  return done;
}

void ReadOnly::Reset() {
  pending_.clear();
  acked_.clear();
}

std::string ReadOnly::EncodeSeq(uint64_t seq) {
  std::string s = "r";
  common::PutFixed64(&s, seq);
  return s;
}

uint64_t ReadOnly::DecodeSeq(const std::string& ctx) {
  if (ctx.size() != 9 || ctx[0] != 'r') return 0;
  return common::DecodeFixed64(ctx.data() + 1);
}

}  // namespace raft
