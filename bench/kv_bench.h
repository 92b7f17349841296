#pragma once

// `replog-bench kv-put` and `replog-bench kv-get`: closed-loop clients of the
// key-value store (replog.v1.KV) through replog::KvClient
// (src/client/kv_client.h), reported as `produce` is (produce_bench.h: one
// summary line and one JSON line with clients, record_size, seconds,
// ops_per_s, p50_ms, p99_ms, max_ms, errors, plus keys, and for kv-put
// unknown_outcome_retries and exactly_once, for kv-get consistency).
//
// Each of --clients closed-loop clients keeps one request in flight: kv-put
// a Put of a --record-size value, kv-get a Get, each of a key picked at
// random (seeded per client) among --keys distinct keys ("bench/00000000"
// ...). The clients run from the completions of KvClient::PutAsync and
// GetAsync (no thread per client, as produce); --sync gives each client a
// thread calling the blocking Put or Get instead. kv-get first puts every
// key once (blocking Puts from up to 16 threads), then reads LINEARIZABLE
// (--local: LOCAL). Writes are exactly-once as the client's default
// (--no-exactly-once: no session).

#include "bench/produce_bench.h"

namespace bench {

// Add the subcommands and their flags to `app`; `app` and `config` must
// outlive the parse.
CLI::App* AddKvPutCommand(CLI::App* app, ClientBenchConfig* config);
CLI::App* AddKvGetCommand(CLI::App* app, ClientBenchConfig* config);

// Run the workload and print its two lines on stdout (progress on stderr).
// kInvalidArgument for bad flags; the client's error when the cluster cannot
// be reached or the preload fails. Failed requests during the run are
// counted, not returned.
common::Status RunKvPutBench(const ClientBenchConfig& config);
common::Status RunKvGetBench(const ClientBenchConfig& config);

}  // namespace bench
