// sync, group and nosync: appends (and syncs) against the engine for
// --seconds after a warm-up, then the same bytes with plain pwrite()
// (+ fdatasync()) to a new file and over a pre-written file.

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "bench/baseline.h"
#include "bench/workloads.h"
#include "storage/segmented_log.h"

namespace bench {

namespace {

struct WriteRun {
  LatencyRecorder latency;   // every writer's measured operations
  double seconds = 0;        // measured time: its start to the end of the last measured operation
  double cpu_seconds = 0;    // of the whole process (engine threads included) in that time
  storage::Stats before;     // at the start of the measured time
  storage::Stats after;      // when the writers have stopped (nosync: before the final Sync)
  storage::Stats closing;    // after the final Sync
  std::optional<double> final_sync_ms;  // nosync
  bool durable_after_sync = false;      // durable_index() == last_index() after the final Sync
};

double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// --retain-bytes: the log of a node that has been running and compacting
// for a while, not one that still only grows: filled with unsynced appends
// to the retained bytes plus two segments, synced, and purged back to the
// retained bytes, so that purged segments wait to be reused when the
// warm-up starts. Without this, the first --retain-bytes of the run write
// into new segments.
Status FillToSteadyState(const BenchConfig& c, storage::SegmentedLog& log) {
  const uint64_t record = EntryRecordBytes(c.record_size);
  const uint64_t retain = c.retain_bytes / record;
  const uint64_t total = retain + 2 * (c.segment_bytes / record + 1);
  std::fprintf(stderr, "%s: filling the log to %.0f MiB and purging it back to --retain-bytes\n", c.workload.c_str(),
               static_cast<double>(total * record) / kMiB);
  std::vector<storage::LogEntry> batch = MakeBatch(c.record_size, std::min<uint64_t>(64, total), c.seed);
  while (log.last_index() < total) {
    std::span<storage::LogEntry> part(batch.data(), std::min<uint64_t>(batch.size(), total - log.last_index()));
    SetIndexes(part, log.last_index() + 1);
    RETURN_IF_ERROR(log.Append(part));
  }
  RETURN_IF_ERROR(log.Sync());
  RETURN_IF_ERROR(log.PurgeUpTo(log.last_index() - retain, 1));
  return log.Sync();
}

// Runs `config.writers` threads. Each appends its batch under a benchmark
// mutex that hands out indexes (as a Raft leader does), then, if `sync`,
// calls Sync() outside that mutex, so concurrent Syncs can share fdatasyncs.
Status RunWriters(const BenchEnv& env, storage::SegmentedLog& log, bool sync, WriteRun* run) {
  const BenchConfig& c = env.config;
  std::mutex append_mu;
  uint64_t next_index = log.last_index() + 1;  // guarded by append_mu
  std::vector<LatencyRecorder> lat(c.writers);
  std::vector<Status> status(c.writers);
  Deadlines d = StartDeadlines(env.clock, c.warmup_seconds, c.seconds);
  std::vector<int64_t> last_end(c.writers, d.measure_start_ns);
  // --retain-bytes: entries kept; the purge goes in steps of 1/8 of that.
  const uint64_t retain = c.retain_bytes / EntryRecordBytes(c.record_size);
  const uint64_t purge_step = std::max<uint64_t>(1, retain / 8);
  std::vector<std::thread> threads;
  for (uint64_t w = 0; w < c.writers; w++) {
    threads.emplace_back([&, w] {
      std::vector<storage::LogEntry> batch = MakeBatch(c.record_size, c.batch, c.seed + w);
      lat[w].Reserve(1 << 16);
      status[w] = RunUntil(env.clock, d, &lat[w], &last_end[w], [&]() -> Status {
        {
          std::lock_guard lk(append_mu);
          SetIndexes(batch, next_index);
          RETURN_IF_ERROR(log.Append(batch));
          next_index += batch.size();
        }
        if (!sync) return Status::Ok();
        RETURN_IF_ERROR(log.Sync());
        if (retain == 0) return Status::Ok();
        uint64_t last = log.last_index();
        if (last < retain + purge_step || last - retain < log.first_index() - 1 + purge_step) return Status::Ok();
        // Durable, and its segments recycled, at a later Sync().
        return log.PurgeUpTo(last - retain, 1);
      });
    });
  }
  SleepUntil(env.clock, d.measure_start_ns);
  run->before = log.stats();
  const double cpu0 = ProcessCpuSeconds();
  for (std::thread& t : threads) t.join();
  run->cpu_seconds = ProcessCpuSeconds() - cpu0;
  run->after = log.stats();
  for (uint64_t w = 0; w < c.writers; w++) {
    RETURN_IF_ERROR(status[w]);
    run->latency.Merge(lat[w]);
  }
  run->seconds = Seconds(d.measure_start_ns, *std::max_element(last_end.begin(), last_end.end()));
  int64_t t0 = env.clock.NowNanos();
  RETURN_IF_ERROR(log.Sync());
  if (!sync) run->final_sync_ms = Seconds(t0, env.clock.NowNanos()) * 1e3;
  run->closing = log.stats();
  run->durable_after_sync = log.durable_index() == log.last_index();
  if (!run->durable_after_sync) {
    std::fprintf(stderr, "warning: after Sync() durable_index %llu != last_index %llu\n",
                 static_cast<unsigned long long>(log.durable_index()),
                 static_cast<unsigned long long>(log.last_index()));
  }
  return Status::Ok();
}

struct Baselines {
  uint64_t bytes_per_op = 0;
  BaselineResult append;     // (a) a new file
  BaselineResult overwrite;  // (b) a pre-written file
  bool overwrite_faster() const { return overwrite.ops_per_s > append.ops_per_s; }
  const BaselineResult& faster() const { return overwrite_faster() ? overwrite : append; }
};

Status RunBaselines(const BenchEnv& env, SyncMode sync, uint64_t bytes_per_op, uint64_t prewrite, Baselines* b) {
  const BenchConfig& c = env.config;
  b->bytes_per_op = bytes_per_op;
  WriteBaselineSpec spec;
  spec.sync = sync;
  spec.bytes_per_op = bytes_per_op;
  spec.warmup_seconds = c.warmup_seconds;
  spec.seconds = c.seconds;

  spec.path = common::JoinPath(c.dir, "baseline-append.dat");
  spec.target = WriteTarget::kAppendNew;
  std::fprintf(stderr, "baseline: %llu-byte writes appended to a new file\n",
               static_cast<unsigned long long>(bytes_per_op));
  Result<BaselineResult> append = RunWriteBaseline(env.clock, spec);
  if (!c.keep) RemoveTree(spec.path);
  RETURN_IF_ERROR(append.status());
  b->append = *append;

  spec.path = common::JoinPath(c.dir, "baseline-overwrite.dat");
  spec.target = WriteTarget::kOverwrite;
  spec.prewrite_bytes = prewrite;
  std::fprintf(stderr, "baseline: %llu-byte writes over a pre-written %llu-byte file\n",
               static_cast<unsigned long long>(bytes_per_op), static_cast<unsigned long long>(prewrite));
  Result<BaselineResult> overwrite = RunWriteBaseline(env.clock, spec);
  if (!c.keep) RemoveTree(spec.path);
  RETURN_IF_ERROR(overwrite.status());
  b->overwrite = *overwrite;
  return Status::Ok();
}

void AddBaselineFields(const Baselines& b, bool sync, Report* r) {
  const char* rate = sync ? "_syncs_per_s" : "_writes_per_s";
  for (const auto& [name, res] : {std::pair{"baseline_append", &b.append}, std::pair{"baseline_overwrite", &b.overwrite}}) {
    r->AddNum(std::string(name) + rate, res->ops_per_s);
    r->AddNum(std::string(name) + "_mb_per_s", res->mb_per_s);
    r->AddNum(std::string(name) + "_p50_us", res->latency.p50_us);
    r->AddNum(std::string(name) + "_p99_us", res->latency.p99_us);
  }
  r->AddInt("baseline_bytes_per_op", static_cast<int64_t>(b.bytes_per_op));
  r->AddStr("baseline_faster", b.overwrite_faster() ? "overwrite" : "append");
  if (sync) r->baseline_syncs_per_s = b.faster().ops_per_s;
  r->baseline_mb_per_s = b.faster().mb_per_s;
}

std::string BaselineText(const Baselines& b, bool sync) {
  std::string what = sync ? "pwrite+fdatasync" : "buffered pwrite";
  auto one = [&](const BaselineResult& res) {
    return sync ? Num(res.ops_per_s) + "/s" : Num(res.mb_per_s, 1) + " MiB/s";
  };
  return "baseline " + what + " of " + std::to_string(b.bytes_per_op) + " B: new file " + one(b.append) +
         ", overwrite " + one(b.overwrite);
}

// What the engine did in the measured time.
struct WriteTotals {
  uint64_t ops = 0;      // Append (+ Sync) calls
  uint64_t records = 0;
  uint64_t syncs = 0;    // engine fdatasyncs
  uint64_t bytes = 0;    // engine bytes written
  double seconds = 0;
  double ops_per_s = 0;
  double engine_mb_per_s = 0;
};

WriteTotals Totals(const BenchConfig& c, const WriteRun& run) {
  WriteTotals t;
  t.ops = run.latency.count();
  t.records = t.ops * c.batch;
  t.syncs = run.after.syncs - run.before.syncs;
  t.bytes = run.after.bytes_written - run.before.bytes_written;
  t.seconds = run.seconds;
  t.ops_per_s = static_cast<double>(t.ops) / t.seconds;
  t.engine_mb_per_s = static_cast<double>(t.bytes) / kMiB / t.seconds;
  return t;
}

// Opens a new log in <dir>/log-<workload>, runs the writers, closes it and
// (unless --keep) deletes it.
Status MeasureEngine(const BenchEnv& env, bool sync, WriteRun* run, double* open_ms) {
  const BenchConfig& c = env.config;
  const std::string log_dir = common::JoinPath(c.dir, "log-" + c.workload);
  RemoveTree(log_dir);
  {
    ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, TimedOpen(env, log_dir, open_ms));
    std::fprintf(stderr, "%s: %llu writer(s), %.1f s warm-up + %.1f s\n", c.workload.c_str(),
                 static_cast<unsigned long long>(c.writers), c.warmup_seconds, c.seconds);
    if (c.retain_bytes > 0) RETURN_IF_ERROR(FillToSteadyState(c, *log));
    RETURN_IF_ERROR(RunWriters(env, *log, sync, run));
  }
  if (!c.keep) RemoveTree(log_dir);
  return Status::Ok();
}

// Bytes per baseline operation: what one of our syncs writes (sync: from
// the record framing; group: measured), or for nosync the engine's write
// size (flush_bytes) if larger than a batch.
uint64_t BaselineBytesPerOp(const BenchConfig& c, bool sync, const WriteTotals& t) {
  const uint64_t round_bytes = c.batch * EntryRecordBytes(c.record_size);
  if (!sync) return std::max(round_bytes, storage::Options{}.flush_bytes);
  if (c.workload == "group" && t.syncs > 0) return storage::format::RoundUp8(t.bytes / t.syncs);
  return round_bytes + BatchEndBytes();
}

std::optional<double> PerSync(uint64_t v, uint64_t syncs) {
  if (syncs == 0) return std::nullopt;
  return static_cast<double>(v) / static_cast<double>(syncs);
}

// Process CPU per measured operation, in microseconds.
double CpuUsPerOp(const WriteRun& run, const WriteTotals& t) {
  return run.cpu_seconds * 1e6 / static_cast<double>(std::max<uint64_t>(1, t.ops));
}

void FillWriteReport(const BenchConfig& c, bool sync, const WriteRun& run, const WriteTotals& t,
                     const Baselines& b, double open_ms, Report* r) {
  const double s = t.seconds;
  r->seconds = s;
  r->records_per_s = static_cast<double>(t.records) / s;
  r->mb_per_s = sync ? t.engine_mb_per_s : static_cast<double>(t.records * EntryRecordBytes(c.record_size)) / kMiB / s;
  r->syncs_per_s = static_cast<double>(t.syncs) / s;
  r->SetLatency(run.latency.Summarize());
  AddBaselineFields(b, sync, r);
  r->ratio = c.workload == "sync" ? t.ops_per_s / b.faster().ops_per_s : *r->mb_per_s / b.faster().mb_per_s;
  r->AddNum("ops_per_s", t.ops_per_s);
  r->AddNum("mean_us", run.latency.Summarize().mean_us);
  r->AddNum("cpu_us_per_op", CpuUsPerOp(run, t));
  r->AddInt("engine_syncs", static_cast<int64_t>(t.syncs));
  r->AddInt("engine_write_rounds", static_cast<int64_t>(run.after.write_rounds - run.before.write_rounds));
  r->AddInt("engine_bytes_written", static_cast<int64_t>(t.bytes));
  r->AddNum("engine_written_mb_per_s", t.engine_mb_per_s);
  r->AddNum("bytes_per_sync", PerSync(t.bytes, t.syncs));
  r->AddNum("records_per_sync", PerSync(t.records, t.syncs));
  r->AddInt("segments", static_cast<int64_t>(run.closing.segments));
  r->AddNum("final_sync_ms", run.final_sync_ms);
  r->AddBool("durable_after_sync", run.durable_after_sync);
  r->AddNum("open_ms", open_ms);
  r->AddNum("warmup_seconds", c.warmup_seconds);
}

std::string WriteSummary(const BenchConfig& c, bool sync, const WriteRun& run, const WriteTotals& t,
                         const Baselines& b, const Report& r) {
  const LatencySummary lat = run.latency.Summarize();
  const std::string ratio = "ratio " + Num(*r.ratio, 2) + " of " + (b.overwrite_faster() ? "overwrite" : "new file");
  const std::string engine =
      "engine " + Num(*r.syncs_per_s) + " fdatasync/s, CPU " + Num(CpuUsPerOp(run, t), 1) + " us per op";
  if (c.workload == "sync") {
    return Num(t.ops_per_s) + " Append+Sync/s (" + Num(*r.records_per_s) + " records/s, " +
           Num(t.engine_mb_per_s, 2) + " MiB/s), " + LatencyText(lat) + "; " + engine + "; " +
           BaselineText(b, sync) + "; " + ratio + " (Append+Sync/s vs fdatasync/s)";
  }
  if (c.workload == "group") {
    std::optional<double> per_sync = PerSync(t.records, t.syncs);
    return Num(*r.records_per_s) + " records/s durable from " + std::to_string(c.writers) + " writers (" +
           Num(t.engine_mb_per_s, 2) + " MiB/s), " + LatencyText(lat) + " per Append+Sync; " + engine + ", " +
           (per_sync ? Num(*per_sync, 1) : "-") + " records/sync; " + BaselineText(b, sync) + " (" +
           Num(b.faster().mb_per_s, 2) + " MiB/s); " + ratio + " (MiB/s)";
  }
  return Num(*r.records_per_s) + " records/s appended (" + Num(*r.mb_per_s, 1) + " MiB/s of records; engine wrote " +
         Num(t.engine_mb_per_s, 1) + " MiB/s), " + LatencyText(lat) + " per Append; final Sync " +
         Num(run.final_sync_ms.value_or(0), 1) + " ms not counted; " + BaselineText(b, sync) + "; " + ratio +
         " (MiB/s)";
}

}  // namespace

Status RunWriteWorkload(const BenchEnv& env, Report* r) {
  const BenchConfig& c = env.config;
  const bool sync = c.workload != "nosync";
  WriteRun run;
  double open_ms = 0;
  RETURN_IF_ERROR(MeasureEngine(env, sync, &run, &open_ms));
  const WriteTotals t = Totals(c, run);
  if (t.ops == 0) return common::InternalError(c.workload + ": no operation finished in the measured time");

  // The overwrite baseline's file: about what the engine wrote; it wraps.
  const uint64_t prewrite = std::clamp<uint64_t>(run.closing.bytes_written / 4 * 5, 16ull << 20, 2ull << 30);
  Baselines b;
  RETURN_IF_ERROR(RunBaselines(env, sync ? SyncMode::kFdatasync : SyncMode::kNone,
                               BaselineBytesPerOp(c, sync, t), prewrite, &b));
  FillWriteReport(c, sync, run, t, b, open_ms, r);
  r->summary = WriteSummary(c, sync, run, t, b, *r);
  return Status::Ok();
}

}  // namespace bench
