#pragma once

// A simulated node's disk as the node sees it: Raft's storage plus the
// operations that write it. It outlives the node process: a crash destroys
// the node and keeps the disk, and a restart opens the node on it again.
//
// MemDisk keeps everything in a MemoryStorage and treats each Persist as
// durable (the simulator models the write's latency and drops a Ready that
// a crash interrupts before it reached the disk).

#include <memory>
#include <string>

#include "raft/core/memory_storage.h"
#include "raft/core/ready.h"

namespace sim {

class SimDisk {
 public:
  virtual ~SimDisk() = default;

  // Opens the disk for a (re)starting node; called before storage().
  virtual common::Status Open() = 0;
  // Called when the node crashes: whatever was not durable is lost (`seed`
  // picks how, where the disk models more than one way).
  virtual void Crash(uint64_t seed) = 0;
  virtual const raft::Storage& storage() const = 0;

  // Step 2 of ready.h; durable when it returns OK.
  virtual common::Status Persist(const raft::Ready& rd) = 0;
  // Records the state machine's snapshot at `index` and drops log entries up
  // to `compact_to` (≤ index).
  virtual common::Status SaveSnapshot(uint64_t index, const raft::ConfState& cs, std::string data,
                                      uint64_t compact_to) = 0;
  // The newest snapshot (empty() when none).
  virtual raft::Snapshot LatestSnapshot() const = 0;
};

class MemDisk final : public SimDisk {
 public:
  explicit MemDisk(const raft::ConfState& bootstrap) { storage_.SetConfState(bootstrap); }

  common::Status Open() override { return common::Status::Ok(); }
  void Crash(uint64_t) override {}
  const raft::Storage& storage() const override { return storage_; }

  common::Status Persist(const raft::Ready& rd) override {
    if (rd.snapshot) RETURN_IF_ERROR(storage_.ApplySnapshot(*rd.snapshot));
    RETURN_IF_ERROR(storage_.Append(rd.entries));
    if (rd.hard_state) storage_.SetHardState(*rd.hard_state);
    return common::Status::Ok();
  }

  common::Status SaveSnapshot(uint64_t index, const raft::ConfState& cs, std::string data,
                              uint64_t compact_to) override {
    RETURN_IF_ERROR(storage_.CreateSnapshot(index, cs, std::move(data)));
    storage_.SetConfState(cs);
    return storage_.Compact(compact_to);
  }

  raft::Snapshot LatestSnapshot() const override { return *storage_.GetSnapshot(); }

 private:
  raft::MemoryStorage storage_;
};

}  // namespace sim
