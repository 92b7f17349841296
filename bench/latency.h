#pragma once

// Per-operation latencies and the timed loop every workload runs.
//
// A run has a warm-up phase (operations run but are not recorded) and a
// measured phase; both end at fixed clock times so that several threads can
// share one schedule. Percentiles are nearest-rank.

#include <cstdint>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace bench {

using common::Status;

struct LatencySummary {
  uint64_t count = 0;  // 0: the other fields mean nothing
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
  double mean_us = 0;
};

// Latencies of individual operations in nanoseconds. One thread adds to a
// recorder; merge recorders after the threads are joined.
class LatencyRecorder {
 public:
  void Reserve(size_t n) { ns_.reserve(n); }
  void Add(int64_t ns) { ns_.push_back(ns); }
  void Merge(const LatencyRecorder& other) { ns_.insert(ns_.end(), other.ns_.begin(), other.ns_.end()); }
  uint64_t count() const { return ns_.size(); }
  LatencySummary Summarize() const { return SummarizeFirst(ns_.size()); }
  // The summary of the first `n` operations recorded (all if fewer).
  LatencySummary SummarizeFirst(size_t n) const;

 private:
  std::vector<int64_t> ns_;
};

// Nearest-rank percentile: the value at rank ceil(p / 100 * n) (1-based) of
// `sorted`, which must be sorted and non-empty. p in (0, 100].
int64_t NearestRank(const std::vector<int64_t>& sorted, double p);

// Absolute clock times of one run: operations starting before
// measure_start_ns are warm-up; no operation starts at or after end_ns.
struct Deadlines {
  int64_t measure_start_ns = 0;
  int64_t end_ns = 0;
};
Deadlines StartDeadlines(common::Clock& clock, double warmup_seconds, double seconds);

// Sleeps until `until_ns` (returns at once if it has passed).
void SleepUntil(common::Clock& clock, int64_t until_ns);

// Calls `op` (returning Status) back to back until d.end_ns. Operations that
// start at or after d.measure_start_ns are recorded in `lat`, and
// `*last_end_ns` becomes the end time of the last recorded one (it is left
// alone when none is). One clock read per operation: an operation's end is
// the next one's start. Stops at the first error and returns it.
template <typename Op>
Status RunUntil(common::Clock& clock, const Deadlines& d, LatencyRecorder* lat, int64_t* last_end_ns, Op&& op) {
  int64_t start = clock.NowNanos();
  while (start < d.end_ns) {
    RETURN_IF_ERROR(op());
    int64_t end = clock.NowNanos();
    if (start >= d.measure_start_ns) {
      lat->Add(end - start);
      *last_end_ns = end;
    }
    start = end;
  }
  return Status::Ok();
}

}  // namespace bench
