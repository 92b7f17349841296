// open: how long SegmentedLog::Open takes on a large log, warm and cold.
// memory: resident memory of a freshly opened large log of small entries.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "bench/log_builder.h"
#include "bench/workloads.h"
#include "storage/segmented_log.h"

namespace bench {

namespace {

BuildSpec SpecFor(const BenchConfig& c, bool by_entries) {
  BuildSpec spec;
  spec.parent = c.dir;
  spec.log_bytes = by_entries ? 0 : c.log_bytes;
  spec.entries = by_entries ? c.entries : 0;
  spec.record_size = c.record_size;
  spec.options = MakeOptions(c);
  spec.seed = c.seed;
  return spec;
}

std::optional<double> Ms(const LatencySummary& s, double LatencySummary::*field) {
  if (s.count == 0) return std::nullopt;
  return s.*field / 1e3;
}

std::string MsText(const std::optional<double>& ms) { return ms.has_value() ? Num(*ms, 1) + " ms" : "n/a"; }

// Opens and closes of one temperature.
struct OpenRun {
  LatencyRecorder opens;
  LatencyRecorder closes;
  storage::Stats stats;  // of the last open
  CacheDrop drop;        // cold only: the last drop (the loop stops at a failed one)
};

// Times `config.opens` Opens of `dir` (and the closes), each after dropping
// the page cache when `cold`.
Status TimeOpens(const BenchEnv& env, const std::string& dir, bool cold, OpenRun* run) {
  for (uint64_t i = 0; i < env.config.opens; i++) {
    if (cold) {
      run->drop = DropPageCache(dir);
      if (!run->drop.ok) break;
    }
    double ms = 0;
    ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, TimedOpen(env, dir, &ms));
    run->opens.Add(static_cast<int64_t>(ms * 1e6));
    run->stats = log->stats();
    int64_t t0 = env.clock.NowNanos();
    log.reset();
    run->closes.Add(env.clock.NowNanos() - t0);
  }
  return Status::Ok();
}

// Resident memory around a fresh Open of a built log. Each phase is read as
// is and again after returning freed heap to the kernel: the difference is
// what malloc keeps cached, not what the log holds.
struct MemoryRun {
  Memory before;  // trimmed, no log open
  Memory opened, opened_trimmed;
  Memory read, read_trimmed;  // after the spread reads
  double open_ms = 0;
  uint64_t entries = 0;
  LatencyRecorder latency;  // of the spread reads
  storage::Stats stats;
};

Status MeasureMemory(const BenchEnv& env, const std::string& dir, MemoryRun* run) {
  ReleaseFreeHeap();
  run->before = ReadMemory();
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SegmentedLog> log, TimedOpen(env, dir, &run->open_ms));
  run->opened = ReadMemory();
  ReleaseFreeHeap();
  run->opened_trimmed = ReadMemory();
  // A few entries spread evenly over the whole log: every segment is touched.
  const uint64_t first = log->first_index(), last = log->last_index();
  const uint64_t reads = std::min<uint64_t>(1000, last - first + 1);
  for (uint64_t i = 0; i < reads; i++) {
    uint64_t index = first + (reads > 1 ? (last - first) * i / (reads - 1) : 0);
    int64_t t0 = env.clock.NowNanos();
    ASSIGN_OR_RETURN(storage::LogEntry e, log->Entry(index));
    run->latency.Add(env.clock.NowNanos() - t0);
    if (e.index != index) return common::DataLossError("Entry(" + std::to_string(index) + ") returned another entry");
  }
  run->read = ReadMemory();
  ReleaseFreeHeap();
  run->read_trimmed = ReadMemory();
  run->entries = last - first + 1;
  run->stats = log->stats();
  return Status::Ok();
}

std::string KiB(int64_t v) {
  std::string out = v >= 0 ? "+" : "";
  out += std::to_string(v);
  out += " KiB";
  return out;
}

std::string BuildMemoryText(const BuiltLog& built, Report* r) {
  if (!built.memory_after_build.has_value() || !built.stats_after_build.has_value()) return "";
  const Memory& m = *built.memory_after_build;
  const storage::Stats& st = *built.stats_after_build;
  r->AddInt("build_rss_kb", m.rss_kb);
  r->AddInt("build_cache_entries", static_cast<int64_t>(st.cache_entries));
  r->AddInt("build_cache_payload_bytes", static_cast<int64_t>(st.cache_bytes));
  return "; while building: RSS " + Num(static_cast<double>(m.rss_kb) / 1024) + " MiB with " +
         std::to_string(st.cache_entries) + " cached entries (" + Num(static_cast<double>(st.cache_bytes) / kMiB, 1) +
         " MiB payload)";
}

}  // namespace

Status RunOpen(const BenchEnv& env, Report* r) {
  const BenchConfig& c = env.config;
  ASSIGN_OR_RETURN(BuiltLog built, BuildOrReuse(env.fs, env.clock, SpecFor(c, /*by_entries=*/false)));
  OpenRun warm, cold;
  RETURN_IF_ERROR(TimeOpens(env, built.dir, /*cold=*/false, &warm));
  RETURN_IF_ERROR(TimeOpens(env, built.dir, /*cold=*/true, &cold));

  const LatencySummary w = warm.opens.Summarize(), k = cold.opens.Summarize(), cl = warm.closes.Summarize();
  const storage::Stats& stats = warm.stats;
  r->seconds = w.mean_us * static_cast<double>(w.count) / 1e6;
  r->SetLatency(w);
  r->AddNum("open_ms", Ms(w, &LatencySummary::p50_us));
  r->AddNum("open_max_ms", Ms(w, &LatencySummary::max_us));
  r->AddNum("open_cold_ms", Ms(k, &LatencySummary::p50_us));
  r->AddNum("open_cold_max_ms", Ms(k, &LatencySummary::max_us));
  r->AddNum("close_ms", Ms(cl, &LatencySummary::p50_us));
  r->AddInt("opens", static_cast<int64_t>(c.opens));
  r->AddBool("cold", cold.drop.ok);
  r->AddStr("cache_drop", cold.drop.detail);
  r->AddInt("segments", static_cast<int64_t>(stats.segments));
  r->AddInt("entries", static_cast<int64_t>(stats.last_index - stats.first_index + 1));
  r->AddInt("tail_bytes_scanned", static_cast<int64_t>(stats.tail_bytes_scanned));
  r->AddInt("torn_bytes_dropped", static_cast<int64_t>(stats.torn_bytes_dropped));
  r->AddBool("reused_build", built.reused);
  r->AddStr("build_dir", built.dir);
  r->summary = "Open of " + std::to_string(stats.segments) + " segments (" +
               Num(static_cast<double>(c.log_bytes) / kMiB) + " MiB, tail scan " +
               Num(static_cast<double>(stats.tail_bytes_scanned) / kMiB, 1) + " MiB): median of " +
               std::to_string(c.opens) + " warm " + MsText(Ms(w, &LatencySummary::p50_us)) + " (max " +
               MsText(Ms(w, &LatencySummary::max_us)) + "), cold " + MsText(Ms(k, &LatencySummary::p50_us)) +
               (cold.drop.ok ? "" : " (cache drop failed: " + cold.drop.detail + ")") + "; close " +
               MsText(Ms(cl, &LatencySummary::p50_us)) +
               (c.preallocate ? " (includes waiting for the background preallocation)" : "");
  return Status::Ok();
}

Status RunMemory(const BenchEnv& env, Report* r) {
  const BenchConfig& c = env.config;
  ASSIGN_OR_RETURN(BuiltLog built, BuildOrReuse(env.fs, env.clock, SpecFor(c, /*by_entries=*/true)));
  MemoryRun m;
  RETURN_IF_ERROR(MeasureMemory(env, built.dir, &m));

  const LatencySummary lat = m.latency.Summarize();
  const uint64_t segments = m.stats.segments;
  const int64_t growth_kb = m.read_trimmed.rss_kb - m.before.rss_kb;
  const double per_segment_kb = segments > 0 ? static_cast<double>(growth_kb) / static_cast<double>(segments) : 0;
  r->SetLatency(lat);
  r->AddInt("entries", static_cast<int64_t>(m.entries));
  r->AddInt("segments", static_cast<int64_t>(segments));
  r->AddInt("cache_budget_bytes", static_cast<int64_t>(c.cache_bytes));
  r->AddInt("reads", static_cast<int64_t>(lat.count));
  r->AddNum("open_ms", m.open_ms);
  r->AddInt("tail_bytes_scanned", static_cast<int64_t>(m.stats.tail_bytes_scanned));
  r->AddInt("rss_before_open_kb", m.before.rss_kb);
  r->AddInt("rss_after_open_kb", m.opened.rss_kb);
  r->AddInt("rss_after_open_trimmed_kb", m.opened_trimmed.rss_kb);
  r->AddInt("rss_after_reads_kb", m.read.rss_kb);
  r->AddInt("rss_after_reads_trimmed_kb", m.read_trimmed.rss_kb);
  r->AddInt("rss_anon_growth_kb", m.read_trimmed.rss_anon_kb - m.before.rss_anon_kb);
  r->AddInt("rss_file_growth_kb", m.read_trimmed.rss_file_kb - m.before.rss_file_kb);
  r->AddInt("rss_growth_kb", growth_kb);
  r->AddNum("rss_growth_per_segment_kb", per_segment_kb);
  r->AddInt("engine_cache_entries_after_reads", static_cast<int64_t>(m.stats.cache_entries));
  r->AddBool("reused_build", built.reused);
  const std::string build_text = BuildMemoryText(built, r);
  r->AddStr("build_dir", built.dir);
  r->summary = "fresh Open of " + std::to_string(m.entries) + " entries in " + std::to_string(segments) +
               " segments (" + Num(m.open_ms, 1) + " ms): RSS " + KiB(m.opened.rss_kb - m.before.rss_kb) +
               " after open (" + KiB(m.opened_trimmed.rss_kb - m.before.rss_kb) + " after malloc_trim), " +
               KiB(growth_kb) + " after " + std::to_string(lat.count) + " spread reads and malloc_trim (anon " +
               KiB(m.read_trimmed.rss_anon_kb - m.before.rss_anon_kb) + ", file " +
               KiB(m.read_trimmed.rss_file_kb - m.before.rss_file_kb) + ") = " + Num(per_segment_kb, 1) +
               " KiB/segment; reads " + LatencyText(lat) + "; cache budget " +
               Num(static_cast<double>(c.cache_bytes) / kMiB, 1) + " MiB" + build_text;
  return Status::Ok();
}

}  // namespace bench
