#include "logservice/log_state_machine.h"

#include <algorithm>
#include <optional>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/coding.h"
#include "logservice/log_command.h"
#include "logservice/record_codec.h"
#include "raft/core/conf_change.h"
#include "raft/node/peer_addresses.h"

namespace logservice {

using common::Result;
using common::Status;

namespace {

// docs/formats/log-state-snapshot.md.
constexpr uint32_t kSnapshotMagic = 0x4d534c52;  // "RLSM"
constexpr uint32_t kSnapshotVersion = 2;  // 2 added the members' addresses; 1 is still read

}  // namespace

std::string EncodeApplyResult(const SeqCheck& check) {
  std::string out;
  switch (check.verdict) {
    case SeqVerdict::kNew:
      return out;
    case SeqVerdict::kForgotten:
      out.push_back(static_cast<char>(check.verdict));
      return out;
    case SeqVerdict::kDuplicate:
      out.push_back(static_cast<char>(check.verdict));
      common::PutFixed64(&out, check.offset);
      return out;
    case SeqVerdict::kOutOfOrder:
    case SeqVerdict::kUnknownProducer:
      out.push_back(static_cast<char>(check.verdict));
      common::PutFixed64(&out, check.expected);
      return out;
  }
  return out;
}

Result<SeqCheck> DecodeApplyResult(std::string_view result) {
  if (result.empty()) return SeqCheck{};
  const auto verdict = static_cast<SeqVerdict>(result[0]);
  if (verdict == SeqVerdict::kForgotten && result.size() == 1) return SeqCheck{.verdict = verdict};
  if (result.size() == 9) {
    const uint64_t v = common::DecodeFixed64(result.data() + 1);
    if (verdict == SeqVerdict::kDuplicate) return SeqCheck{.verdict = verdict, .offset = v};
    if (verdict == SeqVerdict::kOutOfOrder || verdict == SeqVerdict::kUnknownProducer) {
      return SeqCheck{.verdict = verdict, .expected = v};
    }
  }
  return common::InternalError("log state machine: an apply result of " + std::to_string(result.size()) +
                               " bytes that it did not write");
}

LogStateMachine::LogStateMachine(ProducerTableLimits limits) : table_(limits) { limits_ = table_.limits(); }

std::string LogStateMachine::Apply(const raft::Entry& entry) {
  if (IsLogCommand(entry.data)) {
    applied_.store(entry.index, std::memory_order_release);
    Result<LogCommand> cmd = DecodeLogCommand(entry.index, entry.data);
    if (!cmd.has_value()) {
      // Every member skips it alike; readers skip it as a command.
      spdlog::warn("log state machine: {}; ignored", cmd.error().ToString());
    } else if (cmd->kind == LogCommandKind::kRetain && retain_ && cmd->purge_to < entry.index) {
      retain_(cmd->purge_to, entry.index);
    }
    return {};
  }
  const std::optional<ProducerStamp> stamp = ParseProducerStamp(entry.data);
  if (!stamp.has_value()) {
    applied_.store(entry.index, std::memory_order_release);
    return {};
  }
  SeqCheck check;
  {
    std::lock_guard lock(mu_);
    check = table_.Store(stamp->producer, stamp->sequence, entry.index);
    if (check.verdict != SeqVerdict::kNew) skipped_.push_back(entry.index);
    applied_.store(entry.index, std::memory_order_release);
  }
  return EncodeApplyResult(check);
}

void LogStateMachine::ApplyControl(const raft::Entry& entry) {
  std::lock_guard lock(mu_);
  raft::UpdatePeerAddresses(entry, addresses_);
  applied_.store(entry.index, std::memory_order_release);
}

std::map<raft::NodeId, std::string> LogStateMachine::PeerAddresses() const {
  std::lock_guard lock(mu_);
  return addresses_;
}

SeqCheck LogStateMachine::Check(const ProducerStamp& stamp) const {
  std::lock_guard lock(mu_);
  return table_.Check(stamp.producer, stamp.sequence);
}

std::vector<SeqCheck> LogStateMachine::Check(const ProducerStamp& first, uint64_t count) const {
  std::vector<SeqCheck> out;
  out.reserve(count);
  std::lock_guard lock(mu_);
  for (uint64_t i = 0; i < count; ++i) out.push_back(table_.Check(first.producer, first.sequence + i));
  return out;
}

std::vector<uint64_t> LogStateMachine::SkippedIn(uint64_t from, uint64_t end) const {
  std::lock_guard lock(mu_);
  auto lo = std::lower_bound(skipped_.begin(), skipped_.end(), from);
  auto hi = std::lower_bound(lo, skipped_.end(), end);
  return std::vector<uint64_t>(lo, hi);
}

size_t LogStateMachine::producers() const {
  std::lock_guard lock(mu_);
  return table_.size();
}

LogStateMachine::SnapshotData LogStateMachine::TakeSnapshot() const {
  std::lock_guard lock(mu_);
  SnapshotData snap;
  // Stamped entries change the state and applied_ together under mu_, so
  // the state read here is the state as of this index.
  snap.index = applied_.load(std::memory_order_acquire);
  std::string& out = snap.data;
  common::PutFixed32(&out, kSnapshotMagic);
  common::PutFixed32(&out, kSnapshotVersion);
  common::PutFixed64(&out, snap.index);
  table_.EncodeTo(&out);
  common::PutFixed64(&out, skipped_.size());
  for (uint64_t index : skipped_) common::PutFixed64(&out, index);
  out += raft::EncodePeerAddresses(addresses_);
  return snap;
}

void LogStateMachine::ForgetSkippedBelow(uint64_t index) {
  std::lock_guard lock(mu_);
  skipped_.erase(skipped_.begin(), std::lower_bound(skipped_.begin(), skipped_.end(), index));
}

Status LogStateMachine::Restore(const raft::Snapshot& snapshot) {
  const std::string where = "log state snapshot at index " + std::to_string(snapshot.meta.index) + ": ";
  std::string_view in = snapshot.data;
  if (in.size() < 16) {
    return common::DataLossError(where + std::to_string(in.size()) +
                                 " bytes of data, too short for its header (a log group snapshot always "
                                 "carries the producer table)");
  }
  if (common::DecodeFixed32(in.data()) != kSnapshotMagic) return common::DataLossError(where + "bad magic");
  const uint32_t version = common::DecodeFixed32(in.data() + 4);
  if (version != 1 && version != kSnapshotVersion) {
    return common::FailedPreconditionError(where + "format version " + std::to_string(version) +
                                           " is not supported (this build reads version " +
                                           std::to_string(kSnapshotVersion) + ")");
  }
  const uint64_t index = common::DecodeFixed64(in.data() + 8);
  if (index != snapshot.meta.index) {
    return common::FailedPreconditionError(where + "the data is of index " + std::to_string(index));
  }
  in.remove_prefix(16);
  ProducerTable table(limits_);
  RETURN_IF_ERROR(table.DecodeFrom(&in).WithContext(where.substr(0, where.size() - 2)));
  if (in.size() < 8) return common::DataLossError(where + "truncated skipped list");
  const uint64_t n = common::DecodeFixed64(in.data());
  in.remove_prefix(8);
  const uint64_t skipped_bytes = version == 1 ? in.size() : std::min<uint64_t>(in.size(), n * 8);
  if (n > in.size() / 8 || skipped_bytes != n * 8) {
    return common::DataLossError(where + "the skipped list of " + std::to_string(n) + " entries has " +
                                 std::to_string(in.size()) + " bytes");
  }
  std::vector<uint64_t> skipped(n);
  for (uint64_t i = 0; i < n; ++i) {
    skipped[i] = common::DecodeFixed64(in.data() + 8 * i);
    if (skipped[i] == 0 || skipped[i] > index || (i > 0 && skipped[i] <= skipped[i - 1])) {
      return common::DataLossError(where + "skipped entry #" + std::to_string(i) + " (" +
                                   std::to_string(skipped[i]) + ") is out of order or past the index");
    }
  }
  in.remove_prefix(n * 8);
  std::map<raft::NodeId, std::string> addresses;
  if (version >= 2) {
    // The rest is the address list, as a membership change carries it.
    if (in.empty()) return common::DataLossError(where + "truncated address list");
    Result<std::map<raft::NodeId, std::string>> decoded = raft::DecodePeerAddresses(in);
    if (!decoded.has_value()) return common::DataLossError(where + decoded.error().message());
    addresses = std::move(*decoded);
  }
  std::lock_guard lock(mu_);
  table_ = std::move(table);
  skipped_ = std::move(skipped);
  addresses_ = std::move(addresses);
  applied_.store(index, std::memory_order_release);
  return Status::Ok();
}

}  // namespace logservice
