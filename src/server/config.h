#pragma once

// ServerConfig: everything one replogd member is told at start, from a TOML
// config file and/or flags (apps/replogd). docs/operations.md lists every
// key; Validate() explains what is wrong in words a user can act on.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "security/tls_files.h"

namespace server {

struct ServerConfig {
  uint64_t id = 0;                // this member's id, > 0, unique in the cluster
  std::string data_dir;           // holds this member's logs; created if missing
  std::string listen_address;     // host:port the gRPC server binds (clients and peers)
  std::string advertise_address;  // host:port others reach it at; default: listen_address
  std::string metrics_listen;     // host:port of /metrics /healthz /readyz (docs/metrics.md); empty: off
  // The first members of a new cluster, id -> advertised address, this member
  // included. Used to bootstrap an empty data directory and as the peers'
  // addresses on every start.
  std::map<uint64_t, std::string> initial_members;
  // Members of a running cluster to ask, when the data directory is empty,
  // to add this member (docs/cluster.md); then initial_members is not needed.
  // Ignored once the data directory holds state.
  std::vector<std::string> join;
  // Join even when this id or address is already in the cluster: the members
  // holding them are removed first (a member that lost its data).
  bool join_replace = false;
  // Raft timing: a tick every tick_ms; heartbeats every heartbeat_ticks; a
  // follower campaigns after a random [election_ticks, 2 * election_ticks).
  int tick_ms = 50;
  int heartbeat_ticks = 2;
  int election_ticks = 10;
  // On SIGTERM a leader hands leadership to its most up-to-date follower and
  // waits up to this long for the successor to take over (and for its own
  // in-flight produces to be settled) before stopping. 0: one election
  // timeout (election_ticks * tick_ms); at most 60000.
  int handover_timeout_ms = 0;
  uint64_t segment_bytes = 64 << 20;  // log segment size
  // Retention of the log ([log] in the config file; logservice/retention.h).
  // The leader drops the oldest whole segments while the log holds more than
  // retention_bytes, and those whose newest record is older than
  // retention_ms; it checks every retention_check_ms. 0: no limit of that
  // kind. Give every member the same values (the leader's decide).
  uint64_t retention_bytes = 0;
  int64_t retention_ms = 0;
  int64_t retention_check_ms = 10'000;
  // Snapshots of the key-value store ([kv] in the config file;
  // kv/kv_snapshots.h): a member snapshots the map once kv_snapshot_entries
  // entries or kv_snapshot_bytes command bytes were applied since its last
  // snapshot, and keeps kv_trailing_entries entries before it in the log
  // for followers a little behind.
  uint64_t kv_snapshot_entries = 100'000;
  uint64_t kv_snapshot_bytes = 64 << 20;
  uint64_t kv_trailing_entries = 5'000;
  std::string log_level = "info";     // trace, debug, info, warn, error, off
  std::string log_format = "text";    // text, or json: one object per line (common/log.h)
  // Mutual TLS on the one port, for clients and peers alike ([tls] in the
  // config file; security/member_tls.h): the cluster's CA certificate, this
  // member's certificate (naming its advertised host) and key, all PEM. All
  // three or none (TLS off). Re-read on SIGHUP.
  security::TlsFiles tls;
  // Access policy file ([acl] policy; security/acl.h); needs TLS. Empty:
  // every client with a certificate from the CA may do everything. Re-read
  // on SIGHUP.
  std::string acl_policy_file;

  // kInvalidArgument naming the first bad setting.
  common::Status Validate() const;
  // handover_timeout_ms with its default (0) resolved.
  int64_t HandoverTimeoutMs() const;
};

// Parses "1=127.0.0.1:7001,2=127.0.0.1:7002". kInvalidArgument naming the
// bad item.
common::Result<std::map<uint64_t, std::string>> ParseMembers(const std::string& text);
std::string FormatMembers(const std::map<uint64_t, std::string>& members);
// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> SplitList(const std::string& text);

// Reads a TOML config file into `config` (keys present in the file replace
// the values held). Keys: id, data_dir, listen, advertise, metrics_listen, initial_members
// (a string as for ParseMembers), join ("HOST:PORT,HOST:PORT"), join_replace
// (a boolean), log_level, log_format, segment_bytes, handover_timeout_ms,
// [raft] tick_ms, heartbeat_ticks, election_ticks, [log] retention_bytes,
// retention_ms, retention_check_ms, [kv] snapshot_entries,
// snapshot_bytes, trailing_entries, [tls] ca, cert, key, and [acl] policy.
// An unknown key is an
// error (a typo must not be ignored). kNotFound / kInvalidArgument with the
// file, line and key.
common::Status LoadConfigFile(const std::string& path, ServerConfig* config);

}  // namespace server
