#include "client/producer_lanes.h"

#include <limits>

namespace replog {

namespace {

uint64_t SeedOf(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(rd());
}

// True when `records` more sequences from `next` stay below 2^64 (log.proto).
bool Fits(uint64_t next, size_t records) {
  return next < std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(records);
}

}  // namespace

ProducerLanes::ProducerLanes(uint64_t seed) : rng_(SeedOf(seed)) {}

uint64_t ProducerLanes::NewIdLocked() {
  for (;;) {
    uint64_t id = rng_();
    if (id != 0 && issued_.insert(id).second) return id;
  }
}

ProducerLane ProducerLanes::Acquire(size_t records) {
  std::lock_guard lock(mu_);
  while (!idle_.empty()) {
    ProducerLane lane = idle_.back();
    idle_.pop_back();
    if (Fits(lane.next_sequence, records)) return lane;
    retired_++;
  }
  created_++;
  return ProducerLane{.producer_id = NewIdLocked(), .next_sequence = 0};
}

ProducerLane ProducerLanes::AcquireNew() {
  std::lock_guard lock(mu_);
  created_++;
  return ProducerLane{.producer_id = NewIdLocked(), .next_sequence = 0};
}

void ProducerLanes::Release(const ProducerLane& lane, size_t records, End end) {
  std::lock_guard lock(mu_);
  switch (end) {
    case End::kAdvance:
      idle_.push_back(ProducerLane{lane.producer_id, lane.next_sequence + records});
      return;
    case End::kUnchanged:
      idle_.push_back(lane);
      return;
    case End::kRetire:
      retired_++;
      return;
  }
}

uint64_t ProducerLanes::created() const {
  std::lock_guard lock(mu_);
  return created_;
}

uint64_t ProducerLanes::retired() const {
  std::lock_guard lock(mu_);
  return retired_;
}

size_t ProducerLanes::idle() const {
  std::lock_guard lock(mu_);
  return idle_.size();
}

}  // namespace replog
