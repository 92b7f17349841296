#include "metrics/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace metrics {
namespace {

using ::testing::ElementsAre;

TEST(HistogramTest, BucketsAreCumulativeAndUpperBoundsInclusive) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 2.0, 10.0, 11.0}) h.Observe(v);
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_THAT(s.bounds, ElementsAre(0.1, 1, 10));
  // <= 0.1: 0.05 and 0.1; <= 1: + 0.5 and 1.0; <= 10: + 2 and 10; +Inf: + 11.
  EXPECT_THAT(s.cumulative, ElementsAre(2, 4, 6, 7));
  EXPECT_EQ(s.count, 7u);
  EXPECT_DOUBLE_EQ(s.sum, 0.05 + 0.1 + 0.5 + 1.0 + 2.0 + 10.0 + 11.0);
}

TEST(HistogramTest, NegativeValuesGoToTheFirstBucketAndNaNIsIgnored) {
  Histogram h({0, 1});
  h.Observe(-3);
  h.Observe(std::nan(""));
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_THAT(s.cumulative, ElementsAre(1, 1, 1));
  EXPECT_DOUBLE_EQ(s.sum, -3);
}

TEST(HistogramTest, ObserveNanosIsInSeconds) {
  Histogram h(LatencyBounds());
  h.ObserveNanos(3'000'000);  // 3 ms: in the 5 ms bucket, not the 2.5 ms one
  const Histogram::Snapshot s = h.snapshot();
  for (size_t i = 0; i < s.bounds.size(); ++i) {
    EXPECT_EQ(s.cumulative[i], s.bounds[i] >= 0.003 ? 1u : 0u) << "le=" << s.bounds[i];
  }
  EXPECT_DOUBLE_EQ(s.sum, 0.003);
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram h({1, 2});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < 10'000; ++i) h.Observe(t % 3);
    });
  }
  for (auto& t : threads) t.join();
  const Histogram::Snapshot s = h.snapshot();
  // Values 0, 1, 2, 0: three threads <= 1, one at 2.
  EXPECT_THAT(s.cumulative, ElementsAre(30'000, 40'000, 40'000));
  EXPECT_DOUBLE_EQ(s.sum, 10'000.0 * (0 + 1 + 2 + 0));
}

TEST(HistogramDeathTest, UnsortedBoundsAreABug) {
  EXPECT_DEATH(Histogram({1, 1}), "strictly increasing");
}

TEST(CounterTest, CountsIncrements) {
  Counter c;
  c.Inc();
  c.Inc(41);
  EXPECT_EQ(c.value(), 42u);
}

TEST(GaugeTest, SetsAndAdds) {
  Gauge g;
  g.Set(2.5);
  g.Add(-1);
  EXPECT_DOUBLE_EQ(g.value(), 1.5);
}

TEST(ScopedTimerTest, ObservesTheClockTimeOfItsScope) {
  common::ManualClock clock(1'000);
  Histogram h({0.001, 0.01});
  {
    ScopedTimer t(&h, clock);
    clock.Advance(5'000'000);
  }
  { ScopedTimer none(nullptr, clock); }
  const Histogram::Snapshot s = h.snapshot();
  EXPECT_THAT(s.cumulative, ElementsAre(0, 1, 1));
  EXPECT_DOUBLE_EQ(s.sum, 0.005);
}

}  // namespace
}  // namespace metrics
