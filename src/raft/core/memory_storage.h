#pragma once

// Storage held in memory: what tests and the simulator give the core when
// they do not exercise the storage engine. Everything written is "durable"
// at once; a crash is modelled by the caller keeping or dropping the object.
//
// Threads: not synchronized; one thread at a time.

#include <vector>

#include "raft/core/storage.h"

namespace raft {

class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  Result<InitialState> GetInitialState() const override;
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  Result<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  Result<Snapshot> GetSnapshot() const override;

  void SetHardState(const HardState& hs) { hard_state_ = hs; }
  void SetConfState(const ConfState& cs) { conf_state_ = cs; }

  // Appends entries, first dropping any held entries at or above the first
  // one's index (a Raft truncation). kInvalidArgument if that would leave a
  // gap or the entries are below the snapshot.
  Status Append(const std::vector<Entry>& entries);

  // Replaces the whole log with `snap` (a snapshot installed from the
  // leader). kFailedPrecondition if it is older than the one held.
  Status ApplySnapshot(const Snapshot& snap);

  // Records a snapshot of the state machine at `index` (≤ LastIndex()).
  Status CreateSnapshot(uint64_t index, const ConfState& cs, std::string data);

  // Drops entries up to `index` (≤ the snapshot's index is not required, but
  // ≤ LastIndex()).
  Status Compact(uint64_t index);

 private:
  HardState hard_state_;
  ConfState conf_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding the index and term of the last compacted entry.
  std::vector<Entry> entries_;
};

}  // namespace raft
