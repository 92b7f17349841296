#pragma once

// The metrics a raft::Node updates (docs/metrics.md), created in the
// registry NodeOptions::metrics names, labelled group=NodeOptions::group_name. Every
// pointer is nullptr when metrics are off: ScopedTimer and the checks at
// each use then cost a branch.

#include <string>

#include "metrics/registry.h"

namespace raft {

struct NodeMetrics {
  // Raft thread: a Ready's persist that carried entries (append and fsync).
  metrics::Histogram* append_seconds = nullptr;
  // Apply thread: one batch of committed entries through the state machine.
  metrics::Histogram* apply_seconds = nullptr;
  // Raft thread: this member learned of a new leader.
  metrics::Counter* leader_changes = nullptr;
  // Apply thread: a snapshot taken (SnapshotAsync: saved, then the log
  // compacted), and one received from the leader restored.
  metrics::Histogram* snapshot_save_seconds = nullptr;
  metrics::Histogram* snapshot_install_seconds = nullptr;

  // All nullptr when `registry` is nullptr.
  static NodeMetrics Create(metrics::Registry* registry, const std::string& group);
};

}  // namespace raft
