#include "bench/produce_bench.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "bench/client_loops.h"
#include "bench/latency.h"
#include "bench/report.h"
#include "client/cli_format.h"
#include "client/client.h"
#include "common/clock.h"

namespace bench {

using common::Result;
using common::Status;
using replog::Client;
using replog::Record;

Status ValidateClientBench(const ClientBenchConfig& c) {
  if (c.clients == 0 || c.batch == 0) return common::InvalidArgumentError("--clients and --batch must be positive");
  if (c.seconds <= 0 || c.warmup_seconds < 0 || c.timeout_seconds <= 0) {
    return common::InvalidArgumentError("--seconds and --timeout must be positive, --warmup-seconds not negative");
  }
  if (replog::cli::SplitAddresses(c.addrs).empty()) return common::InvalidArgumentError("--addrs names no address");
  return Status::Ok();
}

namespace {

// The Clients the threads share: --connections of them (0: one per thread).
Result<std::vector<std::unique_ptr<Client>>> ConnectAll(const ClientBenchConfig& c) {
  replog::ClientOptions o;
  o.bootstrap_addresses = replog::cli::SplitAddresses(c.addrs);
  o.deadline_ms = static_cast<int64_t>(c.timeout_seconds * 1000);
  o.exactly_once = c.exactly_once;
  o.pipelined_produce = c.pipelined;
  ASSIGN_OR_RETURN(o.credentials, replog::TlsCredentialsFromFiles(c.tls));
  uint64_t n = c.connections == 0 ? c.clients : std::min(c.connections, c.clients);
  std::vector<std::unique_ptr<Client>> out;
  for (uint64_t i = 0; i < n; i++) {
    o.seed = i + 1;
    auto client = Client::Connect(o);
    if (!client.has_value()) return client.error();
    out.push_back(std::move(*client));
  }
  return out;
}

}  // namespace

std::string Payload(uint64_t record_size, uint64_t salt) {
  std::string v(record_size, 'a');
  uint64_t x = salt * 0x9E3779B97F4A7C15ull + 1;
  for (char& ch : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ch = static_cast<char>('a' + x % 26);
  }
  return v;
}

Status RunClientLoops(const ClientBenchConfig& c, const std::string& workload, const std::vector<Op>& ops,
                const std::vector<AsyncOp>& async_ops, size_t connections) {
  common::RealClock clock;
  std::vector<LoopStats> stats(c.clients);
  const bool async = !async_ops.empty();
  std::fprintf(stderr, "%s: %lu clients over %zu connections (%s), %.1f s warm-up, %.1f s measured\n",
               workload.c_str(), static_cast<unsigned long>(c.clients), connections,
               async ? "asynchronous requests" : "a thread per client", c.warmup_seconds, c.seconds);
  Deadlines d = StartDeadlines(clock, c.warmup_seconds, c.seconds);
  if (async) RunAsyncLoops(clock, d, async_ops, &stats);
  else RunThreadLoops(clock, d, ops, &stats);

  LoopStats total;
  for (const LoopStats& s : stats) total.Merge(s);
  double seconds = std::max(1e-9, static_cast<double>(total.last_end_ns - d.measure_start_ns) / 1e9);
  LatencySummary lat = total.latency.Summarize();

  Report r;
  r.workload = workload;
  r.record_size = c.record_size;
  r.batch = c.batch;
  r.writers = c.clients;
  r.seconds = seconds;
  double ops_per_s = static_cast<double>(total.ops) / seconds;
  r.records_per_s = static_cast<double>(total.records) / seconds;
  r.mb_per_s = static_cast<double>(total.bytes) / seconds / kMiB;
  r.SetLatency(lat);
  r.AddInt("clients", static_cast<int64_t>(c.clients));
  r.AddInt("connections", static_cast<int64_t>(connections));
  r.AddNum("ops_per_s", ops_per_s);
  std::optional<double> none;
  r.AddNum("p50_ms", lat.count == 0 ? none : std::optional<double>(lat.p50_us / 1e3));
  r.AddNum("p99_ms", lat.count == 0 ? none : std::optional<double>(lat.p99_us / 1e3));
  r.AddNum("max_ms", lat.count == 0 ? none : std::optional<double>(lat.max_us / 1e3));
  r.AddInt("errors", static_cast<int64_t>(total.errors));
  const bool writes = workload == "produce" || workload == "kv-put";
  if (writes) r.AddInt("unknown_outcome_retries", static_cast<int64_t>(total.unknown_retries));
  if (writes) r.AddBool("exactly_once", c.exactly_once);
  // The asynchronous writes' attempts on streams (--unary: calls).
  if (writes && !c.sync) r.AddBool("pipelined", c.pipelined);
  if (workload == "consume") r.AddBool("follower", c.follower);
  if (workload.starts_with("kv-")) r.AddInt("keys", static_cast<int64_t>(c.keys));
  if (workload == "kv-get") r.AddStr("consistency", c.local ? "local" : "linearizable");
  if (workload == "kv-get") r.AddStr("read_from", c.read_from);
  if (!total.first_error.empty()) r.AddStr("first_error", total.first_error);
  r.summary = std::to_string(c.clients) + " clients, batch " + std::to_string(c.batch) + " x " +
              std::to_string(c.record_size) + " B: " + Num(ops_per_s) + " ops/s, " + Num(*r.records_per_s) +
              " records/s, " + Num(*r.mb_per_s, 1) + " MB/s, " +
              (lat.count == 0 ? std::string("no operations")
                              : "p50 " + Num(lat.p50_us / 1e3, 2) + " ms, p99 " + Num(lat.p99_us / 1e3, 2) +
                                    " ms, max " + Num(lat.max_us / 1e3, 2) + " ms") +
              ", " + std::to_string(total.errors) + " errors";
  std::printf("%s\n%s\n", FormatSummary(r).c_str(), FormatJson(r).c_str());
  std::fflush(stdout);
  return Status::Ok();
}

namespace {

// Appends `n` records of `record_size` bytes, 1000 per request.
Status ProduceFirst(Client& client, uint64_t n, uint64_t record_size) {
  constexpr uint64_t kPerRequest = 1000;
  std::fprintf(stderr, "producing %lu records of %lu B first\n", static_cast<unsigned long>(n),
               static_cast<unsigned long>(record_size));
  for (uint64_t done = 0; done < n;) {
    uint64_t k = std::min(kPerRequest, n - done);
    std::vector<Record> records;
    for (uint64_t i = 0; i < k; i++) records.push_back(Record{.value = Payload(record_size, done + i)});
    auto r = client.Produce(records);
    if (!r.has_value()) return r.error().WithContext("--produce-first");
    done += k;
  }
  return Status::Ok();
}

}  // namespace

void AddClientBenchFlags(CLI::App* cmd, ClientBenchConfig* c) {
  cmd->add_option("--addrs", c->addrs, "members, host:port,...")->capture_default_str();
  cmd->add_option("--clients", c->clients, "closed-loop client threads")->capture_default_str();
  cmd->add_option("--connections", c->connections, "Clients (gRPC connections) they share (0: one per client)")
      ->capture_default_str();
  cmd->add_option("--record-size", c->record_size, "value bytes per record")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  cmd->add_option("--seconds", c->seconds, "measured seconds")->capture_default_str();
  cmd->add_option("--warmup-seconds", c->warmup_seconds, "unrecorded seconds before")->capture_default_str();
  cmd->add_option("--timeout", c->timeout_seconds, "seconds one request may take, retries included")
      ->capture_default_str();
  cmd->add_option("--tls-ca", c->tls.ca_file, "PEM file of the cluster's CA: connect with TLS");
  cmd->add_option("--tls-cert", c->tls.cert_file, "PEM file of the client certificate");
  cmd->add_option("--tls-key", c->tls.key_file, "PEM file of its key");
}

void AddSyncFlag(CLI::App* cmd, ClientBenchConfig* c, const std::string& blocking, const std::string& async) {
  cmd->add_flag("--sync", c->sync,
                "a thread per client calling the blocking " + blocking + " (default: asynchronous requests, " + async +
                    ")");
}

CLI::App* AddProduceCommand(CLI::App* app, ClientBenchConfig* config) {
  CLI::App* cmd = app->add_subcommand("produce", "closed-loop producers against a running cluster (replog::Client)");
  AddClientBenchFlags(cmd, config);
  cmd->add_option("--batch", config->batch, "records per Produce request")->capture_default_str();
  cmd->add_option("--ack-log", config->ack_log, "append the Unix time in ms of every acknowledged request here");
  AddSyncFlag(cmd, config, "Produce", "ProduceAsync");
  cmd->add_flag("!--no-exactly-once", config->exactly_once,
                "send no producer id and sequence (default: exactly-once produce, the client's default)");
  cmd->add_flag("!--unary", config->pipelined,
                "asynchronous produces make a Produce call each (default: requests on one ProduceStream per member "
                "and client, the client's default)");
  return cmd;
}

CLI::App* AddConsumeCommand(CLI::App* app, ClientBenchConfig* config) {
  CLI::App* cmd = app->add_subcommand("consume", "closed-loop consumers against a running cluster (replog::Client)");
  AddClientBenchFlags(cmd, config);
  cmd->add_option("--batch", config->consume_batch, "most records per Consume request")->capture_default_str();
  cmd->add_option("--from", config->from, "first offset (0: the first retained)")->capture_default_str();
  cmd->add_option("--follower", config->follower, "read from followers (false: from the leader)")
      ->capture_default_str();
  cmd->add_option("--produce-first", config->produce_first, "records of --record-size to append before measuring")
      ->capture_default_str();
  return cmd;
}

// The --ack-log file: one line per acknowledged request, from any thread.
class AckLog {
 public:
  static Result<std::unique_ptr<AckLog>> Open(const std::string& path) {
    if (path.empty()) return std::unique_ptr<AckLog>();
    std::FILE* f = std::fopen(path.c_str(), "a");
    if (f == nullptr) return common::InvalidArgumentError("--ack-log: cannot open " + path);
    return std::unique_ptr<AckLog>(new AckLog(f));
  }
  ~AckLog() { std::fclose(file_); }
  void Add(int64_t unix_ms) {
    std::lock_guard lock(mu_);
    std::fprintf(file_, "%lld\n", static_cast<long long>(unix_ms));
    std::fflush(file_);
  }

 private:
  explicit AckLog(std::FILE* f) : file_(f) {}
  std::mutex mu_;
  std::FILE* file_;
};

Status RunProduceBench(const ClientBenchConfig& c) {
  RETURN_IF_ERROR(ValidateClientBench(c));
  ASSIGN_OR_RETURN(std::unique_ptr<AckLog> ack_log, AckLog::Open(c.ack_log));
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Client>> clients, ConnectAll(c));
  common::RealClock wall;
  AckLog* log = ack_log.get();
  const uint64_t bytes = c.batch * c.record_size;
  // What a request did, from how its produce ended.
  auto result_of = [log, bytes, &wall, &c](const Result<replog::ProduceResult>& r) {
    if (!r.has_value()) return OpResult{r.error()};
    if (log != nullptr) log->Add(wall.WallMillis());
    return OpResult{Status::Ok(), c.batch, bytes, r->retried_after_unknown_outcome};
  };
  std::vector<Op> ops;
  std::vector<AsyncOp> async_ops;
  for (uint64_t i = 0; i < c.clients; i++) {
    Client* client = clients[i % clients.size()].get();
    std::vector<Record> records;
    for (uint64_t k = 0; k < c.batch; k++) records.push_back(Record{.value = Payload(c.record_size, i * 1000 + k)});
    if (c.sync) {
      ops.push_back([client, records, result_of] { return result_of(client->Produce(records)); });
    } else {
      async_ops.push_back([client, records, result_of](std::function<void(OpResult)> done) {
        client->ProduceAsync(records, [done = std::move(done), result_of](Result<replog::ProduceResult> r) {
          done(result_of(r));
        });
      });
    }
  }
  return RunClientLoops(c, "produce", ops, async_ops, clients.size());
}

Status RunConsumeBench(const ClientBenchConfig& config) {
  ClientBenchConfig c = config;
  c.batch = c.consume_batch;  // what the report and the checks call batch
  RETURN_IF_ERROR(ValidateClientBench(c));
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<Client>> clients, ConnectAll(c));
  if (c.produce_first > 0) RETURN_IF_ERROR(ProduceFirst(*clients[0], c.produce_first, c.record_size));
  replog::ConsumeOptions options;
  options.max_records = static_cast<uint32_t>(std::min<uint64_t>(c.batch, UINT32_MAX));
  options.read_from = c.follower ? replog::ReadFrom::kFollower : replog::ReadFrom::kLeader;
  // Where the log is: each client starts at its own point of [first, end].
  auto probe = clients[0]->Consume(c.from, replog::ConsumeOptions{.max_records = 1, .read_from = options.read_from});
  if (!probe.has_value()) return probe.error().WithContext("consume bench: first read");
  const uint64_t first = std::max<uint64_t>(c.from, probe->first_offset);
  const uint64_t end = probe->committed_offset;
  if (end < first) return common::FailedPreconditionError("consume bench: the log is empty (try --produce-first N)");
  auto make_op = [&](uint64_t thread) -> Op {
    Client* client = clients[thread % clients.size()].get();
    auto next = std::make_shared<uint64_t>(first + (end - first + 1) * thread / c.clients);
    return [client, next, options, first, end]() {
      auto b = client->Consume(*next, options);
      if (!b.has_value()) return OpResult{b.error()};
      uint64_t bytes = 0;
      for (const Record& r : b->records) bytes += r.value.size();
      *next = b->records.empty() || b->next_offset > end ? first : b->next_offset;
      return OpResult{Status::Ok(), b->records.size(), bytes};
    };
  };
  std::vector<Op> ops;
  for (uint64_t i = 0; i < c.clients; i++) ops.push_back(make_op(i));
  return RunClientLoops(c, "consume", ops, {}, clients.size());
}

}  // namespace bench
