#pragma once

// The values the Raft core reads, persists and exchanges: entries, hard
// state, membership, snapshots and messages. Plain data, no behaviour.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace raft {

using common::Status;
template <typename T>
using Result = common::Result<T>;

using NodeId = uint64_t;
inline constexpr NodeId kNoNode = 0;

// Matches storage::EntryKind so that the engine stores the number as is.
enum class EntryType : uint32_t {
  kNormal = 0,      // a command for the state machine
  kNoop = 1,        // the empty entry a new leader appends (§5.4.2, §8)
  kConfChange = 2,  // data is an encoded ConfChange (conf_change.h)
};

struct Entry {
  uint64_t index = 0;
  uint64_t term = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// Bytes an entry counts for in size limits (message size, inflight bytes,
// uncommitted bytes): its payload plus a small fixed header.
inline uint64_t EntrySize(const Entry& e) { return e.data.size() + 24; }

// Raft's persistent state besides the log (Figure 2), plus the commit index.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;

  bool empty() const { return term == 0 && vote == kNoNode && commit == 0; }
  friend bool operator==(const HardState&, const HardState&) = default;
};

// A membership configuration. Outside a joint change `voters_outgoing` and
// `learners_next` are empty. In a joint change (§6 of the thesis, "joint
// consensus") decisions need a majority of `voters` and of `voters_outgoing`;
// `learners_next` are outgoing voters that become learners on leaving.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  std::vector<NodeId> voters_outgoing;
  std::vector<NodeId> learners_next;
  bool auto_leave = false;  // the leader proposes the leave entry itself

  bool joint() const { return !voters_outgoing.empty(); }
  friend bool operator==(const ConfState&, const ConfState&) = default;
};

struct SnapshotMeta {
  uint64_t index = 0;  // last entry the snapshot covers
  uint64_t term = 0;   // its term
  ConfState conf_state;  // the configuration committed as of `index` (not a later one)

  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // the state machine's, opaque to Raft

  bool empty() const { return meta.index == 0; }
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

enum class MessageType : uint8_t {
  // Local: never sent over the network.
  kHup,             // start an election (tick or a caller)
  kBeat,            // leader: send heartbeats
  kCheckQuorum,     // leader: step down without an active quorum
  kUnreachable,     // the transport could not reach `from`
  kSnapStatus,      // the result of sending a snapshot to `from` (reject = failed)
  kForgetLeader,    // follower: forget the leader so that prevotes are granted again
  // Between nodes.
  kProp,            // proposal (local, or forwarded by a follower to the leader)
  kApp,             // AppendEntries
  kAppResp,
  kVote,            // RequestVote
  kVoteResp,
  kPreVote,         // thesis §9.6: would you vote for me?
  kPreVoteResp,
  kSnap,            // InstallSnapshot
  kHeartbeat,
  kHeartbeatResp,
  kTransferLeader,  // ask the leader to hand over to `from`
  kTimeoutNow,      // leader to transfer target: campaign now
  kReadIndex,       // ReadIndex request (local, or forwarded to the leader)
  kReadIndexResp,
};

const char* MessageTypeName(MessageType t);

// One struct for every message, as in etcd's raftpb.Message; each type uses
// the fields its handler documents.
struct Message {
  MessageType type = MessageType::kHup;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;
  uint64_t log_term = 0;  // kApp: term of `index`; votes: last log term; kAppResp reject: hint term
  uint64_t index = 0;     // kApp: prev index; votes: last index; kAppResp: match or rejected index
  std::vector<Entry> entries;
  uint64_t commit = 0;
  bool reject = false;
  uint64_t reject_hint = 0;  // kAppResp reject: the follower's guess at the match
  std::optional<Snapshot> snapshot;
  std::string context;  // kHeartbeat(Resp), kReadIndex(Resp): read request id; votes: "transfer"

  friend bool operator==(const Message&, const Message&) = default;
};

// A read that may be served once the applied index reaches `index`.
struct ReadState {
  uint64_t index = 0;
  std::string request_ctx;

  friend bool operator==(const ReadState&, const ReadState&) = default;
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* RoleName(Role r);

// Volatile state a caller may want to watch; not persisted.
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;

  friend bool operator==(const SoftState&, const SoftState&) = default;
};

}  // namespace raft
