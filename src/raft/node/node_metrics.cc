#include "raft/node/node_metrics.h"

namespace raft {

NodeMetrics NodeMetrics::Create(metrics::Registry* registry, const std::string& group) {
  NodeMetrics m;
  if (registry == nullptr) return m;
  const metrics::Labels labels = {{"group", group}};
  m.append_seconds = &registry->AddHistogram(
      "replog_raft_append_seconds",
      "Time to persist a Raft Ready that carries entries: append and fsync of this member's log.",
      metrics::LatencyBounds(), labels);
  m.apply_seconds = &registry->AddHistogram("replog_raft_apply_seconds",
                                            "Time to apply one batch of committed entries to the state machine.",
                                            metrics::LatencyBounds(), labels);
  m.leader_changes = &registry->AddCounter("replog_raft_leader_changes_total",
                                           "Times this member learned of a new leader.", labels);
  m.snapshot_save_seconds = &registry->AddHistogram(
      "replog_raft_snapshot_save_seconds",
      "Snapshots taken by this member (count) and the time to save each and compact the log.",
      metrics::LatencyBounds(), labels);
  m.snapshot_install_seconds = &registry->AddHistogram(
      "replog_raft_snapshot_install_seconds",
      "Snapshots received from the leader and restored (count) and the state machine's time to restore each.",
      metrics::LatencyBounds(), labels);
  return m;
}

}  // namespace raft
