#include "member_config.h"

#include <algorithm>

namespace cluster_testing {

MemberList WaitLeaderMembers(Cluster& cluster, replog::ClusterAdmin& admin,
                             const std::function<bool(const MemberList&)>& done, int64_t timeout_ms) {
  MemberList members;
  auto settled = [&] {
    auto st = admin.Status();
    if (!st.has_value() || !st->leader.has_value()) return false;
    members = st->leader->members;
    const bool learner = std::any_of(members.begin(), members.end(), [](const auto& m) { return !m.voter; });
    return !learner && done(members);
  };
  if (!cluster.WaitUntil(settled, timeout_ms, 50)) members.clear();
  return members;
}

std::vector<uint64_t> VoterIds(const MemberList& members) {
  std::vector<uint64_t> ids;
  for (const replog::MemberInfo& m : members) {
    if (m.voter) ids.push_back(m.id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace cluster_testing
