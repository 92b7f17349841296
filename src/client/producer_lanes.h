#pragma once

// The producer ids of a Client's exactly-once produces (log.proto,
// ProduceRequest.producer_id / sequence). The server numbers a producer's
// records without gaps and refuses a request that skips ahead, so two calls
// in flight at once must not share a producer id. A *lane* is a producer id
// and the sequence of its next record; each produce call takes a lane for
// its whole life (all its attempts send the lane's id and sequence, so that
// the leader answers a retry of committed records with their original
// offsets) and gives it back when it ends. One lane serves one call at a
// time, so the requests of a producer id reach the leader one after the
// other. The pool grows to the highest number of calls in flight at once.
//
// How a lane comes back depends on how its call ended:
//   - kAdvance: the records are stored (OK, or ALREADY_EXISTS): the next
//     sequence moves past them.
//   - kUnchanged: certainly nothing stored (every attempt was not applied,
//     or never sent): the sequence stays, the next call reuses it.
//   - kRetire: unknown (the call gave up or was cancelled after an attempt
//     whose outcome is unknown), or the server refused the sequence: the
//     lane is never used again. Its records may still commit later; giving
//     their sequences to other records would let the server take one for the
//     other.
//
// Producer ids are random, non-zero 64-bit numbers from a generator seeded
// once (std::random_device, or a fixed seed for tests); an id is never
// handed out twice by one pool.
//
// Threads: thread-safe. Internal to the client library.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <unordered_set>
#include <vector>

namespace replog {

struct ProducerLane {
  uint64_t producer_id = 0;  // non-zero
  uint64_t next_sequence = 0;
};

class ProducerLanes {
 public:
  enum class End {
    kAdvance,    // the call's records are stored
    kUnchanged,  // none of them is
    kRetire,     // unknown, or refused: never use the lane again
  };

  // seed 0: from std::random_device.
  explicit ProducerLanes(uint64_t seed);
  ProducerLanes(const ProducerLanes&) = delete;
  ProducerLanes& operator=(const ProducerLanes&) = delete;

  // A lane for a call of `records` records (at least one): an idle one, or a
  // new one (sequence 0). A lane whose sequences would run past 2^64 with
  // them is retired instead of returned.
  ProducerLane Acquire(size_t records);
  // A new lane (a new producer id, sequence 0), even when some are idle: for
  // a call whose lane the server refused (an idle lane may be refused too).
  ProducerLane AcquireNew();
  // Gives back a lane that Acquire returned, after a call of `records`
  // records ended as `end` says.
  void Release(const ProducerLane& lane, size_t records, End end);

  // Lanes made so far, retired so far, and idle now (for tests and stats).
  uint64_t created() const;
  uint64_t retired() const;
  size_t idle() const;

 private:
  uint64_t NewIdLocked();

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  std::vector<ProducerLane> idle_;
  std::unordered_set<uint64_t> issued_;  // every id handed out (never twice)
  uint64_t created_ = 0;
  uint64_t retired_ = 0;
};

}  // namespace replog
