#pragma once

// The values replog::Client (client.h) takes and returns: plain structs, no
// protobuf. Bytes are held in std::string and may be any bytes.

#include <cstdint>
#include <string>
#include <vector>

namespace replog {

struct Header {
  std::string key;
  std::string value;

  friend bool operator==(const Header&, const Header&) = default;
};

struct Record {
  uint64_t offset = 0;        // set on reads; ignored on produce
  std::string key;            // optional
  std::string value;
  std::vector<Header> headers;
  int64_t timestamp_ms = 0;   // producer's; 0 on produce: the leader's clock

  friend bool operator==(const Record&, const Record&) = default;
};

struct ProduceResult {
  std::vector<uint64_t> offsets;  // one per record, in order
  // An earlier attempt of this produce ended with an unknown outcome and was
  // retried. With exactly-once (ClientOptions::exactly_once, the default)
  // every attempt carried the same producer id and sequence, so the records
  // are in the log once, at `offsets`. Without it, they may also be in the
  // log at other offsets (once more).
  bool retried_after_unknown_outcome = false;
  // Exactly-once: the producer id and the sequence of the first record the
  // call sent (record i has sequence + i); 0 and 0 without exactly-once.
  uint64_t producer_id = 0;
  uint64_t sequence = 0;
  uint32_t attempts = 0;       // RPCs sent, this one included
  std::string leader_address;  // the member that committed them
};

// Which members a read goes to first.
enum class ReadFrom {
  kFollower,  // round robin over the members that are not the leader, then any
  kLeader,    // the leader, then any
  kAny,       // round robin over every member
};

struct ConsumeOptions {
  uint32_t max_records = 0;   // per batch; 0: the server's default
  uint64_t max_bytes = 0;     // per batch; 0: the server's default
  bool linearizable = false;  // ReadIndex on the leader, not a member's prefix
  ReadFrom read_from = ReadFrom::kFollower;
  // Non-empty: read from this member only (no fallback to others), e.g. to
  // compare the members' logs.
  std::string address;
};

struct ConsumeBatch {
  std::vector<Record> records;
  uint64_t next_offset = 0;       // where the next read should start
  uint64_t first_offset = 0;      // first retained offset of that member
  uint64_t committed_offset = 0;  // last committed offset that member knows
  std::string served_by;          // address of the member that answered
};

struct ServerInfo {
  uint64_t id = 0;
  std::string address;
  std::string role;  // "leader", "follower", "learner", "candidate"
  bool is_leader = false;

  friend bool operator==(const ServerInfo&, const ServerInfo&) = default;
};

struct ClusterView {
  std::vector<ServerInfo> servers;
  uint64_t leader_id = 0;  // 0: none known
  uint64_t term = 0;
  std::string answered_by;  // address of the member whose GetServers this is

  // The leader's address, or "" when none is known or listed.
  std::string LeaderAddress() const;
};

}  // namespace replog
