// Group commit under a power loss: many threads Append and Sync() at once
// while several fdatasyncs are in flight (Options::max_concurrent_syncs); the
// machine loses power at a random sync. Every entry whose Sync() returned OK
// before the crash must be in the reopened log, intact (DESIGN §2: an entry
// is acknowledged only once durable).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "crash_harness.h"
#include "storage/segmented_log.h"

namespace storage_testing {
namespace {

using replog_testing::CrashMode;
using replog_testing::MemFs;
using storage::LogEntry;
using storage::Options;
using common::Status;
using storage::SegmentedLog;

constexpr char kDir[] = "/data/log";
constexpr int kWriters = 8;
constexpr int kAppendsPerWriter = 60;

std::string PayloadOf(uint64_t index) { return "entry-" + std::to_string(index) + std::string(index % 97, 'p'); }

struct Params {
  uint32_t max_syncs;
  CrashMode mode;
};

class ConcurrentSyncCrashTest : public ::testing::TestWithParam<Params> {};

TEST_P(ConcurrentSyncCrashTest, EveryAcknowledgedEntrySurvivesAPowerLoss) {
  for (uint64_t seed = 1; seed <= 12; seed++) {
    MemFs mem;
    Options opts;
    opts.segment_bytes = 16 << 10;  // rolls while syncs are in flight
    opts.preallocate = false;
    opts.max_concurrent_syncs = GetParam().max_syncs;
    std::mt19937_64 rng(seed);
    const uint64_t crash_at_sync = 5 + rng() % 120;

    std::atomic<uint64_t> max_acked{0};
    {
      Life life(mem, kDir);
      std::atomic<uint64_t> syncs{0};
      mem.SetSyncHook([&](const std::string&) {
        if (++syncs == crash_at_sync) life.Fail(Failure::kPowerLoss, GetParam().mode, seed);
      });
      auto log = SegmentedLog::Open(life.fs(), kDir, opts);
      ASSERT_TRUE(log.has_value()) << log.error().ToString();
      std::mutex append_mu;
      uint64_t next = 1;  // guarded by append_mu
      std::vector<std::thread> writers;
      for (int w = 0; w < kWriters; w++) {
        writers.emplace_back([&] {
          for (int k = 0; k < kAppendsPerWriter; k++) {
            uint64_t index = 0;
            {
              std::lock_guard lk(append_mu);
              index = next;
              LogEntry e{index, 1, storage::EntryKind::kNormal, PayloadOf(index)};
              if (!(*log)->Append({&e, 1}).ok()) return;
              next++;
            }
            if (!(*log)->Sync().ok()) return;
            uint64_t seen = max_acked.load();
            while (seen < index && !max_acked.compare_exchange_weak(seen, index)) {
            }
          }
        });
      }
      for (std::thread& t : writers) t.join();
      log->reset();
      mem.SetSyncHook({});
      life.Fail(Failure::kPowerLoss, GetParam().mode, seed);  // no-op if the hook already failed it
    }

    auto log = SegmentedLog::Open(mem, kDir, opts);
    ASSERT_TRUE(log.has_value()) << "seed " << seed << ": " << log.error().ToString();
    ASSERT_GE((*log)->last_index(), max_acked.load()) << "seed " << seed << ", crash at sync " << crash_at_sync;
    if (max_acked.load() == 0) continue;
    auto entries = (*log)->Entries(1, max_acked.load() + 1, UINT64_MAX);
    ASSERT_TRUE(entries.has_value()) << "seed " << seed << ": " << entries.error().ToString();
    for (const LogEntry& e : *entries) ASSERT_EQ(e.payload, PayloadOf(e.index)) << "seed " << seed;
  }
}

// A failed fdatasync while many callers wait: every Sync() returns (none
// hangs), those it did not cover get the error, and the log stays read-only.
TEST(ConcurrentSyncFaultTest, FailedSyncWakesEveryWaiterWithTheError) {
  for (uint32_t max_syncs : {1u, 4u}) {
    MemFs mem;
    replog_testing::FaultyFs fs(mem);
    Options opts;
    opts.preallocate = false;
    opts.max_concurrent_syncs = max_syncs;
    auto log = SegmentedLog::Open(fs, kDir, opts);
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    // Slow syncs, so that callers are waiting when one fails.
    mem.SetSyncHook([](const std::string&) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); });
    fs.FailMatching([n = 0](std::string_view op, const std::string&) mutable { return op == "fdatasync" && ++n == 20; },
                    EIO, 1);
    std::mutex append_mu;
    uint64_t next = 1;  // guarded by append_mu
    std::atomic<int> errors{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; w++) {
      writers.emplace_back([&] {
        for (int k = 0; k < kAppendsPerWriter; k++) {
          {
            std::lock_guard lk(append_mu);
            LogEntry e{next, 1, storage::EntryKind::kNormal, PayloadOf(next)};
            if (!(*log)->Append({&e, 1}).ok()) {
              errors++;
              return;
            }
            next++;
          }
          if (Status s = (*log)->Sync(); !s.ok()) {
            EXPECT_NE(s.message().find("fdatasync"), std::string::npos) << s.ToString();
            errors++;
            return;
          }
        }
      });
    }
    for (std::thread& t : writers) t.join();
    EXPECT_EQ(errors.load(), kWriters) << "max_concurrent_syncs " << max_syncs << ": every writer sees the error";
    LogEntry e{(*log)->last_index() + 1, 1, storage::EntryKind::kNormal, "after"};
    EXPECT_FALSE((*log)->Append({&e, 1}).ok()) << "the log stays read-only after a failed sync";
  }
}

INSTANTIATE_TEST_SUITE_P(MaxConcurrentSyncs, ConcurrentSyncCrashTest,
                         ::testing::Values(Params{1, CrashMode::kDropUnsynced}, Params{4, CrashMode::kDropUnsynced},
                                           Params{4, CrashMode::kTearLastWrite}),
                         [](const ::testing::TestParamInfo<Params>& p) {
                           return "syncs" + std::to_string(p.param.max_syncs) +
                                  (p.param.mode == CrashMode::kDropUnsynced ? "_DropUnsynced" : "_TearLastWrite");
                         });

}  // namespace
}  // namespace storage_testing
