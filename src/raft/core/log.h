#pragma once

// RaftLog: the core's view of its log — what Storage holds durably plus the
// entries (and snapshot) handed out for persistence but not yet confirmed.
//
// Invariants: applied ≤ committed ≤ last_index(); entries at and after
// unstable_offset_ live in memory; below it they come from Storage. Only
// durable entries are handed out for applying (an entry committed by others
// may still be on its way to this node's disk).

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "raft/core/storage.h"
#include "raft/core/types.h"

namespace raft {

class RaftLog {
 public:
  // `storage` must outlive the log. CHECK-fails if storage reports an error
  // for its own bounds (a broken storage is not something Raft can go on with).
  explicit RaftLog(const Storage& storage);

  uint64_t first_index() const;
  uint64_t last_index() const;
  uint64_t last_term() const;
  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }

  // Term of `index`: kOutOfRange when compacted or past the end.
  Result<uint64_t> Term(uint64_t index) const;
  // Term of `index`, or 0 when unknown (compacted or past the end). Cheap:
  // builds no error.
  uint64_t TermOrZero(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;

  // §5.4.1: is a log ending at (term, index) at least as up to date as ours?
  bool IsUpToDate(uint64_t index, uint64_t term) const;

  // §5.3 follower side: if (prev_index, prev_term) matches, appends the
  // entries that are new (truncating only at a real term conflict), commits
  // up to min(committed, last new index) and returns that last new index.
  std::optional<uint64_t> MaybeAppend(uint64_t prev_index, uint64_t prev_term, uint64_t committed,
                                      const std::vector<Entry>& entries);

  // Appends after truncating at the first entry's index. Returns last index.
  uint64_t Append(std::span<const Entry> entries);
  uint64_t Append(std::vector<Entry>&& entries);

  // The first entry whose term differs from ours, or that we do not have: 0 if none.
  uint64_t FindConflict(const std::vector<Entry>& entries) const;
  // The last (index', term') with index' ≤ index and term' ≤ term, for fast
  // backtracking (§5.3 "optimization"). Returns (index, 0) if not found.
  std::pair<uint64_t, uint64_t> FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries [lo, hi) up to max_bytes (at least one). kOutOfRange if lo is
  // compacted. Other storage errors are fatal (CHECK).
  Result<std::vector<Entry>> Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  void CommitTo(uint64_t index);
  // Commits `index` if it is ours and of `term` (§5.4.2). True if committed moved.
  bool MaybeCommit(uint64_t index, uint64_t term);
  void AppliedTo(uint64_t index);

  // Entries and snapshot waiting to be persisted.
  const std::vector<Entry>& unstable_entries() const { return unstable_; }
  const std::optional<Snapshot>& unstable_snapshot() const { return unstable_snapshot_; }
  // The caller persisted unstable entries up to `index` of `term` / the snapshot.
  void StableTo(uint64_t index, uint64_t term);
  void StableSnapTo(uint64_t index);

  // Committed, durable entries after applied (up to max_bytes, at least one).
  bool HasNextCommitted() const;
  std::vector<Entry> NextCommitted(uint64_t max_bytes) const;
  // Highest index that may be applied now.
  uint64_t ApplyLimit() const;
  // Highest index known durable: everything below the unstable entries
  // (0 while a snapshot waits to be persisted).
  uint64_t durable_index() const;

  // The snapshot to send to a follower: the one pending persistence, or Storage's.
  Result<Snapshot> GetSnapshot() const;
  // Replaces the log with `snap` (installed from the leader).
  void Restore(const Snapshot& snap);

 private:
  uint64_t LookupTerm(uint64_t index) const;
  // Drops unstable entries from `first` on, so the next ones go there.
  void TruncateUnstableFrom(uint64_t first);

  const Storage& storage_;
  std::optional<Snapshot> unstable_snapshot_;
  std::vector<Entry> unstable_;
  uint64_t unstable_offset_;  // index of unstable_[0] (or where it would be)
  uint64_t committed_ = 0;
  uint64_t applied_ = 0;
};

}  // namespace raft
