// KvClient::PutAsync and GetAsync against a fake replog.v1.KV cluster on
// real gRPC servers (fake_kv_service.h). The rules they share with Put and
// Get (kv_retry.h) run through both paths (KvPathTest); then the callback
// contract, many calls at once, and ~KvClient with calls in flight.

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "client/fake_kv_service.h"
#include "client/kv_client.h"
#include "client/kv_client_test_util.h"

namespace replog {
namespace {

using common::Code;
using common::Result;
using testing::FakeKvCluster;
using testing::FaultHint;
using testing::KvWriteFault;
using testing::KvWriteSeen;
using testing::MustConnect;
using testing::Options;

// The ways to put and get, which follow the same rules: blocking calls, and
// asynchronous ones whose attempts ride a write or read stream (the
// default) or make a call each.
enum class KvPath { kSync, kAsync, kAsyncUnary };

std::string PathName(const ::testing::TestParamInfo<KvPath>& info) {
  switch (info.param) {
    case KvPath::kSync: return "Blocking";
    case KvPath::kAsync: return "Async";
    case KvPath::kAsyncUnary: return "AsyncUnary";
  }
  return "?";
}

// The result an asynchronous call hands its callback, waited for. A second
// call of the callback fails the test (the promise throws).
template <typename T>
class Awaited {
 public:
  std::function<void(Result<T>)> Callback() {
    return [p = promise_](Result<T> r) { p->set_value(std::move(r)); };
  }
  Result<T> Get() { return future_.get(); }

 private:
  std::shared_ptr<std::promise<Result<T>>> promise_ = std::make_shared<std::promise<Result<T>>>();
  std::future<Result<T>> future_ = promise_->get_future();
};

class KvPathTest : public ::testing::TestWithParam<KvPath> {
 protected:
  // testing::Options, with the path's kind of asynchronous writes and reads.
  KvClientOptions PathOptions(const FakeKvCluster& fake, uint64_t first) {
    KvClientOptions o = Options(fake, first, &clock_);
    o.pipelined_writes = GetParam() != KvPath::kAsyncUnary;
    o.pipelined_reads = GetParam() != KvPath::kAsyncUnary;
    return o;
  }
  // The reads `fake` received on streams: every one on the kAsync path, none
  // on the others.
  void ExpectReadsStreamedOnlyOnStreams(const FakeKvCluster& fake, int members) {
    uint64_t reads = 0;
    uint64_t streamed = 0;
    for (int id = 1; id <= members; id++) {
      reads += fake.reads(id);
      streamed += fake.streamed_reads(id);
    }
    EXPECT_GT(reads, 0u);
    EXPECT_EQ(streamed, GetParam() == KvPath::kAsync ? reads : 0u);
  }
  Result<PutResult> Put(KvClient& client, const std::string& key, const std::string& value) {
    if (GetParam() == KvPath::kSync) return client.Put(key, value);
    Awaited<PutResult> out;
    client.PutAsync(key, value, out.Callback());
    return out.Get();
  }
  Result<GetResult> Get(KvClient& client, const std::string& key,
                        ReadConsistency consistency = ReadConsistency::kLinearizable) {
    if (GetParam() == KvPath::kSync) return client.Get(key, consistency);
    Awaited<GetResult> out;
    client.GetAsync(key, consistency, out.Callback());
    return out.Get();
  }

  common::ManualClock clock_;  // backoff costs no real time
};

INSTANTIATE_TEST_SUITE_P(BlockingAndAsync, KvPathTest,
                         ::testing::Values(KvPath::kSync, KvPath::kAsync, KvPath::kAsyncUnary), PathName);

TEST_P(KvPathTest, PutThenGetReturnTheValue) {
  FakeKvCluster fake(3);
  auto client = MustConnect(PathOptions(fake, 1));
  auto put = Put(*client, "k", "v");
  ASSERT_TRUE(put.has_value()) << put.status().ToString();
  EXPECT_EQ(put->revision, 1u);
  EXPECT_EQ(put->write.attempts, 1u);
  EXPECT_EQ(put->write.leader_address, fake.address(1));
  for (ReadConsistency c : {ReadConsistency::kLinearizable, ReadConsistency::kLocal}) {
    auto get = Get(*client, "k", c);
    ASSERT_TRUE(get.has_value()) << get.status().ToString();
    EXPECT_TRUE(get->found);
    EXPECT_EQ(get->kv.value, "v");
    EXPECT_EQ(get->kv.mod_revision, put->revision);
    EXPECT_FALSE(get->served_by.empty());
  }
  auto absent = Get(*client, "nope");
  ASSERT_TRUE(absent.has_value()) << absent.status().ToString();
  EXPECT_FALSE(absent->found);
  ExpectReadsStreamedOnlyOnStreams(fake, 3);
}

TEST_P(KvPathTest, WriteFollowsTheNotLeaderHint) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(2);
  auto client = MustConnect(PathOptions(fake, 1));
  auto r = Put(*client, "k", "v");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_EQ(r->write.leader_address, fake.address(2));
  EXPECT_EQ(r->write.attempts, 2u);
  EXPECT_EQ(client->kv_leader_address(), fake.address(2));
  std::vector<KvWriteSeen> log = fake.write_log();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0].member, 1u);  // refused with the hint
  EXPECT_EQ(log[1].member, 2u);
  EXPECT_EQ(log[1].sequence, log[0].sequence);
  EXPECT_EQ(log[1].client_id, log[0].client_id);
}

TEST_P(KvPathTest, WriteRetriesAfterUnavailableFromALeaderlessMember) {
  FakeKvCluster fake(3);
  auto client = MustConnect(PathOptions(fake, 1));
  ASSERT_TRUE(Put(*client, "warm", "up").has_value());  // learns the leader (1)
  fake.AddWriteFault(1, KvWriteFault{.code = grpc::StatusCode::UNAVAILABLE, .hint = FaultHint::kLeaderless});
  auto r = Put(*client, "k", "v");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_GE(r->write.attempts, 2u);
  EXPECT_FALSE(r->write.retried_after_unknown_outcome);  // UNAVAILABLE: certainly not applied
  EXPECT_EQ(r->write.leader_address, fake.address(1));
  EXPECT_EQ(fake.applied(), 2u);
}

TEST_P(KvPathTest, ReadRetriesOnAnotherMemberAfterUnavailable) {
  FakeKvCluster fake(3);
  fake.Put("k", "v");
  auto client = MustConnect(PathOptions(fake, 1));
  for (uint64_t id = 1; id <= 3; id++) fake.AddReadFault(id, grpc::StatusCode::UNAVAILABLE);
  auto g = Get(*client, "k");
  ASSERT_TRUE(g.has_value()) << g.status().ToString();
  EXPECT_EQ(g->kv.value, "v");
  EXPECT_EQ(fake.reads(1) + fake.reads(2) + fake.reads(3), 4u);  // three refused, then one served after a rediscovery
  ExpectReadsStreamedOnlyOnStreams(fake, 3);
}

TEST_P(KvPathTest, UnknownOutcomeRetriesWithTheSameSession) {
  FakeKvCluster fake(3);
  auto client = MustConnect(PathOptions(fake, 1));
  ASSERT_TRUE(Put(*client, "warm", "up").has_value());
  fake.AddWriteFault(1, KvWriteFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED, .apply_first = true});
  auto r = Put(*client, "k", "v");
  ASSERT_TRUE(r.has_value()) << r.status().ToString();
  EXPECT_TRUE(r->write.retried_after_unknown_outcome);
  EXPECT_EQ(r->revision, 2u);     // the first application's answer
  EXPECT_EQ(fake.applied(), 2u);  // warm-up and k, each once
  std::vector<KvWriteSeen> log = fake.write_log();
  ASSERT_GE(log.size(), 3u);
  const KvWriteSeen& lost = log[1];
  EXPECT_NE(lost.client_id, 0u);
  EXPECT_EQ(log.back().client_id, lost.client_id);
  EXPECT_EQ(log.back().sequence, lost.sequence);
  EXPECT_EQ(r->write.sequence, lost.sequence);
}

TEST_P(KvPathTest, NoLeaderUntilTheDeadlineIsUnavailableSayingNotApplied) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(0);
  KvClientOptions o = PathOptions(fake, 1);
  o.deadline_ms = 300;
  auto client = MustConnect(o);
  auto r = Put(*client, "k", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message().find("put: no KV leader applied the write in time, it was not applied"),
            std::string::npos)
      << r.error().message();
  EXPECT_EQ(fake.applied(), 0u);
}

TEST_P(KvPathTest, UnknownOutcomeAtTheDeadlineIsDeadlineExceeded) {
  FakeKvCluster fake(1);
  KvClientOptions o = PathOptions(fake, 1);
  o.deadline_ms = 300;
  auto client = MustConnect(o);
  fake.AddWriteFault(1, KvWriteFault{.code = grpc::StatusCode::DEADLINE_EXCEEDED});
  fake.SetKvLeader(0);
  auto r = Put(*client, "k", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kDeadlineExceeded) << r.error().ToString();
  EXPECT_NE(r.error().message().find("put: outcome unknown, the write may have been applied"), std::string::npos)
      << r.error().message();
  // The lane was retired: the next write has a new client id at sequence 0.
  fake.SetKvLeader(1);
  auto next = Put(*client, "k", "v");
  ASSERT_TRUE(next.has_value()) << next.status().ToString();
  EXPECT_NE(next->write.client_id, fake.write_log().front().client_id);
  EXPECT_EQ(next->write.sequence, 0u);
}

TEST_P(KvPathTest, InvalidArgumentIsFinalAndKeepsTheLane) {
  FakeKvCluster fake(1);
  auto client = MustConnect(PathOptions(fake, 1));
  auto r = Put(*client, "", "v");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
  EXPECT_NE(r.error().message().find("put to " + fake.address(1)), std::string::npos) << r.error().message();
  auto g = Get(*client, "");
  ASSERT_FALSE(g.has_value());
  EXPECT_EQ(g.error().code(), Code::kInvalidArgument);
  EXPECT_NE(g.error().message().find("get from " + fake.address(1)), std::string::npos) << g.error().message();
  EXPECT_EQ(fake.reads(1), 1u);  // final: not tried again
  auto next = Put(*client, "k", "v");
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->write.sequence, 0u);
}

TEST(KvAsyncTest, CallbackRunsOnAnotherThreadThanTheCaller) {
  FakeKvCluster fake(1);
  KvClientOptions o = Options(fake, 1, nullptr);
  auto client = MustConnect(o);
  std::promise<std::thread::id> put_thread;
  std::promise<std::thread::id> get_thread;
  client->PutAsync("k", "v", [&](Result<PutResult>) { put_thread.set_value(std::this_thread::get_id()); });
  EXPECT_NE(put_thread.get_future().get(), std::this_thread::get_id());
  client->GetAsync("k", ReadConsistency::kLocal,
                   [&](Result<GetResult>) { get_thread.set_value(std::this_thread::get_id()); });
  EXPECT_NE(get_thread.get_future().get(), std::this_thread::get_id());
}

// Starts `n` asynchronous calls (`start(i, done)` for each i) at once and
// returns their results by i once every callback has run. A second callback
// of one call fails the test.
template <typename T, typename Start>
std::vector<Result<T>> CallAll(size_t n, Start start) {
  // Shared with the callbacks: a late second one still finds it.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::optional<Result<T>>> results;
    size_t done = 0;
  };
  auto state = std::make_shared<State>();
  state->results.resize(n);
  for (size_t i = 0; i < n; i++) {
    start(i, [state, i](Result<T> r) {
      std::lock_guard lock(state->mu);
      EXPECT_FALSE(state->results[i].has_value()) << "second callback of call " << i;
      state->results[i].emplace(std::move(r));
      state->done++;
      state->cv.notify_all();
    });
  }
  std::unique_lock lock(state->mu);
  state->cv.wait(lock, [&] { return state->done == n; });
  std::vector<Result<T>> out;
  for (auto& r : state->results) out.push_back(*r);
  return out;
}

// On write streams (the default) and with a call each.
TEST(KvAsyncTest, ManyConcurrentPutsUseDistinctSessionsAndApplyOnce) {
  for (bool pipelined : {true, false}) {
    SCOPED_TRACE(pipelined ? "write streams" : "a call each");
    FakeKvCluster fake(3);
    KvClientOptions o = Options(fake, 2, nullptr);
    o.pipelined_writes = pipelined;
    auto client = MustConnect(o);
    constexpr size_t kCalls = 300;
    std::vector<Result<PutResult>> results = CallAll<PutResult>(kCalls, [&](size_t i, auto done) {
      client->PutAsync("k" + std::to_string(i % 10), "v", std::move(done));
    });
    std::set<std::pair<uint64_t, uint64_t>> sessions;
    for (size_t i = 0; i < kCalls; i++) {
      ASSERT_TRUE(results[i].has_value()) << i << ": " << results[i].status().ToString();
      sessions.emplace(results[i]->write.client_id, results[i]->write.sequence);
    }
    EXPECT_EQ(sessions.size(), kCalls);           // no (client, sequence) twice
    EXPECT_EQ(fake.applied(), uint64_t{kCalls});  // none refused out of order
    size_t streamed = 0;
    for (const KvWriteSeen& w : fake.write_log()) streamed += w.streamed ? 1 : 0;
    EXPECT_EQ(streamed, pipelined ? fake.write_log().size() : 0u);
  }
}

// On read streams (the default) and with a call each: every answer goes to
// its own call.
TEST(KvAsyncTest, ManyConcurrentGetsEachGetTheirOwnKey) {
  for (bool pipelined : {true, false}) {
    SCOPED_TRACE(pipelined ? "read streams" : "a call each");
    FakeKvCluster fake(3);
    constexpr size_t kKeys = 50;
    for (size_t k = 0; k < kKeys; k++) fake.Put("k" + std::to_string(k), "v" + std::to_string(k));
    KvClientOptions o = Options(fake, 2, nullptr);
    o.pipelined_reads = pipelined;
    auto client = MustConnect(o);
    constexpr size_t kCalls = 300;
    std::vector<Result<GetResult>> results = CallAll<GetResult>(kCalls, [&](size_t i, auto done) {
      client->GetAsync("k" + std::to_string(i % kKeys), ReadConsistency::kLinearizable, std::move(done));
    });
    for (size_t i = 0; i < kCalls; i++) {
      ASSERT_TRUE(results[i].has_value()) << i << ": " << results[i].status().ToString();
      EXPECT_EQ(results[i]->kv.value, "v" + std::to_string(i % kKeys)) << i;
    }
    uint64_t streamed = 0;
    for (uint64_t id = 1; id <= 3; id++) streamed += fake.streamed_reads(id);
    EXPECT_EQ(streamed, pipelined ? uint64_t{kCalls} : 0u);
  }
}

// What the callbacks of calls in flight at ~KvClient received.
struct Outcomes {
  std::mutex mu;
  std::vector<int> calls;
  std::vector<common::Status> statuses;

  explicit Outcomes(size_t n) : calls(n), statuses(n) {}
  void Add(size_t i, const common::Status& s) {
    std::lock_guard lock(mu);
    calls[i]++;
    statuses[i] = s;
  }
};

TEST(KvAsyncTest, DestructorCancelsCallsInFlightAndCallsEachBackOnce) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(0);  // writes back off
  for (int i = 0; i < 100; i++) {
    for (uint64_t id = 1; id <= 3; id++) fake.AddReadFault(id, grpc::StatusCode::UNAVAILABLE);  // so do reads
  }
  KvClientOptions o = Options(fake, 1, nullptr);
  o.deadline_ms = 60'000;  // the calls would go on for a minute
  auto client = MustConnect(o);
  constexpr size_t kPuts = 10;
  constexpr size_t kGets = 10;
  Outcomes out(kPuts + kGets);
  for (size_t i = 0; i < kPuts; i++) {
    client->PutAsync("k", "v", [&out, i](Result<PutResult> r) { out.Add(i, r.status()); });
  }
  for (size_t i = kPuts; i < kPuts + kGets; i++) {
    client->GetAsync("k", ReadConsistency::kLinearizable, [&out, i](Result<GetResult> r) { out.Add(i, r.status()); });
  }
  client.reset();
  for (size_t i = 0; i < kPuts + kGets; i++) {
    EXPECT_EQ(out.calls[i], 1) << i;  // ran, once, before ~KvClient returned
    EXPECT_EQ(out.statuses[i].code(), Code::kCancelled) << i << ": " << out.statuses[i].ToString();
  }
  EXPECT_NE(out.statuses[0].message().find("put cancelled"), std::string::npos) << out.statuses[0].message();
  EXPECT_NE(out.statuses[kPuts].message().find("get cancelled"), std::string::npos);
  EXPECT_EQ(fake.applied(), 0u);
}

// Whether the calling thread is inside a PutAsync call of the test below.
thread_local bool t_in_put_async = false;

TEST(KvAsyncTest, CallMadeFromACallbackDuringTheDestructorIsCancelledNotInline) {
  FakeKvCluster fake(3);
  fake.SetKvLeader(0);
  KvClientOptions o = Options(fake, 1, nullptr);
  o.deadline_ms = 60'000;
  auto client = MustConnect(o);
  KvClient* raw = client.get();
  std::mutex mu;
  std::optional<common::Status> second;
  bool second_inline = false;
  raw->PutAsync("a", "v", [&, raw](Result<PutResult>) {
    // ~KvClient has begun: this call is cancelled before it starts, and its
    // callback still must not run inside PutAsync.
    t_in_put_async = true;
    raw->PutAsync("b", "v", [&](Result<PutResult> r) {
      std::lock_guard lock(mu);
      second_inline = t_in_put_async;
      second = r.status();
    });
    t_in_put_async = false;
  });
  client.reset();
  std::lock_guard lock(mu);
  ASSERT_TRUE(second.has_value());  // called back before ~KvClient returned
  EXPECT_FALSE(second_inline);
  EXPECT_EQ(second->code(), Code::kCancelled) << second->ToString();
  EXPECT_NE(second->message().find("not applied"), std::string::npos) << second->message();
}

}  // namespace
}  // namespace replog
