// Issue 4's third acceptance test: ConsumeStream from a follower sees a
// record produced to the leader within one heartbeat interval plus the
// commit time, and an idle tailing consumer costs next to no CPU (no busy
// waiting). replogd runs with its default timing here (50 ms ticks, a
// heartbeat every 100 ms), the timing the acceptance speaks of.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "cluster_harness.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

constexpr int64_t kHeartbeatMs = 100;  // replogd's default: 2 ticks of 50 ms

// A ConsumeStream on one member, stamping when each value arrives.
class Tail {
 public:
  Tail(Cluster& cluster, uint64_t member) : cluster_(cluster), stub_(cluster.Stub(member)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Tail() {
    ctx_.TryCancel();
    thread_.join();
  }

  // When `value` arrived (monotonic ns); -1 when not within `timeout_ms`.
  int64_t WaitFor(const std::string& value, int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return arrived_.contains(value) || ended_; });
    auto it = arrived_.find(value);
    return it == arrived_.end() ? -1 : it->second;
  }
  std::string end_status() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_ ? "ended: " + end_ : "open";
  }

 private:
  void Run() {
    replog::v1::ConsumeRequest req;
    req.set_from_offset(0);
    auto reader = stub_->ConsumeStream(&ctx_, req);
    replog::v1::ConsumeResponse resp;
    while (reader->Read(&resp)) {
      const int64_t now = cluster_.clock().NowNanos();
      std::lock_guard<std::mutex> lock(mu_);
      for (const replog::v1::Record& r : resp.records()) arrived_.emplace(r.value(), now);
      cv_.notify_all();
    }
    grpc::Status s = reader->Finish();
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
    end_ = std::to_string(s.error_code()) + " " + s.error_message();
    cv_.notify_all();
  }

  Cluster& cluster_;
  std::unique_ptr<replog::v1::Log::Stub> stub_;
  grpc::ClientContext ctx_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, int64_t> arrived_;
  bool ended_ = false;
  std::string end_;
};

int64_t SelfCpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) { return static_cast<int64_t>(t.tv_sec) * 1000 + t.tv_usec / 1000; };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

int64_t Percentile(std::vector<int64_t> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

TEST(ClusterTailTest, FollowerTailSeesNewRecordsPromptly) {
  ClusterOptions options;
  options.name = "tail";
  options.tick_ms = options.heartbeat_ticks = options.election_ticks = 0;  // replogd's defaults
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  common::Clock& clock = cluster.clock();
  const uint64_t leader = started->leader;
  const uint64_t follower = leader % 3 + 1;
  const uint64_t other = 6 - leader - follower;  // ids are 1, 2, 3

  replog::ClientOptions client_options;
  client_options.bootstrap_addresses = {cluster.Address(leader)};
  auto client = replog::Client::Connect(client_options);
  ASSERT_TRUE(client.has_value()) << client.error().ToString();
  auto produce = [&](const std::string& value) {
    replog::Record r;
    r.value = value;
    return (*client)->Produce({r});
  };

  Tail tail(cluster, follower);
  // The stream is open once a first record comes through it.
  ASSERT_TRUE(produce("warm-up").has_value());
  ASSERT_GE(tail.WaitFor("warm-up", 5'000), 0) << "follower stream: " << tail.end_status();

  std::vector<int64_t> tail_ns, produce_ns;
  for (int i = 0; i < 30; i++) {
    const std::string value = "t-" + std::to_string(i);
    const int64_t sent = clock.NowNanos();
    auto acked = produce(value);
    const int64_t ack = clock.NowNanos();
    ASSERT_TRUE(acked.has_value()) << acked.error().ToString();
    const int64_t seen = tail.WaitFor(value, 5'000);
    ASSERT_GE(seen, 0) << value << " never reached the follower's stream; " << tail.end_status();
    produce_ns.push_back(ack - sent);
    tail_ns.push_back(std::max<int64_t>(0, seen - ack));
    clock.SleepNanos((13 + 37 * i % 71) * 1'000'000);  // spread over the heartbeat's phase
  }
  const int64_t max_tail = *std::max_element(tail_ns.begin(), tail_ns.end());
  const int64_t max_produce = *std::max_element(produce_ns.begin(), produce_ns.end());
  std::printf("[ tail     ] follower %llu, 30 records: ack -> follower stream p50 %.1f ms, p90 %.1f ms, max %.1f ms; "
              "produce p50 %.1f ms, max %.1f ms (heartbeat %lld ms)\n",
              static_cast<unsigned long long>(follower), Ms(Percentile(tail_ns, 0.5)), Ms(Percentile(tail_ns, 0.9)),
              Ms(max_tail), Ms(Percentile(produce_ns, 0.5)), Ms(max_produce),
              static_cast<long long>(kHeartbeatMs));
  EXPECT_LT(Ms(max_tail), 1000.0) << "a record took over 1 s to reach the follower's stream";
  // The acceptance: one heartbeat plus the commit time (the produce's own
  // latency bounds that), with 50 ms for a shared, busy machine.
  EXPECT_LE(Ms(Percentile(tail_ns, 0.5)), kHeartbeatMs + Ms(Percentile(produce_ns, 0.5)) + 50.0);

  // Idle: only the stream is open; the members only exchange heartbeats.
  clock.SleepNanos(300'000'000);
  std::map<uint64_t, int64_t> cpu_before;
  for (uint64_t id : cluster.ids()) {
    auto c = cluster.CpuTimeMs(id);
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    cpu_before[id] = *c;
  }
  const int64_t self_before = SelfCpuMs();
  const int64_t idle_start = clock.NowNanos();
  clock.SleepNanos(2'000'000'000);
  const double idle_ms = Ms(clock.NowNanos() - idle_start);
  std::map<uint64_t, double> percent;
  for (uint64_t id : cluster.ids()) {
    auto c = cluster.CpuTimeMs(id);
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    percent[id] = 100.0 * static_cast<double>(*c - cpu_before[id]) / idle_ms;
  }
  const double self_percent = 100.0 * static_cast<double>(SelfCpuMs() - self_before) / idle_ms;
  std::printf("[ tail     ] idle %.0f ms, CPU of one core: follower %llu with the stream %.1f%%, other follower "
              "%llu %.1f%%, leader %llu %.1f%%, the test process (stream client) %.1f%%\n",
              idle_ms, static_cast<unsigned long long>(follower), percent[follower],
              static_cast<unsigned long long>(other), percent[other], static_cast<unsigned long long>(leader),
              percent[leader], self_percent);
  EXPECT_LT(percent[follower], 10.0) << "the follower serving an idle stream is busy";
  EXPECT_LT(self_percent, 10.0) << "the idle stream's client is busy";
  EXPECT_EQ(tail.end_status(), "open");
}

}  // namespace
}  // namespace cluster_testing
