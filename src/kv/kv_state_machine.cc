#include "kv/kv_state_machine.h"

#include <mutex>
#include <utility>

#include "common/coding.h"
#include "raft/node/peer_addresses.h"

namespace kv {

using common::Result;
using common::Status;

namespace {

constexpr std::string_view kSnapshotMagic = "KVS1";

KvResult SessionRefusal(const SessionCheck& check, uint64_t index) {
  KvResult r;
  r.revision = index;
  switch (check.verdict) {
    case SessionVerdict::kForgotten:
      r.code = KvResultCode::kForgotten;
      r.revision = 0;
      break;
    case SessionVerdict::kOutOfOrder:
      r.code = KvResultCode::kOutOfOrder;
      break;
    default:
      r.code = KvResultCode::kUnknownClient;
      break;
  }
  r.expected_sequence = check.expected;
  return r;
}

}  // namespace

KvStateMachine::KvStateMachine(SessionLimits sessions) : sessions_(sessions) {}

std::string KvStateMachine::InitialSnapshot(SessionLimits sessions) {
  KvStateMachine empty(sessions);
  return empty.SnapshotData();
}

KvResult KvStateMachine::Execute(const KvCommand& c, uint64_t index) {
  KvResult r;
  r.revision = index;
  switch (c.op) {
    case KvOp::kPut:
      r.previous = map_.Put(c.key, c.value, index);
      break;
    case KvOp::kDelete:
      r.previous = map_.Delete(c.key);
      break;
    case KvOp::kCas:
      if (const KvValue* now = map_.Get(c.key)) r.previous = *now;
      if (!map_.Matches(c.key, c.compare)) {
        r.code = KvResultCode::kCompareFailed;
      } else if (c.cas_delete) {
        map_.Delete(c.key);
      } else {
        map_.Put(c.key, c.value, index);
      }
      break;
  }
  return r;
}

std::string KvStateMachine::Apply(const raft::Entry& entry) {
  applied_bytes_.fetch_add(entry.data.size(), std::memory_order_relaxed);
  Result<KvCommand> c = DecodeCommand(entry.data);
  std::unique_lock lock(mu_);
  std::string response;
  if (!c.has_value() || !ValidateCommand(*c, limits_).ok()) {
    response = EncodeResult(KvResult{.code = KvResultCode::kMalformed, .revision = entry.index});
  } else if (c->client_id == 0) {
    response = EncodeResult(Execute(*c, entry.index));
  } else {
    SessionCheck check = sessions_.Check(c->client_id, c->sequence);
    if (check.verdict == SessionVerdict::kDuplicate) {
      response = std::move(check.response);
    } else if (check.verdict != SessionVerdict::kNew) {
      response = EncodeResult(SessionRefusal(check, entry.index));
    } else {
      response = EncodeResult(Execute(*c, entry.index));
      sessions_.Record(c->client_id, c->sequence, entry.index, response);
    }
  }
  applied_.store(entry.index, std::memory_order_release);
  return response;
}

void KvStateMachine::ApplyControl(const raft::Entry& entry) {
  std::unique_lock lock(mu_);
  raft::UpdatePeerAddresses(entry, addresses_);
  applied_.store(entry.index, std::memory_order_release);
}

std::string KvStateMachine::SnapshotData() {
  std::shared_lock lock(mu_);
  std::string out(kSnapshotMagic);
  map_.EncodeTo(&out);
  sessions_.EncodeTo(&out);
  const std::string addresses = raft::EncodePeerAddresses(addresses_);
  common::PutFixed32(&out, static_cast<uint32_t>(addresses.size()));
  out += addresses;
  return out;
}

Status KvStateMachine::Restore(const raft::Snapshot& snapshot) {
  std::string_view in = snapshot.data;
  auto context = [&](const Status& s) {
    return s.WithContext("kv snapshot at index " + std::to_string(snapshot.meta.index));
  };
  if (!in.starts_with(kSnapshotMagic)) return context(common::DataLossError("not a KV snapshot (bad magic)"));
  in.remove_prefix(kSnapshotMagic.size());
  KvMap map;
  KvSessions sessions(sessions_.limits());
  RETURN_IF_ERROR(context(map.DecodeFrom(&in)));
  RETURN_IF_ERROR(context(sessions.DecodeFrom(&in)));
  uint32_t n = 0;
  if (!common::GetFixed32(&in, &n) || in.size() != n) {
    return context(common::DataLossError("malformed address list"));
  }
  Result<std::map<raft::NodeId, std::string>> addresses = raft::DecodePeerAddresses(in);
  if (!addresses.has_value()) return context(addresses.error());
  std::unique_lock lock(mu_);
  map_ = std::move(map);
  sessions_ = std::move(sessions);
  addresses_ = std::move(*addresses);
  applied_.store(snapshot.meta.index, std::memory_order_release);
  return Status::Ok();
}

std::map<raft::NodeId, std::string> KvStateMachine::PeerAddresses() const {
  std::shared_lock lock(mu_);
  return addresses_;
}

std::optional<KvValue> KvStateMachine::Get(std::string_view key, uint64_t* at) const {
  std::shared_lock lock(mu_);
  *at = applied_.load(std::memory_order_acquire);
  const KvValue* v = map_.Get(key);
  if (v == nullptr) return std::nullopt;
  return *v;
}

KvRange KvStateMachine::Range(std::string_view start, std::string_view end, size_t limit, bool keys_only,
                              uint64_t* at) const {
  std::shared_lock lock(mu_);
  *at = applied_.load(std::memory_order_acquire);
  return map_.Range(start, end, limit, keys_only);
}

KvStats KvStateMachine::GetStats() const {
  std::shared_lock lock(mu_);
  return KvStats{.applied = applied_.load(std::memory_order_acquire),
                 .keys = map_.size(),
                 .bytes = map_.bytes(),
                 .hash = map_.Hash()};
}

}  // namespace kv
