#include "raft/durable/durable_storage.h"

#include <algorithm>
#include <utility>

#include "raft/durable/snapshot_file.h"

namespace raft {

namespace {

// raft::EntryType and storage::EntryKind share their numbers (types.h).
static_assert(static_cast<uint32_t>(EntryType::kNormal) == static_cast<uint32_t>(storage::EntryKind::kNormal));
static_assert(static_cast<uint32_t>(EntryType::kNoop) == static_cast<uint32_t>(storage::EntryKind::kNoop));
static_assert(static_cast<uint32_t>(EntryType::kConfChange) ==
              static_cast<uint32_t>(storage::EntryKind::kConfChange));

storage::LogEntry ToLogEntry(const Entry& e) {
  return storage::LogEntry{e.index, e.term, static_cast<storage::EntryKind>(e.type), e.data};
}

Entry FromLogEntry(storage::LogEntry&& e) {
  return Entry{e.index, e.term, static_cast<EntryType>(e.kind), std::move(e.payload)};
}

// What EntrySize() adds to a payload.
const uint64_t kEntryOverhead = EntrySize(Entry{});

std::string Str(uint64_t v) { return std::to_string(v); }

}  // namespace

DurableStorage::DurableStorage(common::Fs& fs, std::string dir, std::unique_ptr<storage::SegmentedLog> log)
    : fs_(fs), dir_(std::move(dir)), snap_dir_(common::JoinPath(dir_, "snapshots")), log_(std::move(log)) {}

DurableStorage::~DurableStorage() = default;

Result<std::unique_ptr<DurableStorage>> DurableStorage::Open(common::Fs& fs, const std::string& dir,
                                                             const storage::Options& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, storage::SegmentedLog::Open(fs, dir, options));
  std::unique_ptr<DurableStorage> s(new DurableStorage(fs, dir, std::move(log)));
  ASSIGN_OR_RETURN(bool has_snap_dir, fs.Exists(s->snap_dir_));
  if (!has_snap_dir) {
    // The directory's name must be durable before a snapshot file in it can be.
    RETURN_IF_ERROR(fs.CreateDir(s->snap_dir_));
    RETURN_IF_ERROR(fs.SyncDir(dir));
  }
  RETURN_IF_ERROR(s->LoadSnapshots());
  RETURN_IF_ERROR(s->ReconcileLogWithSnapshot());
  return s;
}

// The newest final file is the snapshot: a file gets its final name only
// once complete and synced, so damage in it is corruption, not a torn write.
// Older files are leftovers of a crash before their deletion.
Status DurableStorage::LoadSnapshots() {
  ASSIGN_OR_RETURN(std::vector<uint64_t> indexes,
                   snapshot_file::ListSnapshotFiles(fs_, snap_dir_, &open_stats_.snapshot_temps_removed));
  if (indexes.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(Snapshot snap, snapshot_file::Read(fs_, snap_dir_, indexes.back()));
  snap_meta_ = std::move(snap.meta);
  for (size_t i = 0; i + 1 < indexes.size(); ++i) {
    RETURN_IF_ERROR(fs_.Remove(common::JoinPath(snap_dir_, snapshot_file::FileName(indexes[i]))));
    open_stats_.old_snapshots_removed++;
  }
  return Status::Ok();
}

// Checks the invariants of the header against the log, and completes a
// snapshot install that a crash interrupted after its file was durable.
Status DurableStorage::ReconcileLogWithSnapshot() {
  const uint64_t first = log_->first_index();
  const uint64_t last = log_->last_index();
  if (!snap_meta_) {
    if (first > 1) {
      return common::DataLossError(dir_ + ": the log is purged up to " + Str(first - 1) + " but " + snap_dir_ +
                                   " holds no snapshot");
    }
    return Status::Ok();
  }
  const SnapshotMeta& m = *snap_meta_;
  const std::string snap_name = common::JoinPath(snap_dir_, snapshot_file::FileName(m.index));
  if (m.index + 1 < first) {
    return common::DataLossError(dir_ + ": the log is purged up to " + Str(first - 1) +
                                 ", past the newest snapshot " + snap_name);
  }
  if (m.index <= last) {
    ASSIGN_OR_RETURN(uint64_t term, log_->Term(m.index));
    if (term == m.term) return Status::Ok();
    if (m.index + 1 == first) {
      return common::DataLossError(dir_ + ": the log's purge term " + Str(term) + " at " + Str(m.index) +
                                   " differs from the term " + Str(m.term) + " of " + snap_name);
    }
  }
  // The file is durable but the log still holds what it replaces: finish the
  // install as InstallSnapshotLocked would have.
  Status s = Status::Ok();
  if (m.index < last) s = log_->TruncateAfter(m.index);
  if (s.ok()) s = log_->PurgeUpTo(m.index, m.term);
  if (s.ok()) s = log_->Sync();
  RETURN_IF_ERROR(s.WithContext("completing the install of " + snap_name));
  open_stats_.completed_snapshot_install = true;
  return Status::Ok();
}

Status DurableStorage::Bootstrap(const ConfState& initial) { return BootstrapAt(0, 0, initial, {}); }

Status DurableStorage::BootstrapAt(uint64_t index, uint64_t term, const ConfState& initial, std::string_view data) {
  std::lock_guard w(write_mu_);
  if (std::optional<SnapshotMeta> m = snapshot_meta()) {
    return common::FailedPreconditionError("bootstrap: " + dir_ + " already holds state: a snapshot at index " +
                                           Str(m->index));
  }
  storage::HardState hs = log_->hard_state();
  if (log_->last_index() > 0 || log_->first_index() > 1 || hs != storage::HardState{}) {
    return common::FailedPreconditionError("bootstrap: " + dir_ + " already holds state: log up to " +
                                           Str(log_->last_index()) + ", term " + Str(hs.term));
  }
  if (initial.voters.empty()) return common::InvalidArgumentError("bootstrap: the configuration has no voter");
  if ((index == 0) != (term == 0)) return common::InvalidArgumentError("bootstrap: index and term must both be 0 or both above 0");
  RETURN_IF_ERROR(StoreSnapshotLocked(SnapshotMeta{index, term, initial}, data).WithContext("bootstrap"));
  if (index == 0) return Status::Ok();
  // The log begins after the snapshot, as after an install (the snapshot is
  // durable first: a crash in between is completed by Open).
  RETURN_IF_ERROR(log_->PurgeUpTo(index, term).WithContext("bootstrap"));
  return log_->Sync().WithContext("bootstrap");
}

Status DurableStorage::StoreSnapshotLocked(const SnapshotMeta& meta, std::string_view data) {
  RETURN_IF_ERROR(snapshot_file::Write(fs_, snap_dir_, meta, data));
  {
    std::lock_guard l(mu_);
    snap_meta_ = meta;
  }
  // The new file is durable: older ones are no longer needed. Their removal
  // need not be: Open deletes one that reappears.
  ASSIGN_OR_RETURN(std::vector<uint64_t> indexes, snapshot_file::ListSnapshotFiles(fs_, snap_dir_));
  for (uint64_t index : indexes) {
    if (index >= meta.index) break;
    RETURN_IF_ERROR(fs_.Remove(common::JoinPath(snap_dir_, snapshot_file::FileName(index))));
  }
  return Status::Ok();
}

// §7 (InstallSnapshot): the snapshot replaces the whole log. The file is
// durable before the log drops anything, so that no crash leaves a log
// purged past the newest snapshot file.
Status DurableStorage::InstallSnapshotLocked(const Snapshot& snap) {
  const SnapshotMeta& m = snap.meta;
  if (std::optional<SnapshotMeta> cur = snapshot_meta(); cur && m.index < cur->index) {
    return common::FailedPreconditionError("snapshot at " + Str(m.index) + " is older than the stored one at " +
                                           Str(cur->index));
  }
  RETURN_IF_ERROR(StoreSnapshotLocked(m, snap.data));
  // Entries after the snapshot's index came from another history (the core
  // installs a snapshot only when its log does not match at that index):
  // truncate before purging, so that no crash keeps them after the new purge
  // point.
  const uint64_t last = log_->last_index();
  if (m.index < last && m.index + 1 >= log_->first_index()) {
    RETURN_IF_ERROR(log_->TruncateAfter(m.index).WithContext("truncate after " + Str(m.index)));
  }
  return log_->PurgeUpTo(m.index, m.term).WithContext("purge up to " + Str(m.index));
}

Status DurableStorage::AppendLocked(const std::vector<Entry>& entries) {
  const uint64_t first = entries.front().index;
  if (first <= log_->last_index()) {
    // A conflicting suffix (§5.3): drop the stored entries from `first` on.
    RETURN_IF_ERROR(log_->TruncateAfter(first - 1).WithContext("truncate after " + Str(first - 1)));
  }
  std::vector<storage::LogEntry> converted;
  converted.reserve(entries.size());
  for (const Entry& e : entries) converted.push_back(ToLogEntry(e));
  return log_->Append(converted).WithContext("append entries [" + Str(first) + ", " +
                                             Str(entries.back().index) + "]");
}

Status DurableStorage::Persist(const Ready& rd) {
  std::lock_guard w(write_mu_);
  const bool has_snapshot = rd.snapshot.has_value() && !rd.snapshot->empty();
  if (has_snapshot) {
    RETURN_IF_ERROR(
        InstallSnapshotLocked(*rd.snapshot).WithContext("persist: install snapshot at " + Str(rd.snapshot->meta.index)));
  }
  if (!rd.entries.empty()) RETURN_IF_ERROR(AppendLocked(rd.entries).WithContext("persist"));
  if (rd.hard_state) {
    const HardState& hs = *rd.hard_state;
    RETURN_IF_ERROR(log_->SetHardState(storage::HardState{hs.term, hs.vote, hs.commit})
                        .WithContext("persist: hard state (term " + Str(hs.term) + ")"));
  }
  // The flag alone would do; entries and snapshots are synced regardless, so
  // that a Ready built without the flag can never lose log changes.
  if (rd.must_sync || has_snapshot || !rd.entries.empty()) {
    RETURN_IF_ERROR(log_->Sync().WithContext("persist: sync " + dir_));
  }
  return Status::Ok();
}

Status DurableStorage::SaveSnapshot(uint64_t index, const ConfState& conf_state, std::string_view data) {
  std::lock_guard w(write_mu_);
  const std::string what = "save snapshot at " + Str(index);
  if (std::optional<SnapshotMeta> cur = snapshot_meta(); cur && index <= cur->index) {
    return common::FailedPreconditionError(what + ": not newer than the stored one at " + Str(cur->index));
  }
  if (index == 0 || index > log_->last_index()) {
    return common::OutOfRangeError(what + ": not in the log [" + Str(log_->first_index()) + ", " +
                                   Str(log_->last_index()) + "]");
  }
  Result<uint64_t> term = log_->Term(index);
  if (!term.has_value()) return term.error().WithContext(what);
  return StoreSnapshotLocked(SnapshotMeta{index, *term, conf_state}, data).WithContext(what);
}

Status DurableStorage::Compact(uint64_t index) {
  std::lock_guard w(write_mu_);
  const std::string what = "compact up to " + Str(index);
  std::optional<SnapshotMeta> cur = snapshot_meta();
  if (!cur || index > cur->index) {
    return common::FailedPreconditionError(what + ": past the newest snapshot (" +
                                           (cur ? "at " + Str(cur->index) : std::string("none")) + ")");
  }
  if (index < log_->first_index()) return Status::Ok();
  Result<uint64_t> term = log_->Term(index);
  if (!term.has_value()) return term.error().WithContext(what);
  RETURN_IF_ERROR(log_->PurgeUpTo(index, *term).WithContext(what));
  return log_->Sync().WithContext(what + ": sync");
}

Result<InitialState> DurableStorage::GetInitialState() const {
  storage::HardState hs = log_->hard_state();
  InitialState st;
  st.hard_state = HardState{hs.term, hs.vote, hs.commit};
  if (std::optional<SnapshotMeta> m = snapshot_meta()) st.conf_state = m->conf_state;
  return st;
}

Result<std::vector<Entry>> DurableStorage::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  const uint64_t first = log_->first_index();
  const uint64_t last = log_->last_index();
  if (lo < first || hi > last + 1 || lo > hi) {
    return common::OutOfRangeError("entries [" + Str(lo) + ", " + Str(hi) + ") outside [" + Str(first) + ", " +
                                   Str(last + 1) + ")");
  }
  if (lo == hi) return std::vector<Entry>{};
  // The log's budget counts payloads only, EntrySize() adds kEntryOverhead
  // to each: no more than max_bytes / kEntryOverhead entries (at least one)
  // can fit, and the log's answer is a superset of ours; trim it.
  const uint64_t most = std::max<uint64_t>(1, max_bytes / kEntryOverhead);
  ASSIGN_OR_RETURN(std::vector<storage::LogEntry> stored,
                   log_->Entries(lo, lo + std::min(hi - lo, most), max_bytes));
  std::vector<Entry> out;
  out.reserve(stored.size());
  uint64_t bytes = 0;
  for (storage::LogEntry& e : stored) {
    uint64_t size = e.payload.size() + kEntryOverhead;
    if (!out.empty() && bytes + size > max_bytes) break;
    bytes += size;
    out.push_back(FromLogEntry(std::move(e)));
  }
  return out;
}

Result<uint64_t> DurableStorage::Term(uint64_t index) const { return log_->Term(index); }

uint64_t DurableStorage::FirstIndex() const { return log_->first_index(); }

uint64_t DurableStorage::LastIndex() const { return log_->last_index(); }

Result<Snapshot> DurableStorage::GetSnapshot() const {
  // A newer snapshot may replace the file while we read it (its writer
  // deletes the old one): read the new one then.
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<SnapshotMeta> m = snapshot_meta();
    if (!m || m->index == 0) return common::UnavailableError("no snapshot in " + snap_dir_ + " yet");
    Result<Snapshot> snap = snapshot_file::Read(fs_, snap_dir_, m->index);
    if (snap.has_value() || snap.error().code() != common::Code::kNotFound) return snap;
    std::optional<SnapshotMeta> now = snapshot_meta();
    if (!now || now->index == m->index) return snap;
  }
  return common::UnavailableError("snapshots in " + snap_dir_ + " keep being replaced; ask again");
}

std::optional<SnapshotMeta> DurableStorage::snapshot_meta() const {
  std::lock_guard l(mu_);
  return snap_meta_;
}

}  // namespace raft
