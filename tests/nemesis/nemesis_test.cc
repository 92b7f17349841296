// The process-level fault test of issue 5 (docs/nemesis.md): five real
// replogd members on loopback, producers and tailing consumers, and a
// nemesis that, at random from a printed seed, kills (SIGKILL), pauses
// (SIGSTOP/SIGCONT), restarts (SIGTERM), removes and re-adds members,
// transfers leadership, and restarts the whole cluster at once. At the end:
// every acknowledged record is in the log, at its offset, and no value is
// there twice (the clients produce exactly-once, the default); the
// logs are identical on every member; every consumer saw a prefix of that
// log; no two members led in one term (from the members' own logs).
//
// Environment: NEMESIS_SEED (default: random, printed), NEMESIS_DURATION
// (seconds of faults, default 60). `make nemesis DURATION=1800` runs long.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <stop_token>
#include <thread>
#include <utility>

#include "client/client.h"
#include "client/cluster_admin.h"
#include "client/kv_client.h"
#include "cluster_harness.h"
#include "kv_ops.h"
#include "log_checks.h"

namespace cluster_testing {
namespace {

constexpr int kMembers = 5;
constexpr int kProducers = 3;
constexpr int kConsumers = 2;
// At most this many members down, paused or removed at once: 3 of 5 stay up.
constexpr size_t kMaxFaulty = 2;

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v == nullptr || *v == '\0' ? fallback : std::strtoull(v, nullptr, 10);
}

std::unique_ptr<replog::Client> Connect(const std::vector<std::string>& addresses, int64_t keepalive_ms = 0) {
  replog::ClientOptions o;
  o.bootstrap_addresses = addresses;
  o.deadline_ms = 5'000;
  o.attempt_timeout_ms = 1'000;
  o.keepalive_ms = keepalive_ms;
  auto c = replog::Client::Connect(o);
  return c.has_value() ? std::move(*c) : nullptr;
}

// Producers: each thread its own client and values "p<thread>-<n>-",
// padded with 'x' to `value_bytes` (0: not padded).
class Producers {
 public:
  Producers(const std::vector<std::string>& addresses, size_t value_bytes) : value_bytes_(value_bytes) {
    for (int t = 0; t < kProducers; ++t) {
      threads_.emplace_back([this, t, addresses](std::stop_token stop) { Run(t, addresses, stop); });
    }
  }
  void Stop() {
    for (auto& th : threads_) th.request_stop();
    threads_.clear();
  }
  std::vector<Ack> acks() {
    std::lock_guard l(mu_);
    return acks_;
  }
  // Values whose produce had an unknown outcome (retried, or failed after
  // one): they may be in the log without an ack (never twice: exactly-once).
  std::set<std::string> uncertain() {
    std::lock_guard l(mu_);
    return uncertain_;
  }
  uint64_t acked() const { return acked_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  void Run(int t, const std::vector<std::string>& addresses, std::stop_token stop) {
    std::unique_ptr<replog::Client> client;
    for (uint64_t i = 0; !stop.stop_requested();) {
      if (!client) client = Connect(addresses);
      if (!client) continue;
      replog::Record r;
      r.value = "p" + std::to_string(t) + "-" + std::to_string(i++) + "-";
      if (r.value.size() < value_bytes_) r.value.resize(value_bytes_, 'x');
      auto res = client->Produce({r});
      std::lock_guard l(mu_);
      if (!res.has_value()) {
        failed_.fetch_add(1);
        if (res.error().code() != common::Code::kUnavailable) uncertain_.insert(r.value);
        continue;
      }
      if (res->retried_after_unknown_outcome) uncertain_.insert(r.value);
      acks_.push_back(Ack{r.value, res->offsets[0], res->retried_after_unknown_outcome});
      acked_.fetch_add(1);
    }
  }

  const size_t value_bytes_;
  std::mutex mu_;
  std::vector<Ack> acks_;
  std::set<std::string> uncertain_;
  std::atomic<uint64_t> acked_{0}, failed_{0};
  std::vector<std::jthread> threads_;
};

// A range of offsets [from, to) a consumer skipped because retention had
// purged it before the consumer read it.
struct Jump {
  uint64_t from = 0;
  uint64_t to = 0;
};

// Tailing consumers: each keeps what it saw, in order, and the ranges it
// skipped (only with retention).
class Consumers {
 public:
  explicit Consumers(const std::vector<std::string>& addresses) : seen_(kConsumers), jumps_(kConsumers) {
    for (int c = 0; c < kConsumers; ++c) {
      threads_.emplace_back([this, c, addresses](std::stop_token stop) { Run(c, addresses, stop); });
    }
  }
  void Stop() {
    for (auto& th : threads_) th.request_stop();
    threads_.clear();
  }
  std::vector<std::vector<LogRecord>> seen() {
    std::lock_guard l(mu_);
    return seen_;
  }
  std::vector<std::vector<Jump>> jumps() {
    std::lock_guard l(mu_);
    return jumps_;
  }

 private:
  void Run(int c, const std::vector<std::string>& addresses, std::stop_token stop) {
    const size_t i = static_cast<size_t>(c);
    uint64_t next = 0;
    std::optional<uint64_t> jumped_from;  // set until the first record after a jump
    while (!stop.stop_requested()) {
      std::unique_ptr<replog::Client> client = Connect(addresses, 500);
      if (!client) continue;
      replog::ConsumeOptions o;
      o.max_records = 500;
      common::Status s = client->ConsumeStream(
          next, o,
          [&](const replog::ConsumeBatch& b) {
            std::lock_guard l(mu_);
            for (const replog::Record& r : b.records) {
              if (jumped_from.has_value()) jumps_[i].push_back(Jump{*std::exchange(jumped_from, std::nullopt), r.offset});
              seen_[i].push_back(LogRecord{r.offset, r.value});
              next = r.offset + 1;
            }
            return true;
          },
          stop);
      if (s.code() != common::Code::kOutOfRange) continue;
      // Below the first retained offset (retention overtook this consumer),
      // or past a lagging member's end: go on from the first offset if it
      // is past `next`, else try again.
      auto first = client->Consume(0, replog::ConsumeOptions{.max_records = 1});
      if (first.has_value() && first->first_offset > next) {
        if (!jumped_from.has_value()) jumped_from = next;
        next = first->first_offset;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  std::mutex mu_;
  std::vector<std::vector<LogRecord>> seen_;
  std::vector<std::vector<Jump>> jumps_;
  std::vector<std::jthread> threads_;
};

enum Fault { kKill, kPause, kRestart, kRemoveReadd, kTransfer, kRestartAll, kFaultKinds };
const char* FaultName(int f) {
  static const char* names[] = {"kill", "pause", "restart", "remove+re-add", "transfer", "restart-all"};
  return names[f];
}

// Calls `fn(id, line)` for every line of every member's log (all its lives).
template <typename F>
void ForEachLogLine(const Cluster& cluster, F&& fn) {
  for (uint64_t id : cluster.ids()) {
    std::ifstream in(cluster.LogPath(id));
    std::string line;
    while (std::getline(in, line)) fn(id, line);
  }
}

// One leader per term and Raft group, from the "member N group G term T:
// became leader" lines of every member's log (common/log.h's text format;
// the log and KV groups count their terms apart).
std::vector<std::string> TwoLeadersInATerm(const Cluster& cluster) {
  std::map<std::pair<std::string, uint64_t>, std::set<uint64_t>> leaders;  // (group, term) -> members
  const std::regex re("member (\\d+) group (\\w+) term (\\d+): became leader");
  std::smatch m;
  ForEachLogLine(cluster, [&](uint64_t, const std::string& line) {
    if (std::regex_search(line, m, re)) leaders[{m[2], std::stoull(m[3])}].insert(std::stoull(m[1]));
  });
  std::vector<std::string> out;
  for (const auto& [key, ids] : leaders) {
    if (ids.size() > 1) {
      out.push_back("group " + key.first + " term " + std::to_string(key.second) + " had " +
                    std::to_string(ids.size()) + " leaders");
    }
  }
  return out;
}

// How many lines of the members' logs contain every one of `texts`.
size_t CountLogLines(const Cluster& cluster, const std::vector<std::string>& texts) {
  size_t n = 0;
  ForEachLogLine(cluster, [&](uint64_t, const std::string& line) {
    n += std::all_of(texts.begin(), texts.end(),
                     [&](const std::string& t) { return line.find(t) != std::string::npos; });
  });
  return n;
}

class Nemesis {
 public:
  Nemesis(Cluster& cluster, replog::ClusterAdmin& admin, uint64_t seed) : c_(cluster), admin_(admin), rng_(seed) {}

  void Step() {
    HealDue();
    // Every kind early in a run: half of the steps go to a kind not yet done.
    std::vector<int> pending;
    for (int k = 0; k < kFaultKinds; ++k) {
      if (!counts_.contains(k)) pending.push_back(k);
    }
    const bool catch_up = !pending.empty() && Pick(2) == 0;
    const int kind = catch_up ? pending[Pick(pending.size())] : static_cast<int>(Pick(kFaultKinds));
    const std::vector<uint64_t> up = Healthy();
    const bool budget = Faulty() < kMaxFaulty && up.size() > 3;
    switch (kind) {
      case kKill:
        if (!budget) return;
        Do(kind, [&] {
          const uint64_t id = up[Pick(up.size())];
          EXPECT_TRUE(c_.Kill(id).ok());
          down_[id] = Now() + Ms(200, 3'000);
          return "member " + std::to_string(id);
        });
        return;
      case kPause:
        if (!budget) return;
        Do(kind, [&] {
          const uint64_t id = up[Pick(up.size())];
          EXPECT_TRUE(c_.Stop(id).ok());
          paused_[id] = Now() + Ms(300, 3'000);
          return "member " + std::to_string(id);
        });
        return;
      case kRestart:
        if (up.empty()) return;
        Do(kind, [&] {
          const uint64_t id = up[Pick(up.size())];
          auto exit = c_.Terminate(id, 15'000);
          EXPECT_TRUE(exit.has_value() && exit->exited && exit->code == 0)
              << "SIGTERM of member " << id << ": " << (exit.has_value() ? exit->ToString() : exit.error().ToString());
          EXPECT_TRUE(c_.Restart(id).ok());
          return "member " + std::to_string(id);
        });
        return;
      case kRemoveReadd:
        if (!budget || !down_.empty() || !paused_.empty()) return;  // a change needs a healthy majority
        Do(kind, [&] { return RemoveAndReadd(up[Pick(up.size())]); });
        return;
      case kTransfer:
        Do(kind, [&] {
          auto to = admin_.Transfer(up[Pick(up.size())]);
          return to.has_value() ? "to " + std::to_string(*to) : "failed: " + to.error().ToString();
        });
        return;
      case kRestartAll:
        if (!catch_up && Pick(3) != 0) return;  // rarer than the others
        Do(kind, [&] {
          for (uint64_t id : c_.ids()) {
            if (removed_.contains(id)) continue;
            if (c_.Stopped(id)) {
              EXPECT_TRUE(c_.Cont(id).ok());
            }
            if (c_.Running(id)) {
              EXPECT_TRUE(c_.Kill(id).ok());
            }
          }
          paused_.clear();
          down_.clear();
          for (uint64_t id : c_.ids()) {
            if (!removed_.contains(id)) {
              EXPECT_TRUE(c_.Restart(id).ok());
            }
          }
          return std::string("all members");
        });
        return;
    }
  }

  // Ends every fault: paused members continue, dead ones restart.
  void HealAll() {
    for (auto& [id, at] : paused_) at = 0;
    for (auto& [id, at] : down_) at = 0;
    HealDue();
  }

  // On a healed cluster: wipes member `id` and joins it again (a step of
  // the schedule, logged as one).
  void RemoveAndReaddNow(uint64_t id) {
    Do(kRemoveReadd, [&] { return RemoveAndReadd(id); });
  }

  const std::map<int, int>& counts() const { return counts_; }

 private:
  int64_t Now() { return c_.clock().NowNanos(); }
  int64_t Ms(int64_t lo, int64_t hi) { return (lo + static_cast<int64_t>(Pick(static_cast<uint64_t>(hi - lo)))) * 1'000'000; }
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  size_t Faulty() const { return down_.size() + paused_.size() + removed_.size(); }

  std::vector<uint64_t> Healthy() {
    std::vector<uint64_t> out;
    for (uint64_t id : c_.ids()) {
      if (!down_.contains(id) && !paused_.contains(id) && !removed_.contains(id) && c_.Running(id)) out.push_back(id);
    }
    return out;
  }

  void HealDue() {
    const int64_t now = Now();
    for (auto it = paused_.begin(); it != paused_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      EXPECT_TRUE(c_.Cont(it->first).ok());
      it = paused_.erase(it);
    }
    for (auto it = down_.begin(); it != down_.end();) {
      if (it->second > now) {
        ++it;
        continue;
      }
      EXPECT_TRUE(c_.Restart(it->first).ok());
      it = down_.erase(it);
    }
  }

  std::string RemoveAndReadd(uint64_t id) {
    auto after = admin_.Remove(id);
    if (!after.has_value()) return "remove " + std::to_string(id) + " failed: " + after.error().ToString();
    removed_.insert(id);
    const int64_t end = Now() + 10'000'000'000;
    while (c_.Running(id) && Now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (c_.Running(id)) {
      ADD_FAILURE() << "removed member " << id << " did not exit\n" << c_.LogTail(id);
      EXPECT_TRUE(c_.Kill(id).ok());
    } else {
      EXPECT_EQ(c_.LastExit(id).code, 0) << c_.LastExit(id).ToString();
    }
    std::vector<uint64_t> via;
    for (uint64_t other : c_.ids()) {
      if (other != id) via.push_back(other);
    }
    EXPECT_TRUE(c_.Rejoin(id, via).ok());
    removed_.erase(id);
    return "member " + std::to_string(id) + " (wiped, joined again)";
  }

  template <typename F>
  void Do(int kind, F&& fault) {
    const std::string what = fault();
    counts_[kind]++;
    std::printf("[ nemesis  ] %8.0f ms %-13s %s\n", cluster_testing::Ms(Now() - start_), FaultName(kind), what.c_str());
    std::fflush(stdout);
  }

  Cluster& c_;
  replog::ClusterAdmin& admin_;
  std::mt19937_64 rng_;
  const int64_t start_ = common::RealClock().NowNanos();
  std::map<uint64_t, int64_t> down_;    // killed: restart due at
  std::map<uint64_t, int64_t> paused_;  // stopped: continue due at
  std::set<uint64_t> removed_;
  std::map<int, int> counts_;
};

// How a run is set up.
struct Mode {
  const char* name;
  std::vector<std::string> server_args;  // more replogd flags
  size_t value_bytes = 0;                // produced values padded to this
  bool retention = false;                // the server args turn retention on
};

// With retention the members keep 4 MiB of 1 MiB segments (the smallest
// allowed), about 6 s of records at the test's rate, and none older than
// 10 s: a segment is purged every second or two, and members that were down
// or wiped often come back through the leader's snapshot.
const Mode kRetentionMode{
    .name = "nemesis-retention",
    .server_args = {"--segment-bytes", "1048576", "--retention-bytes", "4194304", "--retention-ms", "10000",
                    "--retention-check-ms", "200"},
    .value_bytes = 500,
    .retention = true,
};

// A writer of the key-value store beside the log's producers: puts distinct
// keys "kv<n>" one at a time through a KvClient (exactly-once), so that the
// KV group goes through the same faults and membership changes, and
// remembers what was acknowledged.
class KvWriter {
 public:
  explicit KvWriter(const std::vector<std::string>& addresses) {
    thread_ = std::jthread([this, addresses](std::stop_token stop) { Run(addresses, stop); });
  }
  void Stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  std::map<std::string, std::string> acked() {
    std::lock_guard l(mu_);
    return acked_;
  }

 private:
  void Run(const std::vector<std::string>& addresses, const std::stop_token& stop) {
    replog::KvClientOptions o;
    o.bootstrap_addresses = addresses;
    o.deadline_ms = 5'000;
    o.attempt_timeout_ms = 1'000;
    std::unique_ptr<replog::KvClient> client;
    for (int n = 0; !stop.stop_requested();) {
      if (client == nullptr) {
        auto c = replog::KvClient::Connect(o);
        if (!c.has_value()) continue;
        client = std::move(*c);
      }
      const std::string key = "kv" + std::to_string(n);
      const std::string value = "v" + std::to_string(n);
      if (client->Put(key, value).has_value()) {
        std::lock_guard l(mu_);
        acked_[key] = value;
        ++n;
      }
    }
  }

  std::mutex mu_;
  std::map<std::string, std::string> acked_;
  std::jthread thread_;
};

bool Skipped(const std::vector<Jump>& jumps, uint64_t offset) {
  for (const Jump& j : jumps) {
    if (offset >= j.from && offset < j.to) return true;
  }
  return false;
}

void RunNemesis(const Mode& mode) {
  const uint64_t seed = EnvU64("NEMESIS_SEED", std::random_device{}());
  const uint64_t duration_s = EnvU64("NEMESIS_DURATION", 60);
  std::printf("[ nemesis  ] %s: seed %llu, %llu s of faults (NEMESIS_SEED=%llu reproduces the schedule)\n", mode.name,
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(duration_s),
              static_cast<unsigned long long>(seed));
  ClusterOptions options;
  options.members = kMembers;
  options.name = mode.name;
  options.extra_args = mode.server_args;
  // KV snapshots every few hundred writes: wiped and lagging members come
  // back to the KV group through them.
  for (const char* arg : {"--kv-snapshot-entries", "300", "--kv-trailing-entries", "50"}) {
    options.extra_args.push_back(arg);
  }
  auto cluster_or = Cluster::Start(options);
  ASSERT_TRUE(cluster_or.has_value()) << cluster_or.error().ToString();
  Cluster& cluster = **cluster_or;
  ASSERT_TRUE(cluster.WaitForLeader(15'000).has_value());

  auto admin_client = Connect(cluster.Addresses());
  ASSERT_NE(admin_client, nullptr);
  replog::ClusterAdmin admin(*admin_client, 5'000);
  Producers producers(cluster.Addresses(), mode.value_bytes);
  Consumers consumers(cluster.Addresses());
  KvWriter kv_writer(cluster.Addresses());

  Nemesis nemesis(cluster, admin, seed);
  std::mt19937_64 pace(seed ^ 0x9e3779b97f4a7c15ULL);
  const int64_t end = cluster.clock().NowNanos() + static_cast<int64_t>(duration_s) * 1'000'000'000;
  while (cluster.clock().NowNanos() < end && !::testing::Test::HasFatalFailure()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + pace() % 1'200));
    nemesis.Step();
  }
  nemesis.HealAll();
  auto leader = cluster.WaitForLeader(30'000);
  ASSERT_TRUE(leader.has_value()) << leader.error().ToString();
  // With retention, a member wiped after the log was purged must catch up
  // through a snapshot. The random schedule may not have done that (its
  // remove+re-add came before the first purge, or there was none): then a
  // follower is wiped now, once every member has purged its log's start.
  const std::vector<std::string> log_install = {" group log term ", "installed the leader's snapshot"};
  if (mode.retention && duration_s >= 60 && CountLogLines(cluster, log_install) == 0) {
    const bool purged = cluster.WaitUntil(
        [&] {
          for (uint64_t id : cluster.ids()) {
            auto first = cluster.FirstOffset(id);
            if (!first.has_value() || *first <= 1) return false;
          }
          return true;
        },
        40'000, 200);
    EXPECT_TRUE(purged) << "retention did not purge every member's log";
    auto now = cluster.WaitForLeader(30'000);
    ASSERT_TRUE(now.has_value()) << now.error().ToString();
    const uint64_t follower = *now == cluster.ids()[0] ? cluster.ids()[1] : cluster.ids()[0];
    nemesis.RemoveAndReaddNow(follower);
  }
  // Records go on for a while on the healed cluster, then stop.
  const uint64_t before = producers.acked();
  const int64_t settle_end = cluster.clock().NowNanos() + 20'000'000'000;
  while (producers.acked() < before + 100 && cluster.clock().NowNanos() < settle_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(producers.acked(), before + 100) << "the healed cluster does not take produces";
  producers.Stop();
  kv_writer.Stop();

  const std::vector<Ack> acks = producers.acks();
  const std::set<std::string> uncertain = producers.uncertain();
  uint64_t through = MaxOffset(acks);
  const std::vector<uint64_t> ids = cluster.ids();
  ASSERT_TRUE(cluster.WaitCommitted(ids, through, 60'000).ok());
  // Consumers catch up to `through`, then stop.
  const int64_t catch_up_end = cluster.clock().NowNanos() + 30'000'000'000;
  for (;;) {
    bool behind = false;
    for (const auto& s : consumers.seen()) behind |= s.empty() || s.back().offset < through;
    if (!behind || cluster.clock().NowNanos() > catch_up_end) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  consumers.Stop();
  const std::vector<std::vector<LogRecord>> seen = consumers.seen();
  const std::vector<std::vector<Jump>> jumps = consumers.jumps();
  for (const auto& s : seen) {
    if (!s.empty()) through = std::max(through, s.back().offset);
  }
  ASSERT_TRUE(cluster.WaitCommitted(ids, through, 30'000).ok());

  // The members' logs, from their common first offset F (retention may
  // have purged below it; without retention F is the log's start).
  auto first = cluster.WaitSameFirstOffset(ids, 30'000);
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  const uint64_t f = *first;
  auto log = ReadIdenticalLogs(cluster, ids, through, f);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  std::map<uint64_t, const std::string*> at;  // the whole log as far as anyone saw it: offset -> value
  for (const LogRecord& r : *log) at[r.offset] = &r.value;

  // Every consumer saw, from F on, a prefix of the members' log, and below
  // F (purged) the same records as every other consumer at those offsets,
  // in increasing order.
  for (size_t c = 0; c < seen.size(); ++c) {
    if (!mode.retention) {
      EXPECT_TRUE(jumps[c].empty()) << "consumer " << c << " skipped offsets";
    }
    size_t i = 0;
    for (; i < seen[c].size() && seen[c][i].offset < f; ++i) {
      const LogRecord& r = seen[c][i];
      if (i > 0 && r.offset <= seen[c][i - 1].offset) {
        ADD_FAILURE() << "consumer " << c << " saw offset " << r.offset << " after " << seen[c][i - 1].offset;
        break;
      }
      auto [it, fresh] = at.emplace(r.offset, &r.value);
      if (!fresh && *it->second != r.value) {
        ADD_FAILURE() << "consumer " << c << " saw '" << r.value << "' at purged offset " << r.offset
                      << ", another consumer '" << *it->second << "'";
      }
    }
    for (size_t k = 0; i < seen[c].size(); ++i, ++k) {
      if (k < log->size() && seen[c][i] == (*log)[k]) continue;
      ADD_FAILURE() << "consumer " << c << " record " << i << ": saw offset " << seen[c][i].offset << " '"
                    << seen[c][i].value << "', the log has "
                    << (k < log->size() ? "offset " + std::to_string((*log)[k].offset) + " '" + (*log)[k].value + "'"
                                        : std::string("nothing more"));
      break;
    }
  }

  // Every acknowledged record is at its offset: in the members' log from F
  // on; below F, in what every consumer that did not skip it saw.
  size_t unverifiable = 0, lost = 0;
  for (const Ack& a : acks) {
    if (a.offset < f) {
      bool checked = false;
      for (size_t c = 0; c < seen.size(); ++c) checked |= !Skipped(jumps[c], a.offset);
      if (!checked) {
        ++unverifiable;
        continue;
      }
    }
    auto it = at.find(a.offset);
    if (it != at.end() && *it->second == a.value) continue;
    if (++lost <= 20) {
      ADD_FAILURE() << "lost: '" << a.value << "' acknowledged at offset " << a.offset << ", but the log has "
                    << (it == at.end() ? std::string("no record there") : "'" + *it->second + "'");
    }
  }
  EXPECT_EQ(lost, 0u);
  // Exactly-once produce (the client's default): no value is in the log
  // twice, not even one whose produce had an unknown outcome (its retries
  // carried the same producer id and sequence).
  std::map<std::string, int> copies;
  for (const auto& [offset, value] : at) copies[*value]++;
  int duplicated = 0;
  for (const auto& [value, n] : copies) {
    if (n <= 1) continue;
    ++duplicated;
    ADD_FAILURE() << value.substr(0, 40) << " is in the log " << n << " times"
                  << (uncertain.contains(value) ? " (its produce had an unknown outcome)" : "");
  }
  for (const std::string& m : TwoLeadersInATerm(cluster)) ADD_FAILURE() << m;

  // The KV group followed the membership changes: every member holds the
  // same map at the same applied index, with every acknowledged put.
  const std::map<std::string, std::string> kv_acked = kv_writer.acked();
  auto kv = WaitSameKvState(cluster, ids, 60'000);
  EXPECT_TRUE(kv.has_value()) << kv.error().ToString();
  size_t kv_lost = 0;
  for (uint64_t id : ids) {
    auto dump = KvDump(cluster, id);
    ASSERT_TRUE(dump.has_value()) << dump.error().ToString();
    for (const auto& [key, value] : kv_acked) {
      auto it = dump->find(key);
      if (it != dump->end() && it->second == value) continue;
      if (++kv_lost <= 10) ADD_FAILURE() << "member " << id << " lacks acknowledged put " << key;
    }
  }
  EXPECT_EQ(kv_lost, 0u);
  const size_t kv_installs = CountLogLines(cluster, {" group kv term ", "installed the leader's snapshot"});
  const size_t purges = CountLogLines(cluster, {"retention: log purged up to"});
  const size_t installs = CountLogLines(cluster, log_install);
  if (mode.retention && duration_s >= 60) {
    EXPECT_GT(purges, 0u) << "retention purged nothing";
    EXPECT_GT(installs, 0u) << "no member installed a snapshot";
  }

  std::string faults;
  int total = 0;
  for (const auto& [kind, n] : nemesis.counts()) {
    faults += std::string(faults.empty() ? "" : ", ") + FaultName(kind) + " " + std::to_string(n);
    total += n;
  }
  std::printf("[ nemesis  ] %s: seed %llu: %d faults (%s); %zu acknowledged records checked (%zu below the first "
              "offset only by the consumers, %zu skipped by both), %llu produce calls failed, %zu produces had an "
              "unknown outcome, %d values in the log twice; first offset %llu, %zu records through offset %llu on "
              "%zu members; consumers saw %zu and %zu records and skipped %zu and %zu ranges; %zu purges and %zu "
              "snapshot installs in the members' logs; %zu KV puts acknowledged, the same map on every member, %zu KV "
              "snapshot installs\n",
              mode.name, static_cast<unsigned long long>(seed), total, faults.c_str(), acks.size() - unverifiable,
              static_cast<size_t>(std::count_if(acks.begin(), acks.end(), [&](const Ack& a) { return a.offset < f; })) -
                  unverifiable,
              unverifiable, static_cast<unsigned long long>(producers.failed()), uncertain.size(), duplicated,
              static_cast<unsigned long long>(f), log->size(), static_cast<unsigned long long>(through), ids.size(),
              seen[0].size(), seen[1].size(), jumps[0].size(), jumps[1].size(), purges, installs, kv_acked.size(),
              kv_installs);
  for (int k = 0; k < kFaultKinds; ++k) {
    if (duration_s >= 60) {
      EXPECT_GT(nemesis.counts().count(k), 0u) << "no " << FaultName(k) << " in this run";
    }
  }
}

TEST(NemesisTest, EveryAcknowledgedRecordOnceInOneOrderUnderFaults) { RunNemesis(Mode{.name = "nemesis"}); }

// The same faults while retention purges the log every few seconds.
TEST(NemesisTest, EveryAcknowledgedRecordOnceWhileRetentionPurges) { RunNemesis(kRetentionMode); }

}  // namespace
}  // namespace cluster_testing
