// The key-value store's linearizability on real processes (issue 6): three
// replogd members, concurrent clients doing put, linearizable get and
// compare-and-set on a few keys, while a nemesis kills (SIGKILL), pauses
// (SIGSTOP/SIGCONT) and restarts (SIGTERM) members, one at a time. The
// clients record every operation with the interval it was outstanding and
// its outcome; lincheck (tests/sim/linearizability.h) then checks that the
// history is linearizable against a model of a map.
//
// Two kinds of client, one run each: Calls make an RPC per attempt on raw
// stubs and retry here; Library goes through the client library, puts and
// gets on its KV write and read streams (PutAsync, GetAsync), and
// compare-and-sets as calls (CompareAndSet).
//
// The clients write exactly-once (a client id and sequence per write), so a
// write retried after an unknown outcome takes effect once; a write whose
// outcome stays unknown at its deadline goes into the history as unknown
// (it may or may not have taken effect) and, for Calls, its client takes a
// new id. A read that fails is left out (it has no effect).
//
// Environment: KV_LIN_SEED (default: random, printed), KV_LIN_DURATION
// (seconds, default 20). `make kv-lin DURATION=1800` runs long.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "client/kv_client.h"
#include "cluster_harness.h"
#include "common/clock.h"
#include "kv_ops.h"
#include "replog/v1/kv.grpc.pb.h"
#include "rpc/leader_hint.h"
#include "sim/kv_model.h"
#include "sim/linearizability.h"

namespace cluster_testing {
namespace {

namespace v1 = ::replog::v1;
using lincheck::KvOperation;

constexpr int kClients = 8;
constexpr int kKeys = 5;
constexpr int64_t kOpDeadlineMs = 4'000;
constexpr int64_t kAttemptMs = 1'000;

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::strtoull(v, nullptr, 10);
}

// Counts of what the clients saw.
struct ClientStats {
  std::atomic<uint64_t> known{0};
  std::atomic<uint64_t> unknown{0};
  std::atomic<uint64_t> failed_reads{0};
  std::atomic<uint64_t> retries{0};
};

enum class ClientKind { kCalls, kLibrary };

// One client: a thread doing random operations and recording them.
class LinClient {
 public:
  LinClient(Cluster& cluster, ClientKind kind, int index, uint64_t seed, ClientStats& stats)
      : cluster_(cluster), index_(index), rng_(seed), stats_(stats) {
    NewSession();
    if (kind == ClientKind::kLibrary) {
      replog::KvClientOptions o;
      for (uint64_t id : cluster.ids()) o.bootstrap_addresses.push_back(cluster.Address(id));
      o.deadline_ms = kOpDeadlineMs;
      o.attempt_timeout_ms = kAttemptMs;
      o.seed = seed;
      o.client_id_seed = seed;
      auto c = replog::KvClient::Connect(o);
      EXPECT_TRUE(c.has_value()) << c.status().ToString();
      if (c.has_value()) library_ = std::move(*c);
    }
  }

  void Run(const std::atomic<bool>& stop) {
    for (int n = 0; !stop.load(); ++n) {
      const std::string key = "k" + std::to_string(rng_() % kKeys);
      const std::string value = "c" + std::to_string(index_) + "-" + std::to_string(n);
      const int dice = static_cast<int>(rng_() % 10);
      if (dice < 4) {
        Get(key);
      } else if (dice < 7) {
        Put(key, value);
      } else {
        Cas(key, value);
      }
    }
  }

  std::vector<KvOperation> TakeHistory() { return std::move(history_); }

 private:
  enum class Outcome { kOk, kNotApplied, kMaybeApplied, kBug };

  void NewSession() {
    client_id_ = rng_() | 1;
    sequence_ = 0;
  }

  std::string PickMember() {
    const std::vector<uint64_t> ids = cluster_.ids();
    return cluster_.Address(ids[rng_() % ids.size()]);
  }

  // What a failed attempt means, and where to go next.
  Outcome Classify(const grpc::Status& s, const grpc::ClientContext& ctx, std::string* target) {
    const rpc::LeaderHint hint = rpc::ReadLeaderHint(ctx);
    if (s.error_code() == grpc::StatusCode::UNAVAILABLE && hint.from_member) {
      *target = hint.address.empty() ? PickMember() : hint.address;
      return Outcome::kNotApplied;
    }
    *target = PickMember();
    if (s.error_code() == grpc::StatusCode::ABORTED) return Outcome::kNotApplied;
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
        s.error_code() == grpc::StatusCode::ALREADY_EXISTS || s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
      return Outcome::kBug;
    }
    return Outcome::kMaybeApplied;
  }

  // Runs `attempt` (one RPC to a target) until it succeeds or the op's
  // deadline passes. Returns whether it succeeded; *maybe says whether a
  // failed attempt may have taken effect.
  template <typename Attempt>
  bool Retry(bool write, Attempt attempt, bool* maybe) {
    const int64_t end = cluster_.clock().NowNanos() + kOpDeadlineMs * 1'000'000;
    std::string target = write && !leader_.empty() ? leader_ : PickMember();
    *maybe = false;
    while (cluster_.clock().NowNanos() < end) {
      grpc::ClientContext ctx;
      SetDeadline(ctx, kAttemptMs);
      grpc::Status s = attempt(target, ctx);
      if (s.ok()) {
        if (write) leader_ = target;
        return true;
      }
      stats_.retries.fetch_add(1);
      switch (Classify(s, ctx, &target)) {
        case Outcome::kMaybeApplied:
          *maybe = true;
          break;
        case Outcome::kBug:
          ADD_FAILURE() << "client " << index_ << ": unexpected " << s.error_code() << ": " << s.error_message();
          *maybe = true;
          return false;
        default:
          break;
      }
      if (write) leader_.clear();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  void Record(lincheck::KvInput in, lincheck::KvOutput out, int64_t call_ns, bool ok, bool maybe, bool write) {
    KvOperation op;
    op.client_id = index_;
    op.call_ns = call_ns;
    op.return_ns = cluster_.clock().NowNanos();
    op.input = std::move(in);
    op.output = std::move(out);
    if (ok) {
      stats_.known.fetch_add(1);
    } else if (!write) {
      stats_.failed_reads.fetch_add(1);
      return;  // a read that failed had no effect
    } else {
      op.unknown = true;
      stats_.unknown.fetch_add(1);
      (void)maybe;  // even an attempt that looked refused may hide an earlier one that applied
      NewSession();  // the sequence may or may not be used: never send it again
    }
    history_.push_back(std::move(op));
  }

  // The result a library call hands its callback, waited for.
  template <typename T, typename Start>
  static common::Result<T> Await(Start start) {
    std::promise<common::Result<T>> promise;
    std::future<common::Result<T>> future = promise.get_future();
    start([&promise](common::Result<T> r) { promise.set_value(std::move(r)); });
    return future.get();
  }

  // A library error that no fault explains.
  void CheckLibraryError(const common::Status& s) {
    if (s.code() == common::Code::kInvalidArgument) ADD_FAILURE() << "client " << index_ << ": " << s.ToString();
  }

  void Get(const std::string& key) {
    if (library_ != nullptr) return LibraryGet(key);
    const int64_t call = cluster_.clock().NowNanos();
    v1::GetRequest req;
    req.set_key(key);
    v1::GetResponse resp;
    bool maybe = false;
    const bool ok = Retry(false, [&](const std::string& t, grpc::ClientContext& ctx) {
      return v1::KV::NewStub(cluster_.Channel(t))->Get(&ctx, req, &resp);
    }, &maybe);
    std::optional<std::string> read;
    if (ok && resp.found()) read = resp.kv().value();
    if (ok) seen_[key] = read;
    Record(lincheck::KvGet(key), lincheck::KvRead(read), call, ok, maybe, false);
  }

  void Put(const std::string& key, const std::string& value) {
    if (library_ != nullptr) return LibraryPut(key, value);
    const int64_t call = cluster_.clock().NowNanos();
    v1::PutRequest req;
    req.set_key(key);
    req.set_value(value);
    req.mutable_session()->set_client_id(client_id_);
    req.mutable_session()->set_sequence(sequence_++);
    v1::PutResponse resp;
    bool maybe = false;
    const bool ok = Retry(true, [&](const std::string& t, grpc::ClientContext& ctx) {
      return v1::KV::NewStub(cluster_.Channel(t))->Put(&ctx, req, &resp);
    }, &maybe);
    if (ok) seen_[key] = value;
    Record(lincheck::KvPut(key, value), lincheck::KvDone(), call, ok, maybe, true);
  }

  void Cas(const std::string& key, const std::string& value) {
    const int64_t call = cluster_.clock().NowNanos();
    // Expect what this client saw last (often stale, sometimes right).
    const std::optional<std::string> expected = seen_.contains(key) ? seen_[key] : std::nullopt;
    if (library_ != nullptr) return LibraryCas(key, expected, value, call);
    v1::CompareAndSetRequest req;
    req.set_key(key);
    if (expected.has_value()) {
      req.mutable_compare()->set_value(*expected);
    } else {
      req.mutable_compare()->set_mod_revision(0);
    }
    req.set_value(value);
    req.mutable_session()->set_client_id(client_id_);
    req.mutable_session()->set_sequence(sequence_++);
    v1::CompareAndSetResponse resp;
    bool maybe = false;
    const bool ok = Retry(true, [&](const std::string& t, grpc::ClientContext& ctx) {
      return v1::KV::NewStub(cluster_.Channel(t))->CompareAndSet(&ctx, req, &resp);
    }, &maybe);
    if (ok) {
      seen_[key] = resp.succeeded() ? std::optional<std::string>(value)
                                    : (resp.had_current() ? std::optional<std::string>(resp.current().value())
                                                          : std::nullopt);
    }
    Record(lincheck::KvCas(key, expected, value), resp.succeeded() ? lincheck::KvSwapped() : lincheck::KvNotSwapped(),
           call, ok, maybe, true);
  }

  void LibraryGet(const std::string& key) {
    const int64_t call = cluster_.clock().NowNanos();
    auto r = Await<replog::GetResult>([&](auto done) {
      library_->GetAsync(key, replog::ReadConsistency::kLinearizable, std::move(done));
    });
    std::optional<std::string> read;
    if (r.has_value()) {
      if (r->found) read = r->kv.value;
      seen_[key] = read;
    } else {
      CheckLibraryError(r.error());
    }
    Record(lincheck::KvGet(key), lincheck::KvRead(read), call, r.has_value(), false, false);
  }

  void LibraryPut(const std::string& key, const std::string& value) {
    const int64_t call = cluster_.clock().NowNanos();
    auto r = Await<replog::PutResult>([&](auto done) { library_->PutAsync(key, value, std::move(done)); });
    if (r.has_value()) {
      seen_[key] = value;
      stats_.retries.fetch_add(r->write.attempts - 1);
    } else {
      CheckLibraryError(r.error());
    }
    Record(lincheck::KvPut(key, value), lincheck::KvDone(), call, r.has_value(), false, true);
  }

  void LibraryCas(const std::string& key, const std::optional<std::string>& expected, const std::string& value,
                  int64_t call) {
    auto r = library_->CompareAndSet(
        key, expected.has_value() ? replog::KvCompare::Value(*expected) : replog::KvCompare::Absent(),
        replog::KvSwap::Put(value));
    bool swapped = false;
    if (r.has_value()) {
      swapped = r->succeeded;
      seen_[key] = swapped ? std::optional<std::string>(value)
                           : (r->current.has_value() ? std::optional<std::string>(r->current->value) : std::nullopt);
      stats_.retries.fetch_add(r->write.attempts - 1);
    } else {
      CheckLibraryError(r.error());
    }
    Record(lincheck::KvCas(key, expected, value), swapped ? lincheck::KvSwapped() : lincheck::KvNotSwapped(), call,
           r.has_value(), false, true);
  }

  Cluster& cluster_;
  const int index_;
  std::mt19937_64 rng_;
  ClientStats& stats_;
  uint64_t client_id_ = 0;
  uint64_t sequence_ = 0;
  std::string leader_;  // the KV leader's address as last seen
  std::map<std::string, std::optional<std::string>> seen_;
  std::vector<KvOperation> history_;
  std::unique_ptr<replog::KvClient> library_;  // kLibrary only
};

class KvLinearizabilityTest : public ::testing::TestWithParam<ClientKind> {};

std::string KindName(const ::testing::TestParamInfo<ClientKind>& p) {
  return p.param == ClientKind::kCalls ? "Calls" : "Library";
}

INSTANTIATE_TEST_SUITE_P(Clients, KvLinearizabilityTest, ::testing::Values(ClientKind::kCalls, ClientKind::kLibrary),
                         KindName);

TEST_P(KvLinearizabilityTest, PutGetAndCasStayLinearizableWhileMembersFail) {
  const uint64_t seed = EnvU64("KV_LIN_SEED", std::random_device()());
  const int64_t duration_s = static_cast<int64_t>(EnvU64("KV_LIN_DURATION", 20));
  std::printf("KV_LIN_SEED=%llu KV_LIN_DURATION=%lld\n", static_cast<unsigned long long>(seed),
              static_cast<long long>(duration_s));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);

  ClusterOptions options;
  options.name = "kv-lin";
  // Snapshots and purges happen during the run too.
  options.extra_args = {"--kv-snapshot-entries", "500", "--kv-trailing-entries", "100"};
  auto cluster_or = Cluster::Start(options);
  ASSERT_TRUE(cluster_or.has_value()) << cluster_or.error().ToString();
  Cluster& cluster = **cluster_or;
  ASSERT_TRUE(cluster.WaitForLeader(15'000).has_value()) << cluster.AllLogTails();
  ASSERT_TRUE(KvPut(cluster, "warmup", "1", 15'000).has_value()) << cluster.AllLogTails();

  ClientStats stats;
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<LinClient>> clients;
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<LinClient>(cluster, GetParam(), i, rng(), stats));
    threads.emplace_back([&, i] { clients[i]->Run(stop); });
  }

  // The nemesis, on this thread: one member faulty at a time.
  const std::vector<uint64_t> ids = cluster.ids();
  const int64_t end = cluster.clock().NowNanos() + duration_s * 1'000'000'000;
  uint64_t kills = 0, pauses = 0, restarts = 0;
  auto sleep_ms = [&](int64_t lo, int64_t hi) {
    std::this_thread::sleep_for(std::chrono::milliseconds(lo + static_cast<int64_t>(rng() % (hi - lo + 1))));
  };
  while (cluster.clock().NowNanos() < end) {
    sleep_ms(500, 1'500);
    const uint64_t id = ids[rng() % ids.size()];
    switch (rng() % 3) {
      case 0:
        ASSERT_TRUE(cluster.Kill(id).ok());
        ++kills;
        sleep_ms(200, 1'500);
        ASSERT_TRUE(cluster.Restart(id).ok());
        break;
      case 1:
        ASSERT_TRUE(cluster.Stop(id).ok());
        ++pauses;
        sleep_ms(300, 2'000);
        ASSERT_TRUE(cluster.Cont(id).ok());
        break;
      default:
        ASSERT_TRUE(cluster.Terminate(id).has_value());
        ++restarts;
        sleep_ms(0, 500);
        ASSERT_TRUE(cluster.Restart(id).ok());
        break;
    }
  }
  sleep_ms(1'000, 1'000);  // a last quiet second: every client gets answers again
  stop.store(true);
  for (std::thread& t : threads) t.join();

  lincheck::History<lincheck::KvModel> history;
  for (auto& c : clients) {
    for (KvOperation& op : c->TakeHistory()) history.push_back(std::move(op));
  }
  std::printf("faults: %llu kills, %llu pauses, %llu restarts; ops: %llu known, %llu unknown, %llu failed reads; "
              "%llu retried attempts\n",
              static_cast<unsigned long long>(kills), static_cast<unsigned long long>(pauses),
              static_cast<unsigned long long>(restarts), static_cast<unsigned long long>(stats.known.load()),
              static_cast<unsigned long long>(stats.unknown.load()),
              static_cast<unsigned long long>(stats.failed_reads.load()),
              static_cast<unsigned long long>(stats.retries.load()));
  EXPECT_GT(stats.known.load(), 100u) << "the clients barely got answers";

  lincheck::KvModel model;
  common::RealClock check_clock;
  lincheck::CheckResult result =
      lincheck::Check(model, history, {.clock = &check_clock, .timeout_ms = 300'000});
  std::printf("checked %zu operations: %s (%llu search steps)\n", history.size(),
              std::string(lincheck::VerdictName(result.verdict)).c_str(),
              static_cast<unsigned long long>(result.steps));
  if (result.verdict != lincheck::Verdict::kOk) {
    const std::string path = cluster.dir() + "/kv-history.jsonl";
    std::ofstream(path) << lincheck::DumpHistory(model, history);
    ADD_FAILURE() << result.explanation << "history: " << path << " (seed " << seed << ")";
  }
  EXPECT_EQ(result.verdict, lincheck::Verdict::kOk);

  // And the members agree at the end.
  auto same = WaitSameKvState(cluster, ids, 20'000);
  EXPECT_TRUE(same.has_value()) << same.error().ToString() << "\n" << cluster.AllLogTails();
}

}  // namespace
}  // namespace cluster_testing
