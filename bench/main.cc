// replog-bench: flags to a BenchConfig, then bench/storage_bench.h or the
// Google Benchmark micro benchmarks.

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <string_view>

#include "bench/kv_bench.h"
#include "bench/micro_bench.h"
#include "bench/produce_bench.h"
#include "bench/raft_bench.h"
#include "bench/storage_bench.h"
#include "rpc/absl_mutex.h"

namespace {

constexpr const char* kStorageHelp = R"(Workloads (one run prints ONE summary line and ONE JSON line on stdout; progress on stderr):
  sync         one writer: Append(--batch records) then Sync(), repeatedly; latency per Append+Sync.
  group        --writers threads (default 64), each: Append(--batch records) then Sync(); concurrent
               Syncs share fdatasyncs (group commit). Latency per writer operation.
  nosync       one writer: Append(--batch records) without Sync. records/s counts only the Appends;
               the one Sync() at the end is timed separately (final_sync_ms), not counted.
  read-random  builds (or reuses) a log of --log-bytes (default 1 GiB), drops it from the page cache
               (fdatasync + posix_fadvise DONTNEED, checked with mincore; the output says whether it
               worked), opens it fresh and reads random single entries with Entry(i) for --seconds.
  read-seq     same build; cold fresh Open, reads the whole log in order with
               Entries(lo, hi, max_bytes=1 MiB), or with --read-api for-each through
               ForEachEntry(lo, hi, 1 MiB, fn) (views, no copies); MiB/s of .log data
               (Open not counted).
  open         builds (or reuses) a log of --log-bytes (default 2 GiB) and times SegmentedLog::Open:
               median of --opens warm opens, then of --opens cold ones (if the cache drop works).
  memory       builds (or reuses) a log of --entries small entries (default 20,000,000 of 16 bytes),
               opens it fresh, reads 1000 entries spread over it, and reports VmRSS (and its growth)
               after open and after the reads, the segment count and the cache budget.

Baselines, measured in the same run in --dir, after the engine:
  sync, group  pwrite()+fdatasync() loops of the bytes one of our syncs writes (sync: from the record
               framing, 16 B header + 24 B entry header + payload rounded to 8 per record, plus a
               40 B BatchEnd; group: engine bytes written / fdatasyncs), (a) appending to a new file,
               (b) overwriting a pre-written file, each for --seconds. ratio = ours / the faster one:
               sync: Append+Sync per second vs fdatasyncs per second; group: MiB/s.
  nosync       buffered pwrite() without sync in chunks of max(batch bytes, 1 MiB = the engine's
               flush size), new file and overwrite; ratio of MiB/s (ours: record bytes appended).
  read-random  pread() of one record's bytes at random positions of the .log files, cold; ratio of reads/s.
  read-seq     read() of the same .log files (up to their data end) with 1 MiB buffers, cold; ratio of MiB/s.
  open, memory no baseline (ratio null).

Files: --dir is created if missing. Write workloads use <dir>/log-<workload> and
<dir>/baseline-*.dat and delete them at the end unless --keep. Read, open and
memory workloads build <dir>/build-<size>-r<record size>-s<segment bytes> plus a
.done marker and KEEP it for reuse by later runs with the same parameters
(delete it by hand). Sizes accept suffixes: 256MiB, 1GiB, 64KiB (K/M/G are 1024-based).
MB in output means MiB. Write workloads warm up for --warmup-seconds first (not recorded).
Percentiles are nearest-rank over every operation's latency.)";

// Registers the flags of `replog-bench storage`.
void AddStorageFlags(CLI::App* storage, bench::BenchConfig* c, bool* no_preallocate) {
  storage->add_option("--workload", c->workload, "workload to run")
      ->required()
      ->check(CLI::IsMember(bench::WorkloadNames()));
  storage->add_option("--dir", c->dir, "scratch directory on the disk to measure")->required();
  storage->add_option("--seconds", c->seconds, "measured seconds of each timed phase")->capture_default_str();
  storage->add_option("--warmup-seconds", c->warmup_seconds, "unrecorded warm-up before write phases")
      ->capture_default_str();
  storage->add_option("--record-size", c->record_size, "payload bytes per entry (default 256; memory: 16)")
      ->transform(CLI::AsSizeValue(false));
  storage->add_option("--batch", c->batch, "entries per Append call")->capture_default_str();
  storage->add_option("--writers", c->writers, "writer threads (group: default 64; others: 1)");
  storage->add_option("--log-bytes", c->log_bytes, "size of the log to build (read-*: 1GiB, open: 2GiB)")
      ->transform(CLI::AsSizeValue(false));
  storage->add_option("--entries", c->entries, "memory: entries of the log to build")->capture_default_str();
  storage->add_option("--segment-bytes", c->segment_bytes, "Options::segment_bytes (default 64MiB)")
      ->transform(CLI::AsSizeValue(false));
  storage->add_option("--cache-bytes", c->cache_bytes,
                      "Options::cache_bytes (read-random, read-seq: 1MiB; others: 64MiB)")
      ->transform(CLI::AsSizeValue(false));
  storage->add_flag("--no-preallocate", *no_preallocate, "Options::preallocate = false");
  storage->add_option("--writeback-bytes", c->writeback_bytes,
                      "Options::writeback_bytes (unsynced bytes handed to the kernel's writeback; 0: never)")
      ->transform(CLI::AsSizeValue(false));
  storage->add_option("--max-concurrent-syncs", c->max_concurrent_syncs, "Options::max_concurrent_syncs (fdatasyncs in flight)")
      ->check(CLI::Range(1, 64));
  storage->add_option("--retain-bytes", c->retain_bytes,
                      "sync, group: after each Sync, purge the oldest entries beyond this many bytes of entry "
                      "records, as a node that snapshots and compacts does; the log is first filled past this and "
                      "purged back, so the run starts in that steady state (0: the log only grows)")
      ->transform(CLI::AsSizeValue(false));
  storage->add_flag("--keep", c->keep, "keep the logs and baseline files of write workloads");
  storage->add_flag("--metrics", c->metrics, "Options::metrics on: each fdatasync is timed into a histogram");
  storage->add_option("--seed", c->seed, "seed of payloads and random reads")->capture_default_str();
  storage->add_option("--opens", c->opens, "open: Opens timed per temperature")->capture_default_str();
  storage->add_option("--read-api", c->read_api, "read-seq: entries (Entries) or for-each (ForEachEntry)")
      ->check(CLI::IsMember({"entries", "for-each"}))
      ->capture_default_str();
}

// Defaults that depend on the workload, for flags not given.
void ApplyWorkloadDefaults(const CLI::App& storage, bench::BenchConfig* c) {
  const std::string& w = c->workload;
  const bool reads = w == "read-random" || w == "read-seq";
  if (storage.count("--writers") == 0) c->writers = w == "group" ? 64 : 1;
  if (storage.count("--record-size") == 0 && w == "memory") c->record_size = 16;
  if (storage.count("--log-bytes") == 0) c->log_bytes = w == "open" ? (2ull << 30) : (1ull << 30);
  if (storage.count("--cache-bytes") == 0 && reads) c->cache_bytes = 1ull << 20;
}

}  // namespace

int main(int argc, char** argv) {
  rpc::DisableMutexDeadlockDetection();  // as replogd does: the client benchmarks make many RPCs
  if (argc >= 2 && std::string_view(argv[1]) == "micro") return bench::RunMicro(argc - 1, argv + 1);

  CLI::App app{"replog-bench: benchmarks of the replog storage engine (storage::SegmentedLog)"};
  app.require_subcommand(1);
  app.add_subcommand("micro",
                     "Google Benchmark micro benchmarks (record encoding, Checksum64); "
                     "flags after 'micro' go to Google Benchmark (try: replog-bench micro --help)");
  CLI::App* storage = app.add_subcommand("storage", "one storage workload against a real disk, with baselines");
  storage->footer(kStorageHelp);
  bench::BenchConfig config;
  bool no_preallocate = false;
  AddStorageFlags(storage, &config, &no_preallocate);
  bench::RaftBenchConfig raft_config;
  CLI::App* raft = bench::AddRaftCommand(&app, &raft_config);
  bench::ClientBenchConfig client_config;
  CLI::App* produce = bench::AddProduceCommand(&app, &client_config);
  CLI::App* consume = bench::AddConsumeCommand(&app, &client_config);
  CLI::App* kv_put = bench::AddKvPutCommand(&app, &client_config);
  CLI::App* kv_get = bench::AddKvGetCommand(&app, &client_config);
  CLI11_PARSE(app, argc, argv);
  if (produce->parsed() || consume->parsed() || kv_put->parsed() || kv_get->parsed()) {
    common::Status cs = produce->parsed()  ? bench::RunProduceBench(client_config)
                        : consume->parsed() ? bench::RunConsumeBench(client_config)
                        : kv_put->parsed()  ? bench::RunKvPutBench(client_config)
                                            : bench::RunKvGetBench(client_config);
    if (cs.ok()) return 0;
    std::fprintf(stderr, "replog-bench: %s\n", cs.ToString().c_str());
    return 1;
  }
  if (raft->parsed()) {
    common::Status rs = bench::RunRaftBench(raft_config);
    if (rs.ok()) return 0;
    std::fprintf(stderr, "replog-bench: %s\n", rs.ToString().c_str());
    return 1;
  }
  if (!storage->parsed()) return 0;
  ApplyWorkloadDefaults(*storage, &config);
  config.preallocate = !no_preallocate;

  common::Status s = bench::RunStorageBench(config);
  if (!s.ok()) {
    std::fprintf(stderr, "replog-bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
