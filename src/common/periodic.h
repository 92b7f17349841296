#pragma once

// Periodic: a thread of its own that calls a function every interval until
// stopped, for background duties (the KV group's snapshot policy and
// membership follower). The first call comes one interval after Start.
//
// Threads: Start and Stop from any thread but the periodic one; Stop
// returns once a call in progress has returned, and is idempotent. The
// destructor stops.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/thread_name.h"

namespace common {

class Periodic {
 public:
  Periodic() = default;
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  // `name` names the thread (at most 15 bytes show). Once only.
  void Start(std::string name, int64_t interval_ms, std::function<void()> fn) {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || stop_) return;
    thread_ = std::thread([this, name = std::move(name), interval_ms, fn = std::move(fn)] {
      SetThreadName(name);
      const auto interval = std::chrono::milliseconds(interval_ms > 0 ? interval_ms : 1);
      std::unique_lock held(mu_);
      while (!cv_.wait_for(held, interval, [&] { return stop_; })) {
        held.unlock();
        fn();
        held.lock();
      }
    });
  }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace common
