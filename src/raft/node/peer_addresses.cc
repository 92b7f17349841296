#include "raft/node/peer_addresses.h"

#include "common/coding.h"
#include "raft/core/conf_change.h"

namespace raft {
namespace {

constexpr std::string_view kMagic = "RPA1";

}  // namespace

std::string EncodePeerAddresses(const std::map<NodeId, std::string>& addresses) {
  std::string out(kMagic);
  for (const auto& [id, address] : addresses) {
    common::PutFixed64(&out, id);
    common::PutFixed32(&out, static_cast<uint32_t>(address.size()));
    out += address;
  }
  return out;
}

Result<std::map<NodeId, std::string>> DecodePeerAddresses(std::string_view context) {
  std::map<NodeId, std::string> out;
  if (context.empty()) return out;
  if (context.substr(0, kMagic.size()) != kMagic) {
    return common::DataLossError("peer addresses: not an address list (bad magic)");
  }
  std::string_view rest = context.substr(kMagic.size());
  while (!rest.empty()) {
    if (rest.size() < 12) return common::DataLossError("peer addresses: truncated member header");
    NodeId id = common::DecodeFixed64(rest.data());
    uint32_t len = common::DecodeFixed32(rest.data() + 8);
    rest.remove_prefix(12);
    if (rest.size() < len) return common::DataLossError("peer addresses: truncated address of member " + std::to_string(id));
    out[id] = std::string(rest.substr(0, len));
    rest.remove_prefix(len);
  }
  return out;
}

void UpdatePeerAddresses(const Entry& entry, std::map<NodeId, std::string>& addresses) {
  if (entry.type != EntryType::kConfChange) return;
  Result<ConfChange> cc = DecodeConfChange(entry.data);
  if (!cc.has_value()) return;
  Result<std::map<NodeId, std::string>> added = DecodePeerAddresses(cc->context);
  if (added.has_value()) {
    for (auto& [id, address] : *added) addresses[id] = std::move(address);
  }
  for (const ConfChangeItem& item : cc->changes) {
    if (item.type == ConfChangeType::kRemove) addresses.erase(item.node);
  }
}

}  // namespace raft
