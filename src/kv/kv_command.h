#pragma once

// The key-value store's Raft commands and their results (issue 6;
// docs/formats/kv-command.md). A write is one kNormal entry of the KV group
// holding EncodeCommand's bytes; applying it gives EncodeResult's bytes,
// which the proposer decodes (and KvSessions keeps for a retry).
//
// Both encodings are deterministic: every member decodes the same entry to
// the same command and produces the same result bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "kv/kv_map.h"

namespace kv {

enum class KvOp : uint8_t { kPut = 1, kDelete = 2, kCas = 3 };

struct KvCommand {
  KvOp op = KvOp::kPut;
  uint64_t client_id = 0;   // 0: no session (not exactly-once); sequence is then 0
  uint64_t sequence = 0;
  std::string key;
  std::string value;        // kPut; kCas unless cas_delete
  bool cas_delete = false;  // kCas: delete the key when the compare holds
  KvCompare compare;        // kCas
  bool operator==(const KvCommand&) const = default;
};

// What a write may carry. The service checks them before proposing; the
// state machine answers kMalformed to a command that breaks them anyway.
struct KvLimits {
  size_t max_key_bytes = 4096;
  size_t max_value_bytes = 1 << 20;
};

// kInvalidArgument naming the flaw: an empty or oversized key, an oversized
// value, a sequence without a client id, an unknown op or compare kind.
common::Status ValidateCommand(const KvCommand& c, const KvLimits& limits);

std::string EncodeCommand(const KvCommand& c);
// kDataLoss for bytes EncodeCommand did not write (truncated, unknown
// version, op or compare kind, trailing bytes).
common::Result<KvCommand> DecodeCommand(std::string_view data);

enum class KvResultCode : uint8_t {
  kOk = 0,             // applied (a cas: its compare held)
  kCompareFailed = 1,  // a cas whose compare did not hold: nothing written
  kOutOfOrder = 2,     // a session gap: expected_sequence is the one to send
  kUnknownClient = 3,  // a session the state does not know, sequence != 0
  kForgotten = 4,      // a duplicate whose response is no longer kept
  kMalformed = 5,      // the entry is not a valid command (nothing written)
};

struct KvResult {
  KvResultCode code = KvResultCode::kOk;
  // The entry's index: the write's revision (for a duplicate, the first
  // application's). 0 for kForgotten.
  uint64_t revision = 0;
  // kPut: the value replaced; kDelete: the value removed; kCas: the key as
  // the compare found it. nullopt: the key was absent.
  std::optional<KvValue> previous;
  uint64_t expected_sequence = 0;  // kOutOfOrder, kUnknownClient
  bool operator==(const KvResult&) const = default;
};

std::string EncodeResult(const KvResult& r);
// kDataLoss for bytes EncodeResult did not write.
common::Result<KvResult> DecodeResult(std::string_view data);

}  // namespace kv
