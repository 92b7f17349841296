#include "logservice/producer_table.h"

#include <string>

#include "common/coding.h"

namespace logservice {

using common::Status;

namespace {

Status Damaged(const std::string& what) { return common::DataLossError("producer table: " + what); }

}  // namespace

ProducerTable::ProducerTable(ProducerTableLimits limits) : limits_(limits) {
  if (limits_.max_runs == 0) limits_.max_runs = 1;
  if (limits_.max_producers == 0) limits_.max_producers = 1;
}

const ProducerTable::Run& ProducerTable::RunAt(const Slot& s, size_t i) const {
  return s.runs[(s.head + i) % s.runs.size()];
}

SeqCheck ProducerTable::CheckSlot(const Slot& s, uint64_t sequence) const {
  if (sequence == s.next) return SeqCheck{};
  if (sequence > s.next) return SeqCheck{.verdict = SeqVerdict::kOutOfOrder, .expected = s.next};
  // A retry is most likely of a recent request: look from the newest run.
  for (size_t i = s.runs.size(); i-- > 0;) {
    const Run& r = RunAt(s, i);
    if (sequence >= r.first_sequence && sequence - r.first_sequence < r.count) {
      return SeqCheck{.verdict = SeqVerdict::kDuplicate, .offset = r.first_offset + (sequence - r.first_sequence)};
    }
    if (sequence >= r.first_sequence) break;  // between runs: not remembered
  }
  return SeqCheck{.verdict = SeqVerdict::kForgotten};
}

SeqCheck ProducerTable::Check(uint64_t producer, uint64_t sequence) const {
  auto it = index_.find(producer);
  if (it == index_.end()) {
    if (sequence == 0) return SeqCheck{};
    return SeqCheck{.verdict = SeqVerdict::kUnknownProducer, .expected = 0};
  }
  return CheckSlot(slots_[it->second], sequence);
}

SeqCheck ProducerTable::Store(uint64_t producer, uint64_t sequence, uint64_t offset) {
  auto it = index_.find(producer);
  uint32_t slot;
  if (it == index_.end()) {
    if (sequence != 0) return SeqCheck{.verdict = SeqVerdict::kUnknownProducer, .expected = 0};
    slot = NewSlot(producer);
  } else {
    slot = it->second;
    SeqCheck c = CheckSlot(slots_[slot], sequence);
    if (c.verdict != SeqVerdict::kNew) return c;
  }
  Slot& s = slots_[slot];
  if (!s.runs.empty()) {
    Run& newest = s.runs[(s.head + s.runs.size() - 1) % s.runs.size()];
    if (newest.first_sequence + newest.count == sequence && newest.first_offset + newest.count == offset) {
      ++newest.count;
    } else {
      AddRun(s, Run{sequence, offset, 1});
    }
  } else {
    AddRun(s, Run{sequence, offset, 1});
  }
  s.next = sequence + 1;
  if (newest_ != slot) {
    Unlink(slot);
    LinkNewest(slot);
  }
  return SeqCheck{};
}

void ProducerTable::AddRun(Slot& s, Run run) {
  if (s.runs.size() < limits_.max_runs) {
    // Not yet a ring (head is 0): append.
    s.runs.push_back(run);
    return;
  }
  s.runs[s.head] = run;  // overwrite the oldest
  s.head = static_cast<uint32_t>((s.head + 1) % s.runs.size());
}

// A slot for a new producer, linked as the newest; the least recently active
// producer's slot is reused when the table is full.
uint32_t ProducerTable::NewSlot(uint64_t producer) {
  uint32_t slot;
  if (index_.size() >= limits_.max_producers) {
    slot = oldest_;
    index_.erase(slots_[slot].id);
    Unlink(slot);
    slots_[slot].runs.clear();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  s.id = producer;
  s.next = 0;
  s.head = 0;
  index_.emplace(producer, slot);
  LinkNewest(slot);
  return slot;
}

void ProducerTable::Unlink(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.older != kNone) slots_[s.older].newer = s.newer;
  if (s.newer != kNone) slots_[s.newer].older = s.older;
  if (oldest_ == slot) oldest_ = s.newer;
  if (newest_ == slot) newest_ = s.older;
  s.older = s.newer = kNone;
}

void ProducerTable::LinkNewest(uint32_t slot) {
  Slot& s = slots_[slot];
  s.older = newest_;
  s.newer = kNone;
  if (newest_ != kNone) slots_[newest_].newer = slot;
  newest_ = slot;
  if (oldest_ == kNone) oldest_ = slot;
}

void ProducerTable::EncodeTo(std::string* out) const {
  common::PutFixed32(out, limits_.max_runs);
  common::PutFixed32(out, limits_.max_producers);
  common::PutFixed32(out, static_cast<uint32_t>(index_.size()));
  for (uint32_t slot = oldest_; slot != kNone; slot = slots_[slot].newer) {
    const Slot& s = slots_[slot];
    common::PutFixed64(out, s.id);
    common::PutFixed64(out, s.next);
    common::PutFixed32(out, static_cast<uint32_t>(s.runs.size()));
    for (size_t i = 0; i < s.runs.size(); ++i) {
      const Run& r = RunAt(s, i);
      common::PutFixed64(out, r.first_sequence);
      common::PutFixed64(out, r.first_offset);
      common::PutFixed64(out, r.count);
    }
  }
}

Status ProducerTable::DecodeFrom(std::string_view* in) {
  uint32_t max_runs, max_producers, n;
  if (!common::GetFixed32(in, &max_runs) || !common::GetFixed32(in, &max_producers) || !common::GetFixed32(in, &n)) return Damaged("truncated header");
  if (max_runs != limits_.max_runs || max_producers != limits_.max_producers) {
    return common::FailedPreconditionError(
        "producer table: written with limits of " + std::to_string(max_runs) + " runs and " +
        std::to_string(max_producers) + " producers; this member uses " + std::to_string(limits_.max_runs) +
        " and " + std::to_string(limits_.max_producers) + " (every member must use the same)");
  }
  if (n > max_producers) return Damaged(std::to_string(n) + " producers, more than the limit");
  ProducerTable t(limits_);
  t.slots_.reserve(n);
  for (uint32_t p = 0; p < n; ++p) {
    const std::string who = "producer #" + std::to_string(p);
    Slot s;
    uint32_t runs;
    if (!common::GetFixed64(in, &s.id) || !common::GetFixed64(in, &s.next) || !common::GetFixed32(in, &runs)) return Damaged(who + ": truncated");
    if (s.id == 0) return Damaged(who + ": id 0");
    if (runs == 0 || runs > max_runs) return Damaged(who + ": " + std::to_string(runs) + " runs");
    uint64_t end_seq = 0, end_offset = 0;
    for (uint32_t i = 0; i < runs; ++i) {
      Run r;
      if (!common::GetFixed64(in, &r.first_sequence) || !common::GetFixed64(in, &r.first_offset) || !common::GetFixed64(in, &r.count)) {
        return Damaged(who + ": truncated run");
      }
      // Runs follow each other in sequence; a new run starts at a later offset.
      const bool ordered = i == 0 || (r.first_sequence == end_seq && r.first_offset > end_offset);
      if (r.count == 0 || r.first_offset == 0 || !ordered || r.first_sequence + r.count < r.first_sequence ||
          r.first_offset + r.count < r.first_offset) {
        return Damaged(who + ": run " + std::to_string(i) + " is empty, overflows or is out of order");
      }
      end_seq = r.first_sequence + r.count;
      end_offset = r.first_offset + r.count;
      s.runs.push_back(r);
    }
    if (end_seq != s.next) return Damaged(who + ": its newest run does not end at its next sequence");
    const uint32_t slot = static_cast<uint32_t>(t.slots_.size());
    if (!t.index_.emplace(s.id, slot).second) return Damaged(who + ": id " + std::to_string(s.id) + " twice");
    t.slots_.push_back(std::move(s));
    t.LinkNewest(slot);
  }
  *this = std::move(t);
  return Status::Ok();
}

}  // namespace logservice
