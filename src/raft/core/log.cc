#include "raft/core/log.h"

#include <algorithm>
#include <string>

namespace raft {

RaftLog::RaftLog(const Storage& storage) : storage_(storage) {
  unstable_offset_ = storage_.LastIndex() + 1;
  committed_ = storage_.FirstIndex() - 1;
  applied_ = committed_;
}

uint64_t RaftLog::first_index() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index + 1;
  return storage_.FirstIndex();
}

uint64_t RaftLog::last_index() const {
  if (!unstable_.empty()) return unstable_.back().index;
  if (unstable_snapshot_) return unstable_snapshot_->meta.index;
  return storage_.LastIndex();
}

uint64_t RaftLog::last_term() const {
  auto t = Term(last_index());
  CHECK_MSG(t.has_value(), "term of the last index: " + t.status().ToString());
  return *t;
}

namespace {

constexpr uint64_t kUnknownTerm = ~uint64_t{0};

}  // namespace

// The term of `index`, or kUnknownTerm when compacted or past the end: the
// lookup behind Term(), without building an error (it runs for every entry
// of every append a follower receives).
uint64_t RaftLog::LookupTerm(uint64_t index) const {
  if (!unstable_.empty() && index >= unstable_offset_ && index <= unstable_.back().index) {
    return unstable_[index - unstable_offset_].term;
  }
  if (unstable_snapshot_ && index == unstable_snapshot_->meta.index) return unstable_snapshot_->meta.term;
  if (index + 1 < first_index() || index > last_index() || unstable_snapshot_) return kUnknownTerm;
  auto t = storage_.Term(index);
  if (t.has_value()) return *t;
  CHECK_MSG(t.error().code() == common::Code::kOutOfRange, "storage term: " + t.error().ToString());
  return kUnknownTerm;
}

Result<uint64_t> RaftLog::Term(uint64_t index) const {
  uint64_t t = LookupTerm(index);
  if (t != kUnknownTerm) return t;
  return common::OutOfRangeError("term of " + std::to_string(index) + " outside [" +
                                 std::to_string(first_index() - 1) + ", " + std::to_string(last_index()) + "]");
}

uint64_t RaftLog::TermOrZero(uint64_t index) const {
  uint64_t t = LookupTerm(index);
  return t == kUnknownTerm ? 0 : t;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const { return LookupTerm(index) == term; }

bool RaftLog::IsUpToDate(uint64_t index, uint64_t term) const {
  uint64_t lt = last_term();
  return term > lt || (term == lt && index >= last_index());
}

std::optional<uint64_t> RaftLog::MaybeAppend(uint64_t prev_index, uint64_t prev_term,
                                             uint64_t committed, const std::vector<Entry>& entries) {
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  uint64_t last_new = prev_index + entries.size();
  uint64_t conflict = FindConflict(entries);
  if (conflict != 0) {
    // §5.3: a conflict at or below the commit index would erase a committed entry.
    CHECK_MSG(conflict > committed_, "conflict at " + std::to_string(conflict) +
                                         " at or below commit " + std::to_string(committed_));
    Append(std::span<const Entry>(entries).subspan(conflict - prev_index - 1));
  }
  // §5.3 (and copycat#265): commit only what this request verified.
  CommitTo(std::min(committed, last_new));
  return last_new;
}

void RaftLog::TruncateUnstableFrom(uint64_t first) {
  CHECK_MSG(first > committed_, "append at " + std::to_string(first) + " at or below commit " +
                                    std::to_string(committed_));
  if (first == unstable_offset_ + unstable_.size()) return;  // directly after the unstable entries
  if (first <= unstable_offset_) {
    // Replaces every unstable entry (and shadows durable ones from `first`).
    unstable_offset_ = first;
    unstable_.clear();
  } else {
    unstable_.resize(first - unstable_offset_);
  }
}

uint64_t RaftLog::Append(std::span<const Entry> entries) {
  if (entries.empty()) return last_index();
  TruncateUnstableFrom(entries.front().index);
  unstable_.insert(unstable_.end(), entries.begin(), entries.end());
  return last_index();
}

uint64_t RaftLog::Append(std::vector<Entry>&& entries) {
  if (entries.empty()) return last_index();
  TruncateUnstableFrom(entries.front().index);
  if (unstable_.empty()) {
    unstable_ = std::move(entries);
  } else {
    unstable_.insert(unstable_.end(), std::make_move_iterator(entries.begin()),
                     std::make_move_iterator(entries.end()));
  }
  return last_index();
}

uint64_t RaftLog::FindConflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!MatchTerm(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<uint64_t, uint64_t> RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  for (;; --index) {
    uint64_t t = LookupTerm(index);
    if (t == kUnknownTerm) return {index, 0};
    if (t <= term) return {index, t};
    if (index == 0) return {0, 0};
  }
}

Result<std::vector<Entry>> RaftLog::Slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  if (lo < first_index()) {
    return common::OutOfRangeError("entries from " + std::to_string(lo) + " are compacted (first " +
                                   std::to_string(first_index()) + ")");
  }
  CHECK(hi <= last_index() + 1 && lo <= hi);
  std::vector<Entry> out;
  if (lo == hi) return out;
  uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    uint64_t shi = std::min(hi, unstable_offset_);
    auto stored = storage_.Entries(lo, shi, max_bytes);
    if (!stored.has_value()) {
      if (stored.error().code() == common::Code::kOutOfRange) return stored.error();
      CHECK_MSG(false, "storage entries: " + stored.error().ToString());
    }
    out = std::move(*stored);
    for (const Entry& e : out) bytes += EntrySize(e);
    if (out.size() < shi - lo) return out;  // stopped by the byte budget
  }
  for (uint64_t i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_[i - unstable_offset_];
    bytes += EntrySize(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

void RaftLog::CommitTo(uint64_t index) {
  if (index <= committed_) return;
  CHECK_MSG(index <= last_index(), "commit " + std::to_string(index) + " past last index " +
                                       std::to_string(last_index()));
  committed_ = index;
}

bool RaftLog::MaybeCommit(uint64_t index, uint64_t term) {
  if (index > committed_ && TermOrZero(index) == term) {
    CommitTo(index);
    return true;
  }
  return false;
}

void RaftLog::AppliedTo(uint64_t index) {
  if (index == 0) return;
  CHECK_MSG(index <= committed_ && index >= applied_,
            "applied " + std::to_string(index) + " outside [" + std::to_string(applied_) + ", " +
                std::to_string(committed_) + "]");
  applied_ = index;
}

void RaftLog::StableTo(uint64_t index, uint64_t term) {
  // Ignore a confirmation for entries that were since replaced (a term
  // changed under an in-flight write) or are no longer unstable.
  if (unstable_.empty() || index < unstable_offset_ || index > unstable_.back().index) return;
  if (unstable_[index - unstable_offset_].term != term) return;
  unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<long>(index + 1 - unstable_offset_));
  unstable_offset_ = index + 1;
}

void RaftLog::StableSnapTo(uint64_t index) {
  if (unstable_snapshot_ && unstable_snapshot_->meta.index == index) unstable_snapshot_.reset();
}

uint64_t RaftLog::durable_index() const {
  if (unstable_snapshot_) return 0;
  return unstable_.empty() ? last_index() : unstable_offset_ - 1;
}

uint64_t RaftLog::ApplyLimit() const {
  if (unstable_snapshot_) return applied_;
  return std::max(applied_, std::min(committed_, durable_index()));
}

bool RaftLog::HasNextCommitted() const { return ApplyLimit() > applied_; }

std::vector<Entry> RaftLog::NextCommitted(uint64_t max_bytes) const {
  uint64_t hi = ApplyLimit();
  if (hi <= applied_) return {};
  auto ents = Slice(applied_ + 1, hi + 1, max_bytes);
  CHECK_MSG(ents.has_value(), "committed entries: " + ents.status().ToString());
  return std::move(*ents);
}

Result<Snapshot> RaftLog::GetSnapshot() const {
  if (unstable_snapshot_) return *unstable_snapshot_;
  return storage_.GetSnapshot();
}

void RaftLog::Restore(const Snapshot& snap) {
  committed_ = snap.meta.index;
  applied_ = snap.meta.index;
  unstable_.clear();
  unstable_offset_ = snap.meta.index + 1;
  unstable_snapshot_ = snap;
}

}  // namespace raft
