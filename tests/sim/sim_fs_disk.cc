#include "sim/sim_fs_disk.h"

namespace sim {
namespace {

constexpr const char* kDir = "/raft";

storage::Options DiskOptions() {
  storage::Options o;
  // Small segments so that runs roll, recycle and purge segments; no
  // background preallocation, whose timing would not replay.
  o.segment_bytes = 16 << 10;
  o.max_segment_entries = 64;
  o.preallocate = false;
  o.cache_bytes = 64 << 10;
  return o;
}

}  // namespace

FsDisk::FsDisk(const raft::ConfState& bootstrap) : bootstrap_(bootstrap) {}

common::Status FsDisk::Open() {
  storage_.reset();
  ASSIGN_OR_RETURN(storage_, raft::DurableStorage::Open(fs_, kDir, DiskOptions()));
  if (!bootstrapped_) {
    RETURN_IF_ERROR(storage_->Bootstrap(bootstrap_));
    bootstrapped_ = true;
  }
  return common::Status::Ok();
}

void FsDisk::Crash(uint64_t seed) {
  storage_.reset();
  fs_.Crash(seed % 2 == 0 ? replog_testing::CrashMode::kDropUnsynced : replog_testing::CrashMode::kTearLastWrite,
            seed);
}

common::Status FsDisk::SaveSnapshot(uint64_t index, const raft::ConfState& cs, std::string data,
                                    uint64_t compact_to) {
  RETURN_IF_ERROR(storage_->SaveSnapshot(index, cs, data));
  return storage_->Compact(compact_to);
}

raft::Snapshot FsDisk::LatestSnapshot() const {
  auto s = storage_->GetSnapshot();
  if (!s.has_value()) return raft::Snapshot{};
  return *s;
}

}  // namespace sim
