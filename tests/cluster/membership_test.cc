// `replog cluster` on real processes: status, leadership transfer by hand,
// and removal of a follower and of the leader through Raft while a producer
// writes; removed members exit 0, no acknowledged record is lost, and none
// is in the log twice.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "client/client.h"
#include "client/cluster_admin.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "member_config.h"
#include "producers.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

std::vector<uint64_t> Ids(const std::vector<replog::MemberInfo>& members) {
  std::vector<uint64_t> ids;
  for (const auto& m : members) ids.push_back(m.id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

// A 3-member cluster with a leader, a producer writing to it, and an admin.
class ClusterMembershipTest : public ::testing::Test {
 protected:
  void Start(const std::string& name) {
    ClusterOptions options;
    options.name = name;
    auto started = StartWithClient(options);
    ASSERT_TRUE(started.has_value()) << started.error().ToString();
    started_ = std::move(*started);
    ProducerOptions producer_options;
    producer_options.prefix = "m";
    producer_options.client.bootstrap_addresses = started_.cluster->Addresses();
    producer_options.client.deadline_ms = 5'000;
    producer_ = std::make_unique<BackgroundProducers>(producer_options, started_.cluster->clock());
    ASSERT_TRUE(producer_->WaitMoreAcked(50, 10'000));
    admin_ = std::make_unique<replog::ClusterAdmin>(*started_.client, 10'000);
  }
  void TearDown() override {
    if (producer_) producer_->Stop();
  }
  // Stops the producer. Every acknowledged record must be in the logs of
  // the members `ids`, at its offset, and no value in them twice: the
  // producer's client is exactly-once.
  void ExpectEveryAckOnceOn(const std::vector<uint64_t>& ids) {
    producer_->Stop();
    const std::vector<Ack> acks = producer_->Acks();
    auto log = ReadCommittedLogs(*started_.cluster, ids, MaxOffset(acks), 10'000);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    for (const std::string& m : MissingAcks(*log, acks)) ADD_FAILURE() << "lost: " << m;
    for (const std::string& m : RepeatedValues(*log)) ADD_FAILURE() << m;
  }

  StartedCluster started_;  // its client is the admin's
  std::unique_ptr<BackgroundProducers> producer_;
  std::unique_ptr<replog::ClusterAdmin> admin_;
};

TEST_F(ClusterMembershipTest, StatusTransferAndLeaveUnderProduce) {
  ASSERT_NO_FATAL_FAILURE(Start("membership"));
  Cluster& cluster = *started_.cluster;
  BackgroundProducers& producer = *producer_;
  replog::ClusterAdmin& admin = *admin_;
  const uint64_t leader = started_.leader;

  // Status: every member answers; one leader, whose view has every match.
  auto status = admin.Status();
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  ASSERT_EQ(status->rows.size(), 3u);
  ASSERT_TRUE(status->leader.has_value());
  EXPECT_EQ(status->leader->id, leader);
  for (const auto& row : status->rows) {
    ASSERT_TRUE(row.status.has_value()) << "member " << row.id << ": " << row.unreachable;
    EXPECT_EQ(row.status->role, row.id == leader ? "leader" : "follower");
    EXPECT_GE(row.status->commit_index, 50u);
    EXPECT_LE(row.status->applied_index, row.status->commit_index);
  }
  for (const auto& m : status->leader->members) {
    EXPECT_TRUE(m.has_match) << "member " << m.id;
    EXPECT_LE(m.match_index, status->leader->last_index);
  }

  // Transfer by hand to a named follower.
  const uint64_t target = leader % 3 + 1;
  auto moved = admin.Transfer(target);
  ASSERT_TRUE(moved.has_value()) << moved.error().ToString();
  EXPECT_EQ(*moved, target);
  auto now_leader = cluster.WaitForLeader(5'000);
  ASSERT_TRUE(now_leader.has_value());
  EXPECT_EQ(*now_leader, target);
  ASSERT_TRUE(producer.WaitMoreAcked(50, 10'000));
  EXPECT_EQ(admin.Transfer(99).error().code(), common::Code::kNotFound);

  // Remove a follower: it exits 0; the others go on.
  const uint64_t follower = target % 3 + 1;
  auto after = admin.Remove(follower);
  ASSERT_TRUE(after.has_value()) << after.error().ToString();
  const std::vector<uint64_t> left = Ids(*after);
  EXPECT_EQ(left.size(), 2u);
  EXPECT_TRUE(std::find(left.begin(), left.end(), follower) == left.end());
  auto follower_exit = cluster.WaitExited(follower, 5'000);
  ASSERT_TRUE(follower_exit.has_value()) << follower_exit.error().ToString();
  EXPECT_EQ(follower_exit->ToString(), "exit code 0");
  ASSERT_TRUE(producer.WaitMoreAcked(50, 10'000));

  // Remove the leader: it hands over first, then is removed and exits 0.
  auto after_leader = admin.Remove(target);
  ASSERT_TRUE(after_leader.has_value()) << after_leader.error().ToString();
  ASSERT_EQ(Ids(*after_leader).size(), 1u);
  const uint64_t last = Ids(*after_leader)[0];
  EXPECT_NE(last, target);
  auto leader_exit = cluster.WaitExited(target, 5'000);
  ASSERT_TRUE(leader_exit.has_value()) << leader_exit.error().ToString();
  EXPECT_EQ(leader_exit->ToString(), "exit code 0");
  ASSERT_TRUE(producer.WaitMoreAcked(50, 10'000));
  EXPECT_EQ(admin.Remove(target).error().code(), common::Code::kNotFound);

  ASSERT_NO_FATAL_FAILURE(ExpectEveryAckOnceOn({last}));
  std::printf("[ members  ] %d acknowledged records all on member %llu; %zu produce calls failed meanwhile\n",
              producer.acked(), static_cast<unsigned long long>(last), producer.failures());
}

// A member removed while it was stopped (SIGSTOP: the leader's NotifyRemoved
// fails) finds out by itself once resumed, and exits 0; the others hold every
// acknowledged record once.
TEST_F(ClusterMembershipTest, MemberRemovedWhileStoppedStopsOnceResumed) {
  ASSERT_NO_FATAL_FAILURE(Start("orphan"));
  Cluster& cluster = *started_.cluster;
  const uint64_t follower = started_.leader % 3 + 1;
  ASSERT_TRUE(cluster.Stop(follower).ok());
  auto after = admin_->Remove(follower);
  ASSERT_TRUE(after.has_value()) << after.error().ToString();
  ASSERT_TRUE(cluster.Cont(follower).ok());
  const int64_t resumed = cluster.clock().NowNanos();
  auto exit = cluster.WaitExited(follower, 15'000);
  ASSERT_TRUE(exit.has_value()) << exit.error().ToString();
  EXPECT_EQ(exit->ToString(), "exit code 0");
  std::printf("[ members  ] member %llu, removed while stopped, exited %.0f ms after SIGCONT\n",
              static_cast<unsigned long long>(follower), Ms(cluster.clock().NowNanos() - resumed));
  ASSERT_TRUE(producer_->WaitMoreAcked(50, 10'000));
  std::vector<uint64_t> others = cluster.ids();
  std::erase(others, follower);
  ASSERT_NO_FATAL_FAILURE(ExpectEveryAckOnceOn(others));
}

// Waits until the leader's configuration has exactly `voters` voters and no
// learner; returns them (empty on timeout).
std::vector<uint64_t> WaitVoters(Cluster& cluster, replog::ClusterAdmin& admin, size_t voters) {
  return VoterIds(
      WaitLeaderMembers(cluster, admin, [&](const MemberList& members) { return VoterIds(members).size() == voters; }));
}

// Issue 5's first acceptance line: a 3-member cluster under continuous
// produce grows to 5 with --join, shrinks back to 3 with leave (a follower,
// then the leader), and has its leader stopped with SIGTERM and restarted;
// nothing acknowledged is lost, and no value is in the log twice. (The write
// gap of the SIGTERM is measured by ClusterLeaderSigtermTest and
// scripts/bench-sigterm.sh.)
TEST_F(ClusterMembershipTest, GrowsToFiveWithJoinAndShrinksToThreeUnderProduce) {
  ASSERT_NO_FATAL_FAILURE(Start("grow"));
  Cluster& cluster = *started_.cluster;
  BackgroundProducers& producer = *producer_;
  replog::ClusterAdmin& admin = *admin_;

  // Grow: each joiner asks members other than the leader (hints lead on).
  for (size_t voters = 4; voters <= 5; ++voters) {
    auto id = cluster.Join({1, 2, 3});
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    const std::vector<uint64_t> now = WaitVoters(cluster, admin, voters);
    ASSERT_EQ(now.size(), voters) << "member " << *id << " was not promoted; its log:\n" << cluster.LogTail(*id);
    ASSERT_TRUE(producer.WaitMoreAcked(100, 10'000));
  }
  const int produced_at_five = producer.acked();

  // Shrink: a follower among the first three, then the leader.
  auto leader = cluster.WaitForLeader(5'000);
  ASSERT_TRUE(leader.has_value());
  const uint64_t follower = *leader % 3 + 1;
  for (uint64_t id : {follower, *leader}) {
    auto after = admin.Remove(id);
    ASSERT_TRUE(after.has_value()) << "remove " << id << ": " << after.error().ToString();
    auto exit = cluster.WaitExited(id, 5'000);
    ASSERT_TRUE(exit.has_value()) << exit.error().ToString();
    EXPECT_EQ(exit->ToString(), "exit code 0");
    ASSERT_TRUE(producer.WaitMoreAcked(100, 10'000));
  }
  const std::vector<uint64_t> remaining = WaitVoters(cluster, admin, 3);
  ASSERT_EQ(remaining.size(), 3u);

  // The leader of the three is stopped with SIGTERM (it hands over first)
  // and started again; writes go on.
  auto last_leader = cluster.WaitForLeader(5'000);
  ASSERT_TRUE(last_leader.has_value());
  auto exit = cluster.Terminate(*last_leader);
  ASSERT_TRUE(exit.has_value()) << exit.error().ToString();
  EXPECT_TRUE(exit->exited && exit->code == 0) << exit->ToString();
  ASSERT_TRUE(producer.WaitMoreAcked(100, 10'000));
  ASSERT_TRUE(cluster.Restart(*last_leader).ok());
  ASSERT_TRUE(producer.WaitMoreAcked(100, 10'000));

  ASSERT_NO_FATAL_FAILURE(ExpectEveryAckOnceOn(remaining));
  std::printf("[ members  ] grew 3 -> 5 -> 3 and SIGTERMed the leader under produce: %d acknowledged records (%d at "
              "five members), all once on members %llu, %llu, %llu; %zu produce calls failed meanwhile\n",
              producer.acked(), produced_at_five,
              static_cast<unsigned long long>(remaining[0]), static_cast<unsigned long long>(remaining[1]),
              static_cast<unsigned long long>(remaining[2]), producer.failures());
}

}  // namespace
}  // namespace cluster_testing
