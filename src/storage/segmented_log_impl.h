#pragma once

// Internal state of SegmentedLog, shared by segmented_log.cc (open, the API,
// reads) and log_writer.cc (the writer thread: write rounds, segment rolls,
// deletions, preallocation). Not part of the public interface.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/fs.h"
#include "storage/options.h"
#include "storage/record_format.h"
#include "storage/recovery.h"
#include "storage/segment.h"
#include "storage/segmented_log.h"

namespace storage {

// A queued record: what the writer needs to know without decoding it.
struct PendingOp {
  RecordType type;
  uint32_t size;  // bytes of the record in the file
  uint64_t a = 0, b = 0, c = 0;  // entry: index, term; truncate: index; purge: index, term; hard state: term, vote, commit
  // An entry whose payload is not in the pending buffer (shared_payload_bytes):
  // the buffer holds the record's size - payload_size other bytes (see
  // AppendEntryRecordHead), and the payload is the cache's copy, kept alive
  // until the record is written (Impl::pinned_payloads).
  const char* payload = nullptr;
  uint32_t payload_size = 0;
};

// A segment found on disk during Open.
struct Found {
  uint64_t first_index;
  std::unique_ptr<common::File> log;
  LogHeader header;
  Checkpoint cp;
};

struct CachedEntry {
  LogEntry entry;
  uint64_t seq;  // queue sequence number: evictable once written_seq_ >= seq
};

// Receives the entries of a read (Impl::Read), in index order.
class ReadSink {
 public:
  virtual ~ReadSink() = default;
  // About `n` more entries are coming (a hint for reserving space).
  virtual void Expect(size_t n) = 0;
  // A copy of a cached entry, taken under the mutex: the sink may keep it.
  virtual Visit TakeCached(LogEntry&& e) = 0;
  // An entry verified in the read buffer: the view is valid during the call.
  virtual Visit TakeView(const EntryView& e) = 0;
};

// How far a read has got, against its budget of payload bytes.
struct ReadProgress {
  uint64_t next = 0;   // the next index to hand out
  uint64_t bytes = 0;  // payload handed out so far
  uint64_t count = 0;  // entries handed out so far
  bool done = false;   // the budget is spent or the sink said kStop
};

// The next step of a read, planned under the mutex: copies of cached
// entries, or the index slots of a run of entries of one segment.
struct ReadPlan {
  std::vector<LogEntry> cached;
  std::shared_ptr<Segment> seg;
  uint64_t first = 0;  // index of slots[0]
  std::vector<Slot> slots;
};

struct SegmentedLog::Impl {
  Impl(common::Fs& fs_in, std::string dir_in, const Options& options_in)
      : fs(fs_in),
        dir(std::move(dir_in)),
        options(options_in),
        fsync_seconds(options.metrics == nullptr
                          ? nullptr
                          : &options.metrics->AddHistogram("replog_storage_fsync_seconds",
                                                           "Time of one fdatasync of a write round of the log.",
                                                           metrics::LatencyBounds(),
                                                           {{"group", options.metrics_group}})) {}

  // ---- fixed after Open ----
  common::Fs& fs;
  const std::string dir;
  const Options options;
  metrics::Histogram* const fsync_seconds;  // nullptr: metrics off
  std::unique_ptr<common::FileLock> lock;

  // ---- guarded by mu ----
  mutable std::mutex mu;
  std::condition_variable writer_cv;  // the background writer waits for work
  std::condition_variable token_cv;   // the background writer waits for `writing` to clear at Stop
  std::condition_variable space_cv;   // back-pressured appends wait for the writer to take `pending`
  // A Sync() caller waiting: for its records to become durable, for the
  // write token, or for a free sync slot. KickLocked wakes only the waiters
  // that can now return or act (with 64 callers, waking all of them at every
  // round costs more CPU than the writes).
  struct Waiter {
    uint64_t target = 0;  // queued_seq when Sync() was called
    std::condition_variable cv;
    bool woken = false;
  };
  std::vector<Waiter*> waiters;
  uint32_t space_waiters = 0;         // threads held back by max_pending_bytes
  // Live segments by first index; readers look entries up here. The writer
  // adds and removes segments under mu.
  std::vector<std::shared_ptr<Segment>> segments;
  LogState state;             // the logical state, including queued changes
  uint64_t durable_index = 0;
  uint64_t durable_first_index = 1;  // purges are durable up to here: segments below may go
  std::deque<CachedEntry> cache;  // contiguous indexes, newest at the back
  uint64_t cache_bytes = 0;
  std::string pending;             // encoded records waiting for the writer
  std::vector<PendingOp> pending_ops;
  uint64_t pending_bytes = 0;      // file bytes of pending_ops (shared payloads included)
  // Shared payloads (PendingOp::payload) of entries that left the cache
  // (TruncateAfter, PurgeUpTo) before their records were written: moved
  // here, so the bytes stay where the op points, and freed two rounds later.
  std::vector<std::string> pinned_payloads;
  uint64_t queued_seq = 0;         // records queued so far
  uint64_t written_seq = 0;        // records written to files
  uint64_t durable_seq = 0;        // records made durable
  // The write token: one thread at a time (a Sync() caller or the
  // background writer) writes a round; it owns `tail`, `written` and the
  // write buffers while `writing` is set.
  bool writing = false;
  std::string write_buf;
  std::vector<PendingOp> write_ops;
  std::vector<std::string> write_pinned;  // pinned_payloads taken with the round
  // The end of the last round written, for the syncs that cover it. A sync
  // started after a round was written makes it and every earlier round of
  // the file durable (the kernel waits for pages already under writeback),
  // so syncs may overlap and complete in any order.
  struct Round {
    std::shared_ptr<Segment> seg;  // the tail then; earlier segments were synced at their roll
    uint64_t pos = 0;              // its write position after the round
    uint64_t last_index = 0;       // written.last_index after the round
    uint64_t first_index = 1;      // written.first_index after the round
  } last_round;
  uint64_t sync_started_seq = 0;  // the highest written_seq a started sync covers
  uint32_t syncs_in_flight = 0;
  uint64_t synced_seg_seq = 0;  // newest completed sync: of the segment with this seq,
  uint64_t synced_pos = 0;      // up to here (the writer copies it into tail.synced_pos)
  std::atomic<uint64_t> syncs_total = 0;  // successful Sync() fdatasyncs; read by the writer without mu
  common::Status failed;           // first I/O error; the log is read-only after it
  bool stopping = false;
  mutable Stats stats;

  // ---- owned by the holder of the write token (set up by Open) ----
  struct Tail {
    std::shared_ptr<Segment> seg;
    uint64_t write_pos = 0;   // end of the last round
    uint64_t synced_pos = 0;  // bytes known durable
    bool sealed = false;
    uint64_t data_start = 0;  // end of the segment's first round (header and checkpoint)
    bool prealloc_requested = false;  // the next segment was asked of the preallocator
    uint64_t syncs_at_start = 0;      // syncs_total when the segment became the tail
    uint64_t writeback_pos = 0;       // bytes below it were synced or handed to writeback
  } tail;
  LogState written;           // the state as written to files
  uint64_t next_seq = 0;      // sequence number of the next segment
  uint32_t generation = 1;    // written in every BatchEnd; one more than any on disk at Open
  std::thread writer;

  // ---- preallocation (guarded by prealloc_mu) ----
  std::mutex prealloc_mu;
  std::condition_variable prealloc_cv;
  std::unique_ptr<common::File> prealloc_file;  // zero-filled, ready
  // Purged segments whose .log was renamed to recycle-<n>.tmp: their blocks
  // are written, so a new segment can reuse the file instead of a zero-filled
  // one. Reused only once no reader holds the segment (use_count() == 1):
  // a reader may still read the purged entries through it.
  struct Recycled {
    std::shared_ptr<Segment> seg;
    std::string path;
  };
  std::vector<Recycled> recycled;
  bool prealloc_wanted = false;
  std::atomic<bool> prealloc_stop = false;  // also read, without the mutex, by a running zero-fill
  uint64_t prealloc_counter = 0;
  std::thread preallocator;

  // log_writer.cc
  void WriterLoop();
  void PreallocLoop();
  // With mu held (`lk`) and the token free: takes the token and writes
  // everything queued as one round. False if that failed (then `failed`).
  bool WriteQueuedLocked(std::unique_lock<std::mutex>& lk);
  // With mu held: fdatasyncs the file of the last round written and
  // advances the durable watermark. False if that failed.
  bool SyncWrittenLocked(std::unique_lock<std::mutex>& lk);
  // With mu held: wakes the waiters whose records are durable, one to write
  // the next round if the token is free, and one to sync the written rounds
  // if no sync covers them and a slot is free.
  void KickLocked();
  // With mu held: records the first I/O error (the log is read-only after
  // it) and wakes every waiter.
  void FailLocked(const Status& s);
  Status WriteRound(std::string& buf, const std::vector<PendingOp>& ops);
  // Writes `n` bytes at the tail's write position and advances it, in
  // pieces of at most options.writeback_bytes. Once that many bytes are
  // neither synced nor handed to the kernel's writeback, hands them over
  // (File::StartWriteback).
  Status WriteTail(const char* data, uint64_t n);
  // Seals the tail and starts a segment named `first_index`.
  Status Roll(uint64_t first_index);
  Status StartSegment(uint64_t first_index);
  // A file for a new segment: a recycled one (`*recycled` set), else a
  // zero-filled one, else a new empty one.
  Result<std::unique_ptr<common::File>> TakePreallocated(const std::string& final_path, bool* recycled);
  // Renames the .log of a purged segment for reuse (or removes it when the
  // pool is full or the file is short), then removes its .index.
  Status RecycleSegment(std::shared_ptr<Segment> seg);
  // With mu held: drops the segments wholly below durable_first_index and
  // deletes their files (mu released meanwhile). False if that failed.
  bool DeletePurgedLocked(std::unique_lock<std::mutex>& lk);
  // Removes the files of `dead` segments, except one named `replaced` (its
  // name now belongs to a new segment).
  Status DeleteSegments(std::vector<std::shared_ptr<Segment>> dead, uint64_t replaced);
  bool HasRecycledLocked() const { return !recycled.empty(); }  // prealloc_mu held
  void Stop();

  // segmented_log.cc: rebuilds the state from the segments on disk (Open).
  Status Recover(std::vector<Found>&& found, const std::vector<uint64_t>& index_files);

  // segmented_log_read.cc: entries [lo, hi) within `max_bytes` of payload,
  // in index order, to `sink` (SegmentedLog::ForEachEntry has the contract).
  // Returns how many entries the sink took.
  Result<uint64_t> Read(uint64_t lo, uint64_t hi, uint64_t max_bytes, ReadSink& sink) const;
  // With mu held: the next step of a read (segmented_log_read.cc).
  Status PlanReadLocked(uint64_t hi, uint64_t max_bytes, const ReadProgress& p, ReadPlan* plan) const;

  // segmented_log.cc, with mu held
  // Drops written entries from the front of the cache while it is over its
  // budget. Called by Append(), by Sync() before it returns, and by the
  // background writer when it has no next round (docs/storage.md).
  void EvictLocked();
  // The segment holding `index`; `*end` is the first index of the next one.
  std::shared_ptr<Segment> FindSegmentLocked(uint64_t index, uint64_t* end) const;
  const CachedEntry* CachedLocked(uint64_t index) const;
  Status RangeErrorLocked(uint64_t index) const;
  void QueueLocked(RecordType type, std::string_view body, uint64_t a, uint64_t b, uint64_t c);
  // Drops the cached entry `e` (TruncateAfter, PurgeUpTo): pins its payload
  // if a queued or in-flight record still points into it.
  void DropCachedLocked(CachedEntry&& e);
};

}  // namespace storage
