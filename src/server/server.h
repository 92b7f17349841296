#pragma once

// Server: one replogd member (DESIGN §1, "server/"). It owns and wires the
// parts: the POSIX file system and real clock, the gRPC peer transport, the
// log group (group 1: DurableStorage under <data_dir>/log, raft::Node, state
// machine, retention (logservice/retention.h), replog.v1.Log and
// replog.v1.Cluster), the key-value group (group 2: under <data_dir>/kv, its
// node, state machine, snapshot policy (kv/kv_snapshots.h), membership
// following the log group's (server/kv_membership.h) and replog.v1.KV;
// docs/kv.md), and the one gRPC server that carries client and peer traffic
// on one port.
//
// Start: an empty data directory is bootstrapped with the initial members as
// the group's first configuration; a directory with state restarts from it
// (the initial members then only give the peers' addresses).
//
// Shutdown order: a leader of either group first hands leadership over to its most
// up-to-date follower and waits (ServerConfig::handover_timeout_ms) for the
// successor to lead and its own in-flight produces to settle
// (leader_handover.h); then the services stop taking calls (tailing consumers end),
// retention stops (a compaction in progress completes), the node stops (pending produces complete with an error), the transport
// closes its streams, the gRPC server drains; storage is closed last.
//
// Threads: Start, Wait and Shutdown may be called from any thread; Shutdown
// is idempotent and Wait returns once it has run.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "server/config.h"

namespace raft {
class Node;
}

namespace server {

class Server {
 public:
  // Errors: the config's (kInvalidArgument), the storage's (a locked or
  // damaged data directory), a port that cannot be bound (kUnavailable).
  static common::Result<std::unique_ptr<Server>> Start(const ServerConfig& config);
  ~Server();

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The address the gRPC server bound (a listen port 0 resolved).
  const std::string& bound_address() const;
  // Blocks until Shutdown() has completed (OK); until the leader said this
  // member was removed from the cluster (OK, and removed() is true: the
  // caller then calls Shutdown() and exits 0); or until the log group's node
  // stopped by itself after an error (that error: the caller then calls
  // Shutdown() and exits non-zero, so that a supervisor restarts it).
  common::Status Wait();
  bool removed() const;
  void Shutdown();
  // SIGHUP: re-reads the TLS files and the access policy (security/
  // member_tls.h); what fails to load is kept as it was, and the error says
  // which. kFailedPrecondition when TLS is off. Any thread.
  common::Status Reload();

 private:
  struct Parts;
  Server() = default;
  common::Status StartSecurity();
  void OnFatal(const common::Status& s);
  void OnRemoved();
  void HandOver(Parts& p, raft::Node& node, const char* group);

  std::unique_ptr<Parts> parts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shutting_down_ = false;
  bool stopped_ = false;
  bool removed_ = false;  // the leader removed this member from the cluster
  common::Status fatal_;  // the node's error, when it stopped by itself
};

}  // namespace server
