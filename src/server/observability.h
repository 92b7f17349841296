#pragma once

// Observability: a member's metrics and health endpoints (docs/metrics.md).
// Given the process's metrics::Registry and the two Raft groups, it
// registers scrape-time collectors of each group's Raft state (read from
// raft::Node::GetStatus()), owns the metrics HTTP server (/metrics,
// /healthz, /readyz; metrics/http_server.h) and decides readiness.
//
// Ready() is OK when all of these hold, else a status naming the first
// that does not:
//   - neither node stopped after an error;
//   - both groups know a leader;
//   - this member is in the log group's configuration (voter or learner,
//     incoming or outgoing);
//   - in both groups, applied >= commit - ready_max_lag_entries, commit
//     being the one this member knows (on the leader, the cluster's; on a
//     follower, what the leader told it, at most a heartbeat old). A member
//     catching up after a restart, or a new one being sent a snapshot, is
//     not ready until it is within that bound.
//
// Wiring in server::Server (server.cc; tried end to end with replogd):
//   1. Parts: `metrics::Registry metrics;` right after `clock` (before every
//      part that updates it); `std::unique_ptr<metrics::GrpcMetrics>
//      grpc_metrics;` and `std::unique_ptr<Observability> observability;`
//      after cluster_service, before grpc_server (so the gRPC server goes
//      first and this object before the nodes).
//   2. Options take the registry:
//        storage::Options: metrics = &p->metrics, metrics_clock = &p->clock,
//          metrics_group = "log" (a copy with "kv" for the KV storage);
//        raft::NodeOptions: metrics = &p->metrics, group_name = "log" / "kv";
//        logservice::LogServiceOptions{.metrics = &p->metrics}.
//   3. Before BuildAndStart: p->grpc_metrics = std::make_unique<metrics::
//      GrpcMetrics>(p->metrics, p->clock), and its NewInterceptorFactory()
//      to builder.experimental().SetInterceptorCreators().
//   4. After the gRPC server started: p->observability = std::make_unique<
//      Observability>(p->metrics, *p->node, "log", *p->kv_node, "kv",
//      ObservabilityOptions{.listen_address = config.metrics_listen});
//      RETURN_IF_ERROR(p->observability->Start());
//   5. Shutdown(): p.observability->Stop() first (no scrape or readiness
//      check then waits on nodes being stopped).
//
// Threads: Start and Stop from the owner's thread; collectors and Ready()
// run on the HTTP server's threads (or a test's) and block until each
// node's raft thread answers GetStatus.

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "metrics/http_server.h"
#include "metrics/registry.h"
#include "raft/node/node.h"

namespace server {

struct ObservabilityOptions {
  // host:port of the HTTP server (port 0: any free one); empty: no server,
  // the collectors only (Registry::Expose() still shows them).
  std::string listen_address;
  // How far applied may trail commit in a ready member (see above).
  uint64_t ready_max_lag_entries = 1000;
};

class Observability {
 public:
  // Registers the collectors. `registry` and both nodes must outlive this
  // object (or its Stop()).
  Observability(metrics::Registry& registry, raft::Node& log_node, std::string log_group, raft::Node& kv_node,
                std::string kv_group, ObservabilityOptions options = {});
  ~Observability();
  Observability(const Observability&) = delete;
  Observability& operator=(const Observability&) = delete;

  // Starts the HTTP server when a listen address is set. Errors: those of
  // MetricsHttpServer::Start (kUnavailable when the address cannot be bound).
  common::Status Start();
  // The HTTP server's bound port; 0 without one.
  int port() const { return http_ ? http_->port() : 0; }
  // Stops the HTTP server and removes the collectors. Idempotent.
  void Stop();

  common::Status Ready() const;

 private:
  struct Group {
    raft::Node& node;
    std::string name;
  };
  static void Collect(const Group& g, metrics::SampleWriter& w);
  common::Status GroupReady(const Group& g, const raft::NodeStatus& st) const;

  metrics::Registry& registry_;
  const Group log_;
  const Group kv_;
  const ObservabilityOptions options_;
  metrics::Registry::CollectorId collector_ = 0;
  std::unique_ptr<metrics::MetricsHttpServer> http_;
};

}  // namespace server
