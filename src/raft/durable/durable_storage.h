#pragma once

// DurableStorage: the Raft core's Storage (raft/core/storage.h) on disk. The
// log and the hard state live in a storage::SegmentedLog in `dir` (DESIGN
// §2); snapshots live in `dir`/snapshots/ as snapshot files
// (snapshot_file.h, docs/formats/raft-snapshot.md). The caller of the core
// writes through Persist() (step 2 of ready.h) and, for its state machine's
// own snapshots, SaveSnapshot() and Compact().
//
// What a restart restores, and what the caller must do with it:
//   - GetInitialState(): the hard state from the log, and the ConfState
//     stored with the newest snapshot file (the bootstrap configuration when
//     no real snapshot was taken yet; empty for a node that was neither
//     bootstrapped nor sent a snapshot). The core restores membership from
//     that ConfState only. The caller rebuilds its state machine from
//     GetSnapshot() (if any) and creates the core with Config.applied = the
//     snapshot's index (0 without one): every committed entry after it is
//     then handed out again, and the caller re-applies the conf-change
//     entries among them with Raft::ApplyConfChange, as on first apply. A
//     larger Config.applied would skip those conf changes and leave the core
//     with an old membership.
//   - Bootstrap: a brand-new group's first members call Bootstrap(initial)
//     once, before creating the core. It stores `initial` as a snapshot file
//     at index 0, term 0, with empty data (so one format and one recovery
//     path serve both). A node that joins an existing group is not
//     bootstrapped: it starts empty and learns its configuration from the
//     leader's log or snapshot.
//
// Invariants (checked by Open, kept by every write):
//   - the newest snapshot file is at or above the log's purge point:
//     log.first_index() - 1 <= snapshot index. Compact() refuses to pass it,
//     and a snapshot install writes the file durably before it purges.
//   - a snapshot at index S agrees with the log: the log's term at S (or its
//     purge term, if S is the purge point) is the snapshot's term, or S is
//     past the log's end.
//
// Crashes: a snapshot install (Persist with ready.snapshot) is made durable
// in this order: the snapshot file (temp name, fdatasync, rename, fsync of
// snapshots/), then older snapshot files are deleted, then the log drops
// what the snapshot replaces (TruncateAfter, PurgeUpTo) and is synced. A
// crash at any point leaves either the old snapshot and old log, or the new
// snapshot file; in the second case Open completes the install (the log
// drops everything up to the snapshot, and a log that disagrees with it at
// its index is truncated), so that the state read back is the old one or
// the new one, never a mix. A crash never leaves a log purged past the
// newest snapshot. Entries and hard state follow the SegmentedLog's rules:
// what a Persist made durable survives; unsynced writes may survive in part,
// always as a prefix in write order.
//
// Errors: every error names what was being done and the file. After an I/O
// error the SegmentedLog is read-only and every later write returns the
// error: the caller stops the node and reopens. Storage reads return
// kOutOfRange as storage.h says, and kDataLoss for damage.
//
// Threads: every method may be called from any thread. Writes (Persist,
// SaveSnapshot, Compact, Bootstrap) are serialized by an internal mutex;
// reads do not wait for them except briefly. The core still sees its own
// Persists in order, as ready.h requires.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/fs.h"
#include "raft/core/ready.h"
#include "raft/core/storage.h"
#include "raft/core/types.h"
#include "storage/options.h"
#include "storage/segmented_log.h"

namespace raft {

// What Open found and repaired.
struct DurableOpenStats {
  uint64_t snapshot_temps_removed = 0;    // torn "*.snap.tmp" files
  uint64_t old_snapshots_removed = 0;     // files older than the newest (a crash before their deletion)
  bool completed_snapshot_install = false;  // the log was brought up to the newest snapshot
};

class DurableStorage final : public Storage {
 public:
  // Opens (creating if needed) the group in `dir` on `fs`, which must outlive
  // the storage. Loads and verifies the newest snapshot file, deletes temp
  // and older snapshot files, and completes an interrupted snapshot install
  // (see Crashes above; that write is synced before Open returns).
  // Errors: those of SegmentedLog::Open (kFailedPrecondition when LOCK is
  // held, kDataLoss for a damaged log); kDataLoss "snapshot file <path>: ..."
  // for a damaged final snapshot file (never skipped: its bytes were durable);
  // kDataLoss when the log was purged past the newest snapshot or disagrees
  // with it at its purge point; I/O errors naming the file.
  static Result<std::unique_ptr<DurableStorage>> Open(common::Fs& fs, const std::string& dir,
                                                      const storage::Options& options = {});

  // Queued log writes are written (not synced) by the SegmentedLog's
  // destructor. No other call may be running.
  ~DurableStorage() override;

  DurableStorage(const DurableStorage&) = delete;
  DurableStorage& operator=(const DurableStorage&) = delete;

  // Stores the first configuration of a brand-new group (see above); durable
  // when it returns. kFailedPrecondition when the directory already holds
  // state (a snapshot file, log entries or a hard state); kInvalidArgument
  // without a voter.
  Status Bootstrap(const ConfState& initial);
  // Bootstrap at `index` (> 0) and `term` instead of 0, with the state
  // machine's `data` at that index: for a group whose first members all
  // start from the same known state. Every member that joins later then
  // needs a snapshot (the log begins after `index`), so none depends on the
  // first configuration. The KV group starts this way (server.cc).
  Status BootstrapAt(uint64_t index, uint64_t term, const ConfState& initial, std::string_view data);

  // Step 2 of ready.h: installs rd.snapshot (if set and not empty), then
  // writes rd.entries (first dropping stored entries from the first one's
  // index on), then rd.hard_state (if set); then one Sync() when
  // rd.must_sync, or rd carries entries or a snapshot (a commit-only hard
  // state is written but not synced: it is learned again from the leader).
  // Returns once that is durable; after an error nothing of it is promised.
  // Errors, with "persist: <step>: " before the cause: kFailedPrecondition for
  // a snapshot older than the newest stored one; kOutOfRange / kInvalidArgument
  // for entries that would leave a gap or reach below the snapshot; I/O errors.
  Status Persist(const Ready& rd);

  // Stores a snapshot the state machine took after applying entry `index`
  // (so `index` is committed and durable here); `conf_state` is the
  // configuration as of `index`. Durable when it returns; older snapshot
  // files are then deleted. The log is left as is (see Compact). Errors:
  // kFailedPrecondition if `index` is not above the newest snapshot;
  // kOutOfRange if `index` is not in the log; I/O errors. `data` is only
  // read during the call.
  Status SaveSnapshot(uint64_t index, const ConfState& conf_state, std::string_view data);

  // Drops the log up to `index` (keeping index + 1 on), for example a
  // trailing window behind the newest snapshot so that slow followers can
  // still be sent entries. Synced before it returns. No-op at or below the
  // current purge point. kFailedPrecondition if `index` is above the newest
  // snapshot (a restart could not rebuild the state machine); I/O errors.
  Status Compact(uint64_t index);

  // raft::Storage (storage.h has the contract).
  Result<InitialState> GetInitialState() const override;
  // Stops before the EntrySize() total would exceed max_bytes, at least one.
  Result<std::vector<Entry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  Result<uint64_t> Term(uint64_t index) const override;
  uint64_t FirstIndex() const override;
  uint64_t LastIndex() const override;
  // Reads the newest snapshot file. kUnavailable when there is none, or only
  // the bootstrap one (index 0).
  Result<Snapshot> GetSnapshot() const override;

  // Metadata of the newest snapshot file (index 0: the bootstrap one);
  // nullopt without one.
  std::optional<SnapshotMeta> snapshot_meta() const;
  const DurableOpenStats& open_stats() const { return open_stats_; }
  const storage::SegmentedLog& log() const { return *log_; }
  const std::string& dir() const { return dir_; }
  const std::string& snapshot_dir() const { return snap_dir_; }

 private:
  DurableStorage(common::Fs& fs, std::string dir, std::unique_ptr<storage::SegmentedLog> log);

  Status LoadSnapshots();
  Status ReconcileLogWithSnapshot();
  // Writes the snapshot file, makes it the newest and deletes older files.
  Status StoreSnapshotLocked(const SnapshotMeta& meta, std::string_view data);
  Status InstallSnapshotLocked(const Snapshot& snap);
  Status AppendLocked(const std::vector<Entry>& entries);

  common::Fs& fs_;
  const std::string dir_;
  const std::string snap_dir_;
  std::unique_ptr<storage::SegmentedLog> log_;
  DurableOpenStats open_stats_;

  std::mutex write_mu_;  // serializes writers
  mutable std::mutex mu_;  // guards snap_meta_
  std::optional<SnapshotMeta> snap_meta_;
};

}  // namespace raft
