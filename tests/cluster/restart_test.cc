// A member that restarts is usable again through replog::Client soon after
// it listens: the client must not leave it for dead for gRPC's reconnect
// backoff or its 5 s backup poll.

#include <gtest/gtest.h>

#include <cstdio>

#include "client/client.h"
#include "cluster_harness.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

TEST(ClusterRestartTest, ClientReadsFromRestartedMemberPromptly) {
  ClusterOptions options;
  options.name = "restart";
  replog::ClientOptions client_options;
  client_options.deadline_ms = 500;
  auto started = StartWithClient(options, client_options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  replog::Client& client = *started->client;
  const uint64_t follower = started->leader % 3 + 1;

  replog::Record r;
  r.value = "before";
  auto produced = client.Produce({r});
  ASSERT_TRUE(produced.has_value()) << produced.error().ToString();

  replog::ConsumeOptions from_follower;
  from_follower.address = cluster.Address(follower);
  ASSERT_TRUE(client.Consume(0, from_follower).has_value());
  ASSERT_TRUE(cluster.Kill(follower).ok());
  EXPECT_FALSE(client.Consume(0, from_follower).has_value()) << "a killed member answered";
  // Only the client polls from here on: a harness call waiting on its own
  // channel would drive gRPC's shared poller and hide a client that does not.
  const int64_t up_ns = cluster.clock().NowNanos();
  ASSERT_TRUE(cluster.Restart(follower).ok());
  common::Status last;
  int64_t served_ns = -1;
  while (cluster.clock().NowNanos() - up_ns < 10'000'000'000) {
    auto batch = client.Consume(0, from_follower);
    if (batch.has_value()) {
      served_ns = cluster.clock().NowNanos();
      break;
    }
    last = batch.error();
  }
  std::printf("[ restart  ] member %llu restarted; the client reads from it %.0f ms later (last error: %s)\n",
              static_cast<unsigned long long>(follower), served_ns < 0 ? -1.0 : Ms(served_ns - up_ns),
              last.ToString().c_str());
  ASSERT_GE(served_ns, 0) << "the client never read from the restarted member: " << last.ToString();
  // replogd listens about 0.5 s after its start.
  EXPECT_LT(Ms(served_ns - up_ns), 2'000.0) << "last error before: " << last.ToString();
}

}  // namespace
}  // namespace cluster_testing
