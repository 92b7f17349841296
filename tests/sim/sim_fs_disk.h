#pragma once

// FsDisk: a simulated node's disk made of the real storage engine
// (raft::DurableStorage over storage::SegmentedLog) on a crashable in-memory
// file system (replog_testing::MemFs). A crash drops every unsynced write,
// or keeps a random prefix of them (a torn write), as power loss would.

#include <memory>
#include <string>

#include "raft/durable/durable_storage.h"
#include "sim/sim_disk.h"
#include "testing/mem_fs.h"

namespace sim {

class FsDisk final : public SimDisk {
 public:
  explicit FsDisk(const raft::ConfState& bootstrap);

  common::Status Open() override;
  void Crash(uint64_t seed) override;
  const raft::Storage& storage() const override { return *storage_; }
  common::Status Persist(const raft::Ready& rd) override { return storage_->Persist(rd); }
  common::Status SaveSnapshot(uint64_t index, const raft::ConfState& cs, std::string data,
                              uint64_t compact_to) override;
  raft::Snapshot LatestSnapshot() const override;

 private:
  raft::ConfState bootstrap_;
  bool bootstrapped_ = false;
  replog_testing::MemFs fs_;
  std::unique_ptr<raft::DurableStorage> storage_;
};

}  // namespace sim
