// replogd --join --join-replace (docs/cluster.md, "Joining") on real
// processes, while a producer writes: a member that lost its data directory
// comes back under its old id, once on a new port and once on its old one.
// Without --join-replace the leader refuses the join (its id is already in
// the cluster) and replogd exits non-zero saying so; with it the old entry is
// removed and the member joins again, is promoted to voter, and at the end
// every acknowledged record is on all three members, once, at its offset.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "client/cluster_admin.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "member_config.h"
#include "producers.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

// Waits until the leader's configuration has member `id` as a voter at
// `address` and no learner; returns the configuration (empty on timeout).
MemberList WaitVoterAt(Cluster& cluster, replog::ClusterAdmin& admin, uint64_t id, const std::string& address) {
  return WaitLeaderMembers(cluster, admin, [&](const MemberList& members) {
    return std::any_of(members.begin(), members.end(), [&](const replog::MemberInfo& m) {
      return m.id == id && m.voter && m.address == address;
    });
  });
}

// A follower of `leader`, not `avoid` when another one is left.
uint64_t AFollower(Cluster& cluster, uint64_t leader, uint64_t avoid) {
  uint64_t pick = 0;
  for (uint64_t id : cluster.ids()) {
    if (id != leader && (pick == 0 || pick == avoid)) pick = id;
  }
  return pick;
}

// Member `id` loses its data directory (SIGKILL, wipe) and joins again
// through the others, on a new port or its old one: refused without
// --join-replace, accepted with it.
void ReplaceLostMember(Cluster& cluster, replog::ClusterAdmin& admin, BackgroundProducers& producer, uint64_t id,
                       bool new_port) {
  const std::string old_address = cluster.Address(id);
  std::vector<uint64_t> via;
  for (uint64_t other : cluster.ids()) {
    if (other != id) via.push_back(other);
  }
  ASSERT_TRUE(cluster.Kill(id).ok());

  ASSERT_TRUE(cluster.Rejoin(id, via, {.new_port = new_port}).ok());
  auto refused = cluster.WaitExited(id, 15'000);
  ASSERT_TRUE(refused.has_value()) << refused.error().ToString();
  EXPECT_EQ(refused->signal, 0) << refused->ToString();
  EXPECT_NE(refused->code, 0) << refused->ToString();
  const std::string said = cluster.LastLaunchLog(id);
  EXPECT_NE(said.find("member " + std::to_string(id) + " is already in the cluster at " + old_address),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("joins again with replace"), std::string::npos) << said;
  ASSERT_TRUE(producer.WaitMoreAcked(50, 10'000)) << "the others stopped serving";

  ASSERT_TRUE(cluster.Rejoin(id, via, {.new_port = new_port, .replace = true}).ok());
  if (new_port) {
    EXPECT_NE(cluster.Address(id), old_address);
  } else {
    EXPECT_EQ(cluster.Address(id), old_address);
  }
  const MemberList members = WaitVoterAt(cluster, admin, id, cluster.Address(id));
  ASSERT_FALSE(members.empty()) << "member " << id << " was not a voter at " << cluster.Address(id)
                                << " in time; its log:\n"
                                << cluster.LogTail(id);
  EXPECT_EQ(members.size(), 3u) << "the old entry was not replaced";
  EXPECT_TRUE(cluster.Running(id)) << cluster.LogTail(id);
  ASSERT_TRUE(producer.WaitMoreAcked(50, 10'000));
}

TEST(ClusterJoinReplaceTest, AMemberThatLostItsDataRejoinsOnlyWithJoinReplace) {
  ClusterOptions options;
  options.name = "join-replace";
  auto started = StartWithClient(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  replog::ClusterAdmin admin(*started->client, 10'000);
  ProducerOptions producer_options;
  producer_options.prefix = "j";
  producer_options.client.bootstrap_addresses = cluster.Addresses();
  BackgroundProducers producer(producer_options, cluster.clock());
  ASSERT_TRUE(producer.WaitMoreAcked(50, 10'000));

  uint64_t replaced = 0;
  for (bool new_port : {true, false}) {
    auto leader = cluster.WaitForLeader(5'000);
    ASSERT_TRUE(leader.has_value()) << leader.error().ToString();
    replaced = AFollower(cluster, *leader, replaced);
    SCOPED_TRACE("member " + std::to_string(replaced) + (new_port ? " on a new port" : " on its old port"));
    ASSERT_NO_FATAL_FAILURE(ReplaceLostMember(cluster, admin, producer, replaced, new_port));
  }

  producer.Stop();
  for (const std::string& f : producer.DescribeFailures()) ADD_FAILURE() << f;
  const std::vector<Ack> acks = producer.Acks();
  auto log = ReadCommittedLogs(cluster, cluster.ids(), MaxOffset(acks), 30'000);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  for (const std::string& m : MissingAcks(*log, acks)) ADD_FAILURE() << "lost: " << m;
  for (const std::string& m : RepeatedValues(*log)) ADD_FAILURE() << m;
}

}  // namespace
}  // namespace cluster_testing
