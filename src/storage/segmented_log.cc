#include "storage/segmented_log.h"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>

#include "storage/record.h"
#include "storage/segmented_log_impl.h"

namespace storage {

namespace f = format;
using common::Status;

namespace {

// Memory a cached entry takes: its slot in the deque and, past the string's
// inline capacity, the payload's heap block with the allocator's overhead.
uint64_t CacheCost(const LogEntry& e) {
  constexpr size_t kInline = 15;
  return sizeof(CachedEntry) + (e.payload.size() > kInline ? e.payload.size() + 24 : 0);
}

Status ValidateOptions(const Options& o) {
  if (o.segment_bytes < 4096 || o.segment_bytes > (2ull << 30)) {
    return common::InvalidArgumentError("segment_bytes must be between 4 KiB and 2 GiB, got " +
                                        std::to_string(o.segment_bytes));
  }
  if (o.max_segment_entries < 1 || o.max_segment_entries > (64ull << 20)) {
    return common::InvalidArgumentError("max_segment_entries must be between 1 and 64Mi, got " +
                                        std::to_string(o.max_segment_entries));
  }
  if (o.max_concurrent_syncs < 1 || o.max_concurrent_syncs > 64) {
    return common::InvalidArgumentError("max_concurrent_syncs must be between 1 and 64, got " +
                                        std::to_string(o.max_concurrent_syncs));
  }
  if (o.metrics != nullptr && o.metrics_clock == nullptr) {
    return common::InvalidArgumentError("metrics need metrics_clock");
  }
  if (o.flush_bytes == 0 || o.max_pending_bytes < o.flush_bytes) {
    return common::InvalidArgumentError("flush_bytes must be positive and at most max_pending_bytes");
  }
  return Status::Ok();
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

SegmentedLog::SegmentedLog(common::Fs& fs, std::string dir, Options options)
    : fs_(fs), dir_(std::move(dir)), options_(options), impl_(std::make_unique<Impl>(fs, dir_, options_)) {}

SegmentedLog::~SegmentedLog() { impl_->Stop(); }

Result<std::unique_ptr<SegmentedLog>> SegmentedLog::Open(common::Fs& fs, const std::string& dir,
                                                         const Options& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  std::unique_ptr<SegmentedLog> log(new SegmentedLog(fs, dir, options));
  Impl& im = *log->impl_;
  RETURN_IF_ERROR(fs.CreateDir(dir));
  ASSIGN_OR_RETURN(im.lock, fs.Lock(common::JoinPath(dir, "LOCK")));
  ASSIGN_OR_RETURN(std::vector<std::string> names, fs.ListDir(dir));

  std::vector<Found> found;
  std::vector<uint64_t> index_files;
  for (const std::string& name : names) {
    std::string path = common::JoinPath(dir, name);
    if (EndsWith(name, ".tmp")) {
      RETURN_IF_ERROR(fs.Remove(path));  // an unused preallocated segment
      continue;
    }
    uint64_t first = 0;
    bool is_index = false;
    if (!ParseSegmentName(name, &first, &is_index)) continue;  // LOCK, or not ours
    if (is_index) {
      index_files.push_back(first);
      continue;
    }
    ASSIGN_OR_RETURN(auto file, fs.Open(path, common::OpenMode::kReadWrite));
    LogHeader header;
    ASSIGN_OR_RETURN(Checkpoint cp, ReadCheckpoint(*file, first, &header));
    found.push_back(Found{first, std::move(file), header, cp});
  }

  if (found.empty()) {
    for (uint64_t first : index_files) RETURN_IF_ERROR(fs.Remove(Segment::IndexPath(dir, first)));
    im.written = LogState{};
    im.next_seq = 1;
    RETURN_IF_ERROR(im.StartSegment(1));
  } else {
    RETURN_IF_ERROR(im.Recover(std::move(found), index_files));
  }
  // The names we found (a tail renamed just before a crash) and the removals
  // of recovery become durable before anything is built on them.
  RETURN_IF_ERROR(fs.SyncDir(dir));
  im.state = im.written;
  im.durable_index = im.written.last_index;
  im.durable_first_index = im.written.first_index;
  im.last_round = Impl::Round{im.tail.seg, im.tail.write_pos, im.written.last_index, im.written.first_index};
  im.writer = std::thread([&im] { im.WriterLoop(); });
  if (options.preallocate) {
    // The next segment is zero-filled once the tail is half full (WriteRound).
    im.preallocator = std::thread([&im] { im.PreallocLoop(); });
  }
  return log;
}

// Rebuilds the state from the segments found on disk (DESIGN §2: sealed
// segments are trusted, only the last one is scanned).
Status SegmentedLog::Impl::Recover(std::vector<Found>&& found, const std::vector<uint64_t>& index_files) {
  Impl& im = *this;
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.cp.seq < b.cp.seq; });
  // A later segment's checkpoint is the log state when it began: earlier
  // segments hold nothing above its last index (truncations), and an earlier
  // segment that begins above it is dead.
  std::vector<Found> live;
  std::vector<uint64_t> dead;
  for (Found& f : found) {
    if (!live.empty() && live.back().cp.seq == f.cp.seq) {
      return common::DataLossError(f.log->path() + ": segment sequence number " + std::to_string(f.cp.seq) +
                                   " repeats " + live.back().log->path());
    }
    while (!live.empty() && live.back().first_index > f.cp.last_index) {
      dead.push_back(live.back().first_index);
      live.pop_back();
    }
    live.push_back(std::move(f));
  }

  std::vector<std::shared_ptr<Segment>> segs;
  for (size_t i = 0; i < live.size(); i++) {
    bool is_tail = i + 1 == live.size();
    ASSIGN_OR_RETURN(auto seg, Segment::Open(fs, dir, live[i].header, live[i].cp.seq,
                                             options.max_segment_entries, is_tail, std::move(live[i].log)));
    if (!is_tail && !seg->ReadIndexHeader().sealed) {
      // Lost or unsynced index header: rebuild the slots from the records,
      // then seal the index so that the next open trusts it again.
      ASSIGN_OR_RETURN(ScanResult scan, ScanSegment(*seg, TailMode::kSealed));
      if (scan.sealed) RETURN_IF_ERROR(seg->Seal(scan.sealed_last, scan.end));
    }
    segs.push_back(std::move(seg));
  }

  Segment& last = *segs.back();
  ASSIGN_OR_RETURN(ScanResult scan, ScanSegment(last, TailMode::kLast));
  if (scan.dirty_end > scan.end) {
    // A torn tail: zero it so that no leftover can be read as a record later.
    std::string zeros(scan.dirty_end - scan.end, '\0');
    RETURN_IF_ERROR(last.log().WriteAt(scan.end, zeros.data(), zeros.size()));
  }
  // What we recovered may sit only in the page cache (after kill -9): make it
  // durable before anything is built on it.
  RETURN_IF_ERROR(last.log().Sync());
  im.generation = scan.generation + 1;
  if (!scan.sealed) {
    // An empty round of the new generation, durable before any other write:
    // leftovers of older rounds lying past it can never chain onto new ones.
    std::string marker;
    AppendRecord(&marker, RecordType::kBatchEnd, EncodeBatchEnd(scan.end, scan.end, 0, im.generation), last.salt());
    RETURN_IF_ERROR(last.log().WriteAt(scan.end, marker.data(), marker.size()));
    RETURN_IF_ERROR(last.log().Sync());
    scan.end += marker.size();
  }

  im.written = scan.state;
  im.stats.torn_bytes_dropped = scan.torn_bytes;
  im.stats.torn_records_dropped = scan.torn_records;
  im.stats.tail_bytes_scanned = scan.scanned_bytes;
  im.tail.seg = segs.back();
  im.tail.write_pos = scan.end;
  im.tail.synced_pos = scan.end;
  im.tail.sealed = scan.sealed;
  im.tail.data_start = scan.checkpoint_end;
  im.next_seq = last.seq() + 1;

  // Drop segments wholly below the first index (purged, maybe reappeared
  // after a crash) and check that the rest are in index order.
  std::vector<std::shared_ptr<Segment>> kept;
  for (size_t i = 0; i < segs.size(); i++) {
    bool purged = i + 1 < segs.size() && segs[i + 1]->first_index() <= im.written.first_index;
    if (purged) {
      dead.push_back(segs[i]->first_index());
      continue;
    }
    if (!kept.empty() && kept.back()->first_index() >= segs[i]->first_index()) {
      return common::DataLossError(segs[i]->log_path() + ": segments out of order after " + kept.back()->log_path());
    }
    kept.push_back(segs[i]);
  }
  im.segments = std::move(kept);

  for (uint64_t first : dead) {
    RETURN_IF_ERROR(fs.Remove(Segment::LogPath(dir, first)));
    RETURN_IF_ERROR(common::RemoveIfExists(fs, Segment::IndexPath(dir, first)));
  }
  // Index files whose .log is gone (a crash between the two removals).
  for (uint64_t first : index_files) {
    ASSIGN_OR_RETURN(bool has_log, fs.Exists(Segment::LogPath(dir, first)));
    if (!has_log) RETURN_IF_ERROR(common::RemoveIfExists(fs, Segment::IndexPath(dir, first)));  // maybe removed above
  }
  return Status::Ok();
}

// ---- writes ----

void SegmentedLog::Impl::QueueLocked(RecordType type, std::string_view body, uint64_t a, uint64_t b, uint64_t c) {
  size_t before = pending.size();
  AppendRecord(&pending, type, body);
  pending_ops.push_back(PendingOp{type, static_cast<uint32_t>(pending.size() - before), a, b, c});
  pending_bytes += pending.size() - before;
  queued_seq++;
}

void SegmentedLog::Impl::DropCachedLocked(CachedEntry&& e) {
  cache_bytes -= CacheCost(e.entry);
  // Every entry not yet written is in the cache (EvictLocked keeps them), so
  // this is the only place a shared payload can lose its owner.
  if (e.seq > written_seq && e.entry.payload.size() >= options.shared_payload_bytes) {
    pinned_payloads.push_back(std::move(e.entry.payload));  // a move keeps the bytes where they are
  }
}

Status SegmentedLog::Append(std::span<const LogEntry> entries) {
  if (entries.empty()) return Status::Ok();
  Impl& im = *impl_;
  std::unique_lock lk(im.mu);
  RETURN_IF_ERROR(im.failed);
  for (size_t i = 0; i < entries.size(); i++) {
    if (entries[i].index != im.state.last_index + 1 + i) {
      return common::InvalidArgumentError("append of entry " + std::to_string(entries[i].index) + " where " +
                                          std::to_string(im.state.last_index + 1 + i) + " is next");
    }
    if (entries[i].payload.size() > f::kMaxRecordBody - f::kEntryHeaderSize) {
      return common::InvalidArgumentError("entry " + std::to_string(entries[i].index) + " payload of " +
                                          std::to_string(entries[i].payload.size()) + " bytes is over the limit");
    }
  }
  if (im.pending_bytes >= im.options.max_pending_bytes) {
    im.space_waiters++;
    im.space_cv.wait(lk, [&] { return im.pending_bytes < im.options.max_pending_bytes || !im.failed.ok(); });
    im.space_waiters--;
  }
  RETURN_IF_ERROR(im.failed);
  for (const LogEntry& e : entries) {
    const size_t before = im.pending.size();
    im.queued_seq++;
    if (e.payload.size() >= im.options.shared_payload_bytes) {
      // The cache's copy is made while the record is checksummed, and the
      // writer writes the payload from it.
      LogEntry copy{e.index, e.term, e.kind, {}};
      AppendEntryRecordHead(&im.pending, e, &copy.payload);
      im.cache.push_back(CachedEntry{std::move(copy), im.queued_seq});
      const std::string& payload = im.cache.back().entry.payload;
      im.pending_ops.push_back(PendingOp{RecordType::kEntry,
                                         static_cast<uint32_t>(im.pending.size() - before + payload.size()), e.index,
                                         e.term, 0, payload.data(), static_cast<uint32_t>(payload.size())});
    } else {
      AppendEntryRecord(&im.pending, e);
      im.pending_ops.push_back(
          PendingOp{RecordType::kEntry, static_cast<uint32_t>(im.pending.size() - before), e.index, e.term, 0});
      im.cache.push_back(CachedEntry{e, im.queued_seq});
    }
    im.pending_bytes += im.pending_ops.back().size;
    im.cache_bytes += CacheCost(e);
  }
  im.state.last_index = entries.back().index;
  im.EvictLocked();
  if (im.pending_bytes >= im.options.flush_bytes) im.writer_cv.notify_one();
  return Status::Ok();
}

Status SegmentedLog::SetHardState(const HardState& hs) {
  Impl& im = *impl_;
  std::lock_guard lk(im.mu);
  RETURN_IF_ERROR(im.failed);
  im.QueueLocked(RecordType::kHardState, EncodeHardState(hs), hs.term, hs.vote, hs.commit);
  im.state.hard_state = hs;
  return Status::Ok();
}

Status SegmentedLog::TruncateAfter(uint64_t index) {
  Impl& im = *impl_;
  std::lock_guard lk(im.mu);
  RETURN_IF_ERROR(im.failed);
  if (index + 1 < im.state.first_index || index > im.state.last_index) {
    return common::OutOfRangeError("truncate after " + std::to_string(index) + " outside [" +
                                   std::to_string(im.state.first_index - 1) + ", " +
                                   std::to_string(im.state.last_index) + "]");
  }
  if (index == im.state.last_index) return Status::Ok();
  im.QueueLocked(RecordType::kTruncateAfter, EncodeU64(index), index, 0, 0);
  im.state.last_index = index;
  while (!im.cache.empty() && im.cache.back().entry.index > index) {
    im.DropCachedLocked(std::move(im.cache.back()));
    im.cache.pop_back();
  }
  return Status::Ok();
}

Status SegmentedLog::PurgeUpTo(uint64_t index, uint64_t term) {
  Impl& im = *impl_;
  std::lock_guard lk(im.mu);
  RETURN_IF_ERROR(im.failed);
  if (index < im.state.first_index) return Status::Ok();
  im.QueueLocked(RecordType::kPurgeUpTo, EncodeU64Pair(index, term), index, term, 0);
  im.state.first_index = index + 1;
  im.state.purge_term = term;
  im.state.last_index = std::max(im.state.last_index, index);
  while (!im.cache.empty() && im.cache.front().entry.index <= index) {
    im.DropCachedLocked(std::move(im.cache.front()));
    im.cache.pop_front();
  }
  return Status::Ok();
}

// Group commit without a hand-off: the caller writes what is queued (its
// own records and everyone else's) if no round is being written, then syncs
// it; callers whose records a running sync covers wait for it.
Status SegmentedLog::Sync() {
  Impl& im = *impl_;
  std::unique_lock lk(im.mu);
  const uint64_t target = im.queued_seq;
  while (true) {
    RETURN_IF_ERROR(im.failed);
    if (im.durable_seq >= target) {
      im.EvictLocked();  // what is written may leave the cache (rule 4: within budget after a Sync)
      return Status::Ok();
    }
    if (im.written_seq < target && !im.writing) {
      im.WriteQueuedLocked(lk);
      continue;
    }
    if (im.written_seq >= target && im.sync_started_seq < target &&
        im.syncs_in_flight < im.options.max_concurrent_syncs) {
      im.SyncWrittenLocked(lk);
      continue;
    }
    Impl::Waiter me;
    me.target = target;
    im.waiters.push_back(&me);
    im.KickLocked();
    me.cv.wait(lk, [&] { return me.woken; });
    im.waiters.erase(std::find(im.waiters.begin(), im.waiters.end(), &me));
  }
}

// ---- reads ----

void SegmentedLog::Impl::EvictLocked() {
  while (cache_bytes > options.cache_bytes && !cache.empty() && cache.front().seq <= written_seq) {
    cache_bytes -= CacheCost(cache.front().entry);
    cache.pop_front();
  }
}

const CachedEntry* SegmentedLog::Impl::CachedLocked(uint64_t index) const {
  if (cache.empty() || index < cache.front().entry.index || index > cache.back().entry.index) return nullptr;
  return &cache[index - cache.front().entry.index];
}

std::shared_ptr<Segment> SegmentedLog::Impl::FindSegmentLocked(uint64_t index, uint64_t* end) const {
  auto it = std::upper_bound(segments.begin(), segments.end(), index,
                             [](uint64_t i, const std::shared_ptr<Segment>& s) { return i < s->first_index(); });
  if (it == segments.begin()) return nullptr;
  *end = it == segments.end() ? std::numeric_limits<uint64_t>::max() : (*it)->first_index();
  return *(it - 1);
}

Status SegmentedLog::Impl::RangeErrorLocked(uint64_t index) const {
  return common::OutOfRangeError("index " + std::to_string(index) + " outside the log [" +
                                 std::to_string(state.first_index) + ", " + std::to_string(state.last_index) + "]");
}

uint64_t SegmentedLog::first_index() const {
  std::lock_guard lk(impl_->mu);
  return impl_->state.first_index;
}

uint64_t SegmentedLog::last_index() const {
  std::lock_guard lk(impl_->mu);
  return impl_->state.last_index;
}

HardState SegmentedLog::hard_state() const {
  std::lock_guard lk(impl_->mu);
  return impl_->state.hard_state;
}

uint64_t SegmentedLog::durable_index() const {
  std::lock_guard lk(impl_->mu);
  return impl_->durable_index;
}

std::vector<SegmentInfo> SegmentedLog::Segments() const {
  std::lock_guard lk(impl_->mu);
  const Impl& im = *impl_;
  std::vector<SegmentInfo> out;
  for (size_t i = 0; i < im.segments.size(); ++i) {
    const Segment& seg = *im.segments[i];
    const bool last = i + 1 == im.segments.size();
    SegmentInfo info;
    info.first_index = std::max(seg.first_index(), im.state.first_index);
    info.last_index = last ? im.state.last_index : im.segments[i + 1]->first_index() - 1;
    if (info.last_index + 1 < info.first_index) continue;  // wholly purged
    IndexHeader header = seg.ReadIndexHeader();
    info.sealed = header.sealed;
    if (header.sealed) {
      info.bytes = header.log_end;
    } else if (im.last_round.seg.get() == &seg) {
      info.bytes = im.last_round.pos;
    }
    out.push_back(info);
  }
  return out;
}

Stats SegmentedLog::stats() const {
  std::lock_guard lk(impl_->mu);
  Stats s = impl_->stats;
  s.segments = impl_->segments.size();
  s.first_index = impl_->state.first_index;
  s.last_index = impl_->state.last_index;
  s.cache_entries = impl_->cache.size();
  s.cache_bytes = impl_->cache_bytes;
  return s;
}

}  // namespace storage
