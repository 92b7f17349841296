// Client::ProduceAsync against a fake replog.v1.Log cluster on real gRPC
// servers (fake_log_service.h), on streams and on unary calls: its callback
// contract, many calls at once, and ~Client with calls in flight. The retry rules it shares with Produce
// are tested through both in client_test.cc (ClientProduceTest).

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <optional>
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
using testing::MustConnect;
using testing::ProduceFault;
using testing::ProducePath;
using testing::Values;

// Each test runs with ProduceAsync on streams and on unary calls.
class ClientAsyncTest : public testing::ProducePathTest {};

// What the callbacks of one or more ProduceAsync calls received.
class Outcomes {
 public:
  // A callback for call number `i` (0-based) of `n` expected.
  explicit Outcomes(size_t n = 1) : results_(n), calls_(n) {}

  ProduceCallback Callback(size_t i = 0) {
    return [this, i](Result<ProduceResult> r) {
      std::lock_guard lock(mu_);
      if (calls_[i]++ == 0) {
        results_[i].emplace(std::move(r));
        done_++;
      }
      cv_.notify_all();
    };
  }
  // Waits until every call's callback ran once.
  void WaitAll() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_ == results_.size(); });
  }
  Result<ProduceResult> Wait(size_t i = 0) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return results_[i].has_value(); });
    return *results_[i];
  }
  // Results so far (nullopt: callback not run yet) and call counts.
  std::optional<Result<ProduceResult>> result(size_t i) {
    std::lock_guard lock(mu_);
    return results_[i];
  }
  int calls(size_t i) {
    std::lock_guard lock(mu_);
    return calls_[i];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::optional<Result<ProduceResult>>> results_;
  std::vector<int> calls_;
  size_t done_ = 0;
};

TEST_P(ClientAsyncTest, ProduceAsyncOfNoRecordsIsInvalidAndCallsBackOnAnotherThread) {
  FakeCluster fake(1);
  auto client = MustConnect(Options(fake.addresses()));
  std::thread::id callback_thread;
  Outcomes out;
  ProduceCallback inner = out.Callback();
  client->ProduceAsync({}, [&](Result<ProduceResult> r) {
    callback_thread = std::this_thread::get_id();
    inner(std::move(r));
  });
  auto r = out.Wait();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(callback_thread, std::this_thread::get_id());  // not from inside ProduceAsync
  EXPECT_EQ(fake.produces(1), 0u);
}

TEST_P(ClientAsyncTest, ManyConcurrentProduceAsyncCallsCompleteEachExactlyOnce) {
  FakeCluster fake(3);
  auto client = MustConnect(Options({fake.address(3)}));
  constexpr size_t kCalls = 500;
  Outcomes out(kCalls);
  for (size_t i = 0; i < kCalls; i++) client->ProduceAsync(Values({"x"}), out.Callback(i));
  out.WaitAll();
  std::set<uint64_t> offsets;
  for (size_t i = 0; i < kCalls; i++) {
    std::optional<Result<ProduceResult>> r = out.result(i);
    ASSERT_TRUE(r.has_value() && r->has_value()) << i;
    offsets.insert((*r)->offsets.at(0));
  }
  EXPECT_EQ(offsets.size(), kCalls);
  EXPECT_EQ(fake.log().size(), kCalls);
  client.reset();  // nothing left to wait for
  for (size_t i = 0; i < kCalls; i++) EXPECT_EQ(out.calls(i), 1) << i;
}

TEST_P(ClientAsyncTest, CallbacksCanIssueTheNextCallInAClosedLoop) {
  FakeCluster fake(3);
  auto client = MustConnect(Options(fake.addresses()));
  constexpr int kChain = 50;
  std::mutex mu;
  std::condition_variable cv;
  int ok = 0;
  std::function<void(Result<ProduceResult>)> next = [&](Result<ProduceResult> r) {
    std::lock_guard lock(mu);
    if (r.has_value()) ok++;
    if (ok < kChain && r.has_value()) client->ProduceAsync(Values({"x"}), next);
    cv.notify_all();
  };
  client->ProduceAsync(Values({"x"}), next);
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return ok == kChain; });
  EXPECT_EQ(fake.log().size(), static_cast<size_t>(kChain));
}

TEST_P(ClientAsyncTest, DestructorCancelsWaitingCallsAndWaitsForTheirCallbacks) {
  FakeCluster fake(3);
  ClientOptions o = Options(fake.addresses());
  o.deadline_ms = 60'000;  // the calls would back off for a minute
  auto client = MustConnect(o);
  fake.SetLeader(0);
  constexpr size_t kCalls = 20;
  Outcomes out(kCalls);
  for (size_t i = 0; i < kCalls; i++) client->ProduceAsync(Values({"x"}), out.Callback(i));
  client.reset();
  for (size_t i = 0; i < kCalls; i++) {
    ASSERT_EQ(out.calls(i), 1) << i;  // ran, once, before ~Client returned
    std::optional<Result<ProduceResult>> r = out.result(i);
    ASSERT_FALSE(r->has_value());
    EXPECT_EQ(r->error().code(), Code::kCancelled) << r->error().ToString();
  }
  EXPECT_TRUE(fake.log().empty());
}

TEST_P(ClientAsyncTest, DestructorCancelsAnRpcInFlightAsOutcomeUnknown) {
  FakeCluster fake(3);
  ClientOptions o = Options(fake.addresses());
  o.deadline_ms = 60'000;
  o.attempt_timeout_ms = 60'000;
  auto client = MustConnect(o);
  fake.AddProduceFault(1, ProduceFault{.code = grpc::StatusCode::CANCELLED, .hold = true});
  Outcomes out;
  client->ProduceAsync(Values({"x"}), out.Callback());
  fake.WaitForProduces(1, 1);  // the leader holds it
  client.reset();
  ASSERT_EQ(out.calls(0), 1);
  std::optional<Result<ProduceResult>> r = out.result(0);
  ASSERT_FALSE(r->has_value());
  EXPECT_EQ(r->error().code(), Code::kCancelled);
  EXPECT_NE(r->error().message().find("may have been committed"), std::string::npos) << r->error().message();
}

INSTANTIATE_TEST_SUITE_P(Paths, ClientAsyncTest, ::testing::Values(ProducePath::kAsync, ProducePath::kAsyncUnary),
                         testing::PathName);

}  // namespace
}  // namespace replog
