#include "bench/storage_bench.h"

#include <cstdio>
#include <filesystem>
#include <random>

#include "bench/posix_io.h"
#include "common/clock.h"
#include "metrics/registry.h"
#include "bench/workloads.h"

namespace bench {

const std::vector<std::string>& WorkloadNames() {
  static const std::vector<std::string> kNames = {"sync",     "group", "nosync", "read-random",
                                                  "read-seq", "open",  "memory"};
  return kNames;
}

storage::Options MakeOptions(const BenchConfig& config) {
  storage::Options o;
  o.segment_bytes = config.segment_bytes;
  o.cache_bytes = config.cache_bytes;
  o.preallocate = config.preallocate;
  o.max_concurrent_syncs = config.max_concurrent_syncs;
  o.writeback_bytes = config.writeback_bytes;
  if (config.metrics) {
    // One registry for the program's life: every log a run opens counts in it.
    static metrics::Registry registry;
    static common::RealClock clock;
    o.metrics = &registry;
    o.metrics_clock = &clock;
    o.metrics_group = "bench";
  }
  return o;
}

std::vector<storage::LogEntry> MakeBatch(uint64_t payload, uint64_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<storage::LogEntry> batch(count);
  for (storage::LogEntry& e : batch) {
    e.term = 1;
    e.payload.resize(payload);
    for (char& c : e.payload) c = static_cast<char>(rng());
  }
  return batch;
}

void SetIndexes(std::span<storage::LogEntry> batch, uint64_t first) {
  for (storage::LogEntry& e : batch) e.index = first++;
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) std::fprintf(stderr, "warning: removing %s: %s\n", path.c_str(), ec.message().c_str());
}

namespace {

Status Validate(const BenchConfig& c) {
  bool one_writer = c.workload == "sync" || c.workload == "nosync";
  if (one_writer && c.writers != 1) {
    return common::InvalidArgumentError(c.workload + " uses one writer; use --workload group for several");
  }
  if (c.writers == 0 || c.batch == 0) return common::InvalidArgumentError("--writers and --batch must be positive");
  if (c.seconds <= 0 || c.warmup_seconds < 0) return common::InvalidArgumentError("--seconds must be positive");
  if (c.dir.empty()) return common::InvalidArgumentError("--dir is required");
  return Status::Ok();
}

Status RunWorkload(const BenchEnv& env, Report* report) {
  const std::string& w = env.config.workload;
  if (w == "sync" || w == "group" || w == "nosync") return RunWriteWorkload(env, report);
  if (w == "read-random") return RunReadRandom(env, report);
  if (w == "read-seq") return RunReadSeq(env, report);
  if (w == "open") return RunOpen(env, report);
  if (w == "memory") return RunMemory(env, report);
  return common::InvalidArgumentError("unknown workload " + w);
}

}  // namespace

Status RunStorageBench(const BenchConfig& config) {
  RETURN_IF_ERROR(Validate(config));
  std::error_code ec;
  const bool dir_existed = std::filesystem::exists(config.dir, ec);
  std::filesystem::create_directories(config.dir, ec);
  if (ec) return common::InternalError("creating " + config.dir + ": " + ec.message());

  common::PosixFs fs;
  common::RealClock clock;
  BenchEnv env{config, fs, clock};
  Report report;
  report.workload = config.workload;
  report.record_size = config.record_size;
  report.batch = config.batch;
  report.writers = config.writers;

  RETURN_IF_ERROR(RunWorkload(env, &report));

  Memory mem = ReadMemory();
  report.AddInt("rss_kb", mem.rss_kb);
  report.AddInt("rss_peak_kb", mem.hwm_kb);
  report.AddInt("segment_bytes", static_cast<int64_t>(config.segment_bytes));
  report.AddInt("cache_bytes", static_cast<int64_t>(config.cache_bytes));
  report.AddBool("preallocate", config.preallocate);
  report.AddInt("max_concurrent_syncs", config.max_concurrent_syncs);
  report.AddInt("writeback_bytes", static_cast<int64_t>(config.writeback_bytes));
  report.AddInt("retain_bytes", static_cast<int64_t>(config.retain_bytes));
  report.AddStr("dir", config.dir);
  std::printf("%s\n%s\n", FormatSummary(report).c_str(), FormatJson(report).c_str());
  std::fflush(stdout);
  // A directory we created goes too if nothing was left in it.
  if (!dir_existed && !config.keep && std::filesystem::is_empty(config.dir, ec)) std::filesystem::remove(config.dir, ec);
  return Status::Ok();
}

}  // namespace bench
