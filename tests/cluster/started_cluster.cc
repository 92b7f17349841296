#include "started_cluster.h"

#include <utility>

namespace cluster_testing {

common::Result<StartedCluster> StartCluster(const ClusterOptions& options) {
  StartedCluster started;
  ASSIGN_OR_RETURN(started.cluster, Cluster::Start(options));
  ASSIGN_OR_RETURN(started.leader, started.cluster->WaitForLeader(15'000));
  return started;
}

common::Result<StartedCluster> StartWithClient(const ClusterOptions& options, replog::ClientOptions client_options) {
  ASSIGN_OR_RETURN(StartedCluster started, StartCluster(options));
  client_options.bootstrap_addresses = started.cluster->Addresses();
  common::Result<std::unique_ptr<replog::Client>> client = replog::Client::Connect(std::move(client_options));
  if (!client.has_value()) return client.error().WithContext("connect a client");
  started.client = std::move(*client);
  return started;
}

}  // namespace cluster_testing
