#pragma once

// The metric types of replog's Prometheus registry (registry.h creates them;
// docs/metrics.md lists every metric replog exports).
//
// A metric has a fixed label set, given when the registry creates it. Its
// updates are relaxed atomics: no lock and no allocation, callable from any
// thread, cheap enough for the fsync, produce and apply paths. A scrape reads
// each value atomically but not all of them at one instant: a histogram's
// _sum may miss an observation its buckets already count.
//
// Lifetime: the Registry owns every metric; a pointer to one stays valid as
// long as the registry.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace metrics {

// Label names and values, in the order they are exposed.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A count that only goes up (events, bytes).
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d) { value_.fetch_add(d, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Counts observations in buckets with fixed upper bounds, as Prometheus
// histograms do: bucket `le` counts observations <= le, cumulatively, and a
// last bucket (+Inf) counts all of them. NaN observations are ignored.
class Histogram {
 public:
  // What a scrape reads.
  struct Snapshot {
    std::vector<double> bounds;       // the finite upper bounds
    std::vector<uint64_t> cumulative; // bounds.size() + 1 counts; the last is +Inf
    double sum = 0;
    uint64_t count = 0;               // == cumulative.back()
  };

  // `bounds` must be finite and strictly increasing (CHECK).
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);
  void ObserveNanos(int64_t ns) { Observe(static_cast<double>(ns) * 1e-9); }

  Snapshot snapshot() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // One count per bucket, not cumulative (bounds_.size() + 1; the last is
  // for values above every bound).
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

// Bounds for latencies in seconds, 50 µs to 10 s (the span of an fsync on a
// fast disk to a produce that times out).
std::vector<double> LatencyBounds();

// Observes the seconds from construction to destruction into `histogram`,
// read from `clock`; does nothing (not even read the clock) when
// `histogram` is nullptr. `clock` must outlive the timer.
class ScopedTimer {
 public:
  ScopedTimer(Histogram* histogram, common::Clock& clock)
      : histogram_(histogram), clock_(clock), start_ns_(histogram != nullptr ? clock.NowNanos() : 0) {}
  ~ScopedTimer() {
    if (histogram_ != nullptr) histogram_->ObserveNanos(clock_.NowNanos() - start_ns_);
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram* histogram_;
  common::Clock& clock_;
  int64_t start_ns_;
};

}  // namespace metrics
