// The read path of SegmentedLog: Entry, Entries, ForEachEntry and Term.
//
// A read takes the mutex once per step: to copy the cached entries it needs,
// or to look up the index slots of a run of entries of one segment. It reads
// that run outside the mutex with one pread into a buffer kept for the whole
// call, verifies each record's checksum in the buffer, and hands the entries
// to a sink as views into it. Entries() copies each payload once, into the
// LogEntry it returns; ForEachEntry() copies none. Entries read from files
// are not put into the cache: a catch-up read of old entries would only push
// out the recent ones the cache is for.

#include <algorithm>
#include <bit>
#include <limits>
#include <memory>

#include "storage/record.h"
#include "storage/segmented_log.h"
#include "storage/segmented_log_impl.h"

namespace storage {

namespace f = format;
using common::Status;

namespace {

// Bytes of an entry record that are not payload, padding not counted: a slot
// of `size` bytes holds at least size - kRecordOverhead bytes of payload.
constexpr uint64_t kRecordOverhead = f::kRecordHeaderSize + f::kEntryHeaderSize + 7;

// A run's slots span more bytes than this beyond twice their own size only
// when the index is damaged: then each is read on its own.
constexpr uint64_t kMaxRunSlack = 1 << 20;

// One buffer for all the preads of a read call, grown as needed.
class ReadBuffer {
 public:
  char* Get(size_t n) {
    if (n > capacity_) {
      // Not zero-filled: the pread overwrites it and only the bytes read are used.
      capacity_ = std::bit_ceil(n);
      data_ = std::make_unique_for_overwrite<char[]>(capacity_);
    }
    return data_.get();
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

// Counts an entry of `payload` bytes against the budget. False, and the read
// is done, if it does not fit (the first entry always fits).
bool Admit(ReadProgress& p, uint64_t payload, uint64_t max_bytes) {
  if (p.count > 0 && p.bytes + payload > max_bytes) {
    p.done = true;
    return false;
  }
  p.bytes += payload;
  p.count++;
  p.next++;
  return true;
}

// Reads the records of `slots` (entries first, first + 1, ...) of `seg` with
// one pread, verifies each and hands it to `sink` while the budget lasts.
Status ReadRun(Segment& seg, uint64_t first, std::span<const Slot> slots, uint64_t max_bytes, ReadBuffer& buf,
               ReadSink& sink, ReadProgress& p) {
  uint64_t lo = std::numeric_limits<uint64_t>::max(), hi = 0, sum = 0;
  for (const Slot& s : slots) {
    if (!Segment::PlausibleSlot(s)) continue;  // VerifyEntry reports it in its turn
    lo = std::min<uint64_t>(lo, s.pos);
    hi = std::max<uint64_t>(hi, uint64_t{s.pos} + s.size);
    sum += s.size;
  }
  if (slots.size() > 1 && hi > lo && hi - lo > 2 * sum + kMaxRunSlack) {
    for (size_t i = 0; i < slots.size() && !p.done; i++) {
      RETURN_IF_ERROR(ReadRun(seg, first + i, slots.subspan(i, 1), max_bytes, buf, sink, p));
    }
    return Status::Ok();
  }
  std::string_view data;
  if (hi > lo) {
    char* b = buf.Get(hi - lo);
    ASSIGN_OR_RETURN(size_t n, seg.log().ReadAt(lo, b, hi - lo));
    data = std::string_view(b, n);
  }
  for (size_t i = 0; i < slots.size() && !p.done; i++) {
    const Slot& s = slots[i];
    std::string_view bytes;
    if (Segment::PlausibleSlot(s) && s.pos - lo < data.size()) bytes = data.substr(s.pos - lo, s.size);
    ASSIGN_OR_RETURN(EntryView e, seg.VerifyEntry(first + i, s, bytes));
    if (!Admit(p, e.payload.size(), max_bytes)) break;
    if (sink.TakeView(e) == Visit::kStop) p.done = true;
  }
  return Status::Ok();
}

// Collects what Entries() returns.
class VectorSink final : public ReadSink {
 public:
  explicit VectorSink(std::vector<LogEntry>& out) : out_(out) {}
  void Expect(size_t n) override {
    if (out_.size() + n > out_.capacity()) out_.reserve(std::max(out_.size() + n, 2 * out_.capacity()));
  }
  Visit TakeCached(LogEntry&& e) override {
    out_.push_back(std::move(e));
    return Visit::kContinue;
  }
  Visit TakeView(const EntryView& e) override {
    out_.push_back(e.ToEntry());
    return Visit::kContinue;
  }

 private:
  std::vector<LogEntry>& out_;
};

// Hands every entry to a ForEachEntry() callback.
class VisitorSink final : public ReadSink {
 public:
  explicit VisitorSink(const SegmentedLog::EntryVisitor& fn) : fn_(fn) {}
  void Expect(size_t) override {}
  Visit TakeCached(LogEntry&& e) override { return fn_(EntryView{e.index, e.term, e.kind, e.payload}); }
  Visit TakeView(const EntryView& e) override { return fn_(e); }

 private:
  const SegmentedLog::EntryVisitor& fn_;
};

}  // namespace

Status SegmentedLog::Impl::PlanReadLocked(uint64_t hi, uint64_t max_bytes, const ReadProgress& p,
                                          ReadPlan* plan) const {
  uint64_t next = p.next;
  if (next < state.first_index || next > state.last_index || hi > state.last_index + 1) {
    return RangeErrorLocked(next < state.first_index || next > state.last_index ? next : hi - 1);
  }
  // The same budget rule as Admit(), so that nothing is copied in vain.
  uint64_t bytes = p.bytes, count = p.count;
  for (const CachedEntry* c; next < hi && (c = CachedLocked(next)) != nullptr; next++) {
    if (count > 0 && bytes + c->entry.payload.size() > max_bytes) break;
    bytes += c->entry.payload.size();
    count++;
    plan->cached.push_back(c->entry);
    stats.cache_hits++;
  }
  // Cached entries are the newest: a run from the files can only come before
  // them. A cached entry left over did not fit the budget.
  if (!plan->cached.empty() || next == hi || CachedLocked(next) != nullptr) return Status::Ok();
  uint64_t seg_end = 0;
  plan->seg = FindSegmentLocked(next, &seg_end);
  if (plan->seg == nullptr) return common::InternalError("no segment holds index " + std::to_string(next));
  // The run stops where the least payload its records can hold passes what
  // max_bytes leaves: the pread covers every entry the budget may admit, at
  // most one more, and nothing is read twice.
  plan->first = next;
  // `next` is not cached and the cache is contiguous: the run ends at the
  // segment's end, at `hi`, or where the cache begins.
  uint64_t end = std::min(hi, seg_end);
  if (!cache.empty() && next < cache.front().entry.index) end = std::min(end, cache.front().entry.index);
  for (uint64_t i = next; i < end; i++) {
    Slot s = plan->seg->GetSlot(i);
    bytes += std::max<uint64_t>(s.size, kRecordOverhead) - kRecordOverhead;
    if ((count > 0 || !plan->slots.empty()) && bytes > max_bytes) break;
    plan->slots.push_back(s);
  }
  stats.cache_misses += plan->slots.size();
  return Status::Ok();
}

Result<uint64_t> SegmentedLog::Impl::Read(uint64_t lo, uint64_t hi, uint64_t max_bytes, ReadSink& sink) const {
  ReadProgress p;
  p.next = lo;
  ReadPlan plan;
  ReadBuffer buf;
  while (p.next < hi && !p.done) {
    plan.cached.clear();
    plan.slots.clear();
    plan.seg.reset();
    {
      std::lock_guard lk(mu);
      RETURN_IF_ERROR(PlanReadLocked(hi, max_bytes, p, &plan));
    }
    if (plan.cached.empty() && plan.slots.empty()) break;  // the budget is spent
    sink.Expect(plan.cached.size() + plan.slots.size());
    for (LogEntry& e : plan.cached) {
      if (p.done || !Admit(p, e.payload.size(), max_bytes)) break;
      if (sink.TakeCached(std::move(e)) == Visit::kStop) p.done = true;
    }
    if (!plan.slots.empty()) RETURN_IF_ERROR(ReadRun(*plan.seg, plan.first, plan.slots, max_bytes, buf, sink, p));
  }
  return p.count;
}

Result<LogEntry> SegmentedLog::Entry(uint64_t index) const {
  ASSIGN_OR_RETURN(std::vector<LogEntry> v, Entries(index, index + 1, 0));
  return std::move(v.front());
}

Result<std::vector<LogEntry>> SegmentedLog::Entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  std::vector<LogEntry> out;
  VectorSink sink(out);
  RETURN_IF_ERROR(impl_->Read(lo, hi, max_bytes, sink).status());
  return out;
}

Result<uint64_t> SegmentedLog::ForEachEntry(uint64_t lo, uint64_t hi, uint64_t max_bytes,
                                            const EntryVisitor& fn) const {
  VisitorSink sink(fn);
  return impl_->Read(lo, hi, max_bytes, sink);
}

Result<uint64_t> SegmentedLog::Term(uint64_t index) const {
  {
    Impl& im = *impl_;
    std::lock_guard lk(im.mu);
    if (index + 1 == im.state.first_index) return im.state.purge_term;
    if (index < im.state.first_index || index > im.state.last_index) return im.RangeErrorLocked(index);
    if (const CachedEntry* c = im.CachedLocked(index)) return c->entry.term;
  }
  // Only the term is needed: a view, no copy of the payload.
  uint64_t term = 0;
  RETURN_IF_ERROR(ForEachEntry(index, index + 1, 0, [&term](const EntryView& e) {
                    term = e.term;
                    return Visit::kStop;
                  }).status());
  return term;
}

}  // namespace storage
