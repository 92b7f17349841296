#pragma once

// Retention: the log keeps a bounded prefix. docs/logservice.md, "Retention".
//
// Who decides. The leader: every check interval it looks at its own segments
// (storage::SegmentedLog::Segments) and picks the longest prefix of whole,
// sealed segments that the policy lets go (RetentionTarget), never past what
// every active member has stored nor past what it applied. It proposes a
// kRetain log command (log_command.h) with the last index of that prefix.
// So the purge point is a decision in the log: every member applies it at
// the same index and drops the same prefix, and every member serves the same
// first offset.
//
// What each member does. On applying a kRetain command (purge_to P) the
// member rebuilds the log state as of P (CompactLogGroup: its newest
// snapshot, plus the entries after it up to P, re-applied to a fresh
// LogStateMachine; membership from the snapshot plus the membership changes
// among them), stores it as the group's snapshot at P, and drops the log up
// to P. The snapshot is exactly at the purge point: a member that was down
// and needs the dropped entries gets this snapshot from the leader, and its
// log then begins where the leader's does. Segment files wholly at or below
// P are deleted (SegmentedLog::PurgeUpTo).
//
// Threads: a Retention owns one thread, "retention", that runs the leader's
// checks and the compactions. OnRetain may be called from any thread (the
// apply thread calls it through LogStateMachine's retain handler).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "logservice/log_state_machine.h"
#include "raft/durable/durable_storage.h"
#include "raft/node/node.h"
#include "storage/segmented_log.h"

namespace logservice {

// How much of the log to keep. The leader's policy decides; give every
// member the same one.
struct RetentionPolicy {
  // Delete the oldest segments while the log's segments hold more than this
  // many bytes. 0: no size limit.
  uint64_t max_bytes = 0;
  // Delete a segment once its newest record is older than this (by the
  // record's timestamp, which is the leader's clock at produce time unless
  // the producer set one). 0: no age limit.
  int64_t max_age_ms = 0;
  // How often the leader checks.
  int64_t check_interval_ms = 10'000;

  bool enabled() const { return max_bytes > 0 || max_age_ms > 0; }
};

// The last index of the longest prefix of `segments` (oldest first, as
// Segments() lists them) that `policy` lets go at `now_ms`, or 0 for none.
// Only sealed segments go, whole, in order: a segment goes when the bytes of
// the segments after it still exceed max_bytes, or when its newest record is
// older than max_age_ms (`newest_ms` gives that time; nullopt: unknown, never
// too old). No segment ending past `limit` goes.
uint64_t RetentionTarget(const std::vector<storage::SegmentInfo>& segments,
                         const std::function<std::optional<int64_t>(const storage::SegmentInfo&)>& newest_ms,
                         const RetentionPolicy& policy, int64_t now_ms, uint64_t limit);

// Makes `storage` hold a snapshot at exactly `purge_to` and drops the log up
// to it (see above); then `live`, the group's running state machine, forgets
// the skipped entries below the log's new first index (and only those). No-op
// when the newest snapshot is at or past purge_to. Errors: kOutOfRange when
// purge_to is past the log's end; kDataLoss when the entries between the
// snapshot and purge_to are not all in the log, or for damage; storage
// errors. Runs on the caller's thread; reads every entry it re-applies.
common::Status CompactLogGroup(raft::DurableStorage& storage, LogStateMachine& live, uint64_t purge_to);

class Retention {
 public:
  // `storage` and `sm` are the log group's; they, and the node given to
  // Start, must outlive this object. Nothing runs before Start.
  Retention(raft::DurableStorage& storage, LogStateMachine& sm, RetentionPolicy policy, common::Clock& clock);
  ~Retention();  // Stop()

  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // Starts the thread. The leader's checks run only when the policy is
  // enabled; compactions always (a kRetain command in the log is carried
  // out whatever this member's policy).
  void Start(raft::Node& node);
  // Asks for the log to be purged up to `purge_to`; returns at once. The
  // compaction runs on the retention thread; requests are merged (the
  // highest wins). Before Start, they wait for it.
  void OnRetain(uint64_t purge_to);
  // Stops the thread; a compaction in progress completes first. Idempotent.
  void Stop();

 private:
  void Loop();
  void CheckAsLeader();
  void Compact(uint64_t purge_to);
  std::optional<int64_t> NewestRecordMs(const storage::SegmentInfo& seg);

  raft::DurableStorage& storage_;
  LogStateMachine& sm_;
  const RetentionPolicy policy_;
  common::Clock& clock_;
  raft::Node* node_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  uint64_t wanted_ = 0;  // highest purge_to asked for, not yet carried out
  std::thread thread_;

  // Retention thread only.
  uint64_t proposed_ = 0;  // highest purge_to this member proposed as leader
  std::chrono::steady_clock::time_point repropose_after_;
  std::map<uint64_t, int64_t> newest_ms_;  // sealed segment's last index -> newest record time
};

}  // namespace logservice
