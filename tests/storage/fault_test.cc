// Fault-injection tests of SegmentedLog (FaultyFs over MemFs; WAL-8, DESIGN
// §2): EIO and ENOSPC at every file system call of a mixed workload and of
// Open. The call that fails turns into a Status naming the operation and the
// file; from then on the log is read-only (every write and Sync fails, reads
// work); reopening without the fault gives a log holding everything synced
// before the failure, never a silently shortened one.

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>

#include "crash_harness.h"
#include "storage/record.h"
#include "storage/segmented_log.h"
#include "workload.h"

namespace storage_testing {
namespace {

using common::Code;
using common::Status;
using replog_testing::CrashMode;
using replog_testing::FaultyFs;
using replog_testing::MemFs;
using replog_testing::PartialWrite;
using storage::Options;
using storage::SegmentedLog;

constexpr char kDir[] = "/data/log";
// Seeds whose workloads truncate below the last segment and purge past the end.
constexpr uint64_t kWorkloadSeeds[] = {23, 25};

// Writes happen only inside Sync() and no other thread touches the disk, so
// the n-th call of a run is the same call every time.
Options FaultOptions() {
  Options o;
  o.segment_bytes = 8 << 10;
  o.max_segment_entries = 32;
  o.preallocate = false;
  o.cache_bytes = 2 << 10;
  o.flush_bytes = 64 << 20;
  o.writeback_bytes = 2 << 10;  // rounds written in pieces, each handed to writeback
  o.shared_payload_bytes = 400;  // about a third of the payloads are written from the cache's copy
  return o;
}

struct Call {
  std::string op;
  std::string path;
};

// Records every call made through `fs` from now on (never fails one).
void RecordCalls(FaultyFs& fs, std::vector<Call>* calls) {
  fs.FailMatching(
      [calls](std::string_view op, const std::string& path) {
        calls->push_back(Call{std::string(op), path});
        return false;
      },
      EIO);
}

const char* ErrName(int err) { return err == ENOSPC ? "ENOSPC" : "EIO"; }

Code ErrCode(int err) { return err == ENOSPC ? Code::kResourceExhausted : Code::kInternal; }

// A copy of every file of a MemFs, to start several runs from one state.
using Snapshot = std::map<std::string, std::string>;

Snapshot Save(MemFs& mem) {
  Snapshot snap;
  for (const std::string& path : mem.ListAll()) snap[path] = *mem.ReadFileForTest(path);
  return snap;
}

void Restore(const Snapshot& snap, MemFs* mem) {
  for (const auto& [path, bytes] : snap) ASSERT_TRUE(mem->WriteFileForTest(path, bytes).ok());
}

// Checks that `s` is the injected failure of `call`.
void ExpectNamesTheCall(const Status& s, const Call& call, int err, const std::string& context) {
  EXPECT_EQ(s.code(), ErrCode(err)) << context << ": " << s.ToString();
  EXPECT_NE(s.message().find(call.op + " "), std::string::npos)
      << context << ": error does not name the operation '" << call.op << "': " << s.ToString();
  EXPECT_NE(s.message().find(call.path), std::string::npos)
      << context << ": error does not name the file '" << call.path << "': " << s.ToString();
}

// Appends to a reopened log, syncs, crashes and reopens: the log still works.
void ExpectKeepsWorking(MemFs& mem, std::unique_ptr<SegmentedLog> log, const std::string& context) {
  auto before = ReadLogState(*log);
  ASSERT_TRUE(before.has_value()) << context << ": " << before.error().ToString();
  std::vector<LogEntry> more = MakeEntries(before->last_index + 1, 4, 900, 64);
  ASSERT_TRUE(log->Append(more).ok()) << context;
  Status s = log->Sync();
  ASSERT_TRUE(s.ok()) << context << ": sync after reopen: " << s.ToString();
  log.reset();
  mem.Crash(CrashMode::kDropUnsynced, 1);
  auto again = SegmentedLog::Open(mem, kDir, FaultOptions());
  ASSERT_TRUE(again.has_value()) << context << ": " << again.error().ToString();
  EXPECT_EQ((*again)->last_index(), more.back().index) << context;
  auto e = (*again)->Entry(more.front().index);
  ASSERT_TRUE(e.has_value()) << context << ": " << e.error().ToString();
  EXPECT_EQ(*e, more.front()) << context;
}

// The calls a fault-free run of `ops` makes after Open.
std::vector<Call> ReferenceCalls(const std::vector<Op>& ops) {
  std::vector<Call> calls;
  MemFs mem;
  FaultyFs fs(mem);
  auto log = SegmentedLog::Open(fs, kDir, FaultOptions());
  CHECK_MSG(log.has_value(), log.error().ToString());
  fs.Reset();
  RecordCalls(fs, &calls);
  RunRecord rec;
  RunOps(**log, ops, 0, ops.size(), &rec);
  CHECK_OK(rec.first_error);
  fs.Reset();
  return calls;
}

// After the first error, the log is read-only until reopened (WAL-8): every
// write and Sync returns that error; reads work and show every op that
// returned OK.
void ExpectReadOnly(SegmentedLog& log, const RunRecord& rec, const std::string& context) {
  const uint64_t last = log.last_index();
  std::vector<Status> later = {log.Append(MakeEntries(last + 1, 1, 50, 10)),
                               log.SetHardState({50, 1, 0}),
                               log.TruncateAfter(last),
                               log.PurgeUpTo(last + 5, 50),
                               log.Sync(),
                               log.Sync()};
  for (const Status& s : later) {
    EXPECT_EQ(s, rec.first_error) << context << ": a write after the failure returned " << s.ToString();
  }
  auto state = ReadLogState(log);
  ASSERT_TRUE(state.has_value()) << context << ": read after the failure: " << state.error().ToString();
  ModelState issued = Replay(rec.steps);
  EXPECT_TRUE(*state == issued) << context << ": reads show " << state->Summary() << ", want " << issued.Summary();
}

// Fails call `n` of the workload with `err`, checks the error and the
// read-only log, then reopens (after a crash if `crash_after`) and checks
// the prefix rule.
void RunWithFault(const std::vector<Op>& ops, uint64_t n, const Call& call, int err, bool crash_after,
                  const std::string& context) {
  MemFs mem;
  FaultyFs fs(mem);
  auto opened = SegmentedLog::Open(fs, kDir, FaultOptions());
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  std::unique_ptr<SegmentedLog> log = std::move(*opened);
  fs.Reset();
  fs.FailNth(n, err, err == ENOSPC ? PartialWrite::kYes : PartialWrite::kNo);
  RunRecord rec;
  RunOps(*log, ops, 0, ops.size(), &rec);
  ASSERT_FALSE(rec.first_error.ok()) << context << ": the failure was swallowed, every op returned OK";
  ExpectNamesTheCall(rec.first_error, call, err, context);
  ExpectReadOnly(*log, rec, context);

  if (crash_after) mem.Crash(CrashMode::kDropUnsynced, n);
  log.reset();
  auto reopened = SegmentedLog::Open(mem, kDir, FaultOptions());
  ASSERT_TRUE(reopened.has_value()) << context << ": reopen failed: " << reopened.error().ToString();
  auto got = ReadLogState(**reopened);
  ASSERT_TRUE(got.has_value()) << context << ": " << got.error().ToString();
  std::string why = MatchPrefix(*got, rec.steps, rec.durable_steps);
  ASSERT_TRUE(why.empty()) << context << ": " << why;
  ExpectKeepsWorking(mem, std::move(*reopened), context);
}

class FaultSweepTest : public ::testing::TestWithParam<int> {};

// EIO (nothing written) or ENOSPC (half the bytes of a write written) at
// every call of a workload, one run per call; every other run also loses
// power after the failure.
TEST_P(FaultSweepTest, EveryCallFailsCleanlyAndKeepsTheSyncedPrefix) {
  const int err = GetParam();
  std::vector<uint64_t> seeds(std::begin(kWorkloadSeeds), std::end(kWorkloadSeeds));
  if (const char* env = std::getenv("REPLOG_CRASH_SEED"); env != nullptr && *env != '\0') {
    seeds = {std::strtoull(env, nullptr, 10)};
  }
  WorkloadConfig config;
  config.ops = 70;
  for (uint64_t seed : seeds) {
    const std::vector<Op> ops = MakeWorkload(seed, config);
    const std::vector<Call> calls = ReferenceCalls(ops);
    std::printf("[ seed     ] workload_seed=%llu: %zu calls, %s\n", static_cast<unsigned long long>(seed),
                calls.size(), ErrName(err));
    ASSERT_GT(calls.size(), 100u);
    ASSERT_TRUE(std::any_of(calls.begin(), calls.end(), [](const Call& c) { return c.op == "sync_file_range"; }))
        << "the workload hands no bytes to writeback";
    for (uint64_t n = 1; n <= calls.size(); n++) {
      const Call& call = calls[n - 1];
      const bool crash_after = n % 2 == 0;
      std::string context = "workload_seed=" + std::to_string(seed) + ": " + ErrName(err) + " at call " +
                            std::to_string(n) + " (" + call.op + " " + call.path + ")" +
                            (crash_after ? ", then a power loss" : "");
      RunWithFault(ops, n, call, err, crash_after, context);
      if (HasFatalFailure()) return;
    }
  }
}

std::string ErrParamName(const ::testing::TestParamInfo<int>& p) { return ErrName(p.param); }

INSTANTIATE_TEST_SUITE_P(Errors, FaultSweepTest, ::testing::Values(EIO, ENOSPC), ErrParamName);

TEST(FaultTest, FullDiskAtOpenOfANewLogFailsCleanly) {
  Options opts = FaultOptions();
  opts.preallocate = true;  // Open zero-fills the first segment
  MemFs mem;
  {
    FaultyFs fs(mem);
    fs.FailMatching([](std::string_view op, const std::string&) { return op == "pwrite"; }, ENOSPC);
    auto log = SegmentedLog::Open(fs, kDir, opts);
    ASSERT_FALSE(log.has_value());
    EXPECT_EQ(log.error().code(), Code::kResourceExhausted) << log.error().ToString();
    EXPECT_NE(log.error().message().find("pwrite " + std::string(kDir) + "/"), std::string::npos)
        << log.error().ToString();
  }
  auto log = SegmentedLog::Open(mem, kDir, opts);
  ASSERT_TRUE(log.has_value()) << "open after the disk has room again: " << log.error().ToString();
  EXPECT_EQ((*log)->last_index(), 0u);
  ExpectKeepsWorking(mem, std::move(*log), "after a full disk at open");
}

// A segment started while no zero-filled file is ready has its blocks
// reserved (fallocate): a full disk there fails the round cleanly.
TEST(FaultTest, FullDiskAtTheReservationOfANewSegmentFailsCleanly) {
  Options opts = FaultOptions();
  opts.preallocate = true;
  MemFs mem;
  {
    FaultyFs fs(mem);
    auto log = SegmentedLog::Open(fs, kDir, opts);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    // Too little for the preallocator to be asked for the next segment.
    ASSERT_TRUE((*log)->Append(MakeEntries(1, 5, 1, 120)).ok());
    ASSERT_TRUE((*log)->Sync().ok());
    fs.FailMatching([](std::string_view op, const std::string&) { return op == "fallocate"; }, ENOSPC);
    ASSERT_TRUE((*log)->Append(MakeEntries(6, 100, 1, 120)).ok());  // rolls
    Status s = (*log)->Sync();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kResourceExhausted) << s.ToString();
    EXPECT_NE(s.message().find("fallocate " + std::string(kDir) + "/"), std::string::npos) << s.ToString();
    EXPECT_FALSE((*log)->Append(MakeEntries(106, 1, 1, 120)).ok()) << "read-only after a failure";
  }
  auto log = SegmentedLog::Open(mem, kDir, opts);
  ASSERT_TRUE(log.has_value()) << "open after the disk has room again: " << log.error().ToString();
  EXPECT_GE((*log)->last_index(), 5u);
  ExpectKeepsWorking(mem, std::move(*log), "after a full disk at a segment's fallocate");
}

// The same path without a fault: entries synced into a reserved segment
// survive a power loss, and the unsynced ones after them are dropped.
TEST(FaultTest, ReservedSegmentsKeepWhatWasSyncedThroughAPowerLoss) {
  Options opts = FaultOptions();
  opts.preallocate = true;
  MemFs mem;
  int reservations = 0;
  std::vector<LogEntry> synced = MakeEntries(1, 105, 1, 120);
  {
    FaultyFs fs(mem);
    auto log = SegmentedLog::Open(fs, kDir, opts);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    fs.FailMatching(
        [&reservations](std::string_view op, const std::string&) {
          reservations += op == "fallocate";
          return false;
        },
        0);
    ASSERT_TRUE((*log)->Append(std::span(synced).first(5)).ok());
    ASSERT_TRUE((*log)->Sync().ok());
    ASSERT_TRUE((*log)->Append(std::span(synced).subspan(5)).ok());  // rolls
    ASSERT_TRUE((*log)->Sync().ok());
    ASSERT_TRUE((*log)->Append(MakeEntries(106, 3, 1, 120)).ok());  // never synced
  }
  ASSERT_GT(reservations, 0) << "no segment was reserved";
  mem.Crash(CrashMode::kDropUnsynced, 1);
  auto log = SegmentedLog::Open(mem, kDir, opts);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  EXPECT_EQ((*log)->last_index(), 105u);
  auto read = (*log)->Entries(1, 106, UINT64_MAX);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(*read, synced);
}

// Builds a log whose Open has work to do: several segments, a torn tail, the
// .log of a purged segment that reappeared and a stale preallocated file.
Snapshot MessyLog() {
  MemFs mem;
  const Options opts = FaultOptions();
  {
    auto log = SegmentedLog::Open(mem, kDir, opts);
    CHECK(log.has_value());
    for (uint64_t i = 1; i <= 200; i += 10) {
      CHECK_OK((*log)->Append(MakeEntries(i, 10, 1, 120)));
      CHECK_OK((*log)->Sync());
    }
  }
  Snapshot before_purge = Save(mem);
  {
    auto log = SegmentedLog::Open(mem, kDir, opts);
    CHECK(log.has_value());
    CHECK_OK((*log)->PurgeUpTo(90, 1));
    CHECK_OK((*log)->SetHardState({2, 1, 150}));
    CHECK_OK((*log)->Sync());
    CHECK_OK((*log)->Append(MakeEntries(201, 6, 2, 300)));  // written at close, never synced
  }
  mem.Crash(CrashMode::kTearLastWrite, 5);
  Snapshot snap = Save(mem);
  const std::string first_log = std::string(kDir) + "/00000000000000000001.log";
  snap[first_log] = before_purge.at(first_log);
  // The .index files of purged segments may have reappeared too: that case
  // has its own test (RecoveryRulesTest.PurgedSegmentThatReappearsIsIgnored);
  // here only .log files reappear.
  std::vector<uint64_t> firsts;
  for (const auto& [path, bytes] : snap) {
    uint64_t first = 0;
    bool is_index = false;
    if (storage::ParseSegmentName(path.substr(path.find_last_of('/') + 1), &first, &is_index) && !is_index) {
      firsts.push_back(first);
    }
  }
  uint64_t holds_first = 0;  // the segment holding the first live index, 91
  for (uint64_t first : firsts) holds_first = first <= 91 ? std::max(holds_first, first) : holds_first;
  for (uint64_t first : firsts) {
    if (first < holds_first) snap.erase(std::string(kDir) + "/" + storage::SegmentIndexName(first));
  }
  snap[std::string(kDir) + "/prealloc-3.tmp"] = std::string(4096, '\0');
  return snap;
}

// ENOSPC and EIO at every call of an Open that recovers, deletes and writes.
TEST(FaultTest, EveryCallOfOpenFailsCleanlyAndLosesNothing) {
  const Options opts = FaultOptions();
  const Snapshot snap = MessyLog();
  std::vector<Call> calls;
  ModelState want;
  {
    MemFs mem;
    Restore(snap, &mem);
    FaultyFs fs(mem);
    RecordCalls(fs, &calls);
    auto log = SegmentedLog::Open(fs, kDir, opts);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    fs.Reset();
    auto state = ReadLogState(**log);
    ASSERT_TRUE(state.has_value()) << state.error().ToString();
    want = *state;
  }
  ASSERT_EQ(want.first_index, 91u);
  ASSERT_GE(want.last_index, 200u);
  ASSERT_GT(calls.size(), 10u);
  for (int err : {ENOSPC, EIO}) {
    for (uint64_t n = 1; n <= calls.size(); n++) {
      const Call& call = calls[n - 1];
      std::string context = std::string(ErrName(err)) + " at call " + std::to_string(n) + " of Open (" + call.op +
                            " " + call.path + ")";
      MemFs mem;
      Restore(snap, &mem);
      {
        FaultyFs fs(mem);
        fs.FailNth(n, err, err == ENOSPC ? PartialWrite::kYes : PartialWrite::kNo);
        auto log = SegmentedLog::Open(fs, kDir, opts);
        ASSERT_FALSE(log.has_value()) << context << ": Open swallowed the failure";
        ExpectNamesTheCall(log.error(), call, err, context);
      }
      auto log = SegmentedLog::Open(mem, kDir, opts);
      ASSERT_TRUE(log.has_value()) << context << ": reopen failed: " << log.error().ToString();
      auto got = ReadLogState(**log);
      ASSERT_TRUE(got.has_value()) << context << ": " << got.error().ToString();
      EXPECT_TRUE(*got == want) << context << ": got " << got->Summary() << ", want " << want.Summary();
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace storage_testing
