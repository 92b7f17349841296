// ProduceStreams against a fake replog.v1.Log cluster on real gRPC servers
// (fake_log_service.h): attempts in flight share one stream per member; an
// answer, a timeout, a broken or failed stream, a member that cannot be
// reached and Close() each end an attempt once, with the class the retry
// rules need.

#include "client/produce_streams.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <vector>

#include "client/fake_log_service.h"
#include "client/members.h"

namespace replog {
namespace {

using testing::FakeCluster;
using testing::FaultHint;
using testing::ProduceFault;

constexpr int64_t kSecond = 1'000'000'000;

v1::ProduceRequest Request(const std::string& value) {
  v1::ProduceRequest req;
  req.add_records()->set_value(value);
  return req;
}

// The attempts' outcomes, in the order they came. Declared before the
// ProduceStreams that calls back into it: ~ProduceStreams waits for its
// callbacks.
class Attempts {
 public:
  ProduceStreams::Done Callback() {
    return [this](ProduceAttempt a) {
      std::lock_guard lock(mu_);
      got_.push_back(std::move(a));
      cv_.notify_all();
    };
  }
  std::vector<ProduceAttempt> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return got_.size() >= n; });
    return got_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return got_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ProduceAttempt> got_;
};

Members MembersOf(const FakeCluster& fake) { return Members(fake.addresses(), 64 << 20, 0, nullptr); }

TEST(ProduceStreamsTest, AttemptsInFlightShareOneStreamAndGetTheirOwnOffsets) {
  FakeCluster fake(3);
  Members members = MembersOf(fake);
  Attempts attempts;
  ProduceStreams streams(members);
  constexpr size_t kAttempts = 200;
  for (size_t i = 0; i < kAttempts; i++) {
    ASSERT_TRUE(streams.Send(fake.address(1), Request("v" + std::to_string(i)), 10 * kSecond, attempts.Callback()));
  }
  std::set<uint64_t> offsets;
  for (const ProduceAttempt& a : attempts.WaitFor(kAttempts)) {
    ASSERT_EQ(a.cls, AttemptClass::kOk) << a.status.ToString();
    ASSERT_EQ(a.response.offsets_size(), 1);
    offsets.insert(a.response.offsets(0));
  }
  EXPECT_EQ(offsets.size(), kAttempts);  // each its own offset
  EXPECT_EQ(fake.log().size(), kAttempts);
  EXPECT_EQ(streams.opened(), 1u);
}

TEST(ProduceStreamsTest, AMemberThatIsNotTheLeaderAnswersNotAppliedWithTheHint) {
  FakeCluster fake(3);
  Members members = MembersOf(fake);
  Attempts attempts;
  ProduceStreams streams(members);
  ASSERT_TRUE(streams.Send(fake.address(2), Request("x"), 10 * kSecond, attempts.Callback()));
  const ProduceAttempt a = attempts.WaitFor(1)[0];
  EXPECT_EQ(a.cls, AttemptClass::kNotApplied) << a.status.ToString();
  EXPECT_EQ(a.status.code(), common::Code::kUnavailable);
  EXPECT_TRUE(a.hint.from_member);
  EXPECT_EQ(a.hint.id, 1u);
  EXPECT_EQ(a.hint.address, fake.address(1));
  EXPECT_EQ(a.address, fake.address(2));
}

TEST(ProduceStreamsTest, AnAttemptWithoutAnAnswerTimesOutUnknownAndTheStreamGoesOn) {
  FakeCluster fake(3);
  Members members = MembersOf(fake);
  Attempts held;
  Attempts next;
  ProduceStreams streams(members);
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::OK, .hold = true});
  ASSERT_TRUE(streams.Send(fake.address(1), Request("held"), kSecond / 5, held.Callback()));
  ASSERT_TRUE(streams.Send(fake.address(1), Request("next"), 10 * kSecond, next.Callback()));
  EXPECT_EQ(next.WaitFor(1)[0].cls, AttemptClass::kOk);  // not behind the held one
  const ProduceAttempt a = held.WaitFor(1)[0];
  EXPECT_EQ(a.cls, AttemptClass::kUnknown);
  EXPECT_EQ(a.status.code(), common::Code::kDeadlineExceeded) << a.status.ToString();
  EXPECT_EQ(streams.opened(), 1u);
}

TEST(ProduceStreamsTest, ABrokenStreamEndsItsAttemptsUnknownAndTheNextSendOpensAnother) {
  FakeCluster fake(3);
  Members members = MembersOf(fake);
  Attempts attempts;
  Attempts again;
  ProduceStreams streams(members);
  // An answer without our metadata ends the fake's stream, as a broken
  // connection would, after the request reached the member.
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::UNAVAILABLE, .hint = FaultHint::kNone});
  ASSERT_TRUE(streams.Send(fake.address(1), Request("x"), 10 * kSecond, attempts.Callback()));
  const ProduceAttempt a = attempts.WaitFor(1)[0];
  EXPECT_EQ(a.cls, AttemptClass::kUnknown) << a.status.ToString();
  EXPECT_EQ(a.status.code(), common::Code::kUnavailable);
  EXPECT_FALSE(a.hint.from_member);

  ASSERT_TRUE(streams.Send(fake.address(1), Request("y"), 10 * kSecond, again.Callback()));
  EXPECT_EQ(again.WaitFor(1)[0].cls, AttemptClass::kOk);
  EXPECT_EQ(streams.opened(), 2u);
}

TEST(ProduceStreamsTest, AStreamEndedByGrpcLeavesEveryWrittenAttemptUnknown) {
  FakeCluster fake(3);
  Members members = MembersOf(fake);
  Attempts held;
  Attempts last;
  ProduceStreams streams(members);
  // The member holds the first request; the second ends the stream with a
  // code of gRPC's (as a message over a limit would): the member may have
  // committed the first, so neither may be called final or not applied.
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::OK, .hold = true});
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::RESOURCE_EXHAUSTED, .end_stream = true});
  ASSERT_TRUE(streams.Send(fake.address(1), Request("held"), 60 * kSecond, held.Callback()));
  fake.WaitForProduces(1, 1);
  ASSERT_TRUE(streams.Send(fake.address(1), Request("last"), 60 * kSecond, last.Callback()));
  for (const ProduceAttempt& a : {held.WaitFor(1)[0], last.WaitFor(1)[0]}) {
    EXPECT_EQ(a.cls, AttemptClass::kUnknown) << a.status.ToString();
    EXPECT_EQ(a.status.code(), common::Code::kResourceExhausted);
  }
}

TEST(ProduceStreamsTest, AnAttemptToAMemberThatCannotBeReachedIsNotApplied) {
  FakeCluster fake(1);
  Members members = MembersOf(fake);
  Attempts attempts;
  ProduceStreams streams(members);
  // Port 1 on loopback: nothing listens, the connection is refused.
  ASSERT_TRUE(streams.Send("127.0.0.1:1", Request("x"), 10 * kSecond, attempts.Callback()));
  const ProduceAttempt a = attempts.WaitFor(1)[0];
  EXPECT_EQ(a.cls, AttemptClass::kNotApplied) << a.status.ToString();
  EXPECT_EQ(a.status.code(), common::Code::kUnavailable);
}

TEST(ProduceStreamsTest, CloseEndsPendingAttemptsAndRefusesNewOnes) {
  FakeCluster fake(3);
  Members members = MembersOf(fake);
  Attempts attempts;
  ProduceStreams streams(members);
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::OK, .hold = true});
  ASSERT_TRUE(streams.Send(fake.address(1), Request("x"), 60 * kSecond, attempts.Callback()));
  fake.WaitForProduces(1, 1);  // the member has it and holds it
  streams.Close();
  const ProduceAttempt a = attempts.WaitFor(1)[0];
  EXPECT_EQ(a.cls, AttemptClass::kUnknown) << a.status.ToString();
  EXPECT_EQ(a.status.code(), common::Code::kCancelled);
  EXPECT_FALSE(streams.Send(fake.address(1), Request("y"), kSecond, attempts.Callback()));
  EXPECT_EQ(attempts.count(), 1u);
}

}  // namespace
}  // namespace replog
