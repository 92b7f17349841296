#pragma once

// What a leader knows about one follower's log (§5.3 nextIndex/matchIndex)
// and how fast it may send to it (flow control).
//
// States: kProbe sends one append per heartbeat interval until a match is
// found; kReplicate streams appends optimistically, bounded by the inflight
// window (messages and bytes); kSnapshot sends nothing until the snapshot in
// flight succeeds or fails.

#include <cstddef>
#include <cstdint>
#include <deque>

namespace raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };
const char* ProgressStateName(ProgressState s);

// Appends sent and not yet acknowledged, oldest first.
class Inflights {
 public:
  Inflights(size_t max_count, uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records an append whose last entry is `last_index`, carrying `bytes`.
  void Add(uint64_t last_index, uint64_t bytes);
  // Forgets the appends whose last index is ≤ `index` (acknowledged).
  void FreeLE(uint64_t index);
  // Forgets the oldest append (presumed lost), making room for one more.
  void FreeFirstOne();
  void Reset();
  bool Full() const;
  size_t count() const { return items_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Item {
    uint64_t index;
    uint64_t bytes;
  };
  size_t max_count_;
  uint64_t max_bytes_;  // 0: no byte limit
  uint64_t bytes_ = 0;
  std::deque<Item> items_;
};

class Progress {
 public:
  Progress(uint64_t next_index, size_t max_inflight, uint64_t max_inflight_bytes, bool is_learner)
      : next(next_index), learner(is_learner), inflights(max_inflight, max_inflight_bytes) {}

  uint64_t match = 0;  // highest index known durable on the follower
  uint64_t next = 1;   // next index to send
  ProgressState state = ProgressState::kProbe;
  uint64_t pending_snapshot = 0;  // kSnapshot: the index of the snapshot sent
  bool recent_active = false;     // heard from since the last CheckQuorum round
  bool probe_sent = false;        // kProbe: an append is out; wait for a reply or heartbeat
  bool learner = false;
  uint64_t sent_commit = 0;  // the commit index the last append to it carried
  Inflights inflights;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);

  // An append acknowledged up to `n`: raises match (and next). False if stale.
  bool MaybeUpdate(uint64_t n);

  // An append of entries up to `last` sent with `bytes`: moves next in
  // kReplicate, pauses probing in kProbe.
  void SentEntries(uint64_t last, uint64_t count, uint64_t bytes);

  // The follower rejected an append at `rejected`, suggesting `match_hint`.
  // Lowers next and returns true, or returns false if the rejection is stale.
  bool MaybeDecrTo(uint64_t rejected, uint64_t match_hint);

  // True when nothing more may be sent now.
  bool IsPaused() const;
};

}  // namespace raft
