// replog::KvClient against a fake replog.v1.KV cluster on real gRPC servers
// (fake_kv_service.h): the KV leader learned from hints, exactly-once
// sessions and lanes, reads spread over the members, errors.

#include "client/kv_client.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <utility>

#include "client/fake_kv_service.h"
#include "client/kv_client_test_util.h"

namespace replog {
namespace {

using common::Code;
using testing::FakeKvCluster;
using testing::FaultHint;
using testing::KvWriteFault;
using testing::KvWriteSeen;
using testing::MustConnect;
using testing::Options;

TEST(KvClientTest, ConnectLearnsEveryMemberFromOne) {
  FakeKvCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 3, &clock));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->member_addresses(), fake.addresses());
  EXPECT_EQ(client->kv_leader_address(), "");  // the log's leader is not taken for the KV group's
}

TEST(KvClientTest, ConnectRejectsOptionsWithoutAddresses) {
  auto c = KvClient::Connect(KvClientOptions{});
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code(), Code::kInvalidArgument);
}

TEST(KvClientTest, WriteFollowsTheKvLeaderHintAndRemembersIt) {
  FakeKvCluster fake(3);
  fake.SetLogLeader(1);
  fake.SetKvLeader(2);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto r = client->Put("k", "v1");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->write.leader_address, fake.address(2));
  EXPECT_EQ(client->kv_leader_address(), fake.address(2));
  EXPECT_EQ(fake.writes(2), 1u);
  std::vector<KvWriteSeen> log = fake.write_log();
  ASSERT_EQ(log.size(), 2u);  // member 1 (the log's leader) refused it with the hint, member 2 took it
  EXPECT_EQ(log[0].member, 1u);
  EXPECT_EQ(log[1].member, 2u);
  EXPECT_EQ(log[1].client_id, log[0].client_id);  // one write: one session for every attempt
  EXPECT_EQ(log[1].sequence, log[0].sequence);

  auto again = client->Put("k", "v2");
  ASSERT_TRUE(again.has_value()) << again.status().ToString();
  EXPECT_EQ(again->write.attempts, 1u);  // straight to the leader it learned
  ASSERT_TRUE(again->previous.has_value());
  EXPECT_EQ(again->previous->value, "v1");
  EXPECT_EQ(again->revision, r->revision + 1);
}

TEST(KvClientTest, RetryAfterUnknownOutcomeResendsTheSameSession) {
  FakeKvCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  ASSERT_TRUE(client->Put("warm", "up").has_value());  // learns the leader (1)
  fake.AddWriteFault(1, KvWriteFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .apply_first = true});
  auto r = client->Put("k", "v");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->write.retried_after_unknown_outcome);
  EXPECT_EQ(fake.applied(), 2u);  // warm-up and k, each once

  std::vector<KvWriteSeen> log = fake.write_log();
  ASSERT_GE(log.size(), 3u);
  const KvWriteSeen& lost = log[1];
  const KvWriteSeen& retry = log.back();
  EXPECT_NE(lost.client_id, 0u);
  EXPECT_EQ(retry.client_id, lost.client_id);
  EXPECT_EQ(retry.sequence, lost.sequence);
  EXPECT_EQ(r->write.sequence, lost.sequence);
}

TEST(KvClientTest, SequentialWritesAdvanceOneSession) {
  FakeKvCluster fake(1);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto a = client->Put("a", "1");
  auto b = client->Delete("a");
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(b->write.client_id, a->write.client_id);
  EXPECT_EQ(a->write.sequence, 0u);
  EXPECT_EQ(b->write.sequence, 1u);
  EXPECT_TRUE(b->deleted);
}

TEST(KvClientTest, ASessionTheServerForgotIsRenewedOnce) {
  FakeKvCluster fake(1);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto first = client->Put("a", "1");
  ASSERT_TRUE(first.has_value());
  fake.ForgetSessions();
  auto second = client->Put("a", "2");  // sequence 1 of a client the server no longer knows
  ASSERT_TRUE(second.has_value()) << second.status().ToString();
  EXPECT_NE(second->write.client_id, first->write.client_id);
  EXPECT_EQ(second->write.sequence, 0u);
  EXPECT_EQ(second->write.attempts, 2u);
  EXPECT_EQ(fake.applied(), 2u);
}

TEST(KvClientTest, WithoutExactlyOnceWritesCarryNoSession) {
  FakeKvCluster fake(1);
  common::ManualClock clock;
  KvClientOptions o = Options(fake, 1, &clock);
  o.exactly_once = false;
  auto client = MustConnect(o);
  ASSERT_TRUE(client->Put("a", "1").has_value());
  EXPECT_EQ(fake.write_log().back().client_id, 0u);
}

TEST(KvClientTest, ConcurrentWritesUseDistinctLanesWithoutGaps) {
  FakeKvCluster fake(3);
  KvClientOptions o;
  o.bootstrap_addresses = fake.addresses();
  auto client = MustConnect(o);
  constexpr int kThreads = 8;
  constexpr int kWrites = 20;
  std::vector<std::thread> threads;
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> sessions(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; i++) {
        auto r = client->Put("k" + std::to_string(t), std::to_string(i));
        ASSERT_TRUE(r.has_value()) << r.status().ToString();
        sessions[t].emplace_back(r->write.client_id, r->write.sequence);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  std::set<std::pair<uint64_t, uint64_t>> all;
  for (const auto& s : sessions) all.insert(s.begin(), s.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kWrites));  // no (client, sequence) twice
  EXPECT_EQ(fake.applied(), static_cast<uint64_t>(kThreads * kWrites));  // none refused out of order
}

TEST(KvClientTest, InvalidArgumentIsFinalAndNamesTheMember) {
  FakeKvCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto r = client->Put("", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(r.error().message().find("put to " + fake.address(1)), std::string::npos) << r.error().message();
  EXPECT_EQ(fake.writes(1), 1u);
  // The lane was not used up: the next write reuses its sequence.
  auto next = client->Put("k", "v");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->write.sequence, 0u);
}

TEST(KvClientTest, NoLeaderGivesUpUnavailableAfterTryingEveryMember) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(0);
  common::ManualClock clock;
  KvClientOptions o = Options(fake, 1, &clock);
  o.deadline_ms = 500;
  auto client = MustConnect(o);
  auto r = client->Delete("k");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().ToString();
  for (uint64_t id = 1; id <= 3; id++) EXPECT_GE(fake.writes(id), 1u) << "member " << id;
}

TEST(KvClientTest, UnknownOutcomeAtTheDeadlineIsDeadlineExceeded) {
  FakeKvCluster fake(1);
  common::ManualClock clock;
  KvClientOptions o = Options(fake, 1, &clock);
  o.deadline_ms = 300;
  auto client = MustConnect(o);
  fake.AddWriteFault(1, KvWriteFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED});
  fake.SetKvLeader(0);  // after the unknown attempt, no leader
  auto r = client->Put("k", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded) << r.error().ToString();
  EXPECT_NE(r.error().message().find("outcome unknown"), std::string::npos);
  // The lane was retired: the next write has a new client id at sequence 0.
  fake.SetKvLeader(1);
  auto next = client->Put("k", "v");
  ASSERT_TRUE(next.has_value()) << next.status().ToString();
  EXPECT_NE(next->write.client_id, fake.write_log().front().client_id);
  EXPECT_EQ(next->write.sequence, 0u);
}

TEST(KvClientTest, CompareAndSetOnValueRevisionAndAbsence) {
  FakeKvCluster fake(1);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto created = client->CompareAndSet("k", KvCompare::Absent(), KvSwap::Put("a"));
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(created->succeeded);
  auto refused = client->CompareAndSet("k", KvCompare::Value("zzz"), KvSwap::Put("b"));
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->succeeded);
  ASSERT_TRUE(refused->current.has_value());
  EXPECT_EQ(refused->current->value, "a");
  EXPECT_EQ(refused->current->mod_revision, created->revision);
  auto deleted = client->CompareAndSet("k", KvCompare::ModRevision(created->revision), KvSwap::Delete());
  ASSERT_TRUE(deleted.has_value());
  EXPECT_TRUE(deleted->succeeded);
  EXPECT_TRUE(fake.data().empty());
}

TEST(KvClientTest, ReadsGoRoundRobinOverEveryMember) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(2);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  ASSERT_TRUE(client->Put("k", "v").has_value());
  for (int i = 0; i < 6; i++) {
    auto g = client->Get("k", i % 2 == 0 ? ReadConsistency::kLinearizable : ReadConsistency::kLocal);
    ASSERT_TRUE(g.has_value()) << g.status().ToString();
    EXPECT_TRUE(g->found);
    EXPECT_EQ(g->kv.value, "v");
  }
  for (uint64_t id = 1; id <= 3; id++) EXPECT_EQ(fake.reads(id), 2u) << "member " << id;
}

TEST(KvClientTest, ReadsFromTheLeaderGoToTheKvLeaderAndFromFollowersAvoidIt) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(2);  // the log group's leader stays member 1
  common::ManualClock clock;
  KvClientOptions o = Options(fake, 1, &clock);
  o.read_from = ReadFrom::kLeader;
  auto leader_reader = MustConnect(o);
  // No KV leader known yet: round robin.
  for (int i = 0; i < 3; i++) ASSERT_TRUE(leader_reader->Get("k").has_value());
  for (uint64_t id = 1; id <= 3; id++) EXPECT_EQ(fake.reads(id), 1u) << "member " << id;
  ASSERT_TRUE(leader_reader->Put("k", "v").has_value());  // learns the KV leader
  for (int i = 0; i < 4; i++) {
    auto g = leader_reader->Get("k");
    ASSERT_TRUE(g.has_value()) << g.status().ToString();
    EXPECT_EQ(g->served_by, fake.address(2));
  }
  EXPECT_EQ(fake.reads(2), 5u);
  // Refused there, it goes on to another member.
  fake.AddReadFault(2, grpc::StatusCode::UNAVAILABLE);
  auto moved = leader_reader->Get("k");
  ASSERT_TRUE(moved.has_value()) << moved.status().ToString();
  EXPECT_NE(moved->served_by, fake.address(2));

  o.read_from = ReadFrom::kFollower;
  auto follower_reader = MustConnect(o);
  ASSERT_TRUE(follower_reader->Put("k2", "v").has_value());
  for (int i = 0; i < 4; i++) {
    auto g = follower_reader->Get("k2");
    ASSERT_TRUE(g.has_value()) << g.status().ToString();
    EXPECT_NE(g->served_by, fake.address(2));
  }
}

TEST(KvClientTest, ReadRetriesOnAnotherMemberAfterUnavailable) {
  FakeKvCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  for (uint64_t id = 1; id <= 3; id++) fake.AddReadFault(id, grpc::StatusCode::UNAVAILABLE);
  auto g = client->Get("k");
  ASSERT_TRUE(g.has_value()) << g.status().ToString();
  EXPECT_FALSE(g->found);
  EXPECT_EQ(fake.reads(1) + fake.reads(2) + fake.reads(3), 4u);  // three refused, then one served
}

TEST(KvClientTest, ReadInvalidArgumentIsFinalAndNamesTheMember) {
  FakeKvCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto g = client->Get("");
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code(), Code::kInvalidArgument);
  EXPECT_EQ(fake.reads(1) + fake.reads(2) + fake.reads(3), 1u);
  bool names_member = false;
  for (const std::string& a : fake.addresses()) {
    names_member |= g.error().message().find("get from " + a) != std::string::npos;
  }
  EXPECT_TRUE(names_member) << g.error().message();
}

TEST(KvClientTest, ScanByPrefixAndRangeWithLimitAndKeysOnly) {
  FakeKvCluster fake(1);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  for (const char* k : {"a/1", "a/2", "a/3", "b/1"}) ASSERT_TRUE(client->Put(k, "v").has_value());
  auto p = client->Scan(ScanOptions{.prefix = "a/", .limit = 2, .keys_only = true});
  ASSERT_TRUE(p.has_value()) << p.status().ToString();
  ASSERT_EQ(p->kvs.size(), 2u);
  EXPECT_EQ(p->kvs[1].key, "a/2");
  EXPECT_EQ(p->kvs[1].value, "");
  EXPECT_TRUE(p->more);
  auto r = client->Scan(ScanOptions{.start = "a/3", .end = "b/1"});
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->kvs.size(), 1u);
  EXPECT_EQ(r->kvs[0].key, "a/3");
  EXPECT_EQ(r->kvs[0].value, "v");
  EXPECT_FALSE(r->more);
  EXPECT_EQ(r->revision, 4u);
}

TEST(KvClientTest, StatusAsksOneMember) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake, 1, &clock));
  auto st = client->Status(fake.address(2));
  ASSERT_TRUE(st.has_value()) << st.status().ToString();
  EXPECT_EQ(st->member_id, 2u);
  EXPECT_EQ(st->leader_id, 3u);
  EXPECT_EQ(st->voters, (std::vector<uint64_t>{1, 2, 3}));
  fake.Stop(1);
  auto down = client->Status(fake.address(1));
  ASSERT_FALSE(down.has_value());
  EXPECT_NE(down.error().message().find(fake.address(1)), std::string::npos);
}

}  // namespace
}  // namespace replog
