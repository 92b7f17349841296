#pragma once

// Log commands: entries of the log group that are instructions to every
// member rather than records. They ride in kNormal Raft entries like records,
// so they are ordered with them and applied by every member at the same
// index, and readers skip them (IsLogCommand) as they skip control entries.
//
// Encoding (docs/formats/log-record.md, "Log commands"): the byte 0x00 (never
// the first byte of a record: protobuf has no field 0, and a record's payload
// is never empty), the command kind, then the kind's fields.
//   - kRetain: purge up to and including `purge_to` (fixed64, little-endian).
//     Decided by the leader's retention policy (retention.h); each member
//     drops that prefix once it applied the command.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace logservice {

enum class LogCommandKind : uint8_t { kRetain = 1 };

struct LogCommand {
  LogCommandKind kind = LogCommandKind::kRetain;
  uint64_t purge_to = 0;  // kRetain
  bool operator==(const LogCommand&) const = default;
};

std::string EncodeLogCommand(const LogCommand& cmd);
// True if `payload` is a command (starts with 0x00), well-formed or not.
inline bool IsLogCommand(std::string_view payload) { return !payload.empty() && payload[0] == '\0'; }
// kDataLoss naming `index` when a payload that IsLogCommand is not a command
// this version knows (an unknown kind, wrong length).
common::Result<LogCommand> DecodeLogCommand(uint64_t index, std::string_view payload);

}  // namespace logservice
