#pragma once

// Time, behind an interface so tests can drive it. Only clock.cc reads the
// real clock or sleeps.

#include <chrono>
#include <cstdint>

namespace common {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in nanoseconds since an arbitrary epoch.
  virtual int64_t NowNanos() = 0;
  // Wall-clock time in milliseconds since the Unix epoch (for record ages).
  virtual int64_t WallMillis() = 0;
  virtual void SleepNanos(int64_t ns) = 0;

  int64_t NowMicros() { return NowNanos() / 1000; }
};

// The real clock (steady_clock / system_clock). Thread-safe.
class RealClock final : public Clock {
 public:
  int64_t NowNanos() override;
  int64_t WallMillis() override;
  void SleepNanos(int64_t ns) override;
};

// A clock that only moves when told. Not thread-safe: one test thread drives it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ns = 0, int64_t wall_ms = 1'700'000'000'000)
      : now_ns_(start_ns), wall_ms_(wall_ms) {}
  int64_t NowNanos() override { return now_ns_; }
  int64_t WallMillis() override { return wall_ms_ + now_ns_ / 1'000'000; }
  // Sleeping advances the clock: code that sleeps never blocks a test.
  void SleepNanos(int64_t ns) override { now_ns_ += ns; }
  void Advance(int64_t ns) { now_ns_ += ns; }

 private:
  int64_t now_ns_;
  int64_t wall_ms_;
};

}  // namespace common
