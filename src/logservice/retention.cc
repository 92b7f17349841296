#include "logservice/retention.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/log.h"
#include "common/thread_name.h"
#include "logservice/log_command.h"
#include "logservice/record_codec.h"
#include "raft/core/conf_change.h"
#include "raft/core/tracker.h"

namespace logservice {

using common::Result;
using common::Status;

namespace {

// How far back from a segment's end NewestRecordMs looks for a record (past
// control entries and commands).
constexpr uint64_t kMaxEntriesForAge = 64;
// Entry bytes read per step while re-applying.
constexpr uint64_t kReplayReadBytes = 4 << 20;

// The configuration after applying the conf-change entry `e` to `conf`, as
// Raft applied it: a change it could not apply left the configuration as it
// was (raft::Raft::ApplyConfChange fails the same way on every member).
raft::ConfState ApplyConfEntry(const raft::ConfState& conf, const raft::Entry& e) {
  Result<raft::ConfChange> cc = raft::DecodeConfChange(e.data);
  if (!cc.has_value()) return conf;
  Result<raft::TrackerConfig> next = raft::ApplyConfChangeToConfig(raft::TrackerConfig::FromConfState(conf), *cc);
  return next.has_value() ? next->ToConfState() : conf;
}

}  // namespace

uint64_t RetentionTarget(const std::vector<storage::SegmentInfo>& segments,
                         const std::function<std::optional<int64_t>(const storage::SegmentInfo&)>& newest_ms,
                         const RetentionPolicy& policy, int64_t now_ms, uint64_t limit) {
  uint64_t total = 0;
  for (const storage::SegmentInfo& s : segments) total += s.bytes;
  uint64_t target = 0;
  for (const storage::SegmentInfo& s : segments) {
    if (!s.sealed || s.last_index > limit || s.last_index < s.first_index) break;
    bool go = policy.max_bytes > 0 && total > policy.max_bytes;
    if (!go && policy.max_age_ms > 0) {
      std::optional<int64_t> newest = newest_ms(s);
      go = newest.has_value() && *newest < now_ms - policy.max_age_ms;
    }
    if (!go) break;
    total -= s.bytes;
    target = s.last_index;
  }
  return target;
}

Status CompactLogGroup(raft::DurableStorage& storage, LogStateMachine& live, uint64_t purge_to) {
  const std::string what = "retention: compacting the log up to " + std::to_string(purge_to);
  std::optional<raft::SnapshotMeta> base = storage.snapshot_meta();
  if (base.has_value() && base->index >= purge_to) return Status::Ok();
  if (purge_to > storage.LastIndex()) {
    return common::OutOfRangeError(what + ": the log ends at " + std::to_string(storage.LastIndex()));
  }
  LogStateMachine replay(live.limits());
  raft::ConfState conf;
  uint64_t next = 1;
  if (base.has_value()) {
    conf = base->conf_state;
    next = base->index + 1;
    if (base->index > 0) {
      Result<raft::Snapshot> snap = storage.GetSnapshot();
      if (!snap.has_value()) return snap.error().WithContext(what);
      if (snap->meta.index >= purge_to) return Status::Ok();  // a newer one was installed meanwhile
      RETURN_IF_ERROR(replay.Restore(*snap).WithContext(what));
      conf = snap->meta.conf_state;
      next = snap->meta.index + 1;
    }
  }
  if (storage.FirstIndex() > next) {
    return common::DataLossError(what + ": the log begins at " + std::to_string(storage.FirstIndex()) +
                                 " but the newest snapshot ends at " + std::to_string(next - 1));
  }
  while (next <= purge_to) {
    Result<std::vector<raft::Entry>> entries = storage.Entries(next, purge_to + 1, kReplayReadBytes);
    if (!entries.has_value()) return entries.error().WithContext(what);
    for (const raft::Entry& e : *entries) {
      if (e.type == raft::EntryType::kNormal) {
        replay.Apply(e);
      } else {
        replay.ApplyControl(e);
        if (e.type == raft::EntryType::kConfChange) conf = ApplyConfEntry(conf, e);
      }
    }
    next = entries->back().index + 1;
  }
  replay.ForgetSkippedBelow(purge_to + 1);  // the log will begin past them
  LogStateMachine::SnapshotData data = replay.TakeSnapshot();
  Status s = storage.SaveSnapshot(purge_to, conf, data.data);
  if (!s.ok()) {
    std::optional<raft::SnapshotMeta> now = storage.snapshot_meta();
    if (now.has_value() && now->index >= purge_to) return Status::Ok();  // installed meanwhile
    return s.WithContext(what);
  }
  RETURN_IF_ERROR(storage.Compact(purge_to).WithContext(what));
  live.ForgetSkippedBelow(storage.FirstIndex());
  return Status::Ok();
}

Retention::Retention(raft::DurableStorage& storage, LogStateMachine& sm, RetentionPolicy policy,
                     common::Clock& clock)
    : storage_(storage), sm_(sm), policy_(policy), clock_(clock) {}

Retention::~Retention() { Stop(); }

void Retention::Start(raft::Node& node) {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) return;
  node_ = &node;
  thread_ = std::thread([this] { Loop(); });
}

void Retention::OnRetain(uint64_t purge_to) {
  {
    std::lock_guard lock(mu_);
    wanted_ = std::max(wanted_, purge_to);
  }
  cv_.notify_all();
}

void Retention::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Retention::Loop() {
  common::SetThreadName("retention");
  const auto interval = std::chrono::milliseconds(std::max<int64_t>(policy_.check_interval_ms, 1));
  auto next_check = std::chrono::steady_clock::now() + interval;
  std::unique_lock lock(mu_);
  while (!stop_) {
    if (wanted_ == 0) {
      if (policy_.enabled()) {
        cv_.wait_until(lock, next_check, [&] { return stop_ || wanted_ > 0; });
      } else {
        cv_.wait(lock, [&] { return stop_ || wanted_ > 0; });
      }
    }
    if (stop_) break;
    const uint64_t purge_to = std::exchange(wanted_, 0);
    lock.unlock();
    if (purge_to > 0) Compact(purge_to);
    if (policy_.enabled() && std::chrono::steady_clock::now() >= next_check) {
      CheckAsLeader();
      next_check = std::chrono::steady_clock::now() + interval;
    }
    lock.lock();
  }
}

void Retention::Compact(uint64_t purge_to) {
  const uint64_t first_before = storage_.FirstIndex();
  if (purge_to < first_before) return;  // done already (a restart re-applies old commands)
  const int64_t start = clock_.NowNanos();
  Status s = CompactLogGroup(storage_, sm_, purge_to);
  if (!s.ok()) {
    spdlog::warn("{}", s.ToString());
    return;
  }
  const uint64_t first = storage_.FirstIndex();
  spdlog::info("retention: log purged up to {}; first offset {} (was {}); snapshot at {}; {:.1f} ms", purge_to,
               first, first_before, purge_to, (clock_.NowNanos() - start) / 1e6);
}

std::optional<int64_t> Retention::NewestRecordMs(const storage::SegmentInfo& seg) {
  if (auto it = newest_ms_.find(seg.last_index); it != newest_ms_.end()) return it->second;
  const storage::SegmentedLog& log = storage_.log();
  const uint64_t stop = seg.last_index >= seg.first_index + kMaxEntriesForAge ? seg.last_index - kMaxEntriesForAge
                                                                              : seg.first_index - 1;
  for (uint64_t i = seg.last_index; i > stop; --i) {
    Result<storage::LogEntry> e = log.Entry(i);
    if (!e.has_value()) return std::nullopt;  // purged meanwhile, or damage (the reader reports it)
    if (e->kind != storage::EntryKind::kNormal || IsLogCommand(e->payload)) continue;
    replog::v1::Record record;
    if (!DecodeRecord(i, e->payload, &record).ok()) return std::nullopt;
    newest_ms_.emplace(seg.last_index, record.timestamp_ms());
    return record.timestamp_ms();
  }
  return std::nullopt;
}

void Retention::CheckAsLeader() {
  const raft::NodeStatus st = node_->GetStatus();
  if (st.role != raft::Role::kLeader) return;
  // Not past what an active member has stored: it would need the snapshot.
  // A member not heard from lately does not hold retention back.
  uint64_t limit = std::min(st.applied, st.commit);
  for (const auto& [id, pr] : st.progress) {
    if (id != st.id && (pr.recent_active || pr.replicating)) limit = std::min(limit, pr.match);
  }
  const std::vector<storage::SegmentInfo> segments = storage_.log().Segments();
  const uint64_t first = storage_.FirstIndex();
  std::erase_if(newest_ms_, [&](const auto& kv) { return kv.first < first; });
  const uint64_t target = RetentionTarget(
      segments, [&](const storage::SegmentInfo& s) { return NewestRecordMs(s); }, policy_, clock_.WallMillis(),
      limit);
  const auto now = std::chrono::steady_clock::now();
  // A proposal that did not get through (a leader change) is made again
  // after a while; one that did is carried out by then.
  if (target < first || (target <= proposed_ && now < repropose_after_)) return;
  proposed_ = target;
  repropose_after_ = now + std::max(std::chrono::milliseconds(5000),
                                    3 * std::chrono::milliseconds(policy_.check_interval_ms));
  common::log::Info({"log", st.term}, "retention: proposing to purge the log up to {} (first offset {}; {} segments held)",
                    target, first, segments.size());
  node_->ProposeAsync({EncodeLogCommand(LogCommand{.kind = LogCommandKind::kRetain, .purge_to = target})}, 0,
                      [target](Result<std::vector<raft::ApplyResult>> r) {
                        if (!r.has_value()) {
                          spdlog::info("retention: the purge up to {} was not committed: {}", target,
                                       r.error().ToString());
                        }
                      });
}

}  // namespace logservice
