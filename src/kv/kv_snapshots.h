#pragma once

// KvSnapshots: when the KV group takes its snapshots (issue 6, item 3).
// Every member decides for itself: once the entries applied since its
// newest snapshot reach `entries`, or the command bytes applied since it
// took (or restored) one reach `bytes`, it asks the node for a snapshot
// (Node::SnapshotAsync: the map, sessions and addresses as of the applied
// index, written to a temp name, fsynced and renamed), and the node drops
// the log up to the snapshot minus `trailing_entries`, which stay for
// followers a little behind. A follower further behind is sent the
// snapshot in chunks over the peer stream.
//
// Threads: one of its own ("kv-snapshots") that looks every check_ms.

#include <atomic>
#include <cstdint>

#include "common/periodic.h"
#include "kv/kv_state_machine.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"

namespace kv {

struct KvSnapshotPolicy {
  uint64_t entries = 100'000;
  uint64_t bytes = 64 << 20;
  uint64_t trailing_entries = 5'000;
  int64_t check_ms = 1'000;
};

class KvSnapshots {
 public:
  // `node`, `storage` (the node's) and `sm` (the node's) must outlive it.
  KvSnapshots(raft::Node& node, const raft::DurableStorage& storage, const KvStateMachine& sm, KvSnapshotPolicy policy);
  ~KvSnapshots() { Stop(); }

  void Start();
  // Waits for a snapshot in progress. Call before the node shuts down.
  void Stop();

  // Snapshots taken here since Start.
  uint64_t taken() const { return taken_.load(); }
  // Looks once (what the thread does every check_ms); blocks until a
  // snapshot it asks for is done. For tests.
  void CheckOnce();

 private:
  raft::Node& node_;
  const raft::DurableStorage& storage_;
  const KvStateMachine& sm_;
  const KvSnapshotPolicy policy_;
  uint64_t bytes_at_last_ = 0;  // sm_.applied_bytes() when the last snapshot was asked for
  std::atomic<uint64_t> taken_{0};
  common::Periodic thread_;
};

}  // namespace kv
