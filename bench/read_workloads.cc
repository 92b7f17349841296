// read-random and read-seq: reads of a built log through a fresh Open with a
// cold page cache, then the same files with plain pread()/read(), cold too.
// Each measured read starts right after its files were refilled and dropped
// (RefillThenDrop), so both take their page cache from memory just freed.

#include <sys/resource.h>

#include <cstdio>
#include <random>

#include "bench/baseline.h"
#include "bench/log_builder.h"
#include "bench/workloads.h"
#include "storage/segmented_log.h"

namespace bench {

namespace {

// A built log whose files were just dropped from the page cache.
struct ColdLog {
  BuiltLog built;
  std::vector<FileExtent> files;
  uint64_t data_bytes = 0;  // of all .log files
  CacheDrop drop;
};

// What the reads through the engine measured.
struct ReadRun {
  LatencyRecorder latency;
  double seconds = 0;
  uint64_t entries = 0;
  uint64_t payload_bytes = 0;
  double open_ms = 0;
  double cpu_seconds = 0;  // of the reading thread, user + system
  storage::Stats stats;
  CacheDrop drop;  // of the .log files, after the Open
};

// CPU time of the calling thread so far, user + system: steadier than wall
// time on a shared machine, and it includes the kernel's copies.
double ThreadCpuSeconds() {
  rusage ru{};
  if (getrusage(RUSAGE_THREAD, &ru) != 0) return 0;
  auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::string DropText(const CacheDrop& d) {
  return d.ok ? "cold cache (" + d.detail + ")" : "NOT COLD (" + d.detail + ")";
}

// Reads the log's .log files once as the plain read() baseline does, then
// drops their pages (DropFiles) and returns at once. A cold read that
// follows at once allocates its page cache from the pages just freed, as
// the second of two cold reads in a row does. On this VM that matters:
// memory freed a second or two earlier (reported to the hypervisor, we
// think) costs a fault on its first touch, and a plain read() of 1 GiB into
// such pages took twice the system time (BENCHMARKS.md, "Cold reads and
// free page reporting").
CacheDrop RefillThenDrop(const BenchEnv& env, const ColdLog& cold) {
  Result<BaselineResult> refill = RunSeqReadBaseline(env.clock, cold.files);
  std::vector<std::string> paths;
  for (const FileExtent& f : cold.files) paths.push_back(f.path);
  CacheDrop d = DropFiles(paths);
  if (!refill.has_value()) {
    d.ok = false;
    d.detail = "refill: " + refill.error().ToString();
  } else if (d.ok) {
    d.detail = "refilled, then " + d.detail;
  }
  return d;
}

Result<ColdLog> PrepareColdLog(const BenchEnv& env) {
  const BenchConfig& c = env.config;
  BuildSpec spec;
  spec.parent = c.dir;
  spec.log_bytes = c.log_bytes;
  spec.record_size = c.record_size;
  spec.options = MakeOptions(c);
  spec.seed = c.seed;
  ColdLog cold;
  ASSIGN_OR_RETURN(cold.built, BuildOrReuse(env.fs, env.clock, spec));
  ASSIGN_OR_RETURN(cold.files, LogExtents(cold.built.dir));
  for (const FileExtent& f : cold.files) cold.data_bytes += f.data_end;
  cold.drop = DropPageCache(cold.built.dir);
  std::fprintf(stderr, "%s: %s\n", c.workload.c_str(), DropText(cold.drop).c_str());
  return cold;
}

// Entry(i) of uniformly random indexes for --seconds.
Status MeasureRandomReads(const BenchEnv& env, const ColdLog& cold, ReadRun* run) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, TimedOpen(env, cold.built.dir, &run->open_ms));
  run->drop = RefillThenDrop(env, cold);
  std::mt19937_64 rng(env.config.seed);
  std::uniform_int_distribution<uint64_t> pick(log->first_index(), log->last_index());
  run->latency.Reserve(1 << 16);
  Deadlines d = StartDeadlines(env.clock, 0, env.config.seconds);
  int64_t last_end = d.measure_start_ns;
  Status s = RunUntil(env.clock, d, &run->latency, &last_end, [&]() -> Status {
    uint64_t index = pick(rng);
    ASSIGN_OR_RETURN(storage::LogEntry e, log->Entry(index));
    if (e.index != index) {
      return common::DataLossError("Entry(" + std::to_string(index) + ") returned entry " + std::to_string(e.index));
    }
    run->payload_bytes += e.payload.size();
    return Status::Ok();
  });
  RETURN_IF_ERROR(s);
  run->seconds = Seconds(d.measure_start_ns, last_end);
  run->entries = run->latency.count();
  run->stats = log->stats();
  return Status::Ok();
}

constexpr uint64_t kSeqChunkBytes = 1 << 20;

// One call of Entries(lo, last + 1, 1 MiB); returns how many entries it gave.
Result<uint64_t> SeqChunkWithEntries(const storage::SegmentedLog& log, uint64_t lo, uint64_t last, ReadRun* run) {
  ASSIGN_OR_RETURN(std::vector<storage::LogEntry> got, log.Entries(lo, last + 1, kSeqChunkBytes));
  if (got.empty() || got.front().index != lo || got.back().index != lo + got.size() - 1) {
    return common::DataLossError("Entries(" + std::to_string(lo) + ", ...) returned a wrong range");
  }
  for (const storage::LogEntry& e : got) run->payload_bytes += e.payload.size();
  return got.size();
}

// One call of ForEachEntry(lo, last + 1, 1 MiB, fn); the same checks.
Result<uint64_t> SeqChunkWithForEach(const storage::SegmentedLog& log, uint64_t lo, uint64_t last, ReadRun* run) {
  uint64_t expect = lo;
  ASSIGN_OR_RETURN(uint64_t n, log.ForEachEntry(lo, last + 1, kSeqChunkBytes, [&](const storage::EntryView& e) {
                     if (e.index != expect) return storage::Visit::kStop;
                     expect++;
                     run->payload_bytes += e.payload.size();
                     return storage::Visit::kContinue;
                   }));
  if (n == 0 || expect != lo + n) {
    return common::DataLossError("ForEachEntry(" + std::to_string(lo) + ", ...) visited a wrong range");
  }
  return n;
}

// The whole log in order, 1 MiB of payload per call, with --read-api.
Status MeasureSeqReads(const BenchEnv& env, const ColdLog& cold, ReadRun* run) {
  const bool for_each = env.config.read_api == "for-each";
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, TimedOpen(env, cold.built.dir, &run->open_ms));
  run->drop = RefillThenDrop(env, cold);
  const uint64_t last = log->last_index();
  uint64_t lo = log->first_index();
  const double cpu0 = ThreadCpuSeconds();
  const int64_t t0 = env.clock.NowNanos();
  while (lo <= last) {
    int64_t start = env.clock.NowNanos();
    ASSIGN_OR_RETURN(uint64_t n, for_each ? SeqChunkWithForEach(*log, lo, last, run)
                                          : SeqChunkWithEntries(*log, lo, last, run));
    run->latency.Add(env.clock.NowNanos() - start);
    run->entries += n;
    lo += n;
  }
  run->seconds = Seconds(t0, env.clock.NowNanos());
  run->cpu_seconds = ThreadCpuSeconds() - cpu0;
  run->stats = log->stats();
  return Status::Ok();
}

void AddReadFields(const ColdLog& cold, const ReadRun& run, const CacheDrop& base_drop, Report* r) {
  r->seconds = run.seconds;
  r->records_per_s = static_cast<double>(run.entries) / run.seconds;
  r->SetLatency(run.latency.Summarize());
  r->AddNum("payload_mb_per_s", static_cast<double>(run.payload_bytes) / kMiB / run.seconds);
  r->AddNum("mean_us", run.latency.Summarize().mean_us);
  r->AddNum("open_ms", run.open_ms);
  r->AddBool("cold", cold.drop.ok && run.drop.ok);
  r->AddStr("open_cache_drop", cold.drop.detail);  // before the Open
  r->AddStr("cache_drop", run.drop.detail);        // after it, before the reads
  r->AddBool("baseline_cold", base_drop.ok);
  r->AddInt("engine_cache_hits", static_cast<int64_t>(run.stats.cache_hits));
  r->AddInt("engine_cache_misses", static_cast<int64_t>(run.stats.cache_misses));
  r->AddInt("segments", static_cast<int64_t>(run.stats.segments));
  r->AddInt("entries", static_cast<int64_t>(cold.built.last_index - cold.built.first_index + 1));
  r->AddInt("log_data_bytes", static_cast<int64_t>(cold.data_bytes));
  r->AddBool("reused_build", cold.built.reused);
  r->AddStr("build_dir", cold.built.dir);
}

}  // namespace

Result<std::unique_ptr<storage::SegmentedLog>> TimedOpen(const BenchEnv& env, const std::string& dir,
                                                         double* open_ms) {
  int64_t t0 = env.clock.NowNanos();
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log,
                   storage::SegmentedLog::Open(env.fs, dir, MakeOptions(env.config)));
  *open_ms = Seconds(t0, env.clock.NowNanos()) * 1e3;
  return log;
}

Status RunReadRandom(const BenchEnv& env, Report* r) {
  const BenchConfig& c = env.config;
  ASSIGN_OR_RETURN(ColdLog cold, PrepareColdLog(env));
  ReadRun run;
  RETURN_IF_ERROR(MeasureRandomReads(env, cold, &run));
  const CacheDrop base_drop = RefillThenDrop(env, cold);
  const uint64_t record_bytes = EntryRecordBytes(c.record_size);
  ASSIGN_OR_RETURN(BaselineResult base, RunRandomReadBaseline(env.clock, cold.files, record_bytes, c.seconds, c.seed));

  AddReadFields(cold, run, base_drop, r);
  r->mb_per_s = static_cast<double>(run.payload_bytes) / kMiB / run.seconds;
  r->baseline_mb_per_s = base.mb_per_s;
  r->ratio = *r->records_per_s / base.ops_per_s;
  // The first reads find little in the page cache; later ones find what
  // earlier reads and readahead brought in.
  const LatencySummary first = run.latency.SummarizeFirst(1000);
  r->AddNum("first_1000_p50_us", first.p50_us);
  r->AddNum("first_1000_p99_us", first.p99_us);
  r->AddNum("baseline_reads_per_s", base.ops_per_s);
  r->AddNum("baseline_p50_us", base.latency.p50_us);
  r->AddNum("baseline_p99_us", base.latency.p99_us);
  r->AddNum("baseline_first_1000_p50_us", base.first_latency.p50_us);
  r->summary = Num(*r->records_per_s) + " random Entry() reads/s (" + Num(*r->mb_per_s, 2) + " MiB/s), " +
               LatencyText(run.latency.Summarize()) + " (first " + std::to_string(first.count) + ": p50 " +
               Num(first.p50_us, 1) + " us), fresh Open " + Num(run.open_ms, 1) + " ms, " + DropText(run.drop) +
               "; baseline pread of " + std::to_string(record_bytes) + " B at random positions: " +
               Num(base.ops_per_s) + "/s, " + LatencyText(base.latency) + " (first " +
               std::to_string(base.first_latency.count) + ": p50 " + Num(base.first_latency.p50_us, 1) + " us)" +
               (base_drop.ok ? "" : " (NOT COLD)") + "; ratio " + Num(*r->ratio, 2) + " (reads/s)";
  return Status::Ok();
}

Status RunReadSeq(const BenchEnv& env, Report* r) {
  ASSIGN_OR_RETURN(ColdLog cold, PrepareColdLog(env));
  ReadRun run;
  RETURN_IF_ERROR(MeasureSeqReads(env, cold, &run));
  const CacheDrop base_drop = RefillThenDrop(env, cold);
  const double base_cpu0 = ThreadCpuSeconds();
  ASSIGN_OR_RETURN(BaselineResult base, RunSeqReadBaseline(env.clock, cold.files));
  const double base_cpu = ThreadCpuSeconds() - base_cpu0;

  AddReadFields(cold, run, base_drop, r);
  r->mb_per_s = static_cast<double>(cold.data_bytes) / kMiB / run.seconds;
  r->baseline_mb_per_s = base.mb_per_s;
  r->ratio = *r->mb_per_s / base.mb_per_s;
  r->AddNum("baseline_seconds", base.seconds);
  r->AddNum("baseline_read_p50_us", base.latency.p50_us);
  r->AddInt("entries_calls", static_cast<int64_t>(run.latency.count()));
  r->AddStr("read_api", env.config.read_api);
  r->AddNum("cpu_seconds", run.cpu_seconds);
  r->AddNum("baseline_cpu_seconds", base_cpu);
  const double data_mib = static_cast<double>(cold.data_bytes) / kMiB;
  const double cpu_ratio = run.cpu_seconds > 0 ? base_cpu / run.cpu_seconds : 0;
  r->AddNum("mb_per_cpu_s", run.cpu_seconds > 0 ? data_mib / run.cpu_seconds : 0);
  r->AddNum("baseline_mb_per_cpu_s", base_cpu > 0 ? data_mib / base_cpu : 0);
  r->AddNum("cpu_ratio", cpu_ratio);
  const std::string call = env.config.read_api == "for-each" ? "ForEachEntry" : "Entries";
  r->summary = Num(*r->mb_per_s, 1) + " MiB/s of .log data (" + Num(*r->records_per_s) + " entries/s, " +
               Num(static_cast<double>(run.payload_bytes) / kMiB / run.seconds, 1) + " MiB/s payload) in " +
               std::to_string(run.latency.count()) + " " + call + "(max_bytes=1 MiB) calls, " +
               LatencyText(run.latency.Summarize()) + " per call, fresh Open " + Num(run.open_ms, 1) +
               " ms not counted, " + DropText(run.drop) + "; baseline read() of the same " +
               Num(static_cast<double>(cold.data_bytes) / kMiB) + " MiB with 1 MiB buffers: " +
               Num(base.mb_per_s, 1) + " MiB/s" + (base_drop.ok ? "" : " (NOT COLD)") + "; ratio " +
               Num(*r->ratio, 2) + "; CPU seconds of the reading thread: " + Num(run.cpu_seconds, 3) +
               ", baseline " + Num(base_cpu, 3) + " (ratio " + Num(cpu_ratio, 2) + ")";
  return Status::Ok();
}

}  // namespace bench
