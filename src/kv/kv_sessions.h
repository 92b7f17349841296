#pragma once

// KvSessions: what the key-value state machine remembers of each client for
// exactly-once writes (issue 6, item 4; the Raft dissertation's client
// sessions, §6.3). A client numbers its writes 0, 1, 2, ... under a random
// client id; a write applied once is never applied again: a retry of it
// (the same client id and sequence, after an unknown outcome or a leader
// change) is answered with the response the first application gave.
//
// Per client it keeps `next` (the sequence of its next new write) and the
// responses of its last max_responses writes. At most max_clients clients
// are kept; when full, the least recently active one (the one whose last new
// write has the oldest revision) is forgotten first. Like logservice's
// ProducerTable it is pure and deterministic: the same calls in the same
// order give the same answers and the same encoding on every member, so
// duplicates can be decided at apply time and the table carried in the
// snapshot.
//
// Threads: none of its own; not thread-safe (its owner locks it).

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/status.h"

namespace kv {

// Must be the same on every member: the encoding carries them and
// DecodeFrom refuses others.
struct SessionLimits {
  uint32_t max_clients = 10'000;
  uint32_t max_responses = 16;
};

enum class SessionVerdict : uint8_t {
  kNew = 0,            // sequence == next: apply it
  kDuplicate = 1,      // applied already; `response` is what it answered
  kForgotten = 2,      // applied already; its response is no longer kept
  kOutOfOrder = 3,     // sequence > next: a gap; `expected` is next
  kUnknownClient = 4,  // not in the table and sequence != 0; `expected` is 0
};

struct SessionCheck {
  SessionVerdict verdict = SessionVerdict::kNew;
  std::string response;   // kDuplicate
  uint64_t expected = 0;  // kOutOfOrder, kUnknownClient: the sequence to send next
  bool operator==(const SessionCheck&) const = default;
};

class KvSessions {
 public:
  explicit KvSessions(SessionLimits limits = {});

  // What a write (client, sequence) is, changing nothing.
  SessionCheck Check(uint64_t client, uint64_t sequence) const;
  // Records that (client, sequence), which Check called kNew, was applied
  // at `revision` (the entry's Raft index) and answered `response`. Returns
  // false, changing nothing, when it is not kNew or `revision` is not above
  // every revision recorded before (one write per Raft entry).
  bool Record(uint64_t client, uint64_t sequence, uint64_t revision, std::string response);

  size_t size() const { return clients_.size(); }
  const SessionLimits& limits() const { return limits_; }

  // The table, least recently active client first (docs/formats/kv-map.md,
  // "Sessions"): equal tables encode equally.
  void EncodeTo(std::string* out) const;
  // Replaces the table with what EncodeTo wrote, reading from the front of
  // `*in` and advancing it. kDataLoss naming the flaw when malformed;
  // kFailedPrecondition when written with other limits. On error the table
  // is unchanged.
  common::Status DecodeFrom(std::string_view* in);

 private:
  struct Session {
    uint64_t next = 0;
    uint64_t last_revision = 0;                          // of its last new write
    std::deque<std::pair<uint64_t, std::string>> kept;  // (sequence, response), oldest first
  };

  SessionLimits limits_;
  std::unordered_map<uint64_t, Session> clients_;
  std::map<uint64_t, uint64_t> by_activity_;  // last_revision -> client, oldest first
};

}  // namespace kv
