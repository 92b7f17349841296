#include "bench/raft_bench.h"

#include <CLI/CLI.hpp>
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/posix_io.h"
#include "bench/report.h"
#include "common/clock.h"
#include "raft/core/memory_storage.h"
#include "raft/core/raft.h"

namespace bench {

namespace {

using raft::Entry;
using raft::EntryType;
using raft::Message;
using raft::NodeId;

constexpr const char* kRaftHelp = R"(What one run does:
  Nodes 1..--nodes are voters, each a raft::Raft on its own raft::MemoryStorage, all in this
  thread. Node 1 campaigns and wins. Then, for --warmup-seconds (not recorded) and --seconds,
  rounds repeat; one round is:
    1. the leader gets one ProposeBatch() of --batch entries of --entry-size bytes each (what a
       runtime does with the proposals that arrived since its last Ready);
    2. every member with a Ready handles it by the contract of raft/core/ready.h: messages to
       the outbox, entries and hard state into MemoryStorage, messages_after_persist to the
       outbox, committed entries applied (counted), Advance();
    3. every message of the outbox is delivered with Step(), in the order sent.
  No ticks (no heartbeats), no network delay, no loss. Storage is compacted behind the
  slowest member's applied index every 65,536 entries so memory stays flat.
  entries/s counts normal entries applied on the LEADER (an entry is applied once a quorum
  holds it and the leader persisted it). The JSON line also says how many each member applied.
  The harness does not allocate in steady state except the payload strings and the vector
  ProposeBatch() takes by value.)";

// Members compact their storage once the slowest one applied this many entries more.
constexpr uint64_t kCompactEvery = 65'536;

// Counters of a BenchCluster since it started.
struct ClusterCounters {
  uint64_t rounds = 0;
  uint64_t readys = 0;           // Readys handled, all members
  uint64_t messages = 0;         // messages delivered
  uint64_t leader_applied = 0;   // normal entries applied on the leader
  uint64_t min_applied = 0;      // normal entries applied by the member that applied fewest
};

// Cores 1..n on MemoryStorage, joined by an in-order, lossless, zero-delay
// network, all driven from the calling thread (see kRaftHelp).
class BenchCluster {
 public:
  BenchCluster(uint64_t nodes, uint64_t entry_size) : payload_(entry_size, 'x') {
    raft::ConfState cs;
    for (NodeId id = 1; id <= nodes; ++id) cs.voters.push_back(id);
    for (NodeId id = 1; id <= nodes; ++id) {
      Member m;
      m.storage = std::make_unique<raft::MemoryStorage>();
      m.storage->SetConfState(cs);
      raft::Config c;
      c.id = id;
      c.seed = id;
      auto r = raft::Raft::Create(c, *m.storage);
      CHECK_OK(r.status());
      m.raft = std::move(*r);
      members_.push_back(std::move(m));
    }
    outbox_.reserve(1024);
    inbox_.reserve(1024);
  }

  // Elects node 1 and lets its empty entry commit everywhere. The leader
  // ticks (heartbeats) here only: a follower whose ack came after the commit
  // learns the commit index from the next append or heartbeat.
  void Start() {
    members_[0].raft->Campaign();
    for (int i = 0; i < 100 && !Settled(); ++i) {
      members_[0].raft->Tick();
      Round(0);
    }
    CHECK_MSG(Settled(), "node 1 did not become a settled leader");
  }

  // One round: propose `batch` entries on the leader, one Ready per member, deliver.
  void Round(uint64_t batch) {
    raft::Raft& leader = *members_[0].raft;
    if (batch > 0) CHECK_OK(leader.ProposeBatch(std::vector<std::string>(batch, payload_)));
    for (Member& m : members_) {
      if (m.raft->HasReady()) HandleReady(m);
    }
    Deliver();
    MaybeCompact();
    ++counters_.rounds;
  }

  ClusterCounters counters() const {
    ClusterCounters c = counters_;
    c.leader_applied = members_[0].applied_entries;
    c.min_applied = members_[0].applied_entries;
    for (const Member& m : members_) c.min_applied = std::min(c.min_applied, m.applied_entries);
    return c;
  }

 private:
  struct Member {
    std::unique_ptr<raft::MemoryStorage> storage;
    std::unique_ptr<raft::Raft> raft;
    uint64_t applied_index = 0;    // last index applied
    uint64_t applied_entries = 0;  // normal entries with a payload applied
  };

  bool Settled() const {
    if (members_[0].raft->role() != raft::Role::kLeader) return false;
    for (const Member& m : members_) {
      if (m.applied_index < members_[0].raft->log().last_index()) return false;
    }
    return true;
  }

  // ready.h, steps 1 to 5, in order.
  void HandleReady(Member& m) {
    raft::Ready rd = m.raft->GetReady();
    ++counters_.readys;
    for (Message& msg : rd.messages) outbox_.push_back(std::move(msg));
    if (rd.snapshot) CHECK_OK(m.storage->ApplySnapshot(*rd.snapshot));
    CHECK_OK(m.storage->Append(rd.entries));
    if (rd.hard_state) m.storage->SetHardState(*rd.hard_state);
    for (Message& msg : rd.messages_after_persist) outbox_.push_back(std::move(msg));
    for (const Entry& e : rd.committed_entries) {
      CHECK(e.type != EntryType::kConfChange);  // the bench changes no membership
      if (e.type == EntryType::kNormal && !e.data.empty()) ++m.applied_entries;
    }
    if (!rd.committed_entries.empty()) m.applied_index = rd.committed_entries.back().index;
    m.raft->Advance();
  }

  void Deliver() {
    inbox_.swap(outbox_);
    for (const Message& msg : inbox_) {
      CHECK(msg.to >= 1 && msg.to <= members_.size());
      CHECK_OK(members_[msg.to - 1].raft->Step(msg));
    }
    counters_.messages += inbox_.size();
    inbox_.clear();
  }

  // What a runtime does after a snapshot: drop entries every member applied.
  void MaybeCompact() {
    uint64_t floor = members_[0].applied_index;
    for (const Member& m : members_) floor = std::min(floor, m.applied_index);
    if (floor < compacted_ + kCompactEvery) return;
    for (Member& m : members_) CHECK_OK(m.storage->Compact(floor));
    compacted_ = floor;
  }

  const std::string payload_;
  std::vector<Member> members_;  // members_[i] is node i + 1
  std::vector<Message> outbox_;  // sent this round
  std::vector<Message> inbox_;   // being delivered
  uint64_t compacted_ = 0;
  ClusterCounters counters_;
};

// CPU seconds (user + system) this process used so far. On a shared VM the
// thread is often descheduled: entries per CPU-second is the steadier figure.
double ProcessCpuSeconds() {
  rusage ru{};
  CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

// Rounds until `deadline_ns`, reading the clock every few rounds.
void RunUntil(BenchCluster& cluster, common::Clock& clock, uint64_t batch, int64_t deadline_ns) {
  constexpr int kRoundsPerClockRead = 16;
  while (clock.NowNanos() < deadline_ns) {
    for (int i = 0; i < kRoundsPerClockRead; ++i) cluster.Round(batch);
  }
}

Status Validate(const RaftBenchConfig& c) {
  if (c.batch == 0) return common::InvalidArgumentError("--batch must be positive");
  if (c.nodes == 0 || c.nodes > 9) return common::InvalidArgumentError("--nodes must be in [1, 9]");
  if (c.seconds <= 0 || c.warmup_seconds < 0) return common::InvalidArgumentError("--seconds must be positive");
  return Status::Ok();
}

// The deltas of one measured phase, as a Report.
Report MakeReport(const RaftBenchConfig& c, const ClusterCounters& a, const ClusterCounters& b, double secs,
                  double cpu_secs) {
  Report r;
  r.workload = "raft";
  r.record_size = c.entry_size;
  r.batch = c.batch;
  r.writers = 1;
  r.seconds = secs;
  const double entries = static_cast<double>(b.leader_applied - a.leader_applied);
  const double rounds = static_cast<double>(b.rounds - a.rounds);
  const double readys = static_cast<double>(b.readys - a.readys);
  const double messages = static_cast<double>(b.messages - a.messages);
  const double per_s = entries / secs;
  r.records_per_s = per_s;
  r.mb_per_s = per_s * static_cast<double>(c.entry_size) / kMiB;
  r.AddInt("nodes", static_cast<int64_t>(c.nodes));
  r.AddInt("entry_size", static_cast<int64_t>(c.entry_size));
  r.AddStr("counted", "applied_on_leader");
  r.AddNum("entries_per_s", per_s);
  r.AddNum("ns_per_entry", entries > 0 ? secs * 1e9 / entries : 0.0);
  r.AddNum("cpu_seconds", cpu_secs);
  r.AddNum("entries_per_cpu_s", cpu_secs > 0 ? entries / cpu_secs : 0.0);
  r.AddNum("ready_rounds_per_s", rounds / secs);
  r.AddNum("readys_per_s", readys / secs);
  r.AddNum("messages_per_s", messages / secs);
  r.AddNum("messages_per_entry", entries > 0 ? messages / entries : 0.0);
  r.AddInt("entries", static_cast<int64_t>(b.leader_applied - a.leader_applied));
  r.AddInt("min_member_entries", static_cast<int64_t>(b.min_applied - a.min_applied));
  r.AddNum("warmup_seconds", c.warmup_seconds);
  r.summary = Num(per_s) + " entries/s committed (applied on the leader), " + std::to_string(c.nodes) +
              " nodes, batch " + std::to_string(c.batch) + ", " + std::to_string(c.entry_size) +
              " B entries; " + Num(cpu_secs > 0 ? entries / cpu_secs : 0.0) + " entries per CPU-second (" +
              Num(100 * cpu_secs / secs) + "% CPU), " + Num(rounds / secs) +
              " rounds/s, " + Num(entries > 0 ? messages / entries : 0.0, 2) + " messages/entry";
  return r;
}

// Google Benchmark: one iteration is one round with `state.range(0)` entries
// proposed; items are entries applied on the leader.
void BM_RaftCommit(benchmark::State& state) {
  const uint64_t batch = static_cast<uint64_t>(state.range(0));
  BenchCluster cluster(3, 128);
  cluster.Start();
  for (int i = 0; i < 8; ++i) cluster.Round(batch);  // fill the pipeline
  const ClusterCounters before = cluster.counters();
  for (auto _ : state) cluster.Round(batch);
  const ClusterCounters after = cluster.counters();
  state.SetItemsProcessed(static_cast<int64_t>(after.leader_applied - before.leader_applied));
  state.counters["msgs/entry"] = benchmark::Counter(
      static_cast<double>(after.messages - before.messages) /
      static_cast<double>(std::max<uint64_t>(1, after.leader_applied - before.leader_applied)));
}

}  // namespace

CLI::App* AddRaftCommand(CLI::App* app, RaftBenchConfig* c) {
  CLI::App* cmd = app->add_subcommand(
      "raft", "the Raft core alone: committed entries/s of cores on MemoryStorage in one thread");
  cmd->footer(kRaftHelp);
  cmd->add_option("--batch", c->batch, "entries proposed on the leader per round")->capture_default_str();
  cmd->add_option("--seconds", c->seconds, "measured seconds")->capture_default_str();
  cmd->add_option("--warmup-seconds", c->warmup_seconds, "unrecorded seconds before")->capture_default_str();
  cmd->add_option("--nodes", c->nodes, "voters")->capture_default_str();
  cmd->add_option("--entry-size", c->entry_size, "payload bytes per entry")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false));
  return cmd;
}

Status RunRaftBench(const RaftBenchConfig& config) {
  RETURN_IF_ERROR(Validate(config));
  common::RealClock clock;
  BenchCluster cluster(config.nodes, config.entry_size);
  cluster.Start();
  const auto warmup_ns = static_cast<int64_t>(config.warmup_seconds * 1e9);
  RunUntil(cluster, clock, config.batch, clock.NowNanos() + warmup_ns);

  const ClusterCounters start = cluster.counters();
  const double cpu0 = ProcessCpuSeconds();
  const int64_t t0 = clock.NowNanos();
  RunUntil(cluster, clock, config.batch, t0 + static_cast<int64_t>(config.seconds * 1e9));
  const int64_t t1 = clock.NowNanos();
  const double cpu1 = ProcessCpuSeconds();
  const ClusterCounters end = cluster.counters();

  Report report = MakeReport(config, start, end, static_cast<double>(t1 - t0) / 1e9, cpu1 - cpu0);
  Memory mem = ReadMemory();
  report.AddInt("rss_kb", mem.rss_kb);
  report.AddInt("rss_peak_kb", mem.hwm_kb);
  std::printf("%s\n%s\n", FormatSummary(report).c_str(), FormatJson(report).c_str());
  std::fflush(stdout);
  return Status::Ok();
}

void RegisterRaftMicroBenchmarks() {
  benchmark::RegisterBenchmark("BM_RaftCommit", BM_RaftCommit)->Arg(1)->Arg(64);
}

}  // namespace bench
