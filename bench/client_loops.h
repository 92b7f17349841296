#pragma once

// The closed loops of `replog-bench produce|consume` (produce_bench.h): each
// client keeps one request in flight and issues the next when it returns.
// Two drivers: a thread per client calling a blocking request
// (RunThreadLoops), or requests that call back, all loops kept going from
// the completions without a thread per client (RunAsyncLoops). Both record
// the same things the same way.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/latency.h"
#include "common/clock.h"
#include "common/status.h"

namespace bench {

// What one client measured.
struct LoopStats {
  LatencyRecorder latency;
  uint64_t ops = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;  // value bytes
  uint64_t errors = 0;
  uint64_t unknown_retries = 0;
  int64_t last_end_ns = 0;
  std::string first_error;

  // Adds `other` (another client's) to these.
  void Merge(const LoopStats& other);
};

// What one request did: records and value bytes moved, or an error.
struct OpResult {
  common::Status status;
  uint64_t records = 0;
  uint64_t bytes = 0;
  bool unknown_retry = false;
};

// One blocking request.
using Op = std::function<OpResult()>;
// Starts one request; it calls `done` once when it ends, from any thread but
// never from inside the AsyncOp call itself.
using AsyncOp = std::function<void(std::function<void(OpResult)> done)>;

// Runs ops[i] back to back on a thread of its own, for every i, until
// d.end_ns; requests that start at or after d.measure_start_ns are recorded
// in stats[i] (one clock read per request: its end is the next one's start).
void RunThreadLoops(common::Clock& clock, const Deadlines& d, const std::vector<Op>& ops,
                    std::vector<LoopStats>* stats);

// The same with AsyncOps: all loops are started from the calling thread, and
// each completion records its request and starts that loop's next; returns
// once every loop has seen a request end at or after d.end_ns. `clock` must
// be thread-safe.
void RunAsyncLoops(common::Clock& clock, const Deadlines& d, const std::vector<AsyncOp>& ops,
                   std::vector<LoopStats>* stats);

}  // namespace bench
