#include "bench/latency.h"

#include <algorithm>
#include <cmath>

namespace bench {

int64_t NearestRank(const std::vector<int64_t>& sorted, double p) {
  CHECK(!sorted.empty());
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary LatencyRecorder::SummarizeFirst(size_t n) const {
  LatencySummary s;
  if (ns_.empty() || n == 0) return s;
  std::vector<int64_t> sorted(ns_.begin(), ns_.begin() + static_cast<ptrdiff_t>(std::min(n, ns_.size())));
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (int64_t v : sorted) sum += static_cast<double>(v);
  s.count = sorted.size();
  s.p50_us = static_cast<double>(NearestRank(sorted, 50)) / 1e3;
  s.p99_us = static_cast<double>(NearestRank(sorted, 99)) / 1e3;
  s.max_us = static_cast<double>(sorted.back()) / 1e3;
  s.mean_us = sum / static_cast<double>(sorted.size()) / 1e3;
  return s;
}

Deadlines StartDeadlines(common::Clock& clock, double warmup_seconds, double seconds) {
  int64_t now = clock.NowNanos();
  Deadlines d;
  d.measure_start_ns = now + static_cast<int64_t>(warmup_seconds * 1e9);
  d.end_ns = d.measure_start_ns + static_cast<int64_t>(seconds * 1e9);
  return d;
}

void SleepUntil(common::Clock& clock, int64_t until_ns) {
  int64_t now = clock.NowNanos();
  if (until_ns > now) clock.SleepNanos(until_ns - now);
}

}  // namespace bench
