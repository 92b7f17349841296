#pragma once

// Conversion between the Raft core's values (raft/core/types.h) and their
// wire form in proto/replog/v1/peer.proto.
//
// Encoding never fails. Decoding checks what the types cannot: an unknown
// message or entry type, or a message type that is local to a node (kHup,
// kBeat, kCheckQuorum, kUnreachable, kSnapStatus, kForgetLeader: never sent
// over the network), is kInvalidArgument; nothing a peer sends can crash us.
//
// Snapshots: a raft::Message of type kSnap holds its whole snapshot, but the
// wire message carries only `has_snapshot` and the meta; the data travels in
// SnapshotChunk.data (GrpcTransport streams it). So EncodeMessage leaves the
// data out and DecodeMessage returns a snapshot whose data is empty for the
// caller to fill in. Everything else round-trips exactly.
//
// The `&&` overloads move byte fields (entry data, context) instead of
// copying them; the moved-from object is left valid but unspecified.
// All functions are pure and thread-safe.

#include "common/status.h"
#include "raft/core/types.h"
#include "replog/v1/peer.pb.h"

namespace transport {

void EncodeEntry(const raft::Entry& e, replog::v1::RaftEntry* out);
void EncodeEntry(raft::Entry&& e, replog::v1::RaftEntry* out);
void EncodeConfState(const raft::ConfState& cs, replog::v1::RaftConfState* out);
void EncodeSnapshotMeta(const raft::SnapshotMeta& meta, replog::v1::RaftSnapshotMeta* out);
void EncodeMessage(const raft::Message& m, replog::v1::RaftMessage* out);
void EncodeMessage(raft::Message&& m, replog::v1::RaftMessage* out);

common::Result<raft::Entry> DecodeEntry(const replog::v1::RaftEntry& in);
common::Result<raft::Entry> DecodeEntry(replog::v1::RaftEntry&& in);
raft::ConfState DecodeConfState(const replog::v1::RaftConfState& in);
raft::SnapshotMeta DecodeSnapshotMeta(const replog::v1::RaftSnapshotMeta& in);
common::Result<raft::Message> DecodeMessage(const replog::v1::RaftMessage& in);
common::Result<raft::Message> DecodeMessage(replog::v1::RaftMessage&& in);

// True for the message types that travel between nodes (kProp .. kReadIndexResp).
bool IsNetworkMessage(raft::MessageType type);

}  // namespace transport
