#pragma once

// LogStateMachine: the log group's raft::StateMachine. The log itself is the
// committed prefix of the Raft log (a record's offset is its entry's index,
// and consumers read the entries where Raft stored them), so a record without
// a producer stamp changes nothing here but the applied index.
//
// Exactly-once produce (docs/logservice.md): a record with a producer stamp
// (record_codec.h) is decided here, at apply time, on every member alike, by
// the ProducerTable: stored (a new record), or not stored because it is a
// duplicate or out of order. An entry that is not stored stays in the Raft
// log (its index is taken) but is not a record: it goes on the skipped list,
// and readers (log_reader.h) skip it as they skip control entries. So a
// consumer on any member never sees a record twice, and a new leader knows
// what the old one committed. The skipped list holds only such entries,
// which arise only when a retry raced its original (the service answers the
// others without proposing), so it stays short.
//
// State and restarts: the table and the skipped list are a function of the
// committed entries. raft::Node rebuilds them on start by restoring the
// group's newest snapshot (if any) and then re-applying every committed
// entry after it (docs/formats/raft-snapshot.md, "Restarting a node"). Once a
// log prefix is purged (retention), the snapshot must carry them:
// TakeSnapshot() gives the bytes for DurableStorage::SaveSnapshot, Restore()
// reads them back (docs/formats/log-state-snapshot.md).
//
// Log commands (log_command.h) are not records either: readers skip them by
// their payload. A kRetain command is handed to the retain handler, which
// purges the prefix (retention.h); the state machine does not change.
//
// Members' addresses: the state also holds the address of every member
// added by a membership change it applied (the change's context,
// raft/node/peer_addresses.h), so that a member restarting from a snapshot
// past those changes still reaches the members they added (PeerAddresses).
//
// Threads: Apply, ApplyControl and Restore on the Node's apply thread only.
// Check, SkippedIn, TakeSnapshot, ForgetSkippedBelow, PeerAddresses and
// applied_index from any thread (they take a lock the apply thread takes
// only for stamped entries and membership changes).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "logservice/producer_table.h"
#include "logservice/record_codec.h"
#include "raft/node/node.h"

namespace logservice {

// What Apply returned for an entry, as its proposer receives it
// (raft::ApplyResult::result). Empty: stored as a new record at its own
// index (and every record without a stamp). Otherwise one byte, the
// SeqVerdict, then for kDuplicate the original offset and for kOutOfOrder /
// kUnknownProducer the expected sequence as a little-endian u64.
std::string EncodeApplyResult(const SeqCheck& check);
// kInternal when `result` is not something EncodeApplyResult wrote.
common::Result<SeqCheck> DecodeApplyResult(std::string_view result);

class LogStateMachine final : public raft::StateMachine {
 public:
  // `limits` must be the same on every member of the group.
  explicit LogStateMachine(ProducerTableLimits limits = {});

  // Called on the apply thread for each kRetain command applied at `index`,
  // asking to purge the log up to `purge_to` (< index). Must not block. Set
  // before the Node starts; none by default (the command is then ignored).
  using RetainHandler = std::function<void(uint64_t purge_to, uint64_t index)>;
  void SetRetainHandler(RetainHandler handler) { retain_ = std::move(handler); }

  // raft::StateMachine.
  std::string Apply(const raft::Entry& entry) override;
  void ApplyControl(const raft::Entry& entry) override;
  // Replaces the table and the skipped list with the snapshot's. Errors
  // (state unchanged): kDataLoss when the data is malformed or empty (a log
  // group snapshot always has a table), kFailedPrecondition for an unknown
  // format version, other producer limits, or an index other than the
  // snapshot's.
  common::Status Restore(const raft::Snapshot& snapshot) override;
  std::map<raft::NodeId, std::string> PeerAddresses() const override;

  // What applying a stamped record would answer now, changing nothing.
  SeqCheck Check(const ProducerStamp& stamp) const;
  // Check of `count` records of one producer from `first` on (first.sequence
  // + count must be below 2^64), under one lock.
  std::vector<SeqCheck> Check(const ProducerStamp& first, uint64_t count) const;
  const ProducerTableLimits& limits() const { return limits_; }
  // The skipped entries in [from, end), ascending.
  std::vector<uint64_t> SkippedIn(uint64_t from, uint64_t end) const;

  // The state as of the last entry applied (`index`): the data to store with
  // DurableStorage::SaveSnapshot(index, <configuration at index>, data).
  struct SnapshotData {
    uint64_t index = 0;
    std::string data;
  };
  SnapshotData TakeSnapshot() const;
  // Drops skipped entries below `index`, for retention: call after the log
  // was purged up to index - 1 (they cannot be read any more). Snapshots
  // taken afterwards no longer carry them.
  void ForgetSkippedBelow(uint64_t index);

  // The last entry applied (or restored).
  uint64_t applied_index() const { return applied_.load(std::memory_order_acquire); }
  size_t producers() const;

 private:
  ProducerTableLimits limits_;  // table_'s, fixed at construction
  mutable std::mutex mu_;  // guards table_ and skipped_; applied_ changes under it for stamped entries
  ProducerTable table_;
  std::vector<uint64_t> skipped_;  // ascending
  std::map<raft::NodeId, std::string> addresses_;  // from applied membership changes
  RetainHandler retain_;
  std::atomic<uint64_t> applied_{0};
};

}  // namespace logservice
