// The write path of SegmentedLog: write rounds and group commit (run by
// Sync() callers and the background writer thread), segment rolls, deletion
// of dead segments, and background preallocation.

#include <algorithm>

#include "storage/record.h"
#include "common/thread_name.h"
#include "storage/segmented_log_impl.h"

namespace storage {

namespace f = format;
using common::Status;

namespace {

// Bytes a segment keeps free after any round so that it can still be sealed:
// the round's BatchEnd, then a Seal record and its BatchEnd.
constexpr uint64_t kSealReserve = 2 * f::RecordSize(f::kBatchEndSize) + f::RecordSize(f::kSealSize);
constexpr size_t kZeroChunk = 1 << 20;
// Purged segment files kept for reuse; more are removed.
constexpr size_t kMaxRecycled = 2;

void ApplyOp(const PendingOp& op, LogState* st) {
  switch (op.type) {
    case RecordType::kEntry: st->last_index = op.a; break;
    case RecordType::kHardState: st->hard_state = HardState{op.a, op.b, op.c}; break;
    case RecordType::kTruncateAfter: st->last_index = op.a; break;
    case RecordType::kPurgeUpTo:
      if (op.a >= st->first_index) {
        st->first_index = op.a + 1;
        st->purge_term = op.b;
        st->last_index = std::max(st->last_index, op.a);
      }
      break;
    default: break;
  }
}

// Fills `file` with `bytes` zeros and syncs it; gives up (kAborted) as
// soon as `*stop` is set.
Status WriteZeros(common::File& file, uint64_t bytes, const std::atomic<bool>* stop = nullptr) {
  std::string zeros(std::min<uint64_t>(bytes, kZeroChunk), '\0');
  for (uint64_t off = 0; off < bytes; off += zeros.size()) {
    if (stop != nullptr && stop->load()) return common::AbortedError("preallocation stopped");
    size_t n = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - off));
    RETURN_IF_ERROR(file.WriteAt(off, zeros.data(), n));
  }
  return file.Sync();
}

}  // namespace

void SegmentedLog::Impl::FailLocked(const Status& s) {
  if (failed.ok()) failed = s;
  pending.clear();
  pending_ops.clear();
  pending_bytes = 0;
  writer_cv.notify_all();
  token_cv.notify_all();
  space_cv.notify_all();
  for (Waiter* w : waiters) {
    w->woken = true;
    w->cv.notify_one();
  }
}

void SegmentedLog::Impl::KickLocked() {
  bool writer_woken = false, syncer_woken = false;
  for (const Waiter* w : waiters) {
    if (!w->woken || w->target <= durable_seq) continue;
    if (w->target > written_seq) writer_woken = true;
    if (w->target <= written_seq && w->target > sync_started_seq) syncer_woken = true;
  }
  const bool slot_free = syncs_in_flight < options.max_concurrent_syncs;
  for (Waiter* w : waiters) {
    if (w->woken) continue;
    bool wake = w->target <= durable_seq;
    if (!wake && !writing && !writer_woken && w->target > written_seq) wake = writer_woken = true;
    if (!wake && slot_free && !syncer_woken && w->target <= written_seq && w->target > sync_started_seq) {
      wake = syncer_woken = true;
    }
    if (wake) {
      w->woken = true;
      w->cv.notify_one();
    }
  }
}

bool SegmentedLog::Impl::WriteQueuedLocked(std::unique_lock<std::mutex>& lk) {
  writing = true;
  if (synced_seg_seq == tail.seg->seq()) tail.synced_pos = std::max(tail.synced_pos, synced_pos);
  write_buf.clear();
  write_ops.clear();
  write_buf.swap(pending);  // the buffers trade places: their pages stay touched
  write_ops.swap(pending_ops);
  pending_bytes = 0;
  // The round before this one is written: what was pinned for it may go.
  // Payloads pinned since then may belong to that round or to this one.
  write_pinned.clear();
  write_pinned.swap(pinned_payloads);
  const uint64_t take = queued_seq;
  if (space_waiters > 0) space_cv.notify_all();
  lk.unlock();
  Status s = WriteRound(write_buf, write_ops);
  lk.lock();
  writing = false;
  token_cv.notify_all();
  if (!s.ok()) {
    FailLocked(s);
    return false;
  }
  written_seq = take;
  last_round = Round{tail.seg, tail.write_pos, written.last_index, written.first_index};
  // A roll may have put a durably purged segment below the second one.
  if (!DeletePurgedLocked(lk)) return false;
  if (pending_bytes >= options.flush_bytes) writer_cv.notify_one();
  return true;
}

bool SegmentedLog::Impl::SyncWrittenLocked(std::unique_lock<std::mutex>& lk) {
  const Round round = last_round;
  const uint64_t seq = written_seq;
  sync_started_seq = seq;
  syncs_in_flight++;
  KickLocked();  // the token is free: the next round can be written meanwhile
  lk.unlock();
  const int64_t start_ns = fsync_seconds != nullptr ? options.metrics_clock->NowNanos() : 0;
  Status s = round.seg->log().Sync();
  if (fsync_seconds != nullptr) fsync_seconds->ObserveNanos(options.metrics_clock->NowNanos() - start_ns);
  lk.lock();
  syncs_in_flight--;
  if (!s.ok()) {
    FailLocked(s);
    return false;
  }
  stats.syncs++;
  syncs_total++;
  if (round.first_index > durable_first_index) {
    // Purged segments go before the Sync() that made the purge durable returns.
    durable_first_index = round.first_index;
    if (!DeletePurgedLocked(lk)) return false;
  }
  if (seq > durable_seq) {
    durable_seq = seq;
    durable_index = round.last_index;
    synced_seg_seq = round.seg->seq();
    synced_pos = round.pos;
  }
  KickLocked();
  return true;
}

// Background work: writes unsynced appends once flush_bytes are queued, and
// what is queued at Stop. Synced writes are done by the Sync() callers.
void SegmentedLog::Impl::WriterLoop() {
  common::SetThreadName("log-writer");
  std::unique_lock lk(mu);
  while (true) {
    writer_cv.wait(lk, [&] {
      return stopping || !failed.ok() || (!writing && !pending_ops.empty() && pending_bytes >= options.flush_bytes);
    });
    if (!failed.ok()) break;
    if (stopping) {
      token_cv.wait(lk, [&] { return !writing; });
      if (failed.ok() && !pending_ops.empty()) WriteQueuedLocked(lk);
      break;
    }
    if (!writing && !pending_ops.empty() && pending_bytes >= options.flush_bytes && WriteQueuedLocked(lk)) {
      KickLocked();  // a Sync() may wait for a sync of what this round holds
      // What the round wrote may leave the cache. While appends keep coming,
      // the next Append() evicts it, on the appending thread (whose memory
      // it frees), and this thread goes on writing (unsynced appends 1.81 M
      // -> 2.04 M/s, BENCHMARKS.md). Before waiting, it evicts itself.
      if (pending_bytes < options.flush_bytes) EvictLocked();
    }
  }
}

Status SegmentedLog::Impl::WriteRound(std::string& buf, const std::vector<PendingOp>& ops) {
  size_t off = 0;          // in buf, of the next op's bytes
  size_t unwritten = 0;    // in buf, of the first bytes not yet written
  uint32_t run_count = 0;  // records in the run going to the current tail
  uint64_t run_pos = tail.write_pos;
  uint64_t pos = tail.write_pos;

  // Writes the rest of the run, ended by a BatchEnd.
  auto flush_run = [&]() -> Status {
    if (run_count == 0) return Status::Ok();
    std::string end;
    AppendRecord(&end, RecordType::kBatchEnd, EncodeBatchEnd(run_pos, tail.synced_pos, run_count, generation),
                 tail.seg->salt());
    if (off == buf.size()) {
      buf.append(end);
      RETURN_IF_ERROR(WriteTail(buf.data() + unwritten, buf.size() - unwritten));
    } else {
      // A roll follows: two writes rather than a copy of the run (up to a
      // segment) to put the BatchEnd after it.
      RETURN_IF_ERROR(WriteTail(buf.data() + unwritten, off - unwritten));
      RETURN_IF_ERROR(WriteTail(end.data(), end.size()));
    }
    const uint64_t n = tail.write_pos - run_pos;
    pos = run_pos = tail.write_pos;
    unwritten = off;
    run_count = 0;
    std::lock_guard lk(mu);
    stats.write_rounds++;
    stats.bytes_written += n;
    return Status::Ok();
  };

  for (const PendingOp& op : ops) {
    bool has_data = pos > tail.data_start;
    bool full = has_data && pos + op.size + kSealReserve > options.segment_bytes;
    bool no_slot = op.type == RecordType::kEntry && !tail.seg->HasSlot(op.a);
    if (tail.sealed || full || no_slot) {
      RETURN_IF_ERROR(flush_run());
      RETURN_IF_ERROR(Roll(written.last_index + 1));
      pos = run_pos = tail.write_pos;
    }
    if (op.type == RecordType::kEntry) tail.seg->SetSlot(op.a, Slot{static_cast<uint32_t>(pos), op.size});
    SaltRecord(buf.data() + off, tail.seg->salt());  // queued unsalted: the segment was not known
    ApplyOp(op, &written);
    if (op.payload != nullptr) {
      // The run so far up to the entry header, then the payload from the cache.
      RETURN_IF_ERROR(WriteTail(buf.data() + unwritten, off + f::kEntryPayloadOff - unwritten));
      RETURN_IF_ERROR(WriteTail(op.payload, op.payload_size));
      unwritten = off + f::kEntryPayloadOff;
    }
    pos += op.size;
    off += op.size - op.payload_size;
    run_count++;
  }
  RETURN_IF_ERROR(flush_run());
  if (options.preallocate && !tail.prealloc_requested && tail.write_pos >= options.segment_bytes / 2 &&
      syncs_total.load() > tail.syncs_at_start) {
    // Half full: have the next segment ready (zero-filled) by the roll. Only
    // if this segment saw a Sync(): zero-filling makes syncs cheaper, and
    // unsynced appends would only pay for writing every byte twice.
    tail.prealloc_requested = true;
    {
      std::lock_guard lk(prealloc_mu);
      prealloc_wanted = true;
    }
    prealloc_cv.notify_all();
  }
  return Status::Ok();
}

bool SegmentedLog::Impl::DeletePurgedLocked(std::unique_lock<std::mutex>& lk) {
  std::vector<std::shared_ptr<Segment>> dead;
  while (segments.size() > 1 && segments[1]->first_index() <= durable_first_index) {
    dead.push_back(segments.front());
    segments.erase(segments.begin());
  }
  if (dead.empty()) return true;
  lk.unlock();
  Status s;
  for (std::shared_ptr<Segment>& seg : dead) {
    s = RecycleSegment(std::move(seg));
    if (!s.ok()) break;
  }
  lk.lock();
  if (!s.ok()) FailLocked(s);
  return s.ok();
}

Status SegmentedLog::Impl::DeleteSegments(std::vector<std::shared_ptr<Segment>> dead, uint64_t replaced) {
  for (const auto& seg : dead) {
    // A dead segment named like the new tail was replaced by its rename.
    if (seg->first_index() == replaced) continue;
    RETURN_IF_ERROR(fs.Remove(seg->log_path()));
    RETURN_IF_ERROR(fs.Remove(seg->index_path()));
  }
  return Status::Ok();
}

Status SegmentedLog::Impl::WriteTail(const char* data, uint64_t n) {
  const uint64_t piece = options.writeback_bytes == 0 ? n : options.writeback_bytes;
  while (n > 0) {
    const uint64_t chunk = std::min(n, piece);
    RETURN_IF_ERROR(tail.seg->log().WriteAt(tail.write_pos, data, chunk));
    tail.write_pos += chunk;
    data += chunk;
    n -= chunk;
    const uint64_t from = std::max(tail.writeback_pos, tail.synced_pos);
    if (options.writeback_bytes != 0 && tail.write_pos >= from + options.writeback_bytes) {
      RETURN_IF_ERROR(tail.seg->log().StartWriteback(from, tail.write_pos - from));
      tail.writeback_pos = tail.write_pos;
    }
  }
  return Status::Ok();
}

Status SegmentedLog::Impl::Roll(uint64_t first_index) {
  if (!tail.sealed) {
    // Seal: a last round holding a Seal record, synced, then the index
    // header. A later open trusts the index instead of scanning (WAL-6).
    Segment& seg = *tail.seg;
    uint64_t last = written.last_index >= seg.first_index() ? written.last_index : seg.first_index() - 1;
    std::string rec;
    AppendRecord(&rec, RecordType::kSeal, EncodeU64Pair(last, last + 1 - seg.first_index()), seg.salt());
    AppendRecord(&rec, RecordType::kBatchEnd, EncodeBatchEnd(tail.write_pos, tail.synced_pos, 1, generation),
                 seg.salt());
    RETURN_IF_ERROR(seg.log().WriteAt(tail.write_pos, rec.data(), rec.size()));
    tail.write_pos += rec.size();
    RETURN_IF_ERROR(seg.log().Sync());
    tail.synced_pos = tail.write_pos;
    RETURN_IF_ERROR(seg.Seal(last, tail.write_pos));
    tail.sealed = true;
    std::lock_guard lk(mu);
    stats.syncs++;
  }
  return StartSegment(first_index);
}

Status SegmentedLog::Impl::StartSegment(uint64_t first_index) {
  std::string final_path = Segment::LogPath(dir, first_index);
  bool recycled_file = false;
  ASSIGN_OR_RETURN(std::unique_ptr<common::File> file, TakePreallocated(final_path, &recycled_file));

  // Header, checkpoint and its BatchEnd, synced before the file gets its name:
  // a segment on disk under its final name is always self-describing. A
  // recycled file says so in its header: stale bytes follow the end of data.
  const uint32_t flags = recycled_file ? f::kLogFlagRecycled : 0;
  const LogHeader header{first_index, flags, LogHeaderSalt(first_index, flags)};
  Checkpoint cp{next_seq, written.first_index, first_index - 1, written.purge_term, written.hard_state};
  std::string head = EncodeLogHeader(first_index, flags);
  AppendRecord(&head, RecordType::kCheckpoint, EncodeCheckpoint(cp), header.salt);
  AppendRecord(&head, RecordType::kBatchEnd, EncodeBatchEnd(f::kLogHeaderSize, 0, 1, generation), header.salt);
  RETURN_IF_ERROR(file->WriteAt(0, head.data(), head.size()));
  RETURN_IF_ERROR(file->Sync());
  std::string tmp_path = file->path();
  file.reset();
  RETURN_IF_ERROR(fs.Rename(tmp_path, final_path));
  ASSIGN_OR_RETURN(file, fs.Open(final_path, common::OpenMode::kReadWrite));
  ASSIGN_OR_RETURN(std::unique_ptr<Segment> created,
                   Segment::Create(fs, dir, header, next_seq, options.max_segment_entries, std::move(file)));
  RETURN_IF_ERROR(fs.SyncDir(dir));
  next_seq++;

  std::shared_ptr<Segment> seg(std::move(created));
  tail = Tail{seg, head.size(), head.size(), false, head.size(), false, syncs_total.load()};
  written.last_index = first_index - 1;
  // Segments that begin at or above the new one hold only truncated entries.
  std::vector<std::shared_ptr<Segment>> dead;
  {
    std::lock_guard lk(mu);
    while (!segments.empty() && segments.back()->first_index() >= first_index) {
      dead.push_back(segments.back());
      segments.pop_back();
    }
    segments.push_back(seg);
  }
  return DeleteSegments(std::move(dead), first_index);
}

Status SegmentedLog::Impl::RecycleSegment(std::shared_ptr<Segment> seg) {
  bool keep = false;
  if (options.recycle_segments) {
    // A short file (a segment that grew as written) is kept too: appends
    // past its end cost what a new file would.
    std::lock_guard lk(prealloc_mu);
    keep = recycled.size() < kMaxRecycled;
  }
  if (keep) {
    // A crash leaves either the old name (a segment below the durable first
    // index: Open deletes it) or a .tmp name (Open deletes it). The new name
    // is made durable before the file can be overwritten: else a crash could
    // bring back the old name over a new segment's header.
    std::string path = common::JoinPath(dir, "recycle-" + std::to_string(seg->first_index()) + ".tmp");
    RETURN_IF_ERROR(fs.Rename(seg->log_path(), path));
    RETURN_IF_ERROR(fs.Remove(seg->index_path()));
    RETURN_IF_ERROR(fs.SyncDir(dir));
    std::lock_guard lk(prealloc_mu);
    recycled.push_back(Recycled{std::move(seg), std::move(path)});
    return Status::Ok();
  }
  RETURN_IF_ERROR(fs.Remove(seg->log_path()));
  return fs.Remove(seg->index_path());
}

// A recycled file if one is free, else a zero-filled file from the
// preallocator if one is ready, else a new empty file (never wait for a
// zero-fill on the write path).
Result<std::unique_ptr<common::File>> SegmentedLog::Impl::TakePreallocated(const std::string& final_path,
                                                                           bool* recycled_file) {
  std::string recycled_path;
  {
    std::lock_guard lk(prealloc_mu);
    for (size_t i = 0; i < recycled.size(); i++) {
      // Only this pool holds the segment once no reader does: no new reader
      // can find it (it left `segments` at the purge).
      if (recycled[i].seg.use_count() != 1) continue;
      recycled_path = std::move(recycled[i].path);
      recycled.erase(recycled.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
    if (recycled_path.empty() && prealloc_file) return std::move(prealloc_file);
  }
  if (!recycled_path.empty()) {
    *recycled_file = true;
    return fs.Open(recycled_path, common::OpenMode::kReadWrite);
  }
  std::string tmp = final_path + ".tmp";
  ASSIGN_OR_RETURN(auto file, fs.Open(tmp, common::OpenMode::kCreate));
  RETURN_IF_ERROR(file->Truncate(0));
  if (options.preallocate && next_seq == 1) {
    // The first segment of a new log is zero-filled here, so that even a
    // short log gets fast syncs; later ones come from the preallocator.
    RETURN_IF_ERROR(WriteZeros(*file, options.segment_bytes));
  } else if (options.preallocate) {
    // The preallocator had none ready: the blocks are reserved instead (they
    // read as zeros, as zero-filled ones do). Writing into them allocates
    // nothing, which on ext4 about doubles the rate at which unsynced
    // appends reach the disk.
    RETURN_IF_ERROR(file->Allocate(options.segment_bytes));
  }
  return file;
}

void SegmentedLog::Impl::PreallocLoop() {
  common::SetThreadName("log-prealloc");
  std::unique_lock lk(prealloc_mu);
  while (true) {
    prealloc_cv.wait(lk, [&] { return prealloc_stop || (prealloc_wanted && !prealloc_file); });
    if (prealloc_stop) break;
    if (HasRecycledLocked()) {
      // A purged segment's file will serve: no need to write zeros.
      prealloc_wanted = false;
      continue;
    }
    std::string path = common::JoinPath(dir, "prealloc-" + std::to_string(++prealloc_counter) + ".tmp");
    lk.unlock();
    Result<std::unique_ptr<common::File>> file = fs.Open(path, common::OpenMode::kCreate);
    Status s = file.status();
    if (s.ok()) s = (*file)->Truncate(0);
    if (s.ok()) s = WriteZeros(**file, options.segment_bytes, &prealloc_stop);
    lk.lock();
    prealloc_wanted = false;
    if (s.ok()) {
      prealloc_file = std::move(*file);
    } else {
      // Not fatal: the writer creates segments itself. Try again at the next roll.
      fs.Remove(path).IgnoreError();
    }
  }
}

void SegmentedLog::Impl::Stop() {
  {
    std::lock_guard lk(mu);
    stopping = true;
  }
  writer_cv.notify_all();
  if (writer.joinable()) writer.join();
  {
    std::lock_guard lk(prealloc_mu);
    prealloc_stop = true;
  }
  prealloc_cv.notify_all();
  if (preallocator.joinable()) preallocator.join();
  if (prealloc_file) {
    std::string path = prealloc_file->path();
    prealloc_file.reset();
    fs.Remove(path).IgnoreError();
  }
  for (Recycled& r : recycled) {
    r.seg.reset();
    fs.Remove(r.path).IgnoreError();
  }
  recycled.clear();
}

}  // namespace storage
