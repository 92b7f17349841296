#include "raft/core/conf_change.h"

#include <set>

#include "common/coding.h"

namespace raft {
namespace {

constexpr uint8_t kConfChangeVersion = 1;

Status Invalid(std::string m) { return common::InvalidArgumentError("conf change: " + std::move(m)); }

// Applies the items to the incoming half (outgoing, if any, is untouched).
Status ApplyItems(TrackerConfig& c, const std::vector<ConfChangeItem>& items) {
  std::set<NodeId> seen;
  for (const ConfChangeItem& it : items) {
    if (it.node == kNoNode) return Invalid("node id 0");
    if (!seen.insert(it.node).second) return Invalid("node " + std::to_string(it.node) + " listed twice");
    auto& in = c.voters.incoming.ids();
    switch (it.type) {
      case ConfChangeType::kAddVoter:
        c.learners.erase(it.node);
        c.learners_next.erase(it.node);
        in.insert(it.node);
        break;
      case ConfChangeType::kAddLearner:
        in.erase(it.node);
        c.learners.erase(it.node);
        c.learners_next.erase(it.node);
        // Still an outgoing voter: it becomes a learner once the change is left.
        (c.voters.outgoing.contains(it.node) ? c.learners_next : c.learners).insert(it.node);
        break;
      case ConfChangeType::kRemove:
        in.erase(it.node);
        c.learners.erase(it.node);
        c.learners_next.erase(it.node);
        break;
    }
  }
  if (c.voters.incoming.empty()) return Invalid("removes every voter");
  return Status::Ok();
}

size_t VoterDifference(const std::set<NodeId>& a, const std::set<NodeId>& b) {
  size_t n = 0;
  for (NodeId id : a) n += b.contains(id) ? 0 : 1;
  for (NodeId id : b) n += a.contains(id) ? 0 : 1;
  return n;
}

}  // namespace

std::string EncodeConfChange(const ConfChange& cc) {
  std::string out;
  out.push_back(static_cast<char>(kConfChangeVersion));
  out.push_back(static_cast<char>(cc.transition));
  common::PutFixed32(&out, static_cast<uint32_t>(cc.changes.size()));
  for (const ConfChangeItem& it : cc.changes) {
    out.push_back(static_cast<char>(it.type));
    common::PutFixed64(&out, it.node);
  }
  common::PutFixed32(&out, static_cast<uint32_t>(cc.context.size()));
  out += cc.context;
  return out;
}

Result<ConfChange> DecodeConfChange(std::string_view data) {
  auto bad = [&](const char* what) {
    return common::DataLossError(std::string("conf change entry: ") + what);
  };
  if (data.size() < 6) return bad("too short");
  if (static_cast<uint8_t>(data[0]) != kConfChangeVersion) return bad("unknown version");
  ConfChange cc;
  uint8_t transition = static_cast<uint8_t>(data[1]);
  if (transition > 2) return bad("unknown transition");
  cc.transition = static_cast<ConfChangeTransition>(transition);
  uint32_t n = common::DecodeFixed32(data.data() + 2);
  size_t pos = 6;
  if (n > (data.size() - pos) / 9) return bad("change count past the end");
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t type = static_cast<uint8_t>(data[pos]);
    if (type > 2) return bad("unknown change type");
    cc.changes.push_back({static_cast<ConfChangeType>(type), common::DecodeFixed64(data.data() + pos + 1)});
    pos += 9;
  }
  if (data.size() - pos < 4) return bad("missing context length");
  uint32_t ctx = common::DecodeFixed32(data.data() + pos);
  pos += 4;
  if (data.size() - pos != ctx) return bad("context length does not match");
  cc.context.assign(data.substr(pos));
  return cc;
}

Result<TrackerConfig> ApplyConfChangeToConfig(const TrackerConfig& cfg, const ConfChange& cc) {
  TrackerConfig c = cfg;
  if (cc.IsLeaveJoint()) {
    if (!c.joint()) return common::FailedPreconditionError("conf change: leave while not joint");
    c.learners.insert(c.learners_next.begin(), c.learners_next.end());
    c.learners_next.clear();
    c.voters.outgoing = MajorityConfig();
    c.auto_leave = false;
    return c;
  }
  if (c.joint()) return common::FailedPreconditionError("conf change: already in a joint configuration");
  bool simple = cc.transition == ConfChangeTransition::kAuto && cc.changes.size() == 1;
  if (simple) {
    RETURN_IF_ERROR(ApplyItems(c, cc.changes));
    if (VoterDifference(c.voters.incoming.ids(), cfg.voters.incoming.ids()) > 1) {
      return Invalid("a simple change may change at most one voter");
    }
    return c;
  }
  c.voters.outgoing = c.voters.incoming;
  RETURN_IF_ERROR(ApplyItems(c, cc.changes));
  c.auto_leave = cc.transition != ConfChangeTransition::kJointExplicit;
  return c;
}

}  // namespace raft
