#pragma once

// Configuration of one Raft core. Times are in ticks: the caller calls
// Tick() at a fixed interval (for example every 100 ms).

#include <cstddef>
#include <cstdint>

#include "raft/core/types.h"

namespace raft {

enum class ReadOnlyOption {
  kSafe,        // ReadIndex confirms leadership with a heartbeat round (thesis §6.4)
  kLeaseBased,  // the leader answers from its lease; needs check_quorum and bounded clock drift
};

struct Config {
  NodeId id = kNoNode;  // this node; never 0

  // A follower that hears nothing for a random time in
  // [election_tick, 2 * election_tick) ticks starts an election.
  int election_tick = 10;
  // A leader sends heartbeats every heartbeat_tick ticks (< election_tick).
  int heartbeat_tick = 1;

  // The last index the state machine applied before a restart; committed
  // entries after it are handed out again. 0 for a new node.
  uint64_t applied = 0;

  // Flow control (§10.2 of the thesis): at most this many payload bytes per
  // append message (at least one entry is always sent)...
  uint64_t max_size_per_msg = 1 << 20;
  // ...and at most this many appends (and, if not 0, bytes) in flight to one
  // follower in the replicate state.
  size_t max_inflight_msgs = 256;
  uint64_t max_inflight_bytes = 0;
  // Committed entries handed out per Ready, in bytes (at least one entry).
  uint64_t max_committed_size_per_ready = 64 << 20;
  // A leader drops proposals while its uncommitted entries exceed this many
  // bytes (0: no limit), so that a leader without a quorum cannot grow
  // without bound.
  uint64_t max_uncommitted_entries_size = 0;

  // The leader steps down when it has not heard from a quorum within an
  // election timeout; followers that heard from a leader within one refuse
  // (pre)votes.
  bool check_quorum = false;
  // Thesis §9.6: a node first asks whether it could win before raising its term.
  bool pre_vote = false;
  ReadOnlyOption read_only = ReadOnlyOption::kSafe;
  // Followers drop proposals instead of forwarding them to the leader.
  bool disable_proposal_forwarding = false;

  // Seeds the generator of randomized election timeouts: same seed and
  // inputs give the same outputs.
  uint64_t seed = 0;

  // kInvalidArgument naming the first bad field.
  Status Validate() const;
};

}  // namespace raft
