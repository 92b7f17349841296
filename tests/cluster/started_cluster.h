#pragma once

// The start of most cluster tests: a Cluster whose members have elected a
// leader, and a replog::Client connected to them.
//
// Threads: the main thread (Cluster::Start's rule: members are started from
// it).

#include <cstdint>
#include <memory>

#include "client/client.h"
#include "cluster_harness.h"
#include "common/status.h"

namespace cluster_testing {

struct StartedCluster {
  std::unique_ptr<Cluster> cluster;
  uint64_t leader = 0;  // the first leader WaitForLeader saw
  // Declared after the cluster: destroyed before it.
  std::unique_ptr<replog::Client> client;  // null from StartCluster
};

// Starts a cluster with `options` and waits up to 15 s for a leader. The
// errors of Cluster::Start and Cluster::WaitForLeader.
common::Result<StartedCluster> StartCluster(const ClusterOptions& options);

// StartCluster, then connects a client with `client_options`, whose
// bootstrap_addresses become every member's address. Connect's errors too.
common::Result<StartedCluster> StartWithClient(const ClusterOptions& options,
                                               replog::ClientOptions client_options = {});

}  // namespace cluster_testing
