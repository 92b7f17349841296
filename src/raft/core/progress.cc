#include "raft/core/progress.h"

#include <algorithm>

namespace raft {

const char* ProgressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "?";
}

void Inflights::Add(uint64_t last_index, uint64_t bytes) {
  items_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void Inflights::FreeLE(uint64_t index) {
  while (!items_.empty() && items_.front().index <= index) {
    bytes_ -= items_.front().bytes;
    items_.pop_front();
  }
}

void Inflights::FreeFirstOne() {
  if (items_.empty()) return;
  bytes_ -= items_.front().bytes;
  items_.pop_front();
}

void Inflights::Reset() {
  items_.clear();
  bytes_ = 0;
}

bool Inflights::Full() const {
  return items_.size() >= max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

void Progress::BecomeProbe() {
  // After a snapshot, resume from the snapshot; otherwise just after the match.
  if (state == ProgressState::kSnapshot) {
    next = std::max(match + 1, pending_snapshot + 1);
  } else {
    next = match + 1;
  }
  state = ProgressState::kProbe;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.Reset();
}

void Progress::BecomeReplicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  pending_snapshot = 0;
  probe_sent = false;
  inflights.Reset();
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.Reset();
}

bool Progress::MaybeUpdate(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

void Progress::SentEntries(uint64_t last, uint64_t count, uint64_t bytes) {
  if (state == ProgressState::kReplicate) {
    if (count > 0) {
      next = last + 1;
      inflights.Add(last, bytes);
    }
  } else if (state == ProgressState::kProbe) {
    probe_sent = true;
  }
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // Stale if the rejected index is already matched.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // kProbe: only the rejection of the append we sent (at next - 1) counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe: return probe_sent;
    case ProgressState::kReplicate: return inflights.Full();
    case ProgressState::kSnapshot: return true;
  }
  return true;
}

}  // namespace raft
