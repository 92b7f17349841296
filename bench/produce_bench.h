#pragma once

// `replog-bench produce` and `replog-bench consume`: closed-loop clients
// against a running cluster, through replog::Client (src/client/client.h).
//
// --clients closed-loop clients each keep one request in flight: a Produce
// of --batch records of --record-size bytes, or a Consume of up to --batch
// records. A request's latency is from its call to its result (retries
// included). Produce runs every client from the completions of
// Client::ProduceAsync (no thread per client: the benchmark's own CPU and
// context switches stay small beside the servers'); --sync gives each client
// a thread calling the blocking Produce instead. Consume always runs a thread
// per client. The clients share --connections Clients (gRPC connections;
// default one per client, as etcd's benchmark does); see client_loops.h. After --warmup-seconds, requests
// that start within --seconds are measured. Prints ONE summary line and ONE
// JSON line (bench/report.h) with, besides the common fields, clients,
// ops_per_s, p50_ms, p99_ms, max_ms, errors (requests that failed; the
// first error's message is in first_error) and, for produce,
// unknown_outcome_retries.
//
// consume reads from a follower (--follower, the default) or the leader,
// each client from its own point of the retained log, wrapping around at the
// end; --produce-first N appends N records of --record-size bytes first.

#include <cstdint>
#include <string>
#include <vector>

#include "bench/client_loops.h"
#include "client/tls_credentials.h"
#include "common/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace bench {

// Every flag of `replog-bench produce` and `replog-bench consume`.
struct ClientBenchConfig {
  std::string addrs = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003";
  uint64_t clients = 1;
  uint64_t connections = 0;  // 0: one per client
  replog::ClientTlsFiles tls;  // --tls-ca, --tls-cert, --tls-key (none: plaintext)
  uint64_t record_size = 256;
  uint64_t batch = 1;            // produce: records per request
  uint64_t consume_batch = 1000;  // consume: most records per request (its --batch)
  double seconds = 10;
  double warmup_seconds = 1;
  double timeout_seconds = 10;  // ClientOptions::deadline_ms of each request
  // consume only
  uint64_t from = 0;            // first offset read (0: the first retained)
  bool follower = true;         // read from followers (false: the leader)
  uint64_t produce_first = 0;   // records to append before measuring
  // produce only: when set, the wall-clock time (Unix ms) of every
  // acknowledged request is appended to this file, one per line, so that a
  // script can find the write gap around a fault it injected.
  std::string ack_log;
  // produce, kv-put, kv-get: drive the clients with a thread each calling
  // the blocking request (Client::Produce, KvClient::Put, Get) instead of
  // its asynchronous form (ProduceAsync, PutAsync, GetAsync) from the
  // completions.
  bool sync = false;
  // produce only: ClientOptions::exactly_once (producer id and sequence on
  // every request; --no-exactly-once turns it off, as before issue 5).
  bool exactly_once = true;
  // produce, kv-put and kv-get: ClientOptions::pipelined_produce or
  // KvClientOptions::pipelined_writes and pipelined_reads (the asynchronous
  // attempts on one stream per member; --unary: a call each).
  bool pipelined = true;
  // kv-put, kv-get only (kv_bench.h): distinct keys the requests pick from
  // at random, and LOCAL reads instead of LINEARIZABLE ones.
  uint64_t keys = 10'000;
  bool local = false;
  // kv-get: where reads go first (KvClientOptions::read_from): "any",
  // "leader" or "follower".
  std::string read_from = "any";
};

// Add the subcommands and their flags to `app`; `app` and `config` must
// outlive the parse.
CLI::App* AddProduceCommand(CLI::App* app, ClientBenchConfig* config);
CLI::App* AddConsumeCommand(CLI::App* app, ClientBenchConfig* config);

// Run the workload and print its two lines on stdout (progress on stderr).
// kInvalidArgument for bad flags; the Client's error when the cluster cannot
// be reached. Failed requests during the run are counted, not returned.
common::Status RunProduceBench(const ClientBenchConfig& config);
common::Status RunConsumeBench(const ClientBenchConfig& config);

// What the client workloads share (produce, consume, kv-put, kv-get).
// kInvalidArgument for flags no client workload takes.
common::Status ValidateClientBench(const ClientBenchConfig& c);
// --addrs, --clients, --connections, --record-size, --seconds,
// --warmup-seconds, --timeout.
void AddClientBenchFlags(CLI::App* cmd, ClientBenchConfig* c);
// --sync (ClientBenchConfig::sync): `blocking` and `async` name the
// request's two forms in the help text.
void AddSyncFlag(CLI::App* cmd, ClientBenchConfig* c, const std::string& blocking, const std::string& async);
// `record_size` bytes that do not compress to nothing, different per salt.
std::string Payload(uint64_t record_size, uint64_t salt);
// Runs one closed loop per client, on a thread each (`ops`) or from the
// completions of asynchronous requests (`async_ops`, when not empty), and
// prints the report of `workload` (its two lines).
common::Status RunClientLoops(const ClientBenchConfig& c, const std::string& workload, const std::vector<Op>& ops,
                              const std::vector<AsyncOp>& async_ops, size_t connections);

}  // namespace bench
