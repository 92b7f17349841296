#pragma once

// SegmentedLog: the storage engine of one Raft group (DESIGN §2).
//
// A directory holds a LOCK file (flock, held while open) and segments. A
// segment is a pair of files named by the first Raft index it may hold:
// "<20 digits>.log" (the source of truth: framed, checksummed records) and
// "<20 digits>.index" (derived: one 8-byte slot per index with the position
// and size of its entry record). docs/formats/segmented-log.md has the bytes.
//
// Writes: Append, SetHardState, TruncateAfter and PurgeUpTo change the
// in-memory state at once (reads see them) and queue a record. Queued
// records are written in rounds, each ended by a BatchEnd record, by one
// thread at a time: a Sync() caller, or a background writer once
// Options::flush_bytes are queued. Sync() is group commit: it returns once
// everything queued before the call is durable; the caller writes and syncs
// what is queued itself (no thread hand-off) unless a running round or sync
// already covers it, so concurrent callers share fdatasyncs. Nothing is
// durable before a Sync() that covers it returns OK.
//
// Segments: the writer starts a new segment before a record would cross
// segment_bytes or max_segment_entries. A new segment begins with a
// Checkpoint of the whole log state, so old segments can be deleted. The
// next segment is preallocated (zero-filled) in the background. A truncation
// that reaches below the last segment's first index starts a new segment
// named after the truncation point; segments left wholly above it are deleted.
// A purge deletes segments wholly below the purge point once it is durable.
//
// Crashes: Open scans only the last segment (sealed ones are trusted through
// their synced index header) and keeps whole write rounds. A damaged or
// incomplete round at the end, written after the last sync, is a torn tail:
// cut off, zeroed and counted in stats(). Damage followed by data that was
// durable is corruption: kDataLoss naming the file and position. Reading an
// entry of a sealed segment verifies its checksum: kDataLoss, never bad bytes.
//
// Errors: the first I/O error (EIO, ENOSPC, ...) makes the log read-only:
// that and every later write or Sync returns the error (naming the operation
// and file) until the log is reopened. Reads keep working.
//
// Threads: every method may be called from any thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/fs.h"
#include "common/status.h"
#include "storage/options.h"
#include "storage/types.h"

namespace storage {

struct Stats {
  uint64_t segments = 0;
  uint64_t first_index = 0;
  uint64_t last_index = 0;
  uint64_t syncs = 0;              // fdatasync calls on .log files
  uint64_t write_rounds = 0;       // BatchEnd-terminated writes
  uint64_t bytes_written = 0;
  uint64_t cache_entries = 0;
  uint64_t cache_bytes = 0;
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t torn_bytes_dropped = 0;   // at the last Open
  uint64_t torn_records_dropped = 0; // valid records of an incomplete round, at the last Open
  uint64_t tail_bytes_scanned = 0;   // at the last Open
};

// One segment as SegmentedLog::Segments() reports it.
struct SegmentInfo {
  uint64_t first_index = 0;  // its first entry still in the log
  uint64_t last_index = 0;   // first_index - 1 when it holds no entry yet
  uint64_t bytes = 0;        // of its .log written so far (headers included)
  bool sealed = false;       // full: no entry will be added (all but the last)
};

class SegmentedLog {
 public:
  // Opens (creating if needed) the log in `dir`. `fs` must outlive
  // the log. Errors: kInvalidArgument for bad options; kFailedPrecondition
  // "<dir>/LOCK is locked by pid N"; kDataLoss for corruption (file and position named); I/O errors.
  static Result<std::unique_ptr<SegmentedLog>> Open(common::Fs& fs, const std::string& dir,
                                                     const Options& options = {});

  // Writes (does not sync) what is queued and stops the background threads.
  // Call Sync() first for durability. No other call may be running.
  ~SegmentedLog();

  SegmentedLog(const SegmentedLog&) = delete;
  SegmentedLog& operator=(const SegmentedLog&) = delete;

  // Appends entries; the first must have index last_index() + 1 and the rest
  // follow without gaps. kInvalidArgument otherwise (nothing appended).
  // Terms are not checked: Raft owns them. Durable after Sync().
  Status Append(std::span<const LogEntry> entries);

  // Records the hard state. Durable after Sync().
  Status SetHardState(const HardState& hs);

  // Removes entries above `index` (Raft conflict). `index` must be in
  // [first_index() - 1, last_index()]; kOutOfRange otherwise. Durable after Sync().
  Status TruncateAfter(uint64_t index);

  // Removes entries up to and including `index`, whose term is `term`
  // (retention, snapshot). `index` past last_index() empties the log and the
  // next append is index + 1 (snapshot install). Below first_index(): no-op.
  // Durable after Sync(); files are deleted once it is.
  Status PurgeUpTo(uint64_t index, uint64_t term);

  // Group commit: returns once everything queued before the call is durable.
  // Returns at once, without a sync, when nothing is queued or unsynced.
  Status Sync();

  // The entry at `index`. kOutOfRange outside [first_index(), last_index()]
  // (message names the valid range); kDataLoss if its record is damaged.
  Result<LogEntry> Entry(uint64_t index) const;

  // Entries [lo, hi), stopping before the total payload would exceed
  // `max_bytes` (at least one entry is returned). kOutOfRange as Entry();
  // kDataLoss if a record is damaged. Each payload is copied once, into its
  // LogEntry; ForEachEntry() hands out the same entries without copies.
  Result<std::vector<LogEntry>> Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;

  using EntryVisitor = std::function<Visit(const EntryView&)>;
  // Calls `fn` for the entries [lo, hi) in index order, stopping before the
  // total payload would exceed `max_bytes` (`fn` sees at least one entry) or
  // after `fn` returns Visit::kStop. Returns how many entries `fn` saw.
  //
  // No copies: entries read from files are views into one read buffer per
  // call, filled by one pread per run of entries in a segment (as Entries()
  // reads them); cached entries are views of copies taken under the mutex.
  // A view is valid only until `fn` returns; ToEntry() makes an owned copy.
  // Every record's checksum is verified before `fn` sees the entry.
  //
  // Errors: kOutOfRange as Entries() (before `fn` is called, or, if a purge
  // or truncation races the read, before the first entry it removed);
  // kDataLoss naming the file and position when a record is damaged: `fn`
  // has then seen the entries before it (all verified), none from it on.
  //
  // `fn` runs on the calling thread without the log's mutex held: it may
  // call any method of the log. Any thread may call ForEachEntry.
  Result<uint64_t> ForEachEntry(uint64_t lo, uint64_t hi, uint64_t max_bytes, const EntryVisitor& fn) const;

  // Term of the entry at `index`; for first_index() - 1 the purge term (0 for
  // index 0). kOutOfRange outside [first_index() - 1, last_index()].
  Result<uint64_t> Term(uint64_t index) const;

  uint64_t first_index() const;
  uint64_t last_index() const;
  // The segments holding entries [first_index(), last_index()], oldest
  // first, the one being written last. A segment holding only purged entries
  // (its files not deleted yet) is left out. For retention: deleting a
  // prefix of whole segments is PurgeUpTo(that segment's last_index).
  std::vector<SegmentInfo> Segments() const;
  HardState hard_state() const;
  // Index of the last entry known durable (everything up to it survives a crash).
  uint64_t durable_index() const;
  Stats stats() const;
  const std::string& dir() const { return dir_; }

 private:
  struct Impl;
  SegmentedLog(common::Fs& fs, std::string dir, Options options);

  common::Fs& fs_;
  const std::string dir_;
  const Options options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace storage
