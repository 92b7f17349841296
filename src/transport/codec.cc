#include "transport/codec.h"

#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace transport {
namespace {

using common::InvalidArgumentError;
using common::Result;
using raft::EntryType;
using raft::MessageType;

constexpr uint32_t kMaxEntryType = static_cast<uint32_t>(EntryType::kConfChange);
constexpr uint32_t kMaxMessageType = static_cast<uint32_t>(MessageType::kReadIndexResp);

// The byte fields of a wire value: copied out of a const one, moved out of a
// mutable one (the && overloads).
std::string TakeData(const replog::v1::RaftEntry& in) { return in.data(); }
std::string TakeData(replog::v1::RaftEntry& in) { return std::move(*in.mutable_data()); }
std::string TakeContext(const replog::v1::RaftMessage& in) { return in.context(); }
std::string TakeContext(replog::v1::RaftMessage& in) { return std::move(*in.mutable_context()); }
const auto& Entries(const replog::v1::RaftMessage& in) { return in.entries(); }
auto& Entries(replog::v1::RaftMessage& in) { return *in.mutable_entries(); }

template <typename E>  // const raft::Entry& or raft::Entry
void EncodeEntryImpl(E&& e, replog::v1::RaftEntry* out) {
  out->set_index(e.index);
  out->set_term(e.term);
  out->set_type(static_cast<uint32_t>(e.type));
  out->set_data(std::forward<E>(e).data);
}

template <typename M>  // const raft::Message& or raft::Message
void EncodeMessageImpl(M&& m, replog::v1::RaftMessage* out) {
  out->Clear();
  out->set_type(static_cast<uint32_t>(m.type));
  out->set_from(m.from);
  out->set_to(m.to);
  out->set_term(m.term);
  out->set_log_term(m.log_term);
  out->set_index(m.index);
  out->mutable_entries()->Reserve(static_cast<int>(m.entries.size()));
  for (auto& e : m.entries) {
    if constexpr (std::is_rvalue_reference_v<M&&>) {
      EncodeEntryImpl(std::move(e), out->add_entries());
    } else {
      EncodeEntryImpl(e, out->add_entries());
    }
  }
  out->set_commit(m.commit);
  out->set_reject(m.reject);
  out->set_reject_hint(m.reject_hint);
  out->set_context(std::forward<M>(m).context);
  if (m.snapshot.has_value()) {
    out->set_has_snapshot(true);
    EncodeSnapshotMeta(m.snapshot->meta, out->mutable_snapshot_meta());
  }
}

template <typename In>  // const RaftEntry& or RaftEntry&
Result<raft::Entry> DecodeEntryImpl(In& in) {
  if (in.type() > kMaxEntryType) {
    return InvalidArgumentError("unknown entry type " + std::to_string(in.type()) + " at index " +
                                std::to_string(in.index()));
  }
  raft::Entry e;
  e.index = in.index();
  e.term = in.term();
  e.type = static_cast<EntryType>(in.type());
  e.data = TakeData(in);
  return e;
}

// Checks the type and the snapshot flag: a kSnap without its snapshot, or a
// snapshot on another type, would break the core's assumptions.
common::Status CheckMessageShape(const replog::v1::RaftMessage& in) {
  if (in.type() > kMaxMessageType) {
    return InvalidArgumentError("unknown message type " + std::to_string(in.type()));
  }
  const auto type = static_cast<MessageType>(in.type());
  if (!IsNetworkMessage(type)) {
    return InvalidArgumentError(std::string("local message type ") + raft::MessageTypeName(type) +
                                " is not accepted from the network");
  }
  if ((type == MessageType::kSnap) != in.has_snapshot()) {
    return InvalidArgumentError(std::string(raft::MessageTypeName(type)) +
                                (in.has_snapshot() ? " must not carry a snapshot" : " without a snapshot"));
  }
  return common::Status::Ok();
}

template <typename In>  // const RaftMessage& or RaftMessage&
Result<raft::Message> DecodeMessageImpl(In& in) {
  RETURN_IF_ERROR(CheckMessageShape(in));
  raft::Message m;
  m.type = static_cast<MessageType>(in.type());
  m.from = in.from();
  m.to = in.to();
  m.term = in.term();
  m.log_term = in.log_term();
  m.index = in.index();
  m.entries.reserve(static_cast<size_t>(in.entries_size()));
  for (auto& e : Entries(in)) {
    ASSIGN_OR_RETURN(raft::Entry entry, DecodeEntryImpl(e));
    m.entries.push_back(std::move(entry));
  }
  m.commit = in.commit();
  m.reject = in.reject();
  m.reject_hint = in.reject_hint();
  m.context = TakeContext(in);
  if (in.has_snapshot()) {
    m.snapshot = raft::Snapshot{.meta = DecodeSnapshotMeta(in.snapshot_meta())};
  }
  return m;
}

std::vector<raft::NodeId> Ids(const google::protobuf::RepeatedField<uint64_t>& ids) {
  return std::vector<raft::NodeId>(ids.begin(), ids.end());
}

}  // namespace

bool IsNetworkMessage(raft::MessageType type) {
  return static_cast<uint32_t>(type) >= static_cast<uint32_t>(MessageType::kProp) &&
         static_cast<uint32_t>(type) <= kMaxMessageType;
}

void EncodeEntry(const raft::Entry& e, replog::v1::RaftEntry* out) { EncodeEntryImpl(e, out); }
void EncodeEntry(raft::Entry&& e, replog::v1::RaftEntry* out) { EncodeEntryImpl(std::move(e), out); }

void EncodeConfState(const raft::ConfState& cs, replog::v1::RaftConfState* out) {
  out->Clear();
  out->mutable_voters()->Add(cs.voters.begin(), cs.voters.end());
  out->mutable_learners()->Add(cs.learners.begin(), cs.learners.end());
  out->mutable_voters_outgoing()->Add(cs.voters_outgoing.begin(), cs.voters_outgoing.end());
  out->mutable_learners_next()->Add(cs.learners_next.begin(), cs.learners_next.end());
  out->set_auto_leave(cs.auto_leave);
}

void EncodeSnapshotMeta(const raft::SnapshotMeta& meta, replog::v1::RaftSnapshotMeta* out) {
  out->set_index(meta.index);
  out->set_term(meta.term);
  EncodeConfState(meta.conf_state, out->mutable_conf_state());
}

void EncodeMessage(const raft::Message& m, replog::v1::RaftMessage* out) { EncodeMessageImpl(m, out); }
void EncodeMessage(raft::Message&& m, replog::v1::RaftMessage* out) {
  EncodeMessageImpl(std::move(m), out);
}

Result<raft::Entry> DecodeEntry(const replog::v1::RaftEntry& in) { return DecodeEntryImpl(in); }
Result<raft::Entry> DecodeEntry(replog::v1::RaftEntry&& in) { return DecodeEntryImpl(in); }

raft::ConfState DecodeConfState(const replog::v1::RaftConfState& in) {
  return raft::ConfState{.voters = Ids(in.voters()),
                         .learners = Ids(in.learners()),
                         .voters_outgoing = Ids(in.voters_outgoing()),
                         .learners_next = Ids(in.learners_next()),
                         .auto_leave = in.auto_leave()};
}

raft::SnapshotMeta DecodeSnapshotMeta(const replog::v1::RaftSnapshotMeta& in) {
  return raft::SnapshotMeta{.index = in.index(),
                            .term = in.term(),
                            .conf_state = DecodeConfState(in.conf_state())};
}

Result<raft::Message> DecodeMessage(const replog::v1::RaftMessage& in) { return DecodeMessageImpl(in); }
Result<raft::Message> DecodeMessage(replog::v1::RaftMessage&& in) { return DecodeMessageImpl(in); }

}  // namespace transport
