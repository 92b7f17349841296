#pragma once

// ProducerTable: what the log's state machine remembers of each producer for
// exactly-once produce (docs/logservice.md, "Exactly-once produce"): the
// sequence it must send next and the offsets of its recent records. It is a
// pure, deterministic data structure: the same calls in the same order give
// the same answers and the same encoding on every member, which is what
// makes it safe to decide duplicates at apply time.
//
// Per producer it keeps `next` (the sequence of its next new record) and a
// ring of at most max_runs runs: {first sequence, first offset, count}, the
// records of sequences [first, first + count) stored at offsets [offset,
// offset + count). A new record extends the newest run when both its
// sequence and its offset follow it, else it starts a run (dropping the
// oldest when the ring is full). So one request is one run, and requests
// that went into the log back to back share one.
//
// At most max_producers producers are kept. A record of an unknown producer
// at sequence 0 adds it; when the table is full, the least recently active
// producer (the one whose last new record is the oldest) is forgotten first.
// Only new records count as activity; duplicates do not.
//
// Threads: none of its own; not thread-safe (LogStateMachine locks it).

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace logservice {

// Must be the same on every member of a group: they change what is
// remembered, so different limits would make members disagree. The encoding
// carries them and Decode refuses others.
struct ProducerTableLimits {
  uint32_t max_runs = 32;
  uint32_t max_producers = 10'000;
};

enum class SeqVerdict : uint8_t {
  kNew = 0,              // sequence == next: store it
  kDuplicate = 1,        // already stored at `offset`
  kForgotten = 2,        // already stored; its offset is no longer remembered
  kOutOfOrder = 3,       // sequence > next: a gap; `expected` is next
  kUnknownProducer = 4,  // not in the table and sequence != 0; `expected` is 0
};

struct SeqCheck {
  SeqVerdict verdict = SeqVerdict::kNew;
  uint64_t offset = 0;    // kDuplicate: the original offset
  uint64_t expected = 0;  // kOutOfOrder, kUnknownProducer: the sequence to send next
  bool operator==(const SeqCheck&) const = default;
};

class ProducerTable {
 public:
  explicit ProducerTable(ProducerTableLimits limits = {});

  // What Store would answer for (producer, sequence), changing nothing.
  SeqCheck Check(uint64_t producer, uint64_t sequence) const;
  // Check, and when the verdict is kNew, records that (producer, sequence)
  // is stored at `offset` (offsets must grow from call to call).
  SeqCheck Store(uint64_t producer, uint64_t sequence, uint64_t offset);

  size_t size() const { return index_.size(); }
  const ProducerTableLimits& limits() const { return limits_; }

  // The state, least recently active producer first, each run oldest first
  // (docs/formats/log-state-snapshot.md): equal tables encode equally.
  void EncodeTo(std::string* out) const;
  // Replaces the state with one EncodeTo wrote, reading from the front of
  // `*in` and advancing it. kDataLoss naming the flaw when it is malformed;
  // kFailedPrecondition when it was written with other limits. On error the
  // table is unchanged.
  common::Status DecodeFrom(std::string_view* in);

 private:
  struct Run {
    uint64_t first_sequence = 0;
    uint64_t first_offset = 0;
    uint64_t count = 0;
  };
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    uint64_t id = 0;
    uint64_t next = 0;
    std::vector<Run> runs;  // a ring once it holds max_runs: `head` is the oldest
    uint32_t head = 0;
    uint32_t older = kNone;  // activity list: toward the least recently active
    uint32_t newer = kNone;
  };

  SeqCheck CheckSlot(const Slot& s, uint64_t sequence) const;
  const Run& RunAt(const Slot& s, size_t i) const;  // i = 0: oldest
  void AddRun(Slot& s, Run run);
  uint32_t NewSlot(uint64_t producer);
  void Unlink(uint32_t slot);
  void LinkNewest(uint32_t slot);

  ProducerTableLimits limits_;
  std::unordered_map<uint64_t, uint32_t> index_;  // producer id -> slot
  std::vector<Slot> slots_;
  uint32_t oldest_ = kNone;  // least recently active
  uint32_t newest_ = kNone;
};

}  // namespace logservice
