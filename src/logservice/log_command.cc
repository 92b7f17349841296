#include "logservice/log_command.h"

#include "common/coding.h"

namespace logservice {

namespace {
constexpr size_t kRetainSize = 2 + 8;
}  // namespace

std::string EncodeLogCommand(const LogCommand& cmd) {
  std::string out(kRetainSize, '\0');
  out[1] = static_cast<char>(cmd.kind);
  common::EncodeFixed64(out.data() + 2, cmd.purge_to);
  return out;
}

common::Result<LogCommand> DecodeLogCommand(uint64_t index, std::string_view payload) {
  auto bad = [&](const std::string& what) {
    return common::DataLossError("log command at offset " + std::to_string(index) + ": " + what);
  };
  if (!IsLogCommand(payload) || payload.size() < 2) return bad("not a command");
  const auto kind = static_cast<LogCommandKind>(static_cast<uint8_t>(payload[1]));
  if (kind != LogCommandKind::kRetain) {
    return bad("unknown kind " + std::to_string(static_cast<uint8_t>(payload[1])) +
               " (written by a newer replog?)");
  }
  if (payload.size() != kRetainSize) {
    return bad("retain command of " + std::to_string(payload.size()) + " bytes, want " +
               std::to_string(kRetainSize));
  }
  LogCommand cmd;
  cmd.kind = kind;
  cmd.purge_to = common::DecodeFixed64(payload.data() + 2);
  return cmd;
}

}  // namespace logservice
