// logservice_bench: the per-record cost exactly-once adds on the produce
// path. Encoding a 256-byte record with and without a producer stamp (and
// the encoding as it was before stamps, SerializeAsString, for comparison),
// and LogStateMachine::Apply of an unstamped and of a new stamped record.
// A program, not a test: run it on a quiet machine.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "logservice/log_state_machine.h"
#include "logservice/record_codec.h"

namespace logservice {
namespace {

replog::v1::Record Record256() {
  replog::v1::Record r;
  r.set_value(std::string(256, 'x'));
  r.set_timestamp_ms(1'700'000'000'000);
  return r;
}

void BM_EncodeBeforeStamps(benchmark::State& state) {
  const replog::v1::Record r = Record256();
  for (auto _ : state) benchmark::DoNotOptimize(r.SerializeAsString());
}
BENCHMARK(BM_EncodeBeforeStamps);

void BM_EncodeWithoutStamp(benchmark::State& state) {
  const replog::v1::Record r = Record256();
  for (auto _ : state) benchmark::DoNotOptimize(EncodeRecord(r, 1));
}
BENCHMARK(BM_EncodeWithoutStamp);

void BM_EncodeWithStamp(benchmark::State& state) {
  const replog::v1::Record r = Record256();
  uint64_t seq = 0;
  for (auto _ : state) benchmark::DoNotOptimize(EncodeRecord(r, 1, ProducerStamp{0x123456789abcdef, seq++}));
}
BENCHMARK(BM_EncodeWithStamp);

void BM_ApplyWithoutStamp(benchmark::State& state) {
  LogStateMachine sm;
  raft::Entry e;
  e.data = EncodeRecord(Record256(), 1);
  for (auto _ : state) {
    ++e.index;
    benchmark::DoNotOptimize(sm.Apply(e));
  }
}
BENCHMARK(BM_ApplyWithoutStamp);

// New records of `range(0)` producers in turn (each keeps starting runs, as
// under concurrent producers: the worst case for the run ring).
void BM_ApplyNewStamped(benchmark::State& state) {
  const uint64_t producers = static_cast<uint64_t>(state.range(0));
  LogStateMachine sm;
  std::vector<uint64_t> next(producers, 0);
  const replog::v1::Record r = Record256();
  std::vector<raft::Entry> entries(1024);
  uint64_t index = 0, p = 0;
  size_t i = entries.size();
  for (auto _ : state) {
    if (i == entries.size()) {
      state.PauseTiming();
      for (raft::Entry& e : entries) {
        e.data = EncodeRecord(r, 1, ProducerStamp{p + 1, next[p]++});
        p = (p + 1) % producers;
      }
      i = 0;
      state.ResumeTiming();
    }
    raft::Entry& e = entries[i++];
    e.index = ++index;
    benchmark::DoNotOptimize(sm.Apply(e));
  }
}
BENCHMARK(BM_ApplyNewStamped)->Arg(1)->Arg(64)->Arg(10'000);

}  // namespace
}  // namespace logservice

BENCHMARK_MAIN();
