#pragma once

// What one simulation run does. Run() derives everything not given here
// from the seed (fault rates, Raft knobs, BUGGIFY-style extremes), and
// Describe() prints the result so that a run's setting is on record.

#include <cstdint>
#include <string>

namespace sim {

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;              // 3 or 5
  bool liveness = false;      // keep a healthy core; the rest stays broken; require progress
  bool trace = false;         // print every event
  bool memory_disk = false;   // MemoryStorage instead of the storage engine on a crashable MemFs
  int64_t fault_ms = 8000;    // virtual time with faults
  int64_t heal_ms = 6000;     // virtual time after healing, to converge
  int clients = 4;
  int keys = 3;
  uint64_t lincheck_max_steps = 2'000'000;
};

// Knobs drawn from the seed.
struct SimKnobs {
  int64_t tick_ns = 10'000'000;  // 10 ms
  int election_tick = 10;
  int heartbeat_tick = 2;
  double drift = 0.0;           // per-node tick period error, fraction
  bool pre_vote = true;
  bool check_quorum = true;
  bool lease_reads = false;
  uint64_t max_size_per_msg = 1 << 20;
  size_t max_inflight = 64;
  uint64_t snapshot_every = 0;  // entries; 0 = only on fault
  uint64_t snapshot_keep = 5;
  int64_t net_min_ns = 200'000;
  int64_t net_mean_ns = 1'000'000;
  double drop = 0.0;
  double dup = 0.0;
  double long_delay = 0.0;       // chance a message is delayed by up to a second
  int64_t disk_mean_ns = 500'000;
  int64_t fault_mean_ns = 300'000'000;
  double read_index_share = 0.3;  // gets served by ReadIndex rather than the log

  std::string Describe() const;
};

}  // namespace sim
