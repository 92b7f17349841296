#include "bench/kv_bench.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "client/cli_format.h"
#include "client/kv_client.h"

namespace bench {

namespace {

using common::Result;
using common::Status;
using replog::KvClient;

// Threads that put the keys before kv-get measures.
constexpr uint64_t kPreloadThreads = 16;

Status ValidateKv(const ClientBenchConfig& c) {
  RETURN_IF_ERROR(ValidateClientBench(c));
  if (c.keys == 0) return common::InvalidArgumentError("--keys must be positive");
  return Status::Ok();
}

std::string Key(uint64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "bench/%08llu", static_cast<unsigned long long>(i));
  return buf;
}

// The KvClients the threads share: --connections of them (0: one per client).
Result<std::vector<std::unique_ptr<KvClient>>> ConnectAll(const ClientBenchConfig& c) {
  replog::KvClientOptions o;
  o.bootstrap_addresses = replog::cli::SplitAddresses(c.addrs);
  o.deadline_ms = static_cast<int64_t>(c.timeout_seconds * 1000);
  o.exactly_once = c.exactly_once;
  o.pipelined_writes = c.pipelined;
  o.pipelined_reads = c.pipelined;
  o.read_from = c.read_from == "leader"     ? replog::ReadFrom::kLeader
                : c.read_from == "follower" ? replog::ReadFrom::kFollower
                                            : replog::ReadFrom::kAny;
  ASSIGN_OR_RETURN(o.credentials, replog::TlsCredentialsFromFiles(c.tls));
  const uint64_t n = c.connections == 0 ? c.clients : std::min(c.connections, c.clients);
  std::vector<std::unique_ptr<KvClient>> out;
  for (uint64_t i = 0; i < n; i++) {
    o.seed = i + 1;
    auto client = KvClient::Connect(o);
    if (!client.has_value()) return client.error();
    out.push_back(std::move(*client));
  }
  return out;
}

// Puts every key once, kPreloadThreads at a time; the first error stops it.
Status Preload(const std::vector<std::unique_ptr<KvClient>>& clients, const ClientBenchConfig& c) {
  std::fprintf(stderr, "putting %llu keys of %llu B first\n", static_cast<unsigned long long>(c.keys),
               static_cast<unsigned long long>(c.record_size));
  const uint64_t threads = std::min(kPreloadThreads, c.keys);
  std::vector<Status> results(threads);
  std::vector<std::thread> workers;
  for (uint64_t t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      KvClient& client = *clients[t % clients.size()];
      for (uint64_t k = t; k < c.keys && results[t].ok(); k += threads) {
        auto r = client.Put(Key(k), Payload(c.record_size, k));
        if (!r.has_value()) results[t] = r.error().WithContext("kv-get preload");
      }
    });
  }
  for (std::thread& w : workers) w.join();
  for (const Status& s : results) RETURN_IF_ERROR(s);
  return Status::Ok();
}

// The loops of the clients, in *ops (--sync) or *async_ops: client i's
// requests go to clients[i % clients.size()], each on a key picked at random
// (seeded per client). `blocking(client, key index)` makes one request and
// returns what it did; `async(client, key index, done)` starts one that
// calls `done` with that.
template <typename Blocking, typename Async>
void MakeOps(const std::vector<std::unique_ptr<KvClient>>& clients, const ClientBenchConfig& c, Blocking blocking,
             Async async, std::vector<Op>* ops, std::vector<AsyncOp>* async_ops) {
  for (uint64_t i = 0; i < c.clients; i++) {
    KvClient* client = clients[i % clients.size()].get();
    auto rng = std::make_shared<std::mt19937_64>(i + 1);
    // A loop's requests follow one another, so one generator per loop needs no lock.
    auto next_key = [rng, keys = c.keys] { return std::uniform_int_distribution<uint64_t>(0, keys - 1)(*rng); };
    if (c.sync) {
      ops->push_back([client, next_key, blocking] { return blocking(*client, next_key()); });
    } else {
      async_ops->push_back([client, next_key, async](std::function<void(OpResult)> done) {
        async(*client, next_key(), std::move(done));
      });
    }
  }
}

}  // namespace

CLI::App* AddKvPutCommand(CLI::App* app, ClientBenchConfig* config) {
  CLI::App* cmd = app->add_subcommand("kv-put", "closed-loop KV writers against a running cluster (replog::KvClient)");
  AddClientBenchFlags(cmd, config);
  cmd->add_option("--keys", config->keys, "distinct keys, each request picks one at random")->capture_default_str();
  AddSyncFlag(cmd, config, "Put", "PutAsync");
  cmd->add_flag("!--no-exactly-once", config->exactly_once,
                "send no client id and sequence (default: exactly-once writes, the client's default)");
  cmd->add_flag("!--unary", config->pipelined,
                "asynchronous puts make a Put call each (default: requests on one KV WriteStream per member and "
                "client, the client's default)");
  return cmd;
}

CLI::App* AddKvGetCommand(CLI::App* app, ClientBenchConfig* config) {
  CLI::App* cmd = app->add_subcommand("kv-get", "closed-loop KV readers against a running cluster (replog::KvClient)");
  AddClientBenchFlags(cmd, config);
  cmd->add_option("--keys", config->keys, "distinct keys, put once first; each request gets one at random")
      ->capture_default_str();
  AddSyncFlag(cmd, config, "Get", "GetAsync");
  cmd->add_flag("--local", config->local, "LOCAL reads (default: LINEARIZABLE)");
  cmd->add_option("--read-from", config->read_from,
                  "where reads go first: any (round robin over the members), leader (the KV leader), follower")
      ->check(CLI::IsMember({"any", "leader", "follower"}))
      ->capture_default_str();
  cmd->add_flag("!--unary", config->pipelined,
                "asynchronous gets make a Get call each (default: requests on one KV ReadStream per member and "
                "client, the client's default)");
  return cmd;
}

Status RunKvPutBench(const ClientBenchConfig& c) {
  RETURN_IF_ERROR(ValidateKv(c));
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<KvClient>> clients, ConnectAll(c));
  const std::string value = Payload(c.record_size, 1);
  auto result_of = [bytes = value.size()](const Result<replog::PutResult>& r) {
    if (!r.has_value()) return OpResult{r.error()};
    return OpResult{Status::Ok(), 1, bytes, r->write.retried_after_unknown_outcome};
  };
  std::vector<Op> ops;
  std::vector<AsyncOp> async_ops;
  MakeOps(
      clients, c, [value, result_of](KvClient& client, uint64_t k) { return result_of(client.Put(Key(k), value)); },
      [value, result_of](KvClient& client, uint64_t k, std::function<void(OpResult)> done) {
        client.PutAsync(Key(k), value,
                        [done = std::move(done), result_of](Result<replog::PutResult> r) { done(result_of(r)); });
      },
      &ops, &async_ops);
  return RunClientLoops(c, "kv-put", ops, async_ops, clients.size());
}

Status RunKvGetBench(const ClientBenchConfig& c) {
  RETURN_IF_ERROR(ValidateKv(c));
  ASSIGN_OR_RETURN(std::vector<std::unique_ptr<KvClient>> clients, ConnectAll(c));
  RETURN_IF_ERROR(Preload(clients, c));
  const replog::ReadConsistency consistency =
      c.local ? replog::ReadConsistency::kLocal : replog::ReadConsistency::kLinearizable;
  auto result_of = [](const Result<replog::GetResult>& r) {
    if (!r.has_value()) return OpResult{r.error()};
    return OpResult{Status::Ok(), 1, r->kv.value.size()};
  };
  std::vector<Op> ops;
  std::vector<AsyncOp> async_ops;
  MakeOps(
      clients, c,
      [consistency, result_of](KvClient& client, uint64_t k) { return result_of(client.Get(Key(k), consistency)); },
      [consistency, result_of](KvClient& client, uint64_t k, std::function<void(OpResult)> done) {
        client.GetAsync(Key(k), consistency,
                        [done = std::move(done), result_of](Result<replog::GetResult> r) { done(result_of(r)); });
      },
      &ops, &async_ops);
  return RunClientLoops(c, "kv-get", ops, async_ops, clients.size());
}

}  // namespace bench
