#pragma once

// `replog-bench raft`: the Raft core alone (issue 3). A cluster of cores
// (raft::Raft) on raft::MemoryStorage runs in one thread with no network
// delay, driven as a runtime drives it: propose a batch on the leader, handle
// each member's Ready by the contract in raft/core/ready.h, deliver every
// message sent. It measures committed entries per second, counted as entries
// applied on the leader, and prints one summary line and one JSON line
// (bench/report.h).
//
// Also the Google Benchmark micro benchmarks BM_RaftCommit/<batch>
// (`replog-bench micro --benchmark_filter=Raft`).

#include <cstdint>

#include "common/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace bench {

// Every flag of `replog-bench raft`.
struct RaftBenchConfig {
  uint64_t batch = 64;        // entries proposed on the leader per round
  double seconds = 10;        // measured time
  double warmup_seconds = 1;  // unrecorded time before it
  uint64_t nodes = 3;         // voters
  uint64_t entry_size = 128;  // payload bytes per entry
};

// Adds the `raft` subcommand and its flags to `app`; both must outlive the
// parse.
CLI::App* AddRaftCommand(CLI::App* app, RaftBenchConfig* config);

// Runs the workload and prints its two lines on stdout. kInvalidArgument for
// bad flags. A core that breaks the contract aborts (CHECK).
common::Status RunRaftBench(const RaftBenchConfig& config);

// Registers BM_RaftCommit/1 and /64 with Google Benchmark.
void RegisterRaftMicroBenchmarks();

}  // namespace bench
