// replog::Client against a fake replog.v1.Log cluster on real gRPC servers
// (fake_log_service.h): discovery, Produce and its retry classes.

#include "client/client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <thread>

#include "client/client_test_util.h"
#include "client/fake_log_service.h"

namespace replog {
namespace {

using common::Code;
using testing::FakeCluster;
using testing::FaultHint;
using testing::MustConnect;
using testing::Options;
using testing::ProduceFault;
using testing::Values;

// Produce's tests run through both Produce and ProduceAsync
// (client_test_util.h, ProducePathTest): the two share their rules.
class ClientProduceTest : public testing::ProducePathTest {};

TEST(ClientTest, ConnectDiscoversMembersAndLeaderFromAnyMember) {
  FakeCluster fake(3);
  auto client = MustConnect(Options({fake.address(3)}));
  ASSERT_NE(client, nullptr);
  ClusterView v = client->cached_view();
  ASSERT_EQ(v.servers.size(), 3u);
  EXPECT_EQ(v.leader_id, 1u);
  EXPECT_EQ(v.LeaderAddress(), fake.address(1));
  EXPECT_EQ(v.answered_by, fake.address(3));
  EXPECT_EQ(v.servers[1], (ServerInfo{2, fake.address(2), "follower", false}));
}

TEST(ClientTest, ConnectSkipsABootstrapAddressThatRefuses) {
  FakeCluster fake(3);
  std::string dead = fake.address(2);
  fake.Stop(2);
  auto client = MustConnect(Options({dead, fake.address(1)}));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->cached_view().servers.size(), 3u);
}

TEST(ClientTest, ConnectFailsNamingTheAddressesWhenNoneAnswers) {
  FakeCluster fake(1);
  std::string dead = fake.address(1);
  fake.Stop(1);
  common::ManualClock clock;
  ClientOptions o = Options({dead}, &clock);
  o.deadline_ms = 200;
  auto c = Client::Connect(o);
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kUnavailable);
  EXPECT_NE(c.error().message().find(dead), std::string::npos) << c.error().message();
}

TEST(ClientTest, ConnectRejectsOptionsWithoutAddresses) {
  auto c = Client::Connect(ClientOptions{});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kInvalidArgument);
}

TEST_P(ClientProduceTest, GoesToTheLeaderAndReturnsOffsets) {
  FakeCluster fake(3);
  auto client = MustConnect(Options({fake.address(2)}));
  std::vector<Record> records = Values({"a", "b"});
  records[0].key = "k";
  records[0].headers = {Header{"h", "x"}};
  auto r = Produce(*client, records);
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->offsets, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(r->attempts, 1u);
  EXPECT_FALSE(r->retried_after_unknown_outcome);
  EXPECT_EQ(r->leader_address, fake.address(1));
  EXPECT_EQ(fake.produces(1), 1u);
  EXPECT_EQ(fake.produces(2) + fake.produces(3), 0u);
  std::vector<Record> log = fake.log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].key, "k");
  EXPECT_EQ(log[0].headers, records[0].headers);
  EXPECT_EQ(log[1].value, "b");
}

TEST_P(ClientProduceTest, FollowsTheLeaderHintOfAStaleView) {
  FakeCluster fake(3);
  fake.SetAdvertisedLeader(2);  // GetServers names 2, but 1 leads
  auto client = MustConnect(Options({fake.address(3)}));
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->attempts, 2u);
  EXPECT_FALSE(r->retried_after_unknown_outcome);
  EXPECT_EQ(r->leader_address, fake.address(1));
  EXPECT_EQ(fake.produces(2), 1u);
  EXPECT_EQ(fake.log().size(), 1u);
}

TEST_P(ClientProduceTest, MovesToTheNewLeaderAfterALeaderChange) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  ASSERT_TRUE(Produce(*client, Values({"a"})).has_value());
  fake.SetLeader(3);
  auto r = Produce(*client, Values({"b"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->leader_address, fake.address(3));
  EXPECT_EQ(r->offsets, std::vector<uint64_t>{2});
  // The next one goes straight to the new leader.
  auto r2 = Produce(*client, Values({"c"}));
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->attempts, 1u);
  EXPECT_EQ(fake.produces(1), 2u);
}

TEST_P(ClientProduceTest, WithoutALeaderBacksOffAndRediscovers) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  fake.AddProduceFault(1, ProduceFault{.hint = FaultHint::kLeaderless});
  fake.AddProduceFault(1, ProduceFault{.hint = FaultHint::kLeaderless});
  int64_t before = clock.NowNanos();
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->attempts, 3u);
  EXPECT_FALSE(r->retried_after_unknown_outcome);
  EXPECT_GT(clock.NowNanos(), before);  // it slept between attempts
  EXPECT_EQ(fake.log().size(), 1u);
}

TEST_P(ClientProduceTest, WithoutExactlyOnceFlagsARetryAfterADeadlineExceeded) {
  FakeCluster fake(3);
  common::ManualClock clock;
  ClientOptions o = Options(fake.addresses(), &clock);
  o.exactly_once = false;
  auto client = MustConnect(o);
  // The leader commits, then the answer is lost: the retry duplicates
  // (client_exactly_once_test.cc: with exactly-once it does not).
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .append_first = true});
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->retried_after_unknown_outcome);
  EXPECT_EQ(r->attempts, 2u);
  EXPECT_EQ(r->offsets, std::vector<uint64_t>{2});
  EXPECT_EQ(fake.log().size(), 2u);
}

TEST_P(ClientProduceTest, RetriesAbortedWithoutFlaggingIt) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::ABORTED});
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_FALSE(r->retried_after_unknown_outcome);
  EXPECT_EQ(r->attempts, 2u);
}

TEST_P(ClientProduceTest, TreatsUnavailableWithoutMetadataAsUnknown) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  fake.AddProduceFault(1, ProduceFault{.hint = FaultHint::kNone});
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->retried_after_unknown_outcome);
}

TEST_P(ClientProduceTest, ToAStoppedLeaderIsSafeToRetry) {
  FakeCluster fake(3);
  common::ManualClock clock;
  // Learns that 1 leads from 2, without a connection to 1 yet.
  auto client = MustConnect(Options({fake.address(2)}, &clock));
  fake.Stop(1);
  fake.SetLeader(2);
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_FALSE(r->retried_after_unknown_outcome);  // the refused connection sent nothing
  EXPECT_EQ(r->leader_address, fake.address(2));
}

TEST_P(ClientProduceTest, GivesUpWithDeadlineExceededWhenAnAttemptMayHaveCommitted) {
  FakeCluster fake(3);
  common::ManualClock clock;
  ClientOptions o = Options(fake.addresses(), &clock);
  o.deadline_ms = 1000;
  auto client = MustConnect(o);
  for (int i = 0; i < 100; i++) fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED});
  auto r = Produce(*client, Values({"a"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
  EXPECT_NE(r.error().message().find("outcome unknown"), std::string::npos) << r.error().message();
}

TEST_P(ClientProduceTest, GivesUpWithUnavailableWhenNoLeaderAppears) {
  FakeCluster fake(3);
  common::ManualClock clock;
  ClientOptions o = Options(fake.addresses(), &clock);
  o.deadline_ms = 1000;
  auto client = MustConnect(o);
  fake.SetLeader(0);
  auto r = Produce(*client, Values({"a"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().ToString();
  EXPECT_TRUE(fake.log().empty());
}

TEST_P(ClientProduceTest, ReturnsAFinalErrorAtOnce) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::INVALID_ARGUMENT});
  auto r = Produce(*client, Values({"a"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(r.error().message().find(fake.address(1)), std::string::npos) << r.error().message();
  EXPECT_EQ(fake.produces(1), 1u);
}

TEST_P(ClientProduceTest, OfNoRecordsIsInvalid) {
  FakeCluster fake(1);
  auto client = MustConnect(Options(fake.addresses()));
  auto r = Produce(*client, {});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
}

TEST_P(ClientProduceTest, OverTheMessageLimitIsInvalidAndNotSent) {
  FakeCluster fake(1);
  auto client = MustConnect(Options(fake.addresses()));
  // Each record is within a member's limits; together they are over the
  // message size it accepts, which would fail the call (or the stream and
  // every produce on it).
  const std::string half(rpc::kMaxMessageBytes / 2, 'x');
  auto r = Produce(*client, {Record{.value = half}, Record{.value = half}});
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(r.error().message().find("a member accepts"), std::string::npos) << r.error().message();
  EXPECT_EQ(fake.produces(1), 0u);
  EXPECT_TRUE(Produce(*client, Values({"a"})).has_value());  // the client goes on
}

TEST(ClientTest, ProduceFromManyThreadsSharesOneClient) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::vector<uint64_t>> offsets(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; i++) {
        auto r = client->Produce(Values({"x"}));
        if (r.has_value()) offsets[t].push_back(r->offsets[0]);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<uint64_t> all;
  for (const auto& v : offsets) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(fake.log().size(), static_cast<size_t>(kThreads * kEach));
}

TEST(ClientTest, ServersAsksAgain) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  fake.SetLeader(3);
  auto v = client->Servers();
  ASSERT_TRUE(v.has_value()) << v.status().ToString();
  EXPECT_EQ(v->leader_id, 3u);
  EXPECT_TRUE(v->servers[2].is_leader);
  EXPECT_EQ(client->cached_view().leader_id, 3u);
}

INSTANTIATE_TEST_SUITE_P(Paths, ClientProduceTest, testing::ProducePaths(), testing::PathName);

}  // namespace
}  // namespace replog
