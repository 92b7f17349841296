#pragma once

// Background producers for the cluster tests: threads that each produce
// one-record batches through their own replog::Client while the test kills,
// stops, adds or removes members, and keep how every call ended for the
// checks of log_checks.h.
//
// Threads: the constructor starts the producing threads; the methods belong
// to the thread that owns the object. logs(), Acks() and failures() may be
// called only after Stop() or Wait() joined the threads.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/clock.h"
#include "common/status.h"
#include "log_checks.h"

namespace cluster_testing {

struct ProducerOptions {
  int threads = 1;
  // Calls over all threads, spread evenly; 0: until Stop().
  int calls = 0;
  // Values are "<prefix><thread>-<seq>", unique across the threads.
  std::string prefix = "p";
  // Every thread's client (bootstrap_addresses required); thread t's seed is
  // t + 1.
  replog::ClientOptions client;
  // Each call is a ProduceAsync (on the client's produce stream, unless
  // client.pipelined_produce is off) that the thread waits for, instead of
  // a blocking Produce.
  bool async = false;
};

// An acknowledged produce call, as its client saw it.
struct ProducedCall {
  Ack ack;
  int64_t start_ns = 0;
  int64_t end_ns = 0;  // when the acknowledgement came back
  uint32_t attempts = 0;
  std::string leader;  // the address of the member that committed it
};

// A produce call that failed ("(connect)" when the client never connected).
struct FailedCall {
  std::string value;
  common::Status status;
};

// What one thread saw, each in call order.
struct ProducerLog {
  std::vector<ProducedCall> acked;
  std::vector<FailedCall> failed;
};

class BackgroundProducers {
 public:
  // Starts the threads; `clock` times the calls and must outlive this.
  BackgroundProducers(ProducerOptions options, common::Clock& clock);
  // Stop().
  ~BackgroundProducers();
  BackgroundProducers(const BackgroundProducers&) = delete;
  BackgroundProducers& operator=(const BackgroundProducers&) = delete;

  // Acknowledged calls so far, over all threads.
  int acked() const { return acked_.load(); }
  // Waits until acked() reaches `target`; false after `timeout_ms`.
  bool WaitAcked(int target, int64_t timeout_ms);
  // Waits for `more` acknowledgements beyond those so far.
  bool WaitMoreAcked(int more, int64_t timeout_ms) { return WaitAcked(acked() + more, timeout_ms); }

  // Asks every thread to stop after its current call, and joins them.
  void Stop();
  // Joins the threads once they have made their calls (options.calls > 0).
  void Wait();

  // One log per thread.
  const std::vector<ProducerLog>& logs() const { return logs_; }
  // Every acknowledged call's Ack, thread by thread.
  std::vector<Ack> Acks() const;
  size_t failures() const;
  // "produce of "v" failed: ..." for the first `per_thread` failures of each
  // thread.
  std::vector<std::string> DescribeFailures(size_t per_thread = 5) const;

 private:
  void Run(int thread, int calls);
  void Join();

  const ProducerOptions options_;
  common::Clock& clock_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_{0};
  std::vector<ProducerLog> logs_;  // logs_[t] written by thread t only
  std::vector<std::thread> threads_;
};

}  // namespace cluster_testing
