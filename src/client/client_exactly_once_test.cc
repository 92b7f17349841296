// Exactly-once produce (ClientOptions::exactly_once, producer_lanes.h)
// against the fake cluster's minimal dedup (fake_log_service.h), through both
// Produce and ProduceAsync: retries keep their producer id and sequence, the
// lanes advance, stay or retire as their calls end, and concurrent calls never
// share a lane.

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "client/client.h"
#include "client/client_test_util.h"
#include "client/fake_log_service.h"

namespace replog {
namespace {

using common::Code;
using common::Result;
using testing::FakeCluster;
using testing::FaultHint;
using testing::MustConnect;
using testing::Options;
using testing::ProduceFault;
using testing::ProduceSeen;
using testing::Values;

class ExactlyOnceTest : public testing::ProducePathTest {};

// The values of the fake's log, in order.
std::vector<std::string> LogValues(const FakeCluster& fake) {
  std::vector<std::string> out;
  for (const Record& r : fake.log()) out.push_back(r.value);
  return out;
}

// Every request of the log was sent by a producer, each one's requests in
// sequence order without a gap or a repeat (no retries happened).
void ExpectContiguousPerProducer(const std::vector<ProduceSeen>& log) {
  std::map<uint64_t, uint64_t> next;  // producer id -> expected sequence
  for (const ProduceSeen& r : log) {
    ASSERT_NE(r.producer_id, 0u);
    EXPECT_EQ(r.sequence, next[r.producer_id]) << "producer " << r.producer_id;
    next[r.producer_id] = r.sequence + r.records;
  }
}

TEST_P(ExactlyOnceTest, ARetryAfterAnUnknownOutcomeReturnsTheOriginalOffsets) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  // The leader commits, then the answer is lost.
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .append_first = true});
  auto r = Produce(*client, Values({"a", "b"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->retried_after_unknown_outcome);
  EXPECT_EQ(r->attempts, 2u);
  EXPECT_EQ(r->offsets, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(LogValues(fake), (std::vector<std::string>{"a", "b"}));
  std::vector<ProduceSeen> sent = fake.produce_log();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[0].producer_id, 0u);
  EXPECT_EQ(sent[1].producer_id, sent[0].producer_id);
  EXPECT_EQ(sent[0].sequence, 0u);
  EXPECT_EQ(sent[1].sequence, 0u);
  EXPECT_EQ(r->producer_id, sent[0].producer_id);
  EXPECT_EQ(r->sequence, 0u);

  // The lane advanced past both records and serves the next call.
  auto r2 = Produce(*client, Values({"c"}));
  ASSERT_TRUE(r2.has_value()) << r2.status().ToString();
  EXPECT_EQ(r2->offsets, std::vector<uint64_t>{3});
  EXPECT_EQ(r2->producer_id, sent[0].producer_id);
  EXPECT_EQ(r2->sequence, 2u);
}

TEST_P(ExactlyOnceTest, ARetryOnANewLeaderKeepsTheProducerAndSequence) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  // Member 1 commits, then its connection breaks (no metadata: unknown);
  // meanwhile member 2 has become the leader.
  fake.AddProduceFault(1, ProduceFault{.append_first = true, .hint = FaultHint::kNone});
  fake.SetLeader(2);
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->retried_after_unknown_outcome);
  EXPECT_EQ(r->leader_address, fake.address(2));
  EXPECT_EQ(r->offsets, std::vector<uint64_t>{1});
  EXPECT_EQ(LogValues(fake), std::vector<std::string>{"a"});
  std::vector<ProduceSeen> sent = fake.produce_log();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent.front().member, 1u);
  EXPECT_EQ(sent.back().member, 2u);
  for (const ProduceSeen& s : sent) {
    EXPECT_EQ(s.producer_id, sent.front().producer_id);
    EXPECT_EQ(s.sequence, 0u);
  }
}

TEST_P(ExactlyOnceTest, ACallThatEndsUnknownRetiresItsLane) {
  FakeCluster fake(3);
  common::ManualClock clock;
  ClientOptions o = Options(fake.addresses(), &clock);
  o.deadline_ms = 1000;
  auto client = MustConnect(o);
  // The first attempt commits and every answer is lost until the deadline.
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .append_first = true});
  for (int i = 0; i < 100; i++) fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED});
  auto r = Produce(*client, Values({"a"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded);
  const uint64_t retired = fake.produce_log().front().producer_id;

  fake.SetLeader(2);  // away from the scripted faults
  auto r2 = Produce(*client, Values({"b"}));
  ASSERT_TRUE(r2.has_value()) << r2.status().ToString();
  EXPECT_NE(r2->producer_id, retired);
  EXPECT_EQ(r2->sequence, 0u);
  EXPECT_EQ(LogValues(fake), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(fake.refused_sequences(), 0u);
}

TEST_P(ExactlyOnceTest, ACallThatStoredNothingLeavesItsLaneAsItWas) {
  FakeCluster fake(3);
  common::ManualClock clock;
  ClientOptions o = Options(fake.addresses(), &clock);
  o.deadline_ms = 1000;
  auto client = MustConnect(o);
  ASSERT_TRUE(Produce(*client, Values({"a"})).has_value());
  fake.SetLeader(0);  // every attempt is answered "no leader": not applied
  auto r = Produce(*client, Values({"b"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().ToString();
  fake.SetLeader(1);
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::ABORTED});
  auto r2 = Produce(*client, Values({"c"}));
  ASSERT_TRUE(r2.has_value()) << r2.status().ToString();
  EXPECT_FALSE(r2->retried_after_unknown_outcome);
  EXPECT_EQ(r2->sequence, 1u);  // "b" never took sequence 1, nor did the aborted attempt
  EXPECT_EQ(r2->offsets, std::vector<uint64_t>{2});
  std::set<uint64_t> ids;
  for (const ProduceSeen& s : fake.produce_log()) ids.insert(s.producer_id);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(fake.refused_sequences(), 0u);
}

TEST_P(ExactlyOnceTest, ADuplicateWhoseOffsetsAreForgottenIsAlreadyExists) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  fake.set_remember_offsets(false);
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .append_first = true});
  auto r = Produce(*client, Values({"a", "b"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kAlreadyExists);
  EXPECT_NE(r.error().message().find("in the log exactly once"), std::string::npos) << r.error().message();
  EXPECT_EQ(LogValues(fake), (std::vector<std::string>{"a", "b"}));
  // The records are stored: the lane moved past them.
  auto r2 = Produce(*client, Values({"c"}));
  ASSERT_TRUE(r2.has_value()) << r2.status().ToString();
  EXPECT_EQ(r2->sequence, 2u);
  EXPECT_EQ(r2->producer_id, fake.produce_log().front().producer_id);
}

TEST_P(ExactlyOnceTest, AForgottenProducerGoesOnWithANewLane) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  fake.ForgetProducers();  // the server evicted it: sequence 1 is refused
  auto r2 = Produce(*client, Values({"b"}));
  ASSERT_TRUE(r2.has_value()) << r2.status().ToString();
  EXPECT_EQ(fake.refused_sequences(), 1u);
  EXPECT_EQ(r2->attempts, 2u);
  EXPECT_NE(r2->producer_id, r->producer_id);
  EXPECT_EQ(r2->sequence, 0u);
  EXPECT_EQ(LogValues(fake), (std::vector<std::string>{"a", "b"}));
}

TEST_P(ExactlyOnceTest, ARefusalAfterAnUnknownOutcomeStaysUnknown) {
  FakeCluster fake(3);
  common::ManualClock clock;
  auto client = MustConnect(Options(fake.addresses(), &clock));
  ASSERT_TRUE(Produce(*client, Values({"a"})).has_value());
  fake.ForgetProducers();
  // Unknown first (nothing stored here, but the client cannot know), then
  // the retry is refused: whether the first attempt stored the records
  // cannot be told.
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED});
  auto r = Produce(*client, Values({"b"}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded) << r.error().ToString();
  EXPECT_NE(r.error().message().find("outcome unknown"), std::string::npos) << r.error().message();
}

TEST_P(ExactlyOnceTest, OffSendsNoProducerId) {
  FakeCluster fake(3);
  common::ManualClock clock;
  ClientOptions o = Options(fake.addresses(), &clock);
  o.exactly_once = false;
  auto client = MustConnect(o);
  auto r = Produce(*client, Values({"a"}));
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->producer_id, 0u);
  for (const ProduceSeen& s : fake.produce_log()) {
    EXPECT_EQ(s.producer_id, 0u);
    EXPECT_EQ(s.sequence, 0u);
  }
}

TEST(ExactlyOnceConcurrencyTest, ProducesFromManyThreadsUseDistinctLanesWithoutGaps) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<common::Status> errors;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; i++) {
        auto r = client->Produce(Values({"x", "y"}));
        std::lock_guard lock(mu);
        if (!r.has_value()) errors.push_back(r.error());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const common::Status& e : errors) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(fake.refused_sequences(), 0u);
  EXPECT_EQ(fake.log().size(), static_cast<size_t>(2 * kThreads * kEach));
  std::vector<ProduceSeen> sent = fake.produce_log();
  EXPECT_EQ(sent.size(), static_cast<size_t>(kThreads * kEach));
  ExpectContiguousPerProducer(sent);
  std::set<uint64_t> ids;
  for (const ProduceSeen& s : sent) ids.insert(s.producer_id);
  EXPECT_LE(ids.size(), static_cast<size_t>(kThreads));  // no more lanes than calls at once
}

TEST(ExactlyOnceConcurrencyTest, ProduceAsyncCallsInFlightUseDistinctLanesWithoutGaps) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  constexpr int kInFlight = 32;
  constexpr int kRounds = 3;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<common::Status> errors;
  for (int round = 0; round < kRounds; round++) {
    for (int i = 0; i < kInFlight; i++) {
      client->ProduceAsync(Values({"v"}), [&](Result<ProduceResult> r) {
        std::lock_guard lock(mu);
        if (!r.has_value()) errors.push_back(r.error());
        done++;
        cv.notify_all();
      });
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done == (round + 1) * kInFlight; });
  }
  for (const common::Status& e : errors) ADD_FAILURE() << e.ToString();
  EXPECT_EQ(fake.refused_sequences(), 0u);
  EXPECT_EQ(fake.log().size(), static_cast<size_t>(kInFlight * kRounds));
  std::vector<ProduceSeen> sent = fake.produce_log();
  ExpectContiguousPerProducer(sent);
  std::set<uint64_t> ids;
  for (const ProduceSeen& s : sent) ids.insert(s.producer_id);
  // Later rounds reuse the first round's lanes.
  EXPECT_LE(ids.size(), static_cast<size_t>(kInFlight));
}

INSTANTIATE_TEST_SUITE_P(Paths, ExactlyOnceTest, testing::ProducePaths(), testing::PathName);

}  // namespace
}  // namespace replog
