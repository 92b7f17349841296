// Retention on real processes (issue 5): the leader drops the oldest whole
// segments past the size limit; a member that was down while the prefix it
// needed was purged comes back through the leader's snapshot and serves
// consumers from the same first offset as the others.

#include <gtest/gtest.h>

#include <cstdlib>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "client/client.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

constexpr uint64_t kSegmentBytes = 1 << 20;  // replogd's smallest
constexpr size_t kRecordBytes = 1000;
constexpr int kBatch = 100;

// A Consume from `from` on member `id`: its gRPC status.
grpc::Status ConsumeAt(Cluster& cluster, uint64_t id, uint64_t from) {
  auto stub = cluster.Stub(id);
  grpc::ClientContext ctx;
  SetDeadline(ctx, 2'000);
  replog::v1::ConsumeRequest req;
  req.set_from_offset(from);
  replog::v1::ConsumeResponse resp;
  return stub->Consume(&ctx, req, &resp);
}

// Produces `batches` batches of kBatch records; returns the last offset.
uint64_t ProduceBatches(replog::Client& client, int batches, int* counter) {
  uint64_t last = 0;
  for (int b = 0; b < batches; ++b) {
    std::vector<replog::Record> records(kBatch);
    for (replog::Record& r : records) {
      std::string v = "r" + std::to_string((*counter)++) + "-";
      v.resize(kRecordBytes, 'x');
      r.value = std::move(v);
    }
    auto produced = client.Produce(records);
    EXPECT_TRUE(produced.has_value()) << produced.error().ToString();
    if (!produced.has_value()) return last;
    last = produced->offsets.back();
  }
  return last;
}

TEST(ClusterRetentionTest, MemberDownAcrossAPurgeRejoinsAndServesFromTheNewFirstOffset) {
  ClusterOptions options;
  options.name = "retention";
  options.extra_args = {"--segment-bytes", std::to_string(kSegmentBytes), "--retention-bytes",
                        std::to_string(3 * kSegmentBytes), "--retention-check-ms", "100"};
  auto started = StartWithClient(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  replog::Client& client = *started->client;
  const uint64_t leader = started->leader;

  int counter = 0;
  const uint64_t before_down = ProduceBatches(client, 5, &counter);
  const uint64_t down = leader % 3 + 1;
  ASSERT_TRUE(cluster.WaitCommitted({down}, before_down, 10'000).ok());
  ASSERT_TRUE(cluster.Kill(down).ok());

  // About 8 MB: the leader keeps 3 MB of whole segments, so it purges far
  // past what the stopped member holds.
  const uint64_t last = ProduceBatches(client, 80, &counter);
  ASSERT_GT(last, 0u);
  // Whole segments go, a check interval at a time, until the members keep
  // about the limit (3 of the ~8 MB), not everything.
  const std::vector<uint64_t> up = {leader, 6 - leader - down};
  uint64_t first = 0;
  const int64_t start = cluster.clock().NowNanos();
  while (cluster.clock().NowNanos() - start < 20'000'000'000) {
    auto f0 = cluster.FirstOffset(up[0]);
    auto f1 = cluster.FirstOffset(up[1]);
    if (f0.has_value() && f1.has_value() && *f0 == *f1 && *f0 > last / 3) {
      first = *f0;
      break;
    }
    cluster.clock().SleepNanos(50'000'000);
  }
  ASSERT_GT(first, last / 3) << "the running members did not purge down to the limit\n" << cluster.AllLogTails(10);
  std::printf("[ retention] purged to first offset %llu of %llu; member %llu was down at %llu\n",
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last),
              static_cast<unsigned long long>(down), static_cast<unsigned long long>(before_down));
  ASSERT_GT(first, before_down + 1);  // past what the stopped member holds

  // Below the first offset: OUT_OF_RANGE naming it.
  grpc::Status below = ConsumeAt(cluster, leader, 1);
  EXPECT_EQ(below.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  // It names the first retained offset: `first`, or a later one if the
  // leader purged again meanwhile (retention goes on while the test runs).
  const std::string named = "first retained offset ";
  const size_t at = below.error_message().find(named);
  ASSERT_NE(at, std::string::npos) << below.error_message();
  EXPECT_GE(std::strtoull(below.error_message().c_str() + at + named.size(), nullptr, 10), first)
      << below.error_message();

  // The stopped member comes back: it gets the leader's snapshot, and its log
  // begins where the others' does.
  ASSERT_TRUE(cluster.Restart(down).ok());
  const uint64_t more = ProduceBatches(client, 2, &counter);
  ASSERT_TRUE(cluster.WaitCommitted({1, 2, 3}, more, 30'000).ok()) << cluster.AllLogTails(10);
  // Every member settles on one first offset (a later purge may have moved
  // them all on meanwhile; never behind).
  auto now_first = cluster.WaitSameFirstOffset({1, 2, 3}, 20'000);
  ASSERT_TRUE(now_first.has_value()) << now_first.error().ToString();
  EXPECT_GE(*now_first, first);
  EXPECT_TRUE(std::filesystem::exists(cluster.dir() + "/data/" + std::to_string(down) + "/log/snapshots"));

  auto log = ReadIdenticalLogs(cluster, {1, 2, 3}, more, *now_first);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  ASSERT_FALSE(log->empty());
  EXPECT_GE(log->front().offset, *now_first);
  EXPECT_LT(log->front().offset, *now_first + 3);  // past control entries at most
  EXPECT_EQ(log->back().offset, more);
  grpc::Status old = ConsumeAt(cluster, down, before_down);
  EXPECT_EQ(old.error_code(), grpc::StatusCode::OUT_OF_RANGE) << old.error_message();

  // A restart of every member keeps the purge: the same first offset, the same log.
  for (uint64_t id : {1, 2, 3}) {
    ASSERT_TRUE(cluster.Terminate(id).has_value());
    ASSERT_TRUE(cluster.Restart(id).ok());
  }
  ASSERT_TRUE(cluster.WaitForLeader(15'000).has_value());
  ASSERT_TRUE(cluster.WaitCommitted({1, 2, 3}, more, 15'000).ok());
  auto first_again = cluster.WaitSameFirstOffset({1, 2, 3}, 20'000);
  ASSERT_TRUE(first_again.has_value()) << first_again.error().ToString();
  auto again = ReadIdenticalLogs(cluster, {1, 2, 3}, more, *first_again);
  ASSERT_TRUE(again.has_value()) << again.error().ToString();
  EXPECT_GE(again->front().offset, *now_first);
  EXPECT_EQ(again->back().offset, more);
}

}  // namespace
}  // namespace cluster_testing
