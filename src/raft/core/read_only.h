#pragma once

// ReadIndex requests waiting for a leader to confirm it is still the leader
// (thesis §6.4). Each request gets a sequence number that the leader's next
// heartbeats carry; a follower's response acknowledges every request up to
// the number it echoes. A request is confirmed once a quorum (counting the
// leader) acknowledged it. Using our own sequence numbers, not the caller's
// request ids, means a duplicated or late response can only confirm requests
// made before the heartbeat it answers (etcd #20418).

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "raft/core/quorum.h"
#include "raft/core/types.h"

namespace raft {

struct PendingRead {
  uint64_t seq = 0;
  uint64_t index = 0;  // the commit index when the request arrived
  std::string request_ctx;
  NodeId from = kNoNode;  // the node to answer (the leader itself for local reads)
};

class ReadOnly {
 public:
  // Queues a read at commit index `index`; returns the sequence number the
  // heartbeat must carry.
  uint64_t Add(uint64_t index, std::string request_ctx, NodeId from);

  // Records that `id` acknowledged everything up to `seq`; returns the
  // requests now confirmed by `voters`, oldest first.
  std::vector<PendingRead> Ack(NodeId id, uint64_t seq, NodeId self, const JointConfig& voters);

  uint64_t last_seq() const { return next_seq_ - 1; }
  bool empty() const { return pending_.empty(); }
  void Reset();

  static std::string EncodeSeq(uint64_t seq);
  static uint64_t DecodeSeq(const std::string& ctx);  // 0 if not a sequence

 private:
  uint64_t next_seq_ = 1;
  std::deque<PendingRead> pending_;
  std::map<NodeId, uint64_t> acked_;
};

}  // namespace raft
