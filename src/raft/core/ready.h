#pragma once

// Ready: the work a core hands its caller, and the contract for doing it.
//
// For each Ready, in this order:
//   1. Send `messages` (at any time, even before or while persisting: these
//      are a leader's appends and heartbeats, thesis §10.2.1).
//   2. Persist `snapshot` (if any), then `entries` (the first entry may be
//      at or below the stored last index: drop the stored entries from its
//      index on), then `hard_state` (if any), and make them durable together.
//   3. Only then send `messages_after_persist` (votes and their answers,
//      append acknowledgements: they promise what step 2 made durable).
//   4. Apply `committed_entries` in order (calling Raft::ApplyConfChange for
//      conf-change entries) and serve `read_states` once applied reaches
//      their index. A snapshot must be loaded into the state machine first.
//   5. Call Raft::Advance().
// Only one Ready is outstanding at a time.

#include <optional>
#include <vector>

#include "raft/core/types.h"

namespace raft {

struct Ready {
  SoftState soft_state;
  std::optional<HardState> hard_state;  // set when it changed
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> committed_entries;
  std::vector<Message> messages;
  std::vector<Message> messages_after_persist;
  std::vector<ReadState> read_states;
  // Step 2 needs an fsync: the term, vote or log changed. (A commit index
  // alone may be written without one: it is learned again from the leader.)
  bool must_sync = false;
};

}  // namespace raft
