#include "bench/client_loops.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace bench {

namespace {

// Records the request that ran from start_ns to end_ns if it started in the
// measured window.
void Record(const Deadlines& d, int64_t start_ns, int64_t end_ns, const OpResult& r, LoopStats* s) {
  if (start_ns < d.measure_start_ns) return;
  s->last_end_ns = end_ns;
  if (!r.status.ok()) {
    if (s->errors++ == 0) s->first_error = r.status.ToString();
    return;
  }
  s->latency.Add(end_ns - start_ns);
  s->ops++;
  s->records += r.records;
  s->bytes += r.bytes;
  s->unknown_retries += r.unknown_retry ? 1 : 0;
}

// The asynchronous loops of one RunAsyncLoops call. Loop i's fields are
// touched only by its chain of requests, one completion after another.
class AsyncLoops {
 public:
  AsyncLoops(common::Clock& clock, const Deadlines& d, const std::vector<AsyncOp>& ops, std::vector<LoopStats>* stats)
      : clock_(clock), d_(d), ops_(ops), stats_(*stats), start_ns_(ops.size()), running_(ops.size()) {}

  void Run() {
    const int64_t now = clock_.NowNanos();
    for (size_t i = 0; i < ops_.size(); i++) {
      if (now < d_.end_ns) Issue(i, now);
      else LoopEnded();
    }
    std::unique_lock lock(mu_);
    all_ended_.wait(lock, [this] { return running_ == 0; });
  }

 private:
  void Issue(size_t i, int64_t start_ns) {
    start_ns_[i] = start_ns;
    ops_[i]([this, i](OpResult r) {
      const int64_t end = clock_.NowNanos();
      Record(d_, start_ns_[i], end, r, &stats_[i]);
      if (end < d_.end_ns) Issue(i, end);
      else LoopEnded();
    });
  }

  void LoopEnded() {
    std::lock_guard lock(mu_);
    if (--running_ == 0) all_ended_.notify_all();
  }

  common::Clock& clock_;
  const Deadlines d_;
  const std::vector<AsyncOp>& ops_;
  std::vector<LoopStats>& stats_;
  std::vector<int64_t> start_ns_;
  std::mutex mu_;
  std::condition_variable all_ended_;
  size_t running_;
};

}  // namespace

void LoopStats::Merge(const LoopStats& s) {
  latency.Merge(s.latency);
  ops += s.ops;
  records += s.records;
  bytes += s.bytes;
  unknown_retries += s.unknown_retries;
  last_end_ns = std::max(last_end_ns, s.last_end_ns);
  if (errors == 0 && s.errors > 0) first_error = s.first_error;
  errors += s.errors;
}

void RunThreadLoops(common::Clock& clock, const Deadlines& d, const std::vector<Op>& ops,
                    std::vector<LoopStats>* stats) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ops.size(); i++) {
    threads.emplace_back([&, i] {
      int64_t start = clock.NowNanos();
      while (start < d.end_ns) {
        OpResult r = ops[i]();
        int64_t end = clock.NowNanos();
        Record(d, start, end, r, &(*stats)[i]);
        start = end;
      }
    });
  }
  for (auto& t : threads) t.join();
}

void RunAsyncLoops(common::Clock& clock, const Deadlines& d, const std::vector<AsyncOp>& ops,
                   std::vector<LoopStats>* stats) {
  AsyncLoops loops(clock, d, ops, stats);
  loops.Run();
}

}  // namespace bench
