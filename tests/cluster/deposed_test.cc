// Issue 4's second acceptance test: a leader stopped with SIGSTOP for longer
// than the election timeout, then resumed, acknowledges no write while it is
// deposed, and the cluster keeps serving meanwhile.
//
// Two producers run throughout: a replog::Client (follows the leader) and a
// direct stub that keeps sending to the stopped member's address only, with a
// short deadline; right after SIGCONT a burst of direct produces hits the old
// leader while it may still think it leads. At the end every member's log is
// read: every acknowledgement, from either producer and from the burst, must
// be in every log at its offset (an old leader that acknowledged a write it
// could not commit would fail here), and the logs must agree.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "cluster_harness.h"
#include "log_checks.h"
#include "started_cluster.h"

namespace cluster_testing {
namespace {

using common::Status;

constexpr int64_t kReplyInFlightNs = 100'000'000;

// One produce call and how it ended.
struct Call {
  std::string value;
  int64_t sent_ns = 0;
  int64_t done_ns = 0;
  grpc::StatusCode code = grpc::StatusCode::OK;
  uint64_t offset = 0;
};

Call DirectProduce(replog::v1::Log::Stub& stub, const std::string& value, int64_t deadline_ms, common::Clock& clock) {
  Call call{value, clock.NowNanos()};
  grpc::ClientContext ctx;
  SetDeadline(ctx, deadline_ms);
  replog::v1::ProduceRequest req;
  req.add_records()->set_value(value);
  replog::v1::ProduceResponse resp;
  grpc::Status s = stub.Produce(&ctx, req, &resp);
  call.done_ns = clock.NowNanos();
  call.code = s.error_code();
  if (s.ok() && resp.offsets_size() == 1) call.offset = resp.offsets(0);
  if (s.ok() && resp.offsets_size() != 1) call.code = grpc::StatusCode::INTERNAL;
  return call;
}

struct Recorder {
  std::mutex mu;
  std::vector<Call> calls;
  void Add(Call c) {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back(std::move(c));
  }
};

std::vector<Ack> AcksOf(const std::vector<Call>& calls) {
  std::vector<Ack> out;
  for (const Call& c : calls) {
    if (c.code == grpc::StatusCode::OK) out.push_back(Ack{c.value, c.offset, false});
  }
  return out;
}

TEST(ClusterDeposedTest, StoppedMemberDoesNotAckWhileDeposed) {
  ClusterOptions options;
  options.name = "deposed";  // 10 ms ticks: elections after 100-200 ms
  auto started = StartCluster(options);
  ASSERT_TRUE(started.has_value()) << started.error().ToString();
  Cluster& cluster = *started->cluster;
  common::Clock& clock = cluster.clock();
  const uint64_t old_leader = started->leader;
  auto servers = cluster.GetServers(old_leader);
  ASSERT_TRUE(servers.has_value()) << servers.error().ToString();
  const uint64_t old_term = servers->term();

  std::atomic<bool> stop_producing{false};
  Recorder via_client, direct, burst;
  std::thread client_thread([&] {
    replog::ClientOptions o;
    o.bootstrap_addresses = cluster.Addresses();
    o.attempt_timeout_ms = 300;
    o.discovery_timeout_ms = 200;
    auto client = replog::Client::Connect(o);
    if (!client.has_value()) {
      ADD_FAILURE() << "connect: " << client.error().ToString();
      return;
    }
    for (int n = 0; !stop_producing.load(); n++) {
      replog::Record r;
      r.value = "k-" + std::to_string(n);
      Call call{r.value, clock.NowNanos()};
      auto res = (*client)->Produce({r});
      call.done_ns = clock.NowNanos();
      call.code = res.has_value() ? grpc::StatusCode::OK : static_cast<grpc::StatusCode>(res.error().code());
      if (res.has_value()) call.offset = res->offsets.at(0);
      via_client.Add(call);
    }
  });
  std::thread direct_thread([&] {
    auto stub = cluster.Stub(old_leader);
    for (int n = 0; !stop_producing.load(); n++) {
      Call call = DirectProduce(*stub, "d-" + std::to_string(n), 300, clock);
      const bool quick_error = call.code != grpc::StatusCode::OK && call.code != grpc::StatusCode::DEADLINE_EXCEEDED;
      direct.Add(std::move(call));
      if (quick_error) clock.SleepNanos(10'000'000);
    }
  });
  auto finish = [&] {
    stop_producing.store(true);
    if (client_thread.joinable()) client_thread.join();
    if (direct_thread.joinable()) direct_thread.join();
  };
  // Joins the producers however the test ends (an ASSERT returns early).
  struct JoinAtExit {
    std::function<void()> join;
    ~JoinAtExit() { join(); }
  } join_at_exit{finish};

  clock.SleepNanos(300'000'000);
  const int64_t stop_ns = clock.NowNanos();
  ASSERT_TRUE(cluster.Stop(old_leader).ok());
  auto new_leader = cluster.WaitForLeader(10'000, {old_leader});
  const int64_t elected_ns = clock.NowNanos();
  ASSERT_TRUE(new_leader.has_value()) << new_leader.error().ToString();
  clock.SleepNanos(stop_ns + 1'500'000'000 - clock.NowNanos());  // stopped 1.5 s: 7x the longest election timeout
  const int64_t cont_ns = clock.NowNanos();
  ASSERT_TRUE(cluster.Cont(old_leader).ok());

  // While it may still believe it leads, hit the resumed member directly.
  std::vector<std::thread> burst_threads;
  for (int i = 0; i < 4; i++) {
    burst_threads.emplace_back([&, i] {
      auto stub = cluster.Stub(old_leader);
      burst.Add(DirectProduce(*stub, "b-" + std::to_string(i), 2'000, clock));
    });
  }
  for (std::thread& t : burst_threads) t.join();

  // It must learn the new term and stop calling itself the leader.
  int64_t stepped_down_ns = -1;
  for (int64_t until = clock.NowNanos() + 5'000'000'000; clock.NowNanos() < until; clock.SleepNanos(5'000'000)) {
    auto s = cluster.GetServers(old_leader, 200);
    if (s.has_value() && s->term() > old_term) {
      stepped_down_ns = clock.NowNanos();
      break;
    }
  }
  clock.SleepNanos(500'000'000);
  finish();

  std::printf("[ deposed  ] SIGSTOP leader %llu (term %llu); new leader %llu after %.0f ms; SIGCONT after %.0f ms; "
              "old leader in a newer term %.0f ms after SIGCONT\n",
              static_cast<unsigned long long>(old_leader), static_cast<unsigned long long>(old_term),
              static_cast<unsigned long long>(*new_leader), Ms(elected_ns - stop_ns), Ms(cont_ns - stop_ns),
              stepped_down_ns < 0 ? -1.0 : Ms(stepped_down_ns - cont_ns));
  EXPECT_GE(stepped_down_ns, 0) << "the resumed member never reported a term above " << old_term;

  int direct_ok_before = 0, direct_ok_stopped = 0, direct_ok_after = 0, inflight = 0, client_ok_stopped = 0;
  for (const Call& c : direct.calls) {
    const bool ok = c.code == grpc::StatusCode::OK;
    if (c.sent_ns < stop_ns && c.done_ns > stop_ns) {
      inflight++;
      std::printf("[ deposed  ] produce in flight at SIGSTOP: \"%s\" ended %s after %.0f ms\n", c.value.c_str(),
                  ok ? "OK" : ("with code " + std::to_string(c.code)).c_str(), Ms(c.done_ns - c.sent_ns));
    }
    if (ok && c.done_ns < stop_ns) direct_ok_before++;
    // A reply sent just before SIGSTOP may be read a little after it.
    if (ok && c.done_ns >= stop_ns + kReplyInFlightNs && c.done_ns < cont_ns) direct_ok_stopped++;
    if (ok && c.done_ns >= cont_ns) direct_ok_after++;
  }
  for (const Call& c : via_client.calls) {
    if (c.code == grpc::StatusCode::OK && c.done_ns > stop_ns && c.done_ns < cont_ns) client_ok_stopped++;
  }
  int burst_ok = 0;
  for (const Call& c : burst.calls) burst_ok += c.code == grpc::StatusCode::OK ? 1 : 0;
  std::printf("[ deposed  ] direct to the old leader: %d OK before SIGSTOP, %d while stopped, %d after SIGCONT "
              "(%zu calls; %d in flight at SIGSTOP); burst after SIGCONT: %d/%zu OK; client: %d OK while it was "
              "stopped (%zu calls)\n",
              direct_ok_before, direct_ok_stopped, direct_ok_after, direct.calls.size(), inflight, burst_ok,
              burst.calls.size(), client_ok_stopped, via_client.calls.size());
  EXPECT_EQ(direct_ok_stopped, 0) << "a stopped process answered";
  EXPECT_GT(direct_ok_before, 0) << "the direct producer never reached the leader before it was stopped";
  EXPECT_GT(client_ok_stopped, 0) << "the cluster did not serve produces while the old leader was stopped";

  // Every ack, whoever gave it, is in every member's log at its offset.
  std::vector<Ack> acks = AcksOf(via_client.calls);
  for (const std::vector<Call>* calls : {&direct.calls, &burst.calls}) {
    std::vector<Ack> more = AcksOf(*calls);
    acks.insert(acks.end(), more.begin(), more.end());
  }
  const uint64_t max_acked = MaxOffset(acks);
  Status caught_up = cluster.WaitCommitted(cluster.ids(), max_acked, 30'000);
  ASSERT_TRUE(caught_up.ok()) << caught_up.ToString();
  auto log = ReadIdenticalLogs(cluster, cluster.ids(), max_acked);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  for (const std::string& m : MissingAcks(*log, acks)) ADD_FAILURE() << "acknowledged but not committed: " << m;
  std::printf("[ deposed  ] %zu acks, all members agree on %zu records through offset %llu\n", acks.size(),
              log->size(), static_cast<unsigned long long>(max_acked));
}

}  // namespace
}  // namespace cluster_testing
