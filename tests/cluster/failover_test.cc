// Issue 4's first acceptance test: 8 concurrent clients produce 20,000
// records to a 3-member cluster; the leader is killed with SIGKILL halfway;
// producing goes on through the new leader; the killed member restarts. Then
// every member's whole log is read: every acknowledged record is at its
// acknowledged offset on all three, the three logs are identical, and no value
// appears more than once: the clients produce exactly-once (the default), so
// a retry after an unknown outcome is answered with the original offsets.
//
// REPLOG_CLUSTER_RECORDS=N changes the number of records;
// REPLOG_CLUSTER_DEFAULT_TIMINGS=1 runs replogd with its default Raft timing
// (50 ms ticks) instead of the short test timing.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "client/client.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

using common::Status;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? std::atoi(v) : fallback;
}

// What one producing thread saw.
struct ProducerLog {
  struct Failure {
    std::string value;
    Status status;
  };
  std::vector<Ack> acks;
  std::vector<int64_t> ack_ns;              // when each ack came back
  std::vector<std::string> ack_leaders;     // the member that committed it
  std::vector<Failure> failures;
};

// One client, `count` produces of one record each, values "c<thread>-<seq>".
void ProduceLoop(const std::vector<std::string>& addresses, int thread, int count, common::Clock& clock,
                 const std::atomic<bool>& abort, std::atomic<int>& done, ProducerLog& out) {
  replog::ClientOptions options;
  options.bootstrap_addresses = addresses;
  options.deadline_ms = 20'000;
  options.attempt_timeout_ms = 1'000;
  options.seed = static_cast<uint64_t>(thread) + 1;
  auto client = replog::Client::Connect(options);
  if (!client.has_value()) {
    out.failures.push_back({"(connect)", client.error()});
    return;
  }
  for (int seq = 0; seq < count && !abort.load(); seq++) {
    replog::Record record;
    record.value = "c" + std::to_string(thread) + "-" + std::to_string(seq);
    auto result = (*client)->Produce({record});
    if (!result.has_value() || result->offsets.size() != 1) {
      out.failures.push_back({record.value, result.has_value()
                                                ? common::InternalError("offsets: " +
                                                                        std::to_string(result->offsets.size()))
                                                : result.error()});
      continue;
    }
    out.acks.push_back(Ack{record.value, result->offsets[0], result->retried_after_unknown_outcome});
    out.ack_ns.push_back(clock.NowNanos());
    out.ack_leaders.push_back(result->leader_address);
    done.fetch_add(1);
  }
}

// Stops and joins the producers however the test ends.
struct Producers {
  std::atomic<bool> abort{false};
  std::atomic<int> done{0};
  std::vector<ProducerLog> logs;
  std::vector<std::thread> threads;
  ~Producers() { Join(/*abort_now=*/true); }
  void Join(bool abort_now) {
    if (abort_now) abort.store(true);
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

// Waits until `done` reaches `target`; false after `timeout_ms`.
bool WaitDone(const std::atomic<int>& done, int target, int64_t timeout_ms, common::Clock& clock) {
  const int64_t deadline = clock.NowNanos() + timeout_ms * 1'000'000;
  while (done.load() < target) {
    if (clock.NowNanos() >= deadline) return false;
    clock.SleepNanos(2'000'000);
  }
  return true;
}

// The duplicate rule, with exactly-once produce: no value is in the log more
// than once, whatever its produce saw; every value must be one we sent; a
// produce that failed as not applied stored nothing.
std::vector<std::string> CheckDuplicates(const std::vector<LogRecord>& log, const std::vector<ProducerLog>& logs) {
  std::unordered_map<std::string, int> count;
  for (const LogRecord& r : log) count[r.value]++;
  std::unordered_map<std::string, std::string> how;  // value -> how its produce ended
  for (const ProducerLog& p : logs) {
    for (const Ack& a : p.acks) how[a.value] = a.retried_after_unknown_outcome ? "acked after a retry" : "acked";
    for (const ProducerLog::Failure& f : p.failures) how[f.value] = "failed: " + f.status.ToString();
  }
  std::vector<std::string> problems;
  for (const auto& [value, n] : count) {
    auto it = how.find(value);
    if (it == how.end()) {
      problems.push_back("\"" + value + "\" is in the log but was never produced");
    } else if (n > 1) {
      problems.push_back("\"" + value + "\" appears " + std::to_string(n) + " times (its produce " + it->second +
                         ")");
    }
  }
  for (const ProducerLog& p : logs) {
    for (const ProducerLog::Failure& f : p.failures) {
      if (f.status.code() == common::Code::kUnavailable && count.contains(f.value)) {
        problems.push_back("\"" + f.value + "\" failed as not applied (" + f.status.ToString() +
                           ") but is in the log");
      }
    }
  }
  return problems;
}

TEST(ClusterFailoverTest, KillLeaderMidProduceLosesNothing) {
  ClusterOptions options;
  options.name = "failover";
  if (EnvInt("REPLOG_CLUSTER_DEFAULT_TIMINGS", 0) == 1) {
    options.tick_ms = options.heartbeat_ticks = options.election_ticks = 0;
  }
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  common::Clock& clock = cluster.clock();

  constexpr int kThreads = 8;
  const int total = EnvInt("REPLOG_CLUSTER_RECORDS", 20'000);
  Producers producers;
  producers.logs.resize(kThreads);
  const int64_t start_ns = clock.NowNanos();
  for (int t = 0; t < kThreads; t++) {
    const int count = total / kThreads + (t < total % kThreads ? 1 : 0);
    producers.threads.emplace_back([&, t, count] {
      ProduceLoop(cluster.Addresses(), t, count, clock, producers.abort, producers.done, producers.logs[t]);
    });
  }

  ASSERT_TRUE(WaitDone(producers.done, total / 2, 120'000, clock)) << producers.done.load() << " acks so far";
  auto leader_now = cluster.WaitForLeader(5'000);
  ASSERT_TRUE(leader_now.has_value()) << "at the halfway point: " << leader_now.error().ToString();
  const uint64_t victim = *leader_now;
  const int64_t kill_ns = clock.NowNanos();
  ASSERT_TRUE(cluster.Kill(victim).ok());
  std::printf("[ failover ] %d acks; SIGKILL leader %llu\n", producers.done.load(),
              static_cast<unsigned long long>(victim));
  auto new_leader = cluster.WaitForLeader(15'000, {victim});
  ASSERT_TRUE(new_leader.has_value()) << new_leader.error().ToString();
  const int64_t elected_ns = clock.NowNanos();

  ASSERT_TRUE(WaitDone(producers.done, total * 3 / 4, 120'000, clock)) << producers.done.load() << " acks so far";
  ASSERT_TRUE(cluster.Restart(victim).ok());
  std::printf("[ failover ] %d acks; restarted member %llu\n", producers.done.load(),
              static_cast<unsigned long long>(victim));
  producers.Join(/*abort_now=*/false);
  const int64_t end_ns = clock.NowNanos();

  // What the clients saw.
  std::vector<Ack> acks;
  int64_t first_new_ack_ns = -1;
  size_t flagged = 0, failures = 0;
  for (int t = 0; t < kThreads; t++) {
    const ProducerLog& p = producers.logs[t];
    for (size_t i = 0; i < p.acks.size(); i++) {
      if (i > 0) {
        EXPECT_GT(p.acks[i].offset, p.acks[i - 1].offset) << "thread " << t << ": a later produce got a lower offset";
      }
      if (p.ack_ns[i] > kill_ns && p.ack_leaders[i] != cluster.Address(victim) &&
          (first_new_ack_ns < 0 || p.ack_ns[i] < first_new_ack_ns)) {
        first_new_ack_ns = p.ack_ns[i];
      }
      flagged += p.acks[i].retried_after_unknown_outcome ? 1 : 0;
    }
    acks.insert(acks.end(), p.acks.begin(), p.acks.end());
    failures += p.failures.size();
    for (size_t i = 0; i < p.failures.size() && i < 5; i++) {
      ADD_FAILURE() << "thread " << t << ": produce of \"" << p.failures[i].value
                    << "\" failed: " << p.failures[i].status.ToString();
    }
  }
  std::printf("[ failover ] %zu acks, %zu failed, %zu flagged retried after an unknown outcome, %.1f s "
              "(%.0f produces/s)\n",
              acks.size(), failures, flagged, Ms(end_ns - start_ns) / 1000,
              static_cast<double>(acks.size()) * 1e9 / static_cast<double>(end_ns - start_ns));
  std::printf("[ failover ] SIGKILL -> new leader %llu seen by GetServers: %.0f ms; -> first ack from it: %.0f ms\n",
              static_cast<unsigned long long>(*new_leader), Ms(elected_ns - kill_ns),
              first_new_ack_ns < 0 ? -1.0 : Ms(first_new_ack_ns - kill_ns));
  EXPECT_EQ(acks.size() + failures, static_cast<size_t>(total));

  // What the members hold.
  const uint64_t max_acked = MaxOffset(acks);
  Status caught_up = cluster.WaitCommitted(cluster.ids(), max_acked, 60'000);
  ASSERT_TRUE(caught_up.ok()) << caught_up.ToString();
  uint64_t through = UINT64_MAX;
  for (uint64_t id : cluster.ids()) {
    auto c = cluster.CommittedOffset(id);
    ASSERT_TRUE(c.has_value()) << c.error().ToString();
    through = std::min(through, *c);
  }
  auto log = ReadIdenticalLogs(cluster, cluster.ids(), through);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  std::printf("[ failover ] every member holds the same %zu records through offset %llu\n", log->size(),
              static_cast<unsigned long long>(through));
  for (const std::string& m : MissingAcks(*log, acks)) ADD_FAILURE() << "lost: " << m;
  std::vector<std::string> dups = CheckDuplicates(*log, producers.logs);
  for (size_t i = 0; i < dups.size() && i < 20; i++) ADD_FAILURE() << dups[i];
  std::unordered_map<std::string, int> seen;
  for (const LogRecord& r : *log) seen[r.value]++;
  std::printf("[ failover ] %zu records in the log are extra copies of a value\n", log->size() - seen.size());
}

}  // namespace
}  // namespace cluster_testing
