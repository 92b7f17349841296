// Issue 4's first acceptance test: 8 concurrent clients produce 20,000
// records to a 3-member cluster; the leader is killed with SIGKILL halfway;
// producing goes on through the new leader; the killed member restarts. Then
// every member's whole log is read (once with blocking Produce calls, once
// with ProduceAsync on the clients' produce streams): every acknowledged record is at its
// acknowledged offset on all three, the three logs are identical, and no value
// appears more than once: the clients produce exactly-once (the default), so
// a retry after an unknown outcome is answered with the original offsets.
//
// REPLOG_CLUSTER_RECORDS=N changes the number of records;
// REPLOG_CLUSTER_DEFAULT_TIMINGS=1 runs replogd with its default Raft timing
// (50 ms ticks) instead of the short test timing.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_set>
#include <vector>

#include "client/client.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "producers.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? std::atoi(v) : fallback;
}

// Besides RepeatedValues: every value in the log must be one we sent, and a
// produce that failed as not applied stored nothing.
std::vector<std::string> UnexpectedValues(const std::vector<LogRecord>& log, const std::vector<ProducerLog>& logs) {
  std::unordered_set<std::string> in_log, sent;
  for (const LogRecord& r : log) in_log.insert(r.value);
  for (const ProducerLog& p : logs) {
    for (const ProducedCall& c : p.acked) sent.insert(c.ack.value);
    for (const FailedCall& f : p.failed) sent.insert(f.value);
  }
  std::vector<std::string> problems;
  for (const std::string& value : in_log) {
    if (!sent.contains(value)) problems.push_back("\"" + value + "\" is in the log but was never produced");
  }
  for (const ProducerLog& p : logs) {
    for (const FailedCall& f : p.failed) {
      if (f.status.code() == common::Code::kUnavailable && in_log.contains(f.value)) {
        problems.push_back("\"" + f.value + "\" failed as not applied (" + f.status.ToString() +
                           ") but is in the log");
      }
    }
  }
  return problems;
}

// The clients produce with blocking Produce calls, or with ProduceAsync on
// their produce streams.
class ClusterFailoverTest : public ::testing::TestWithParam<bool> {};

TEST_P(ClusterFailoverTest, KillLeaderMidProduceLosesNothing) {
  ClusterOptions options;
  options.name = "failover";
  if (EnvInt("REPLOG_CLUSTER_DEFAULT_TIMINGS", 0) == 1) {
    options.tick_ms = options.heartbeat_ticks = options.election_ticks = 0;
  }
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  common::Clock& clock = cluster.clock();

  const int total = EnvInt("REPLOG_CLUSTER_RECORDS", 20'000);
  ProducerOptions producer_options;
  producer_options.threads = 8;
  producer_options.calls = total;
  producer_options.prefix = "c";
  producer_options.client.bootstrap_addresses = cluster.Addresses();
  producer_options.client.deadline_ms = 20'000;
  producer_options.client.attempt_timeout_ms = 1'000;
  producer_options.async = GetParam();
  const int64_t start_ns = clock.NowNanos();
  BackgroundProducers producers(producer_options, clock);

  ASSERT_TRUE(producers.WaitAcked(total / 2, 120'000)) << producers.acked() << " acks so far";
  auto leader_now = cluster.WaitForLeader(5'000);
  ASSERT_TRUE(leader_now.has_value()) << "at the halfway point: " << leader_now.error().ToString();
  const uint64_t victim = *leader_now;
  const int64_t kill_ns = clock.NowNanos();
  ASSERT_TRUE(cluster.Kill(victim).ok());
  std::printf("[ failover ] %d acks; SIGKILL leader %llu\n", producers.acked(),
              static_cast<unsigned long long>(victim));
  auto new_leader = cluster.WaitForLeader(15'000, {victim});
  ASSERT_TRUE(new_leader.has_value()) << new_leader.error().ToString();
  const int64_t elected_ns = clock.NowNanos();

  ASSERT_TRUE(producers.WaitAcked(total * 3 / 4, 120'000)) << producers.acked() << " acks so far";
  ASSERT_TRUE(cluster.Restart(victim).ok());
  std::printf("[ failover ] %d acks; restarted member %llu\n", producers.acked(),
              static_cast<unsigned long long>(victim));
  producers.Wait();
  const int64_t end_ns = clock.NowNanos();

  // What the clients saw.
  const std::vector<Ack> acks = producers.Acks();
  const size_t failures = producers.failures();
  for (const std::string& f : producers.DescribeFailures()) ADD_FAILURE() << f;
  int64_t first_new_ack_ns = -1;
  size_t flagged = 0;
  for (size_t t = 0; t < producers.logs().size(); t++) {
    const std::vector<ProducedCall>& calls = producers.logs()[t].acked;
    for (size_t i = 0; i < calls.size(); i++) {
      if (i > 0) {
        EXPECT_GT(calls[i].ack.offset, calls[i - 1].ack.offset)
            << "thread " << t << ": a later produce got a lower offset";
      }
      if (calls[i].end_ns > kill_ns && calls[i].leader != cluster.Address(victim) &&
          (first_new_ack_ns < 0 || calls[i].end_ns < first_new_ack_ns)) {
        first_new_ack_ns = calls[i].end_ns;
      }
      flagged += calls[i].ack.retried_after_unknown_outcome ? 1 : 0;
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
  auto log = ReadCommittedLogs(cluster, cluster.ids(), MaxOffset(acks), 60'000);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  std::printf("[ failover ] every member holds the same %zu records through offset %llu\n", log->size(),
              static_cast<unsigned long long>(log->empty() ? 0 : log->back().offset));
  for (const std::string& m : MissingAcks(*log, acks)) ADD_FAILURE() << "lost: " << m;
  for (const std::string& m : RepeatedValues(*log)) ADD_FAILURE() << m;
  std::vector<std::string> strays = UnexpectedValues(*log, producers.logs());
  for (size_t i = 0; i < strays.size() && i < 20; i++) ADD_FAILURE() << strays[i];
}

INSTANTIATE_TEST_SUITE_P(Calls, ClusterFailoverTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "ProduceAsyncOnStreams" : "Produce";
                         });

}  // namespace
}  // namespace cluster_testing
