// Crash tests of SegmentedLog on MemFs (DESIGN §2 rules 1-3, §7; WAL-7, WAL-9,
// WAL-14): a seeded mixed workload (appends, hard states, truncations below
// the last segment, purges past the end, segment rolls, syncs) fails
//  - by power loss at every sync point, in both crash modes, plain or with
//    the directory's pending renames and removals committed just before;
//  - by a process kill (kill -9, page cache kept) before every Fs call;
//  - by either at random points between ops;
// and again during the recovery that follows. The reopened log must equal the
// model after some prefix of the issued steps, no shorter than what the last
// successful Sync() covered; then it must keep working: what it acknowledges
// after recovery survives a power loss.
//
// Seeds: REPLOG_CRASH_SEED=<n> replaces the fixed workload seeds of the sweep
// and the base seed of the random test; every failure message prints them.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <random>

#include "crash_harness.h"
#include "storage/segmented_log.h"
#include "workload.h"

namespace storage_testing {
namespace {

using replog_testing::CrashMode;
using replog_testing::MemFs;
using storage::Options;
using storage::SegmentedLog;

constexpr char kDir[] = "/data/log";

std::optional<uint64_t> SeedFromEnv() {
  const char* s = std::getenv("REPLOG_CRASH_SEED");
  if (s == nullptr || *s == '\0') return std::nullopt;
  return std::strtoull(s, nullptr, 10);
}

// Small segments (rolls by size and by entry count), no background threads
// but the writer, and writes only inside Sync(): the sync points of a run are
// the same every time, so "the k-th sync point" names one moment.
Options SweepOptions() {
  Options o;
  o.segment_bytes = 12 << 10;
  o.max_segment_entries = 40;
  o.preallocate = false;
  o.cache_bytes = 4 << 10;
  o.flush_bytes = 64 << 20;
  o.writeback_bytes = 3 << 10;  // rounds written in pieces, each handed to writeback
  o.shared_payload_bytes = 400;  // about a third of the payloads are written from the cache's copy
  return o;
}

// Preallocation on (a second thread that syncs), and unsynced rounds written
// in the background: sync points are numbered by arrival, not fixed.
Options RandomOptions() {
  Options o = SweepOptions();
  o.segment_bytes = 16 << 10;
  o.max_segment_entries = 64;
  o.preallocate = true;
  o.flush_bytes = 2 << 10;
  return o;
}

WorkloadConfig SweepWorkload() {
  WorkloadConfig c;
  c.ops = 110;
  return c;
}

struct CrashPoint {
  Failure failure = Failure::kPowerLoss;
  uint64_t at_sync = 0;             // fail at this sync point (1-based); 0: never from the hook
  std::optional<size_t> after_op;   // fail from the test thread after this op returned
  uint64_t during_reopen_sync = 0;  // fail again at this sync point of the first reopen; 0: never
  uint64_t at_call = 0;             // kProcessKill only: kill just before this Fs call (1-based); 0: never
};

struct Outcome {
  RunRecord record;
  uint64_t sync_points = 0;  // seen by the hook
  uint64_t calls = 0;        // Fs calls made
  bool failed_by_hook = false;
};

// The files of the MemFs, for failure messages.
std::string Files(MemFs& mem) {
  std::string out;
  for (const std::string& p : mem.ListAll()) {
    auto bytes = mem.ReadFileForTest(p);
    out += p + "(" + std::to_string(bytes.has_value() ? bytes->size() : 0) + ") ";
  }
  return out;
}

// One life: opens a log on `mem`, runs `ops`, and fails as `point` says (or
// after the last op). The log is destroyed before returning.
Outcome RunAndFail(MemFs& mem, const Options& opts, const std::vector<Op>& ops, const CrashPoint& point,
                   CrashMode mode, uint64_t crash_seed) {
  Outcome out;
  Life life(mem, kDir);
  std::atomic<uint64_t> syncs{0};
  std::atomic<bool> by_hook{false};
  mem.SetSyncHook([&](const std::string&) {
    if (++syncs == point.at_sync) {
      by_hook = true;
      life.Fail(point.failure, mode, crash_seed);
    }
  });
  if (point.at_call > 0) life.KillAtCall(point.at_call);
  {
    auto log = SegmentedLog::Open(life.fs(), kDir, opts);
    if (log.has_value()) {
      RunOps(**log, ops, 0, ops.size(), &out.record, [&](size_t i) {
        if (point.after_op == i) life.Fail(point.failure, mode, crash_seed);
      });
    }
    out.calls = life.calls();
    life.Fail(point.failure, mode, crash_seed);  // if nothing failed it yet: after the last op
  }
  mem.SetSyncHook({});
  out.sync_points = syncs;
  out.failed_by_hook = by_hook;
  return out;
}

// Runs without failing (but a kill after the last op), and checks that the
// run ends with the whole model durable: how many sync points and Fs calls
// the run has.
Outcome ReferenceRun(const Options& opts, const std::vector<Op>& ops) {
  MemFs mem;
  Outcome out =
      RunAndFail(mem, opts, ops, CrashPoint{Failure::kProcessKill, 0, std::nullopt, 0, 0}, CrashMode::kDropUnsynced, 0);
  EXPECT_TRUE(out.record.first_error.ok()) << out.record.first_error.ToString();
  EXPECT_EQ(out.record.durable_steps, out.record.steps.size());
  return out;
}

// Reopens after a failure and checks the prefix rule; then appends, syncs,
// loses power and reopens once more: the recovered log keeps working, and
// what it acknowledges after recovery is durable.
void VerifyRecovery(MemFs& mem, const Options& opts, const RunRecord& record, const CrashPoint& point,
                    CrashMode mode, uint64_t crash_seed, const std::string& context) {
  if (point.during_reopen_sync > 0) {
    // A failure during recovery itself must not lose or resurrect anything.
    Life life(mem, kDir);
    std::atomic<uint64_t> syncs{0};
    mem.SetSyncHook([&](const std::string&) {
      if (++syncs == point.during_reopen_sync) life.Fail(point.failure, mode, crash_seed + 1);
    });
    {
      auto log = SegmentedLog::Open(life.fs(), kDir, opts);
      life.Fail(point.failure, mode, crash_seed + 1);
    }
    mem.SetSyncHook({});
  }
  ModelState got;
  {
    auto log = SegmentedLog::Open(mem, kDir, opts);
    ASSERT_TRUE(log.has_value()) << context << ": reopen failed: " << log.error().ToString() << "; files: "
                                 << Files(mem);
    auto state = ReadLogState(**log);
    ASSERT_TRUE(state.has_value()) << context << ": reading the reopened log: " << state.error().ToString();
    got = *state;
    std::string why = MatchPrefix(got, record.steps, record.durable_steps);
    ASSERT_TRUE(why.empty()) << context << ": " << why;

    std::vector<LogEntry> entries = MakeEntries(got.last_index + 1, 3, 1000, 40);
    HardState hs{1000, 2, got.last_index};
    ASSERT_TRUE((*log)->Append(entries).ok()) << context;
    ASSERT_TRUE((*log)->SetHardState(hs).ok()) << context;
    common::Status s = (*log)->Sync();
    ASSERT_TRUE(s.ok()) << context << ": sync after recovery: " << s.ToString();
    for (const LogEntry& e : entries) got.Apply(Step{Step::Kind::kEntry, e, {}, 0, 0});
    got.Apply(Step{Step::Kind::kHardState, {}, hs, 0, 0});
  }
  mem.Crash(CrashMode::kDropUnsynced, crash_seed + 2);
  auto log = SegmentedLog::Open(mem, kDir, opts);
  ASSERT_TRUE(log.has_value()) << context << ": reopen after recovery, append, sync and power loss failed: "
                               << log.error().ToString() << "; files: " << Files(mem);
  auto again = ReadLogState(**log);
  ASSERT_TRUE(again.has_value()) << context << ": " << again.error().ToString();
  ASSERT_TRUE(*again == got) << context
                             << ": after recovery, append and sync, a power loss lost acknowledged data: got "
                             << again->Summary() << ", want " << got.Summary();
}

std::string Context(CrashMode mode, uint64_t workload_seed, const CrashPoint& p, uint64_t crash_seed) {
  return std::string(FailureName(p.failure)) + " mode=" + CrashModeName(mode) +
         " workload_seed=" + std::to_string(workload_seed) + " at_sync=" + std::to_string(p.at_sync) +
         " after_op=" + (p.after_op ? std::to_string(*p.after_op) : "-") +
         " during_reopen_sync=" + std::to_string(p.during_reopen_sync) + " at_call=" + std::to_string(p.at_call) +
         " crash_seed=" + std::to_string(crash_seed);
}

struct SweepParam {
  Failure failure;
  CrashMode mode;
};

std::string SweepName(const ::testing::TestParamInfo<SweepParam>& p) {
  std::string name = FailureName(p.param.failure);
  if (p.param.failure != Failure::kProcessKill) name += std::string("_") + (CrashModeName(p.param.mode) + 1);
  std::erase(name, '-');
  return name;
}

class CrashSweepTest : public ::testing::TestWithParam<SweepParam> {};

// Fails at every sync point of the run (and once after the last op), then
// reopens; also fails during that reopen's recovery at one of its first sync
// points, and fails between ops at random points.
TEST_P(CrashSweepTest, EverySyncPointRecoversASyncedPrefix) {
  const SweepParam param = GetParam();
  const Options opts = SweepOptions();
  std::vector<uint64_t> seeds = {11, 12, 13};
  if (auto s = SeedFromEnv()) seeds = {*s};
  for (uint64_t workload_seed : seeds) {
    std::vector<Op> ops = MakeWorkload(workload_seed, SweepWorkload());
    Outcome ref = ReferenceRun(opts, ops);
    const uint64_t n = ref.sync_points;
    std::printf("[ seed     ] %s mode=%s workload_seed=%llu: %llu sync points, %llu Fs calls, %zu ops\n",
                FailureName(param.failure), CrashModeName(param.mode), static_cast<unsigned long long>(workload_seed),
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(ref.calls), ops.size());
    ASSERT_GT(n, 40u) << "the workload should roll segments many times";
    std::mt19937_64 rng(workload_seed);
    std::vector<CrashPoint> points;
    if (param.failure == Failure::kProcessKill) {
      // A process can die between any two calls, not only at a sync.
      for (uint64_t c = 1; c <= ref.calls + 1; c++) {
        points.push_back(CrashPoint{param.failure, 0, std::nullopt, c % 5 == 0 ? 1 + c % 3 : 0, c});
      }
    } else {
      for (uint64_t k = 1; k <= n + 1; k++) points.push_back(CrashPoint{param.failure, k, std::nullopt, k % 4, 0});
    }
    for (int i = 0; i < 20; i++) points.push_back(CrashPoint{param.failure, 0, rng() % ops.size(), 0, 0});
    for (const CrashPoint& point : points) {
      uint64_t crash_seed = workload_seed * 100003 + point.at_sync * 7 + point.after_op.value_or(0);
      std::string context = Context(param.mode, workload_seed, point, crash_seed);
      MemFs mem;
      Outcome out = RunAndFail(mem, opts, ops, point, param.mode, crash_seed);
      if (point.at_sync >= 1 && point.at_sync <= n) {
        ASSERT_TRUE(out.failed_by_hook) << context << ": sync point not reached; sync points are not deterministic";
      }
      if (point.at_call >= 1 && point.at_call <= ref.calls) {
        ASSERT_GE(out.calls, point.at_call) << context << ": call not reached; calls are not deterministic";
      }
      VerifyRecovery(mem, opts, out.record, point, param.mode, crash_seed, context);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Failures, CrashSweepTest,
                         ::testing::Values(SweepParam{Failure::kPowerLoss, CrashMode::kDropUnsynced},
                                           SweepParam{Failure::kPowerLoss, CrashMode::kTearLastWrite},
                                           SweepParam{Failure::kPowerLossDirCommitted, CrashMode::kDropUnsynced},
                                           SweepParam{Failure::kPowerLossDirCommitted, CrashMode::kTearLastWrite},
                                           SweepParam{Failure::kProcessKill, CrashMode::kDropUnsynced}),
                         SweepName);

class CrashRandomTest : public ::testing::TestWithParam<CrashMode> {};

// With preallocation (a second thread that syncs) and unsynced rounds written
// in the background, fail at a random sync point (numbered by arrival) or
// between random ops, with a random kind of failure.
TEST_P(CrashRandomTest, RandomCrashPointsWithPreallocation) {
  const CrashMode mode = GetParam();
  const Options opts = RandomOptions();
  const uint64_t base = SeedFromEnv().value_or(7000);
  std::printf("[ seed     ] mode=%s base_seed=%llu\n", CrashModeName(mode), static_cast<unsigned long long>(base));
  WorkloadConfig config;
  config.ops = 150;
  for (uint64_t r = 0; r < 100; r++) {
    uint64_t workload_seed = base + r;
    std::vector<Op> ops = MakeWorkload(workload_seed, config);
    std::mt19937_64 rng(workload_seed * 31 + 1);
    CrashPoint point;
    point.failure = static_cast<Failure>(rng() % 3);
    if (rng() % 2 == 0) {
      point.at_sync = 1 + rng() % 160;
    } else {
      point.after_op = rng() % ops.size();
    }
    point.during_reopen_sync = rng() % 3;
    uint64_t crash_seed = rng();
    std::string context = Context(mode, workload_seed, point, crash_seed) + " (preallocate, background rounds)";
    MemFs mem;
    Outcome out = RunAndFail(mem, opts, ops, point, mode, crash_seed);
    VerifyRecovery(mem, opts, out.record, point, mode, crash_seed, context);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

std::string ModeName(const ::testing::TestParamInfo<CrashMode>& p) {
  return CrashModeName(p.param) + 1;  // "DropUnsynced"
}

INSTANTIATE_TEST_SUITE_P(Modes, CrashRandomTest,
                         ::testing::Values(CrashMode::kDropUnsynced, CrashMode::kTearLastWrite), ModeName);

}  // namespace
}  // namespace storage_testing
