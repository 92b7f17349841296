#pragma once

// KvStateMachine: the key-value store's replicated state (issue 6; DESIGN §5,
// "KV"): the map (kv_map.h), the write sessions (kv_sessions.h) and the
// members' addresses, driven by the KV group's raft::Node.
//
// Apply decodes a command (kv_command.h) and carries it out at the entry's
// index, which becomes the revision of what it writes. A command with a
// client id goes through the sessions first: a duplicate is answered with
// its first response and changes nothing. Every member applies the same
// entries to the same state and returns the same result bytes.
//
// Snapshots (docs/formats/kv-snapshot.md): SnapshotData() is the whole state
// after the last applied entry; Restore() takes it back, and the applied
// index becomes the snapshot's, so the state and the index it describes are
// always replaced together. InitialSnapshot() is the empty state that the
// group's first members bootstrap with (DurableStorage::BootstrapAt).
//
// Reads (Get, Range, GetStats) run on any thread against the applied state
// and tell the applied index they saw; the service makes them linearizable
// by waiting for a ReadIndex first.
//
// Threads: Apply, ApplyControl, Restore and SnapshotData on the Node's apply
// thread only; the rest on any thread. A shared mutex lets reads run
// together and waits them out while an entry applies.

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "kv/kv_command.h"
#include "kv/kv_map.h"
#include "kv/kv_sessions.h"
#include "raft/node/node.h"

namespace kv {

struct KvStats {
  uint64_t applied = 0;  // the index the figures below describe
  uint64_t keys = 0;
  uint64_t bytes = 0;    // of keys and values
  uint64_t hash = 0;     // KvMap::Hash()
};

class KvStateMachine final : public raft::StateMachine {
 public:
  explicit KvStateMachine(SessionLimits sessions = {});

  std::string Apply(const raft::Entry& entry) override;
  void ApplyControl(const raft::Entry& entry) override;
  // kDataLoss for data SnapshotData() did not write; kFailedPrecondition for
  // sessions written with other limits. On error the state is unchanged.
  common::Status Restore(const raft::Snapshot& snapshot) override;
  std::string SnapshotData() override;
  std::map<raft::NodeId, std::string> PeerAddresses() const override;

  // The snapshot bytes of an empty store (no keys, no sessions).
  static std::string InitialSnapshot(SessionLimits sessions = {});

  // The key's value (nullopt: absent) as of `*at`, the applied index.
  std::optional<KvValue> Get(std::string_view key, uint64_t* at) const;
  // KvMap::Range as of `*at`; keys_only leaves the values empty.
  KvRange Range(std::string_view start, std::string_view end, size_t limit, bool keys_only, uint64_t* at) const;
  KvStats GetStats() const;
  uint64_t applied() const { return applied_.load(std::memory_order_acquire); }
  // Bytes of commands applied since this object was made (a snapshot policy
  // compares it between snapshots).
  uint64_t applied_bytes() const { return applied_bytes_.load(std::memory_order_relaxed); }
  const KvLimits& limits() const { return limits_; }

 private:
  KvResult Execute(const KvCommand& c, uint64_t index);

  const KvLimits limits_;
  mutable std::shared_mutex mu_;  // guards map_, sessions_, addresses_; applied_ changes under it
  KvMap map_;
  KvSessions sessions_;
  std::map<raft::NodeId, std::string> addresses_;  // from applied membership changes
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> applied_bytes_{0};
};

}  // namespace kv
