#include "kv/kv_snapshots.h"

#include <future>

#include "common/log.h"

namespace kv {

KvSnapshots::KvSnapshots(raft::Node& node, const raft::DurableStorage& storage, const KvStateMachine& sm,
                         KvSnapshotPolicy policy)
    : node_(node), storage_(storage), sm_(sm), policy_(policy) {}

void KvSnapshots::Start() {
  thread_.Start("kv-snapshots", policy_.check_ms, [this] { CheckOnce(); });
}

void KvSnapshots::Stop() { thread_.Stop(); }

void KvSnapshots::CheckOnce() {
  const uint64_t applied = sm_.applied();
  const std::optional<raft::SnapshotMeta> newest = storage_.snapshot_meta();
  const uint64_t since = applied - std::min(applied, newest ? newest->index : 0);
  const uint64_t bytes = sm_.applied_bytes() - std::min(sm_.applied_bytes(), bytes_at_last_);
  if (since == 0 || (since < policy_.entries && bytes < policy_.bytes)) return;
  bytes_at_last_ = sm_.applied_bytes();
  const uint64_t compact_to = applied > policy_.trailing_entries ? applied - policy_.trailing_entries : 0;
  std::promise<common::Result<uint64_t>> done;
  std::future<common::Result<uint64_t>> result = done.get_future();
  node_.SnapshotAsync(compact_to, [&done](common::Result<uint64_t> r) { done.set_value(std::move(r)); });
  common::Result<uint64_t> r = result.get();
  if (r.has_value()) {
    taken_.fetch_add(1);
    // The node logs the snapshot itself ("snapshot at I; log kept from F").
    common::log::Info({"kv", node_.GetStatus().term}, "snapshot policy: {} entries and {} command bytes since the last",
                      since, bytes);
  } else if (r.error().code() != common::Code::kFailedPrecondition) {
    common::log::Warn({"kv", node_.GetStatus().term}, "snapshot failed: {}", r.error().ToString());
  }
}

}  // namespace kv
