// replogd: one member of a replog cluster. Flags and/or a TOML config file
// (flags win) -> server::ServerConfig -> server::Server. SIGTERM or SIGINT
// shuts it down cleanly; a leader first hands leadership to its most
// up-to-date follower (docs/logservice.md, "Stopping a member"). SIGHUP
// reloads the TLS certificates and the access policy (docs/operations.md).
//
//   replogd --id 1 --data-dir data/1 --listen 127.0.0.1:7001
//     --initial-members 1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/log.h"
#include "rpc/absl_mutex.h"
#include "server/config.h"
#include "server/server.h"

namespace {

int Fail(const std::string& what) {
  std::fprintf(stderr, "replogd: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"replogd: a member of a replog cluster (a replicated, durable, ordered log)"};
  std::string config_file, members, log_level;
  server::ServerConfig flags;
  int tick_ms = 0, heartbeat_ticks = 0, election_ticks = 0, handover_timeout_ms = 0;
  uint64_t segment_bytes = 0, id = 0;
  app.add_option("--config", config_file, "TOML config file (flags given too override its keys)")
      ->check(CLI::ExistingFile);
  app.add_option("--id", id, "this member's id (> 0, unique in the cluster)");
  app.add_option("--data-dir", flags.data_dir, "directory for this member's data");
  app.add_option("--listen", flags.listen_address, "HOST:PORT to serve clients and peers on");
  app.add_option("--metrics-listen", flags.metrics_listen,
                 "HOST:PORT to serve /metrics, /healthz and /readyz on (default: off)");
  app.add_option("--advertise", flags.advertise_address,
                 "HOST:PORT the others reach this member at (default: its address in --initial-members)");
  app.add_option("--initial-members", members, "the cluster's members: ID=HOST:PORT,ID=HOST:PORT,...");
  std::string join;
  bool join_replace = false;
  app.add_option("--join", join,
                 "HOST:PORT,... of members of a running cluster to join (with an empty data directory)");
  app.add_flag("--join-replace", join_replace,
               "join even if this id or address is in the cluster: the members holding them are removed");
  app.add_option("--tick-ms", tick_ms, "Raft tick in milliseconds (default 50)");
  app.add_option("--heartbeat-ticks", heartbeat_ticks, "ticks between leader heartbeats (default 2)");
  app.add_option("--election-ticks", election_ticks, "ticks without a leader before an election (default 10)");
  app.add_option("--handover-timeout-ms", handover_timeout_ms,
                 "on SIGTERM, how long a leader waits for a follower to take over before stopping anyway "
                 "(default: one election timeout)");
  app.add_option("--segment-bytes", segment_bytes, "log segment size in bytes (default 64 MiB)");
  uint64_t retention_bytes = 0;
  int64_t retention_ms = 0, retention_check_ms = 0;
  CLI::Option* retention_bytes_opt = app.add_option(
      "--retention-bytes", retention_bytes,
      "drop the oldest log segments while the log holds more bytes than this (default 0: no limit)");
  CLI::Option* retention_ms_opt = app.add_option(
      "--retention-ms", retention_ms,
      "drop log segments whose newest record is older than this many ms (default 0: no limit)");
  CLI::Option* retention_check_opt = app.add_option("--retention-check-ms", retention_check_ms,
                                                    "how often the leader applies retention (default 10000)");
  uint64_t kv_snapshot_entries = 0, kv_snapshot_bytes = 0, kv_trailing_entries = 0;
  CLI::Option* kv_entries_opt = app.add_option(
      "--kv-snapshot-entries", kv_snapshot_entries,
      "snapshot the key-value store after this many entries since the last snapshot (default 100000)");
  CLI::Option* kv_bytes_opt = app.add_option(
      "--kv-snapshot-bytes", kv_snapshot_bytes,
      "snapshot the key-value store after this many command bytes since the last snapshot (default 64 MiB)");
  CLI::Option* kv_trailing_opt = app.add_option(
      "--kv-trailing-entries", kv_trailing_entries,
      "entries of the key-value store's log kept before a snapshot for followers a little behind (default 5000)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (default info)");
  std::string log_format;
  app.add_option("--log-format", log_format, "text, or json: one JSON object per line (default text)");
  app.add_option("--tls-ca", flags.tls.ca_file, "PEM file of the cluster's CA: turns on mutual TLS for clients and peers")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-cert", flags.tls.cert_file, "PEM file of this member's certificate")->check(CLI::ExistingFile);
  app.add_option("--tls-key", flags.tls.key_file, "PEM file of this member's private key")->check(CLI::ExistingFile);
  app.add_option("--acl-policy", flags.acl_policy_file,
                 "access policy file (TOML; needs TLS): principals and the actions allowed them")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  server::ServerConfig config;
  if (!config_file.empty()) {
    common::Status s = server::LoadConfigFile(config_file, &config);
    if (!s.ok()) return Fail(s.message());
  }
  if (id != 0) config.id = id;
  if (!flags.data_dir.empty()) config.data_dir = flags.data_dir;
  if (!flags.listen_address.empty()) config.listen_address = flags.listen_address;
  if (!flags.metrics_listen.empty()) config.metrics_listen = flags.metrics_listen;
  if (!flags.advertise_address.empty()) config.advertise_address = flags.advertise_address;
  if (!members.empty()) {
    auto m = server::ParseMembers(members);
    if (!m.has_value()) return Fail("--initial-members: " + m.error().message());
    config.initial_members = std::move(*m);
  }
  if (!join.empty()) config.join = server::SplitList(join);
  if (join_replace) config.join_replace = true;
  if (tick_ms != 0) config.tick_ms = tick_ms;
  if (heartbeat_ticks != 0) config.heartbeat_ticks = heartbeat_ticks;
  if (election_ticks != 0) config.election_ticks = election_ticks;
  if (handover_timeout_ms != 0) config.handover_timeout_ms = handover_timeout_ms;
  if (segment_bytes != 0) config.segment_bytes = segment_bytes;
  if (!log_level.empty()) config.log_level = log_level;
  if (!log_format.empty()) config.log_format = log_format;
  if (!flags.tls.ca_file.empty()) config.tls.ca_file = flags.tls.ca_file;
  if (!flags.tls.cert_file.empty()) config.tls.cert_file = flags.tls.cert_file;
  if (!flags.tls.key_file.empty()) config.tls.key_file = flags.tls.key_file;
  if (!flags.acl_policy_file.empty()) config.acl_policy_file = flags.acl_policy_file;
  if (retention_bytes_opt->count() > 0) config.retention_bytes = retention_bytes;
  if (retention_ms_opt->count() > 0) config.retention_ms = retention_ms;
  if (retention_check_opt->count() > 0) config.retention_check_ms = retention_check_ms;
  if (kv_entries_opt->count() > 0) config.kv_snapshot_entries = kv_snapshot_entries;
  if (kv_bytes_opt->count() > 0) config.kv_snapshot_bytes = kv_snapshot_bytes;
  if (kv_trailing_opt->count() > 0) config.kv_trailing_entries = kv_trailing_entries;
  if (config.listen_address.empty() && config.initial_members.contains(config.id)) {
    config.listen_address = config.initial_members.at(config.id);
  }
  if (common::Status s = config.Validate(); !s.ok()) return Fail(s.message());

  rpc::DisableMutexDeadlockDetection();
  // Each line reaches the file at once: a member killed with SIGKILL (tests,
  // crashes) must not take its last lines with it. Nothing logs per record.
  const common::log::Format format =
      config.log_format == "json" ? common::log::Format::kJson : common::log::Format::kText;
  if (common::Status s = common::log::Setup(config.id, format, config.log_level); !s.ok()) return Fail(s.message());

  // Signals are taken by one thread with sigwait, so no handler runs on an
  // arbitrary thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = server::Server::Start(config);
  if (!server.has_value()) return Fail(server.error().ToString());
  std::thread waiter([&] {
    int sig = 0;
    while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
      spdlog::info("signal SIGHUP: reloading the certificates and the access policy");
      if (common::Status s = (*server)->Reload(); !s.ok()) spdlog::error("{}", s.ToString());
    }
    spdlog::info("signal {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    (*server)->Shutdown();
  });
  common::Status stopped = (*server)->Wait();
  if (stopped.ok() && (*server)->removed()) {
    spdlog::info("removed from the cluster: stopping");
    kill(getpid(), SIGTERM);
  } else if (!stopped.ok()) {
    // The node stopped after an error it cannot go on from: shut down (the
    // signal thread does it) and exit non-zero so that a supervisor restarts
    // the member, which then reopens and checks its storage.
    spdlog::critical("stopping: {}", stopped.ToString());
    kill(getpid(), SIGTERM);
  }
  waiter.join();
  return stopped.ok() ? 0 : 1;
}
