#include "raft/core/memory_storage.h"

#include <string>

namespace raft {

MemoryStorage::MemoryStorage() : entries_(1) {}

Result<InitialState> MemoryStorage::GetInitialState() const {
  return InitialState{hard_state_, conf_state_};
}

uint64_t MemoryStorage::FirstIndex() const { return entries_[0].index + 1; }
uint64_t MemoryStorage::LastIndex() const { return entries_[0].index + entries_.size() - 1; }

Result<std::vector<Entry>> MemoryStorage::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  if (lo < FirstIndex() || hi > LastIndex() + 1 || lo > hi) {
    return common::OutOfRangeError("entries [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                   ") outside [" + std::to_string(FirstIndex()) + ", " +
                                   std::to_string(LastIndex() + 1) + ")");
  }
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - entries_[0].index];
    bytes += EntrySize(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<uint64_t> MemoryStorage::Term(uint64_t index) const {
  if (index < entries_[0].index || index > LastIndex()) {
    return common::OutOfRangeError("term of " + std::to_string(index) + " outside [" +
                                   std::to_string(entries_[0].index) + ", " +
                                   std::to_string(LastIndex()) + "]");
  }
  return entries_[index - entries_[0].index].term;
}

Result<Snapshot> MemoryStorage::GetSnapshot() const { return snapshot_; }

Status MemoryStorage::Append(const std::vector<Entry>& entries) {
  if (entries.empty()) return Status::Ok();
  uint64_t first = entries.front().index;
  if (first < FirstIndex() || first > LastIndex() + 1) {
    return common::InvalidArgumentError("append at " + std::to_string(first) + " outside [" +
                                        std::to_string(FirstIndex()) + ", " +
                                        std::to_string(LastIndex() + 1) + "]");
  }
  entries_.resize(first - entries_[0].index);
  entries_.insert(entries_.end(), entries.begin(), entries.end());
  return Status::Ok();
}

Status MemoryStorage::ApplySnapshot(const Snapshot& snap) {
  if (snap.meta.index < snapshot_.meta.index) {
    return common::FailedPreconditionError("snapshot at " + std::to_string(snap.meta.index) +
                                           " is older than the one held at " +
                                           std::to_string(snapshot_.meta.index));
  }
  snapshot_ = snap;
  entries_.assign(1, Entry{snap.meta.index, snap.meta.term, EntryType::kNormal, {}});
  conf_state_ = snap.meta.conf_state;
  return Status::Ok();
}

Status MemoryStorage::CreateSnapshot(uint64_t index, const ConfState& cs, std::string data) {
  if (index <= snapshot_.meta.index) {
    return common::FailedPreconditionError("snapshot at " + std::to_string(index) +
                                           " is not newer than " + std::to_string(snapshot_.meta.index));
  }
  if (index > LastIndex()) {
    return common::OutOfRangeError("snapshot at " + std::to_string(index) + " past last index " +
                                   std::to_string(LastIndex()));
  }
  uint64_t term = *Term(index);
  snapshot_ = Snapshot{SnapshotMeta{index, term, cs}, std::move(data)};
  return Status::Ok();
}

Status MemoryStorage::Compact(uint64_t index) {
  if (index <= entries_[0].index) return Status::Ok();
  if (index > LastIndex()) {
    return common::OutOfRangeError("compact to " + std::to_string(index) + " past last index " +
                                   std::to_string(LastIndex()));
  }
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<long>(index - entries_[0].index));
  entries_[0].data.clear();
  entries_[0].type = EntryType::kNormal;
  return Status::Ok();
}

}  // namespace raft
