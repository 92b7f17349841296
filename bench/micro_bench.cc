#include "bench/micro_bench.h"

#include <benchmark/benchmark.h>

#include <string>

#include "bench/raft_bench.h"
#include "common/checksum.h"
#include "common/clock.h"
#include "metrics/metrics.h"
#include "storage/record.h"
#include "storage/types.h"

namespace bench {

namespace {

storage::LogEntry EntryOf(int64_t payload) {
  storage::LogEntry e;
  e.index = 1;
  e.term = 1;
  e.payload.assign(static_cast<size_t>(payload), 'x');
  return e;
}

// Framing one entry record into a reused buffer (what Append does per entry).
void BM_AppendEntryRecord(benchmark::State& state) {
  storage::LogEntry e = EntryOf(state.range(0));
  std::string out;
  for (auto _ : state) {
    out.clear();
    storage::AppendEntryRecord(&out, e);
    benchmark::DoNotOptimize(out.data());
    e.index++;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

// Verifying and decoding one entry record (what a read does per entry).
void BM_DecodeEntryRecord(benchmark::State& state) {
  std::string buf;
  storage::AppendEntryRecord(&buf, EntryOf(state.range(0)));
  for (auto _ : state) {
    storage::RecordView rec;
    if (storage::DecodeRecord(buf, &rec) != storage::DecodeResult::kOk) {
      state.SkipWithError("record does not decode");
      break;
    }
    common::Result<storage::LogEntry> e = storage::DecodeEntry(rec.body);
    bool ok = e.has_value();
    benchmark::DoNotOptimize(ok);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Checksum64(benchmark::State& state) {
  std::string data(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(common::Checksum64(data));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

// What a timed metric adds to an fsync, a produce or an apply: two clock
// reads and one histogram observation (relaxed atomics). Threads share the
// histogram, as the members' threads do.
void BM_TimedObservation(benchmark::State& state) {
  static metrics::Histogram histogram(metrics::LatencyBounds());
  common::RealClock clock;
  for (auto _ : state) {
    metrics::ScopedTimer timer(&histogram, clock);
  }
}

}  // namespace

int RunMicro(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_AppendEntryRecord", BM_AppendEntryRecord)->Arg(16)->Arg(256)->Arg(4096);
  benchmark::RegisterBenchmark("BM_DecodeEntryRecord", BM_DecodeEntryRecord)->Arg(16)->Arg(256)->Arg(4096);
  benchmark::RegisterBenchmark("BM_Checksum64", BM_Checksum64)->Arg(256)->Arg(1 << 20);
  benchmark::RegisterBenchmark("BM_TimedObservation", BM_TimedObservation)->Threads(1)->Threads(2);
  RegisterRaftMicroBenchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
