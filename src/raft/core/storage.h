#pragma once

// What the Raft core reads from stable storage. The core never writes: it
// hands entries, hard state and snapshots out in a Ready, and its caller
// persists them (with the storage engine, or MemoryStorage in tests) before
// calling Advance(). So every call here sees only what is durable or about to
// be, and the core keeps the rest in memory until then.
//
// Threads: the core calls these from the thread that drives it. An
// implementation shared with a writer thread must synchronize itself.

#include <cstdint>
#include <vector>

#include "raft/core/types.h"

namespace raft {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;  // the configuration as of the snapshot, or as persisted by the caller
};

class Storage {
 public:
  virtual ~Storage() = default;

  virtual Result<InitialState> GetInitialState() const = 0;

  // Entries [lo, hi), stopping before their EntrySize() total would exceed
  // `max_bytes`, but at least one. Errors: kOutOfRange when lo < FirstIndex()
  // (compacted: the core sends a snapshot instead) or hi > LastIndex() + 1;
  // anything else (kDataLoss, I/O) is fatal to the core.
  virtual Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const = 0;

  // Term of entry `index` for index in [FirstIndex() - 1, LastIndex()];
  // kOutOfRange outside (compacted or not yet written).
  virtual Result<uint64_t> Term(uint64_t index) const = 0;

  // First index still held: the snapshot's index + 1 when compacted.
  virtual uint64_t FirstIndex() const = 0;
  virtual uint64_t LastIndex() const = 0;

  // The latest snapshot. kUnavailable when it is being made: the core asks
  // again later. Never called on a log that was not compacted.
  virtual Result<Snapshot> GetSnapshot() const = 0;
};

}  // namespace raft
